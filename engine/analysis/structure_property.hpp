#pragma once
// The structure–property analysis of a campaign, on in-memory data: the dual VAE is fitted on
// the measured (patch, I–V curve) pairs; every candidate patch is placed in the joint latent and
// given a predicted curve (im2spec) and scalarizer values; the joint latent of the measured
// pairs is clustered (Gaussian mixture, number of components by BIC) and every candidate is
// assigned to a cluster; both decoders are evaluated on a manifold grid; and, when ground truth
// is passed in (motif labels, noiseless curves), motif separability and im2spec errors are scored.
// The joint latent of a patch is its image-encoder mean μ_z; a curve's is A·μ_s.
#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include <Eigen/Core>

#include "core/waveform.hpp"
#include "engine/analysis/gmm.hpp"
#include "engine/vae/dual_vae.hpp"
#include "engine/vae/vae_config.hpp"

namespace sdm::engine::analysis {

struct AnalysisConfig {
  vae::VaeConfig vae;              ///< the model, plus manifold_grid, max_clusters, cluster_representatives, scalarizer
  GmmConfig gmm;
  int knn_k = 5;                   ///< k of the motif-separability kNN
  /// Scalarizers computed for every measured and predicted curve (the map uses vae.scalarizer,
  /// which is added when missing).
  std::vector<std::string> scalarizers = {"loop_area", "current_at_bias", "max_current", "on_off_ratio", "onset_voltage"};
  double scalarizer_bias_v = 1.0;          ///< read bias of current_at_bias / on_off_ratio, V
  double scalarizer_onset_current_a = 10e-12;  ///< threshold of onset_voltage, A
  int knn_max_candidates = 5000;   ///< candidates kNN runs on a seeded subset of at most this many
  std::uint64_t seed = 1;          ///< the VAE, the mixtures and the kNN subset all derive from it
};

/// What a campaign provides. Candidates are the patches of the survey's candidate grid;
/// measured pairs refer to them by index.
struct AnalysisInputs {
  int patch_side = 16;
  vae::RowMatrixF candidate_patches;          ///< m × patch_side², survey heights (any unit)
  std::vector<int> candidate_ix_px, candidate_iy_px;  ///< patch-centre pixel of each candidate
  int image_nx = 0, image_ny = 0;             ///< survey size, px
  std::vector<double> survey;                 ///< optional: image_ny × image_nx row-major survey, for figures
  std::vector<int> measured;                  ///< candidate index of each measured pair (n ≥ 2)
  std::vector<core::IvCurve> measured_curves; ///< the measured sweeps, one per entry of `measured`
  // --- ground truth (optional; only the twin has it) ---
  std::vector<int> true_labels;               ///< motif label of every candidate (m entries), or empty
  std::vector<std::string> label_names;       ///< names of labels 0..; may be empty
  std::vector<int> truth_candidates;          ///< candidates whose noiseless curve is known
  std::vector<core::IvCurve> true_curves;     ///< one per entry of truth_candidates
};

struct ClusterSummary {
  double weight = 0;
  Eigen::VectorXd mean;                 ///< d
  Eigen::MatrixXd covariance;           ///< d × d
  std::vector<int> members;             ///< measured pairs (indices into AnalysisInputs::measured) in this cluster
  std::vector<int> representatives;     ///< the members nearest the mean, nearest first
  int candidates = 0;                   ///< candidates assigned to this cluster
  std::vector<float> decoded_patch;     ///< image decoder at the mean (input units)
  std::vector<double> decoded_curve;    ///< spectral decoder at the mean (A)
};

struct AnalysisMetrics {
  double knn_accuracy_measured = std::numeric_limits<double>::quiet_NaN();  ///< true labels of measured pairs from μ_z
  double knn_accuracy_measured_curves = std::numeric_limits<double>::quiet_NaN();  ///< the same from A·μ_s
  double knn_accuracy_candidates = std::numeric_limits<double>::quiet_NaN();  ///< labelled candidates from μ_z
  double knn_chance_measured = std::numeric_limits<double>::quiet_NaN();     ///< majority-label fraction
  double knn_chance_candidates = std::numeric_limits<double>::quiet_NaN();
  double knn_balanced_measured = std::numeric_limits<double>::quiet_NaN();    ///< balanced accuracy (chance 1/labels)
  double knn_balanced_candidates = std::numeric_limits<double>::quiet_NaN();
  int knn_labels_measured = 0, knn_labels_candidates = 0;  ///< distinct labels among them
  int knn_candidates_used = 0;
  int knn_k = 0;
  double im2spec_r2 = std::numeric_limits<double>::quiet_NaN();     ///< R² of the map scalarizer, unmeasured truth
  double im2spec_nrmse = std::numeric_limits<double>::quiet_NaN();  ///< curves' RMSE / span of the true currents
  int im2spec_evaluated = 0;
  double tie_residual = 0;      ///< mean_i |μ_z − A·μ_s|₁ over the measured pairs
  double latent_spread = 0;     ///< mean over dimensions of the std of μ_z over the measured pairs
  /// latent_spread / (mean posterior std of z): how far apart the pairs sit in units of the
  /// encoder's own uncertainty. Well below 1 means a collapsed latent (it carries little information).
  double latent_snr = 0;
};

struct AnalysisResult {
  std::shared_ptr<const vae::DualVae> model;  ///< the trained dual VAE (e.g. to save it)
  vae::TrainingReport training;
  std::vector<double> bias_v, time_s;         ///< the axis of the model's curves (first measured sweep, resampled)
  std::vector<std::string> scalarizer_names, scalarizer_units;
  int map_scalarizer = 0;                     ///< index of config.vae.scalarizer in scalarizer_names
  Eigen::MatrixXd measured_latent;            ///< n × d: μ_z of the measured patches
  Eigen::MatrixXd measured_latent_variance;   ///< n × d
  Eigen::MatrixXd measured_curve_latent;      ///< n × d: A·μ_s of the measured curves
  Eigen::MatrixXd measured_curves;            ///< n × L: the measured currents, resampled (A)
  Eigen::MatrixXd measured_scalars;           ///< n × S from the measured sweeps
  Eigen::MatrixXd candidate_latent;           ///< m × d: μ_z of every candidate
  Eigen::MatrixXd candidate_latent_variance;  ///< m × d
  Eigen::MatrixXd candidate_pose;             ///< m × 3 [θ rad, dx, dy] (m × 0 without coordinate invariance)
  vae::RowMatrixF predicted_curves;           ///< m × L: im2spec of every candidate (A)
  Eigen::MatrixXd predicted_scalars;          ///< m × S from the predicted curves
  vae::Manifold manifold;                     ///< over the central 98 % of the candidates' latent, padded 5 %
  GmmSelection mixture;                       ///< fitted on measured_latent
  std::vector<int> measured_cluster, candidate_cluster;
  std::vector<ClusterSummary> clusters;
  AnalysisMetrics metrics;
  // im2spec against truth (unmeasured candidates with a true curve)
  std::vector<int> truth_evaluated;           ///< candidate indices
  std::vector<double> truth_scalar, truth_predicted_scalar;  ///< map scalarizer: true vs predicted
};

/// Runs the whole analysis. Throws sdm::Error naming the offending input (sizes, indices,
/// curves, configuration).
AnalysisResult analyze_structure_property(const AnalysisInputs& inputs, const AnalysisConfig& config);

}  // namespace sdm::engine::analysis
