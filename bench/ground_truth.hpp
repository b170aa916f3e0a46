#pragma once
// Builds the ground truth the metrics read (bench/metrics.hpp: FilmTruth, PointTruth), once
// per film: the twin's noiseless sweep at every candidate centre (in parallel threads; the
// result does not depend on how many), the motif labels, the loop-area class edges, the
// diversity scale and the k-means clusters of every candidate patch.
//
// Candidate centre pixels are survey pixels; they are mapped to film pixels through their
// physical position (the survey may be resampled), so with a native survey they coincide.
// The candidates cover the film except a border of half a patch: "whole film" below means
// every candidate centre.
#include <cstdint>
#include <vector>

#include "bench/metrics.hpp"
#include "bench/metrics_config.hpp"
#include "core/waveform.hpp"
#include "engine/acquisition/scalarizer.hpp"
#include "engine/campaign/record.hpp"
#include "engine/gp/dkl.hpp"
#include "hardware/microscope.hpp"

namespace sdm::sim { struct Film; }
namespace sdm::hardware::replay { struct Dataset; }

namespace sdm::bench {

struct TruthOptions {
  core::Waveform sweep = core::Waveform::triangle(1.5, 251, 1.0);  ///< the campaign's sweep
  engine::acquisition::ScalarizerSpec scalarizer;                  ///< [metrics] scalarizer
  int target_bins = 100;
  int patch_clusters = 100;                                        ///< capped at the candidate count
  std::vector<double> hysteresis_quantiles = {0.5, 0.9, 0.99};
  std::uint64_t cluster_seed = 0;                                  ///< k-means++ seeding
  int threads = 1;                                                 ///< sweeps in parallel
};

/// Quantile q ∈ [0, 1] with linear interpolation between order statistics (numpy's default).
double quantile(std::vector<double> values, double q);

/// Ground truth of a twin film over `grid` (cut from a survey with `axes`); `patches` are the
/// grid's candidate patches (engine/patches), clustered here.
FilmTruth twin_film_truth(const sim::Film& film, const engine::campaign::CandidateGrid& grid,
                          const hardware::ImageAxes& axes, const engine::gp::RowMatrixF& patches,
                          const TruthOptions& options);

/// Ground truth at film pixel (ix, iy) (e.g. where the tip landed): motif label, target and
/// loop area of the noiseless sweep from rest.
PointTruth twin_point_truth(const sim::Film& film, int ix, int iy, const TruthOptions& options);

/// Ground truth of a recorded full-grid dataset (replay): the scalarizer of the recorded spectrum
/// at each candidate centre's nearest grid pixel. No motif labels (has_motifs = false).
FilmTruth dataset_truth(const hardware::replay::Dataset& dataset, const engine::campaign::CandidateGrid& grid,
                        const hardware::ImageAxes& axes, const engine::gp::RowMatrixF& patches, const TruthOptions& options);

/// Ground truth at the grid pixel nearest to (x_m, y_m) (where the replay snaps the tip).
PointTruth dataset_point_truth(const hardware::replay::Dataset& dataset, double x_m, double y_m, const TruthOptions& options);

/// The parts of FilmTruth that depend only on per-candidate truth values and patches (shared by
/// the twin and the recorded-grid truths): statistics, class edges, clusters. `peak_current_a`
/// is max|I| per candidate (for the diversity scale).
void finish_truth(FilmTruth& truth, const std::vector<double>& peak_current_a, const engine::gp::RowMatrixF& patches,
                  const TruthOptions& options);

}  // namespace sdm::bench
