#pragma once
// Gaussian mixtures with full covariances, fitted by EM from k-means++ starts (seeded), and
// the choice of the number of components by BIC — the clusters of the joint latent.
//
// EM in float64: component densities through a Cholesky factor of each covariance (never an
// inverse), responsibilities by log-sum-exp. BIC = −2·log L + p·ln n with
// p = (k − 1) + k·d + k·d(d + 1)/2 free parameters; the smallest BIC wins.
#include <cstdint>
#include <vector>

#include <Eigen/Core>

namespace sdm::engine::analysis {

struct GmmConfig {
  int max_iterations = 500;
  double tolerance = 1e-8;         ///< stop when log L per point improves by less than this
  double covariance_floor = 1e-6;  ///< added to every covariance diagonal, × the data's mean variance
  int restarts = 4;                ///< k-means++ starts per k; the highest likelihood wins
};

struct GaussianMixture {
  Eigen::VectorXd weights;                   ///< k, sum 1
  Eigen::MatrixXd means;                     ///< k × d
  std::vector<Eigen::MatrixXd> covariances;  ///< k matrices d × d
  double log_likelihood = 0;                 ///< Σ_i log p(x_i) over the fitted points
  int iterations = 0;
  bool converged = false;

  int components() const { return static_cast<int>(weights.size()); }
  int dimension() const { return static_cast<int>(means.cols()); }
  int free_parameters() const;
  double bic(int n) const;
  /// log p(x_i) per row.
  Eigen::VectorXd log_density(const Eigen::MatrixXd& x) const;
  /// Posterior component probabilities, n × k.
  Eigen::MatrixXd responsibilities(const Eigen::MatrixXd& x) const;
  /// The most probable component of each row.
  std::vector<int> predict(const Eigen::MatrixXd& x) const;
};

/// EM fit of k components to the rows of x (n ≥ k). Throws sdm::Error on bad sizes or values.
GaussianMixture fit_gmm(const Eigen::MatrixXd& x, int k, const GmmConfig& config, std::uint64_t seed);

struct GmmSelection {
  std::vector<int> ks;        ///< the component counts tried (1..k_max)
  std::vector<double> bic;    ///< BIC of each
  int best_k = 0;
  GaussianMixture best;
};

/// Fits 1..k_max components and keeps the lowest BIC, with k_max = min(max_k, ⌊n / (d + 1)⌋)
/// (each component must be able to own d + 1 points) and at least 1.
GmmSelection select_gmm_bic(const Eigen::MatrixXd& x, int max_k, const GmmConfig& config, std::uint64_t seed);

/// The `count` entries of `among` (row indices of x) closest to `centre`, nearest first.
std::vector<int> nearest_rows(const Eigen::MatrixXd& x, const Eigen::VectorXd& centre, const std::vector<int>& among,
                              int count);

}  // namespace sdm::engine::analysis
