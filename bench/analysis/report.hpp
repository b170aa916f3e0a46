#pragma once
// The written output of a structure–property analysis (engine::analysis::analyze_structure_property):
// PNG figures, an HDF5 group with the latents and predictions, and a JSON summary of the metrics.
// Works from in-memory arrays: twin, replay and real campaigns alike (ground-truth figures and
// metrics only appear when the inputs carry truth).
#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/analysis/structure_property.hpp"

namespace sdm::bench::analysis {

/// What the figures call the curves, the survey and the truth. The defaults are a conductive-AFM
/// campaign on the twin; a replay of piezoresponse loops passes its own signal name and unit.
struct FigureLabels {
  std::string signal_name = "current";  ///< what the curves measure
  std::string signal_unit = "A";        ///< their unit; "A" is drawn with an SI prefix (pA, nA, uA ...)
  std::string survey_label = "survey height (m)";     ///< colour-bar title of the survey image
  std::string truth = "the noiseless truth";          ///< what im2spec is compared against
};

/// How curves are drawn: value × factor, in `unit`. A current ("A") gets the SI prefix (f … m, or
/// none) that puts `max_abs` in [0.1, 100) of it (e.g. 6e-10 A → nA, 2e-11 A → pA); any other
/// signal is drawn as recorded (factor 1, its own unit).
struct SignalScale {
  double factor = 1;
  std::string unit;
};
SignalScale signal_scale(const FigureLabels& labels, double max_abs);

/// Writes into `dir` (created if needed), returning the files written:
///   latent_scalarizers.png   measured pairs in the joint latent, one panel per scalarizer
///   manifold_image.png       image decoder on the manifold grid
///   manifold_curves.png      spectral decoder on the same grid, one loop per cell
///   structure_property_map.png  every candidate in the latent and on the film, by predicted scalarizer; clusters on the film
///   cluster_gallery.png      per cluster: representative patches and loops, and the decoders at its mean
///   training_loss.png        loss terms per epoch
///   latent_true_labels.png   (with true labels) latent coloured by true motif
///   im2spec_truth.png        (with true curves) predicted vs true scalarizer and example curves
/// Throws sdm::Error naming the file on a write failure.
std::vector<std::filesystem::path> write_analysis_figures(const engine::analysis::AnalysisInputs& inputs,
                                                          const engine::analysis::AnalysisResult& result,
                                                          const std::filesystem::path& dir,
                                                          const FigureLabels& labels = {});

/// Writes the latents, predictions, clusters, manifold and metrics under `group` of the HDF5
/// file (created if absent; an existing group of that name is replaced, other content kept).
/// Layout (row-major datasets; n measured pairs, m candidates, d latent dims, L curve points):
///   attributes: metrics (knn_accuracy_*, knn_balanced_*, im2spec_*, tie_residual, latent_spread, latent_snr), best_k,
///               scalarizers (comma-separated), map_scalarizer, config (JSON)
///   bias_v, time_s [L]
///   training/{total, recon_image, recon_curve, kl_image, kl_curve, similarity} [epochs], tie_matrix [d, d]
///   measured/{candidate [n] int, latent, latent_variance, curve_latent [n, d], curves [n, L],
///             scalars [n, S], cluster [n] int}
///   candidates/{ix_px, iy_px [m] int, latent, latent_variance [m, d], pose [m, 3], predicted_curves [m, L] float,
///               predicted_scalars [m, S], cluster [m] int}
///   manifold/{z1, z2 [g], latent [g², d], patches [g², p²] float, curves [g², L]}
///   clusters/{ks, bic [K], weights [k], means [k, d], covariances [k, d, d], representatives [k, r] int (−1 pads),
///             decoded_patches [k, p²] float, decoded_curves [k, L]}
///   truth/{candidate [t] int, true_scalar, predicted_scalar [t]}   (only with true curves)
void write_analysis_h5(const std::filesystem::path& file, const engine::analysis::AnalysisInputs& inputs,
                       const engine::analysis::AnalysisResult& result, const engine::analysis::AnalysisConfig& config,
                       const std::string& group = "analysis");

/// Metrics, cluster sizes, the tie matrix and timings as JSON (NaN metrics become null).
nlohmann::json analysis_summary(const engine::analysis::AnalysisResult& result);

}  // namespace sdm::bench::analysis
