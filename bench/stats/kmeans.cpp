#include "bench/stats/kmeans.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <string>

#include <Eigen/Dense>

#include "core/error.hpp"

namespace sdm::bench::stats {

using engine::gp::RowMatrixF;

namespace {
using RowMatrixD = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

void check_data(const RowMatrixF& x, int k) {
  if (k < 1) throw Error("kmeans: k = " + std::to_string(k) + " must be ≥ 1");
  if (x.rows() < k)
    throw Error("kmeans: " + std::to_string(x.rows()) + " rows cannot make " + std::to_string(k) + " clusters");
  if (x.cols() < 1) throw Error("kmeans: rows have no features");
  if (!x.allFinite()) throw Error("kmeans: data contain NaN or infinite values");
}

// Squared Euclidean distance of two float rows, accumulated in double over 8 independent
// partial sums (so it vectorises) in a fixed order: deterministic.
double squared_distance(const float* a, const float* b, Eigen::Index d) {
  double part[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  Eigen::Index k = 0;
  for (; k + 8 <= d; k += 8)
    for (int l = 0; l < 8; ++l) {
      const double t = static_cast<double>(a[k + l]) - static_cast<double>(b[k + l]);
      part[l] += t * t;
    }
  for (; k < d; ++k) {
    const double t = static_cast<double>(a[k]) - static_cast<double>(b[k]);
    part[0] += t * t;
  }
  return ((part[0] + part[1]) + (part[2] + part[3])) + ((part[4] + part[5]) + (part[6] + part[7]));
}
double distance(const float* a, const float* b, Eigen::Index d) { return std::sqrt(squared_distance(a, b, d)); }
}  // namespace

std::vector<int> kmeans_plus_plus_seeds(const RowMatrixF& x, int k, std::mt19937_64& rng) {
  check_data(x, k);
  const Eigen::Index n = x.rows(), d = x.cols();
  std::vector<int> seeds;
  seeds.reserve(k);
  std::uniform_int_distribution<Eigen::Index> first(0, n - 1);
  seeds.push_back(static_cast<int>(first(rng)));
  std::vector<double> d2(static_cast<size_t>(n)), cum(static_cast<size_t>(n));
  for (Eigen::Index i = 0; i < n; ++i) d2[i] = squared_distance(x.row(i).data(), x.row(seeds[0]).data(), d);
  while (static_cast<int>(seeds.size()) < k) {
    double total = 0.0;
    for (Eigen::Index i = 0; i < n; ++i) cum[i] = total += d2[i];
    Eigen::Index pick = 0;
    if (total > 0) {
      std::uniform_real_distribution<double> u(0.0, total);
      const double target = u(rng);
      pick = std::upper_bound(cum.begin(), cum.end(), target) - cum.begin();
      pick = std::min(pick, n - 1);
      while (d2[pick] <= 0 && pick > 0) --pick;  // never a row already at distance 0 (rounding guard)
    } else {
      pick = first(rng);
    }
    seeds.push_back(static_cast<int>(pick));
    const float* c = x.row(pick).data();
    for (Eigen::Index i = 0; i < n; ++i) d2[i] = std::min(d2[i], squared_distance(x.row(i).data(), c, d));
  }
  return seeds;
}

KMeansResult kmeans(const RowMatrixF& x, const KMeansConfig& cfg, std::mt19937_64& rng) {
  check_data(x, cfg.k);
  if (cfg.max_iterations < 1) throw Error("kmeans: max_iterations must be ≥ 1");
  const Eigen::Index n = x.rows(), d = x.cols();
  const int k = cfg.k;
  KMeansResult res;
  res.centres.resize(k, d);
  const std::vector<int> seeds = kmeans_plus_plus_seeds(x, k, rng);
  for (int j = 0; j < k; ++j) res.centres.row(j) = x.row(seeds[j]);

  // scikit-learn's tolerance: relative to the mean per-feature variance.
  double mean_var = 0.0;
  {
    const Eigen::RowVectorXd mean = x.cast<double>().colwise().mean();
    for (Eigen::Index i = 0; i < n; ++i) mean_var += (x.row(i).cast<double>() - mean).squaredNorm();
    mean_var /= static_cast<double>(n) * static_cast<double>(d);
  }
  const double tol = cfg.tolerance * mean_var;

  // Lloyd iterations with Elkan's bounds (Elkan 2003): an upper bound u on each row's distance
  // to its centre, a lower bound l(i, j) on its distance to every centre j, and the
  // centre–centre distances. Centre j is skipped for row i when u ≤ l(i, j) or u ≤ ½ d(c_a, c_j):
  // by the triangle inequality it cannot be nearer. The labels are those of a full assignment
  // (ties to the lower index), with a fraction of the distance evaluations.
  std::vector<int> label(static_cast<size_t>(n), 0);
  std::vector<double> upper(static_cast<size_t>(n));
  std::vector<double> lower(static_cast<size_t>(n) * k);
  std::vector<char> loose(static_cast<size_t>(n), 0);  // upper bound not known to be exact
  RowMatrixD cc(k, k);
  std::vector<double> half_sep(k);
  auto centre_distances = [&]() {
    for (int a = 0; a < k; ++a) {
      cc(a, a) = 0.0;
      for (int b = a + 1; b < k; ++b) cc(a, b) = cc(b, a) = distance(res.centres.row(a).data(), res.centres.row(b).data(), d);
    }
    for (int a = 0; a < k; ++a) {
      double m = std::numeric_limits<double>::infinity();
      for (int b = 0; b < k; ++b)
        if (b != a) m = std::min(m, cc(a, b));
      half_sep[a] = 0.5 * m;
    }
  };
  // Initial assignment: centres in index order, Elkan's pruning with the centre distances.
  centre_distances();
  for (Eigen::Index i = 0; i < n; ++i) {
    const float* xi = x.row(i).data();
    double* li = lower.data() + static_cast<size_t>(i) * k;
    std::fill(li, li + k, 0.0);
    int a = 0;
    double u = distance(xi, res.centres.row(0).data(), d);
    li[0] = u;
    for (int j = 1; j < k; ++j) {
      if (u <= 0.5 * cc(a, j)) continue;  // l = 0 otherwise: unknown
      const double dij = distance(xi, res.centres.row(j).data(), d);
      li[j] = dij;
      if (dij < u) {
        u = dij;
        a = j;
      }
    }
    label[i] = a;
    upper[i] = u;
  }

  RowMatrixD sums(k, d);
  std::vector<long> counts(k);
  std::vector<double> delta(k);
  for (int it = 1; it <= cfg.max_iterations; ++it) {
    res.iterations = it;
    // Centres ← means of their rows.
    sums.setZero();
    std::fill(counts.begin(), counts.end(), 0L);
    for (Eigen::Index i = 0; i < n; ++i) {
      sums.row(label[i]) += x.row(i).cast<double>();
      ++counts[label[i]];
    }
    // Empty clusters take the rows farthest from their centres (upper bounds; as scikit-learn).
    std::vector<int> empty;
    for (int j = 0; j < k; ++j)
      if (counts[j] == 0) empty.push_back(j);
    long changed = 0;
    if (!empty.empty()) {
      std::vector<Eigen::Index> far(static_cast<size_t>(n));
      std::iota(far.begin(), far.end(), Eigen::Index{0});
      std::stable_sort(far.begin(), far.end(), [&](Eigen::Index a, Eigen::Index b) { return upper[a] > upper[b]; });
      size_t next = 0;
      for (int j : empty) {
        while (next < far.size() && counts[label[far[next]]] <= 1) ++next;  // keep donors non-empty
        if (next == far.size()) break;
        const Eigen::Index i = far[next++];
        sums.row(label[i]) -= x.row(i).cast<double>();
        --counts[label[i]];
        label[i] = j;
        sums.row(j) = x.row(i).cast<double>();
        counts[j] = 1;
        loose[i] = 1;  // its upper bound is no longer about its centre: recomputed below
        upper[i] = std::numeric_limits<double>::infinity();
        ++changed;
      }
    }
    double shift = 0.0;
    for (int j = 0; j < k; ++j) {
      delta[j] = 0.0;
      if (counts[j] == 0) continue;
      const Eigen::RowVectorXf c = (sums.row(j) / static_cast<double>(counts[j])).cast<float>();
      delta[j] = distance(c.data(), res.centres.row(j).data(), d);
      shift += delta[j] * delta[j];
      res.centres.row(j) = c;
    }
    // Move the bounds with the centres, then re-examine only what the bounds cannot exclude.
    for (Eigen::Index i = 0; i < n; ++i) {
      double* li = lower.data() + static_cast<size_t>(i) * k;
      for (int j = 0; j < k; ++j) li[j] = std::max(0.0, li[j] - delta[j]);
      if (delta[label[i]] > 0) {
        upper[i] += delta[label[i]];
        loose[i] = 1;
      }
    }
    centre_distances();
    for (Eigen::Index i = 0; i < n; ++i) {
      int a = label[i];
      double u = upper[i];
      if (u < half_sep[a]) continue;
      const float* xi = x.row(i).data();
      double* li = lower.data() + static_cast<size_t>(i) * k;
      bool tight = !loose[i];
      // Centre j cannot beat a if u ≤ l(i, j) or u ≤ ½ d(c_a, c_j); for j < a equality would
      // tie and the lower index wins, so there the test is strict.
      auto excluded = [&](int j) {
        const double h = 0.5 * cc(a, j);
        return j < a ? (u < li[j] || u < h) : (u <= li[j] || u <= h);
      };
      for (int j = 0; j < k; ++j) {
        if (j == a || excluded(j)) continue;
        if (!tight) {
          u = distance(xi, res.centres.row(a).data(), d);
          li[a] = u;
          tight = true;
          if (excluded(j)) continue;
        }
        const double dij = distance(xi, res.centres.row(j).data(), d);
        li[j] = dij;
        if (dij < u || (dij == u && j < a)) {
          u = dij;
          a = j;
        }
      }
      if (a != label[i]) ++changed;
      label[i] = a;
      upper[i] = u;
      loose[i] = !tight;
    }
    if (changed == 0 || shift <= tol) {  // no label moved: the centres are the means already
      res.converged = true;
      break;
    }
  }
  // Inertia from exact distances to the final centres.
  res.inertia = 0.0;
  for (Eigen::Index i = 0; i < n; ++i) res.inertia += squared_distance(x.row(i).data(), res.centres.row(label[i]).data(), d);
  res.labels = std::move(label);
  return res;
}

}  // namespace sdm::bench::stats
