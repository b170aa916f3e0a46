#include "engine/novelty/isolation_forest.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <string>

#include "core/error.hpp"

namespace sdm::engine::novelty {

namespace {
constexpr double kEulerGamma = 0.5772156649015329;
using RowMatrixD = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
}  // namespace

double average_path_length(double n) {
  if (n <= 1.0) return 0.0;
  if (n <= 2.0) return 1.0;
  return 2.0 * (std::log(n - 1.0) + kEulerGamma) - 2.0 * (n - 1.0) / n;
}

double average_path_length_exact(int n) {
  if (n <= 1) return 0.0;
  double h = 0.0;
  for (int k = n - 1; k >= 1; --k) h += 1.0 / k;  // smallest terms first
  return 2.0 * h - 2.0 * (n - 1.0) / n;
}

IsolationForest::IsolationForest(const IsolationForestConfig& config) : config_(config) {
  if (config.trees < 1) throw Error("isolation forest: trees = " + std::to_string(config.trees) + " must be ≥ 1");
  if (config.subsample < 2) throw Error("isolation forest: subsample = " + std::to_string(config.subsample) + " must be ≥ 2");
  if (!(config.contamination > 0.0 && config.contamination <= 0.5))
    throw Error("isolation forest: contamination = " + std::to_string(config.contamination) + " must be in (0, 0.5]");
}

void IsolationForest::fit(const Eigen::MatrixXd& samples, std::mt19937_64& rng) {
  const int n = static_cast<int>(samples.rows()), d = static_cast<int>(samples.cols());
  if (n < 2) throw Error("isolation forest: needs at least 2 samples to fit, got " + std::to_string(n));
  if (d < 1) throw Error("isolation forest: samples have no features");
  if (!samples.allFinite()) throw Error("isolation forest: samples contain NaN or infinite values");
  const RowMatrixD X = samples;  // row-major: one sample contiguous
  features_ = d;
  psi_ = std::min(config_.subsample, n);
  max_depth_ = static_cast<int>(std::ceil(std::log2(std::max(psi_, 2))));
  trees_.assign(static_cast<size_t>(config_.trees), Tree{});

  std::vector<int> pool(n), feature_order(d);
  std::iota(feature_order.begin(), feature_order.end(), 0);
  struct Pending {
    int node, begin, end, depth;
  };
  std::vector<Pending> stack;
  std::uniform_real_distribution<double> unit(0.0, 1.0);

  for (Tree& tree : trees_) {
    // ψ samples without replacement: a partial Fisher–Yates shuffle of 0..n−1.
    std::iota(pool.begin(), pool.end(), 0);
    for (int k = 0; k < psi_; ++k) {
      std::uniform_int_distribution<int> pick(k, n - 1);
      std::swap(pool[k], pool[pick(rng)]);
    }
    auto new_node = [&tree]() {
      tree.feature.push_back(-1);
      tree.split.push_back(0.0);
      tree.left.push_back(-1);
      tree.right.push_back(-1);
      tree.leaf_path.push_back(0.0);
      return static_cast<int>(tree.feature.size()) - 1;
    };
    stack.clear();
    stack.push_back({new_node(), 0, psi_, 0});
    while (!stack.empty()) {
      const Pending p = stack.back();
      stack.pop_back();
      const int size = p.end - p.begin;
      int chosen = -1;
      double lo = 0, hi = 0;
      if (size > 1 && p.depth < max_depth_) {
        // Draw features without replacement until one is not constant in this node.
        for (int k = 0; k < d && chosen < 0; ++k) {
          std::uniform_int_distribution<int> pick(k, d - 1);
          std::swap(feature_order[k], feature_order[pick(rng)]);
          const int f = feature_order[k];
          lo = hi = X(pool[p.begin], f);
          for (int s = p.begin + 1; s < p.end; ++s) {
            const double v = X(pool[s], f);
            lo = v < lo ? v : lo;
            hi = v > hi ? v : hi;
          }
          if (hi > lo) chosen = f;
        }
      }
      if (chosen < 0) {
        tree.leaf_path[p.node] = p.depth + average_path_length(size);
        continue;
      }
      double t = lo + unit(rng) * (hi - lo);
      if (t >= hi) t = lo;  // rounding reached max: keep both sides non-empty (as scikit-learn does)
      const int mid = static_cast<int>(
          std::partition(pool.begin() + p.begin, pool.begin() + p.end, [&](int s) { return X(s, chosen) <= t; }) -
          pool.begin());
      const int l = new_node(), r = new_node();
      tree.feature[p.node] = chosen;
      tree.split[p.node] = t;
      tree.left[p.node] = l;
      tree.right[p.node] = r;
      stack.push_back({r, mid, p.end, p.depth + 1});
      stack.push_back({l, p.begin, mid, p.depth + 1});
    }
  }

  // scikit-learn's offset_: the contamination percentile of the training scores.
  const Eigen::VectorXd s = anomaly_score(samples);
  std::vector<double> sorted(s.data(), s.data() + s.size());
  std::sort(sorted.begin(), sorted.end());
  const double pos = (1.0 - config_.contamination) * (n - 1);
  const int i0 = static_cast<int>(std::floor(pos));
  const int i1 = std::min(i0 + 1, n - 1);
  threshold_ = sorted[i0] + (pos - i0) * (sorted[i1] - sorted[i0]);
}

double IsolationForest::path_length(const Tree& tree, const double* x) const {
  int node = 0;
  while (tree.feature[node] >= 0) node = x[tree.feature[node]] <= tree.split[node] ? tree.left[node] : tree.right[node];
  return tree.leaf_path[node];
}

Eigen::VectorXd IsolationForest::mean_path_length(const Eigen::MatrixXd& x) const {
  if (!fitted()) throw Error("isolation forest: mean_path_length before fit");
  if (x.cols() != features_)
    throw Error("isolation forest: rows have " + std::to_string(x.cols()) + " features, the forest was fitted on " +
                std::to_string(features_));
  const RowMatrixD X = x;
  Eigen::VectorXd out(X.rows());
  for (Eigen::Index i = 0; i < X.rows(); ++i) {
    double sum = 0.0;
    for (const Tree& t : trees_) sum += path_length(t, X.row(i).data());
    out[i] = sum / static_cast<double>(trees_.size());
  }
  return out;
}

Eigen::VectorXd IsolationForest::anomaly_score(const Eigen::MatrixXd& x) const {
  const Eigen::VectorXd h = mean_path_length(x);
  const double c = average_path_length(psi_);
  Eigen::VectorXd s(h.size());
  for (Eigen::Index i = 0; i < h.size(); ++i) s[i] = std::exp2(-h[i] / c);
  return s;
}

}  // namespace sdm::engine::novelty
