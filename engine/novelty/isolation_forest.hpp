#pragma once
// Isolation Forest (Liu, Ting & Zhou 2008) with scikit-learn's semantics (IsolationForest,
// version 1.x): `trees` isolation trees, each grown on ψ = min(subsample, n) samples drawn
// without replacement, to a depth limit ⌈log2 max(ψ, 2)⌉. At each node one feature is drawn
// at random among those not constant in the node (a node where every feature is constant is
// a leaf) and the split threshold uniformly in [min, max) of that feature there; x ≤ t goes
// left. The path length of x in a tree is the depth of its leaf plus c(size of the leaf), and
//   anomaly score s(x) = 2^(−E[h(x)] / c(ψ)) ∈ (0, 1], higher = more anomalous,
//   c(n) = 2 H(n − 1) − 2 (n − 1)/n  (c(1) = 0, c(2) = 1), H(i) ≈ ln i + γ
// (the harmonic-number estimate of Liu et al. and scikit-learn; average_path_length_exact
// uses the exact H). s is scikit-learn's −score_samples. Contamination only sets
// threshold(): the (1 − contamination) quantile of the training scores (numpy's linear
// percentile), i.e. scikit-learn's offset_; it does not change s.
#include <cstdint>
#include <random>
#include <vector>

#include <Eigen/Core>

namespace sdm::engine::novelty {

/// c(n) as scikit-learn computes it: 0 for n ≤ 1, 1 for n = 2, else 2(ln(n−1) + γ) − 2(n−1)/n.
double average_path_length(double n);
/// c(n) with the exact harmonic number H(n−1) = Σ_{k=1}^{n−1} 1/k (0 for n ≤ 1).
double average_path_length_exact(int n);

struct IsolationForestConfig {
  int trees = 100;             ///< n_estimators
  int subsample = 256;         ///< max_samples: each tree sees min(subsample, n) samples
  double contamination = 0.1;  ///< expected outlier fraction, sets threshold() only; in (0, 0.5]
};

class IsolationForest {
 public:
  /// Throws sdm::Error for trees < 1, subsample < 2 or contamination outside (0, 0.5].
  explicit IsolationForest(const IsolationForestConfig& config = {});

  /// Grows the forest on the n rows of `samples` (n ≥ 2, finite), drawing from `rng`.
  void fit(const Eigen::MatrixXd& samples, std::mt19937_64& rng);

  /// E[h(x)] over the trees, one per row of x (same number of columns as the fit).
  Eigen::VectorXd mean_path_length(const Eigen::MatrixXd& x) const;
  /// s(x) = 2^(−E[h(x)]/c(ψ)), one per row.
  Eigen::VectorXd anomaly_score(const Eigen::MatrixXd& x) const;
  /// Scores above this are outliers at the configured contamination (from the training set).
  double threshold() const { return threshold_; }

  bool fitted() const { return !trees_.empty(); }
  int subsample_size() const { return psi_; }
  int max_depth() const { return max_depth_; }

 private:
  struct Tree {
    std::vector<int> feature;        ///< −1 at a leaf
    std::vector<double> split;       ///< threshold (x ≤ split goes left)
    std::vector<int> left, right;    ///< child node indices
    std::vector<double> leaf_path;   ///< at a leaf: depth + c(leaf size)
  };
  double path_length(const Tree& tree, const double* x) const;

  IsolationForestConfig config_;
  std::vector<Tree> trees_;
  int features_ = 0, psi_ = 0, max_depth_ = 0;
  double threshold_ = 0;
};

}  // namespace sdm::engine::novelty
