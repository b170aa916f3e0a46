#pragma once
// How learnable a film's properties are from what the engine sees: held-out R² of two simple
// reference learners on the candidate patches, for every scalarizer, next to an oracle that
// is given the true geometry instead of the image. `sdm film` writes the table.
//
// Data. Candidates are the campaign's grid (patch_px, stride_px) on the film's own measured
// topography (tip-dilated + noise, drift-free), min-max normalised and flattened as the
// engine's models see them (engine/patches/patch_extraction.hpp). The target of candidate i
// is scalarize(ground_truth_iv(film, centre pixel of i), spec) for each scalarizer.
// The oracle's features are the true distances from the centre pixel to the nearest
// boundary, triple junction and asymmetric boundary (capped at kGeometryCap_m), each
// divided by its training standard deviation.
//
// Protocol. A seeded random test_fraction of the candidates is held out once; training sets
// are the first n of a seeded shuffle of the rest (nested: the 200 are inside the 1000),
// n ∈ train_sizes plus "all" (the whole rest). R² = 1 − Σ(y − ŷ)²/Σ(y − ȳ_test)² on the held-out
// set (can be negative). Neighbouring candidates overlap (stride < patch), so the R² measures
// interpolation within one film, which is what a campaign's model does.
//
// Learners.
//   ridge: min ‖y − b − Xw‖² + λ‖w‖² with an unpenalised intercept (sklearn Ridge), λ chosen
//          from ridge_alphas() by exact leave-one-out error (sklearn RidgeCV's efficient LOO:
//          e_i/(1 − H_ii), H = 11ᵀ/n + X_c(X_cᵀX_c + λI)⁻¹X_cᵀ via one eigendecomposition).
//   kNN:   mean target of the k nearest training rows (Euclidean; ties to the lower index;
//          sklearn KNeighborsRegressor, uniform weights), k from knn_ks() by leave-one-out
//          error of at most kKnnLooQueries training rows against the whole training set.
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include <Eigen/Dense>

#include "core/waveform.hpp"
#include "sim/film.hpp"

namespace sdm::bench {

using LearnMatrix = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

/// 1 − Σ(y − ŷ)²/Σ(y − ȳ)². Throws sdm::Error on size mismatch or fewer than 2 values;
/// a constant y gives 0 when ŷ = y and −inf otherwise.
double r2_score(const std::vector<double>& y, const std::vector<double>& prediction);

/// The λ grid of the ridge learner: 10^k, k = −3, −2.5, …, 5.
const std::vector<double>& ridge_alphas();
/// The k grid of the kNN learner.
const std::vector<int>& knn_ks();
inline constexpr int kKnnLooQueries = 1500;
inline constexpr double kGeometryCap_m = 300e-9;

struct RidgeFit {
  Eigen::VectorXd weights;
  double intercept = 0;
  double alpha = 0;
  double loo_mse = 0;  ///< leave-one-out mean squared error at alpha
};
/// Ridge at a fixed λ (with its exact LOO error).
RidgeFit ridge_fit(const LearnMatrix& x, const std::vector<double>& y, double alpha);
/// Ridge with λ chosen from `alphas` by exact LOO error (first of equal errors).
RidgeFit ridge_fit_loo(const LearnMatrix& x, const std::vector<double>& y, const std::vector<double>& alphas);
std::vector<double> ridge_predict(const RidgeFit& fit, const LearnMatrix& x);

/// kNN regression with a fixed k (k ≤ training rows, else sdm::Error).
std::vector<double> knn_predict(const LearnMatrix& train, const std::vector<double>& y, const LearnMatrix& query, int k);
/// The k of `ks` with the smallest LOO error over the first min(n, max_queries) training rows.
int knn_select_k(const LearnMatrix& train, const std::vector<double>& y, const std::vector<int>& ks, int max_queries);

struct LearnabilityOptions {
  core::Waveform sweep = core::Waveform::triangle(1.5, 251, 1.0);
  int patch_px = 16, stride_px = 2;
  std::vector<int> train_sizes = {200, 1000};  ///< plus "all"; sizes ≥ the pool are left out
  double test_fraction = 0.2;
  double scalarizer_bias_v = 1.0;              ///< read bias of current_at_bias / on_off_ratio, V
  double onset_current_a = 10e-12;             ///< threshold of onset_voltage, A
  std::uint64_t seed = 0;                      ///< split seed
};

struct LearnabilityRow {
  std::string scalarizer;
  int n_train = 0;
  bool all = false;          ///< n_train is the whole training pool
  double ridge_patch_r2 = 0, knn_patch_r2 = 0, oracle_r2 = 0;
  double ridge_alpha = 0;
  int knn_k = 0, oracle_k = 0;
};

struct LearnabilityTable {
  int candidates = 0, test_count = 0, pool_count = 0;
  int patch_px = 0, stride_px = 0;
  std::vector<LearnabilityRow> rows;  ///< scalarizer-major, n ascending
};

/// Builds the candidates, their targets and every row. Throws sdm::Error when the grid has
/// fewer than 20 candidates.
LearnabilityTable compute_learnability(const sim::Film& film, const LearnabilityOptions& options);

/// The table as Markdown (one row per scalarizer and n).
std::string learnability_markdown(const LearnabilityTable& table);
/// Writes learnability.csv and learnability.md into `dir`; returns the files. Throws sdm::Error naming the file.
std::vector<std::filesystem::path> write_learnability(const LearnabilityTable& table, const std::filesystem::path& dir);

}  // namespace sdm::bench
