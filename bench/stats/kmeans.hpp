#pragma once
// k-means (k-means++ seeding, Lloyd iterations) on float rows, for the benchmark's
// patch-space coverage metric (k = 100 clusters over every candidate patch).
//
// Seeding (Arthur & Vassilvitskii 2007): the first centre is a uniformly drawn row; each
// next centre is drawn with probability ∝ D(x)², the squared distance to the nearest centre
// so far (uniformly when every D = 0). Lloyd: assign each row to its nearest centre (squared
// Euclidean; distances via ‖x‖² − 2x·c + ‖c‖² with one float GEMM per chunk of rows, ties to the
// lower centre index), move each centre to the mean of its rows (accumulated in double). An empty
// cluster is re-seeded at the row farthest from its centre (as scikit-learn does). Stops when no
// label changes, when Σ‖Δc‖² ≤ tolerance · mean per-feature variance (scikit-learn's tol), or
// after max_iterations. Deterministic given the generator.
#include <random>
#include <vector>

#include "engine/gp/dkl.hpp"

namespace sdm::bench::stats {

struct KMeansConfig {
  int k = 100;
  int max_iterations = 300;
  double tolerance = 1e-4;
};

struct KMeansResult {
  engine::gp::RowMatrixF centres;  ///< k × d
  std::vector<int> labels;         ///< n, in [0, k)
  double inertia = 0;              ///< Σ squared distance of each row to its centre
  int iterations = 0;              ///< Lloyd iterations run
  bool converged = false;          ///< stopped by labels or tolerance, not by max_iterations
};

/// Clusters the n rows of `data` (n ≥ k ≥ 1, finite, else sdm::Error).
KMeansResult kmeans(const engine::gp::RowMatrixF& data, const KMeansConfig& config, std::mt19937_64& rng);

/// The k-means++ seeds alone (k row indices, in draw order).
std::vector<int> kmeans_plus_plus_seeds(const engine::gp::RowMatrixF& data, int k, std::mt19937_64& rng);

}  // namespace sdm::bench::stats
