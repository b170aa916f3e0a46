#include "bench/learnability.hpp"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <iomanip>
#include <limits>
#include <numeric>
#include <random>
#include <sstream>

#include "core/error.hpp"
#include "engine/acquisition/scalarizer.hpp"
#include "engine/acquisition/strategy_config.hpp"
#include "engine/patches/candidate_grid.hpp"
#include "engine/patches/patch_extraction.hpp"

namespace sdm::bench {
namespace {

/// Centred design, its eigenbasis and projections: every λ and every target reuse it.
struct RidgeBasis {
  Eigen::RowVectorXd mean;
  Eigen::MatrixXd v;        ///< eigenvectors of X_cᵀX_c (columns)
  Eigen::VectorXd lambda;   ///< eigenvalues, clamped at 0
  Eigen::MatrixXd q;        ///< X_c·V (n × p)

  explicit RidgeBasis(const LearnMatrix& x) {
    mean = x.colwise().mean();
    const Eigen::MatrixXd xc = x.rowwise() - mean;
    Eigen::MatrixXd g = Eigen::MatrixXd::Zero(x.cols(), x.cols());
    g.selfadjointView<Eigen::Lower>().rankUpdate(xc.transpose());
    g = g.selfadjointView<Eigen::Lower>();
    const Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> es(g);
    v = es.eigenvectors();
    lambda = es.eigenvalues().cwiseMax(0.0);
    q = xc * v;
  }

  RidgeFit fit(const std::vector<double>& y, double alpha) const {
    const Eigen::Index n = q.rows();
    const Eigen::Map<const Eigen::VectorXd> ym(y.data(), Eigen::Index(y.size()));
    const double ybar = ym.mean();
    const Eigen::VectorXd yc = ym.array() - ybar;
    const Eigen::VectorXd c = q.transpose() * yc;
    const Eigen::VectorXd inv = (lambda.array() + alpha).inverse();
    const Eigen::VectorXd coef = c.cwiseProduct(inv);
    const Eigen::VectorXd fitted = q * coef;
    const Eigen::VectorXd h = (q.array().square().matrix() * inv).array() + 1.0 / double(n);
    double sse = 0;
    for (Eigen::Index i = 0; i < n; ++i) {
      const double denom = 1.0 - h[i];
      const double e = denom > 1e-12 ? (yc[i] - fitted[i]) / denom : std::numeric_limits<double>::infinity();
      sse += e * e;
    }
    RidgeFit f;
    f.weights = v * coef;
    f.intercept = ybar - mean.dot(f.weights);
    f.alpha = alpha;
    f.loo_mse = sse / double(n);
    return f;
  }

  RidgeFit fit_loo(const std::vector<double>& y, const std::vector<double>& alphas) const {
    RidgeFit best;
    best.loo_mse = std::numeric_limits<double>::infinity();
    for (double a : alphas) {
      RidgeFit f = fit(y, a);
      if (f.loo_mse < best.loo_mse || !std::isfinite(best.loo_mse)) best = std::move(f);
    }
    return best;
  }
};

void check_rows(const LearnMatrix& x, const std::vector<double>& y, const char* what) {
  if (x.rows() != Eigen::Index(y.size()))
    throw Error(std::string(what) + ": " + std::to_string(x.rows()) + " rows but " + std::to_string(y.size()) + " targets");
  if (x.rows() < 2) throw Error(std::string(what) + ": need at least 2 training rows, got " + std::to_string(x.rows()));
}

/// The `kmax` nearest training rows of every query (ascending distance, ties to the lower
/// index); with exclude_self, query i is training row i and is skipped.
std::vector<int> nearest(const LearnMatrix& train, const LearnMatrix& query, int kmax, bool exclude_self) {
  const Eigen::Index n = train.rows(), m = query.rows();
  const Eigen::VectorXd tn = train.rowwise().squaredNorm();
  std::vector<int> out(std::size_t(m) * std::size_t(kmax));
  std::vector<std::pair<double, int>> cand(static_cast<std::size_t>(n));
  const Eigen::Index block = 256;
  for (Eigen::Index b0 = 0; b0 < m; b0 += block) {
    const Eigen::Index nb = std::min(block, m - b0);
    const Eigen::MatrixXd cross = query.middleRows(b0, nb) * train.transpose();
    for (Eigen::Index r = 0; r < nb; ++r) {
      const Eigen::Index qi = b0 + r;
      const double qn = query.row(qi).squaredNorm();
      std::size_t c = 0;
      for (Eigen::Index j = 0; j < n; ++j) {
        if (exclude_self && j == qi) continue;
        cand[c++] = {std::max(0.0, qn + tn[j] - 2.0 * cross(r, j)), int(j)};
      }
      const std::size_t k = std::min<std::size_t>(std::size_t(kmax), c);
      std::partial_sort(cand.begin(), cand.begin() + long(k), cand.begin() + long(c));
      for (std::size_t t = 0; t < k; ++t) out[std::size_t(qi) * std::size_t(kmax) + t] = cand[t].second;
    }
  }
  return out;
}

double neighbour_mean(const std::vector<int>& nn, int kmax, std::size_t query, int k, const std::vector<double>& y) {
  double s = 0;
  for (int t = 0; t < k; ++t) s += y[std::size_t(nn[query * std::size_t(kmax) + std::size_t(t)])];
  return s / k;
}

/// The usable ks (< n for leave-one-out) of the grid; at least {1}.
std::vector<int> usable_ks(const std::vector<int>& ks, Eigen::Index n) {
  std::vector<int> out;
  for (int k : ks)
    if (k >= 1 && k < n) out.push_back(k);
  if (out.empty()) out.push_back(1);
  return out;
}

int select_k(const std::vector<int>& nn_loo, int kmax, std::size_t queries, const std::vector<int>& ks, const std::vector<double>& y) {
  int best = ks.front();
  double best_err = std::numeric_limits<double>::infinity();
  for (int k : ks) {
    double e = 0;
    for (std::size_t i = 0; i < queries; ++i) {
      const double d = y[i] - neighbour_mean(nn_loo, kmax, i, k, y);
      e += d * d;
    }
    if (e < best_err) best_err = e, best = k;
  }
  return best;
}

LearnMatrix take_rows(const LearnMatrix& x, const std::vector<int>& rows) {
  LearnMatrix out(Eigen::Index(rows.size()), x.cols());
  for (std::size_t i = 0; i < rows.size(); ++i) out.row(Eigen::Index(i)) = x.row(rows[i]);
  return out;
}

std::vector<double> take(const std::vector<double>& v, const std::vector<int>& rows) {
  std::vector<double> out(rows.size());
  for (std::size_t i = 0; i < rows.size(); ++i) out[i] = v[std::size_t(rows[i])];
  return out;
}

std::string fixed(double v, int digits) {
  if (!std::isfinite(v)) return v < 0 ? "-inf" : "nan";
  std::ostringstream s;
  s << std::fixed << std::setprecision(digits) << v;
  return s.str();
}

}  // namespace

double r2_score(const std::vector<double>& y, const std::vector<double>& p) {
  if (y.size() != p.size()) throw Error("r2_score: " + std::to_string(y.size()) + " values but " + std::to_string(p.size()) + " predictions");
  if (y.size() < 2) throw Error("r2_score: need at least 2 values");
  const double mean = std::accumulate(y.begin(), y.end(), 0.0) / double(y.size());
  double sse = 0, sst = 0;
  for (std::size_t i = 0; i < y.size(); ++i) {
    sse += (y[i] - p[i]) * (y[i] - p[i]);
    sst += (y[i] - mean) * (y[i] - mean);
  }
  if (sst == 0) return sse == 0 ? 0.0 : -std::numeric_limits<double>::infinity();
  return 1.0 - sse / sst;
}

const std::vector<double>& ridge_alphas() {
  static const std::vector<double> a = [] {
    std::vector<double> v;
    for (int k = -6; k <= 10; ++k) v.push_back(std::pow(10.0, 0.5 * k));
    return v;
  }();
  return a;
}

const std::vector<int>& knn_ks() {
  static const std::vector<int> k = {1, 2, 3, 5, 8, 12, 20, 30};
  return k;
}

RidgeFit ridge_fit(const LearnMatrix& x, const std::vector<double>& y, double alpha) {
  check_rows(x, y, "ridge_fit");
  if (!(alpha > 0)) throw Error("ridge_fit: alpha must be > 0");
  return RidgeBasis(x).fit(y, alpha);
}

RidgeFit ridge_fit_loo(const LearnMatrix& x, const std::vector<double>& y, const std::vector<double>& alphas) {
  check_rows(x, y, "ridge_fit_loo");
  if (alphas.empty()) throw Error("ridge_fit_loo: no alphas");
  return RidgeBasis(x).fit_loo(y, alphas);
}

std::vector<double> ridge_predict(const RidgeFit& fit, const LearnMatrix& x) {
  if (x.cols() != fit.weights.size()) throw Error("ridge_predict: " + std::to_string(x.cols()) + " features, fit has " + std::to_string(fit.weights.size()));
  const Eigen::VectorXd p = (x * fit.weights).array() + fit.intercept;
  return {p.data(), p.data() + p.size()};
}

std::vector<double> knn_predict(const LearnMatrix& train, const std::vector<double>& y, const LearnMatrix& query, int k) {
  check_rows(train, y, "knn_predict");
  if (k < 1 || k > train.rows()) throw Error("knn_predict: k = " + std::to_string(k) + " with " + std::to_string(train.rows()) + " training rows");
  if (query.cols() != train.cols()) throw Error("knn_predict: query and training features differ");
  const std::vector<int> nn = nearest(train, query, k, false);
  std::vector<double> out(std::size_t(query.rows()));
  for (std::size_t i = 0; i < out.size(); ++i) out[i] = neighbour_mean(nn, k, i, k, y);
  return out;
}

int knn_select_k(const LearnMatrix& train, const std::vector<double>& y, const std::vector<int>& ks, int max_queries) {
  check_rows(train, y, "knn_select_k");
  const std::vector<int> use = usable_ks(ks, train.rows());
  const int kmax = *std::max_element(use.begin(), use.end());
  const Eigen::Index nq = std::min<Eigen::Index>(train.rows(), std::max(1, max_queries));
  const std::vector<int> nn = nearest(train, train.topRows(nq), kmax, true);
  return select_k(nn, kmax, std::size_t(nq), use, y);
}

LearnabilityTable compute_learnability(const sim::Film& film, const LearnabilityOptions& o) {
  namespace acq = engine::acquisition;
  o.sweep.validate();
  const int n = film.size_px;
  const auto grid = engine::patches::make_candidate_grid(n, n, o.patch_px, o.stride_px);
  const std::size_t m = grid.size();
  if (m < 20) throw Error("learnability: only " + std::to_string(m) + " candidates (need at least 20)");
  const LearnMatrix patches = engine::patches::extract_patches(film.measured_height_m, n, n, grid, "film topography").cast<double>();

  // Targets and true geometry at every candidate's centre pixel.
  const std::vector<std::string>& names = acq::scalarizer_names();
  std::vector<acq::ScalarizerSpec> specs;
  for (const auto& s : names) specs.push_back(acq::ScalarizerSpec::from_name(s, o.scalarizer_bias_v, o.onset_current_a));
  std::vector<std::vector<double>> targets(specs.size(), std::vector<double>(m));
  LearnMatrix geometry(Eigen::Index(m), 3);
  for (std::size_t i = 0; i < m; ++i) {
    const int ix = grid.ix_px[i], iy = grid.iy_px[i];
    const core::IvCurve c = sim::ground_truth_iv(film, ix, iy, o.sweep);
    for (std::size_t s = 0; s < specs.size(); ++s) targets[s][i] = acq::scalarize(c, specs[s]);
    const std::size_t p = film.index(ix, iy);
    geometry(Eigen::Index(i), 0) = std::min<double>(film.boundary_distance_m[p], kGeometryCap_m);
    geometry(Eigen::Index(i), 1) = std::min<double>(film.junction_distance_m[p], kGeometryCap_m);
    geometry(Eigen::Index(i), 2) = std::min<double>(film.asymmetric_distance_m[p], kGeometryCap_m);
  }

  // Split: a held-out test set, then nested training sets from the shuffled rest.
  std::vector<int> order(m);
  std::iota(order.begin(), order.end(), 0);
  std::mt19937_64 rng(o.seed ^ 0x6c6561726e616269ULL);
  std::shuffle(order.begin(), order.end(), rng);
  const std::size_t n_test = std::max<std::size_t>(2, std::size_t(std::llround(o.test_fraction * double(m))));
  const std::vector<int> test(order.begin(), order.begin() + long(n_test));
  const std::vector<int> pool(order.begin() + long(n_test), order.end());
  LearnabilityTable t;
  t.candidates = int(m);
  t.test_count = int(test.size());
  t.pool_count = int(pool.size());
  t.patch_px = o.patch_px;
  t.stride_px = o.stride_px;
  std::vector<std::pair<int, bool>> sizes;
  for (int s : o.train_sizes)
    if (s >= 2 && std::size_t(s) < pool.size()) sizes.push_back({s, false});
  sizes.push_back({int(pool.size()), true});

  const LearnMatrix x_test = take_rows(patches, test);
  std::vector<LearnabilityRow> rows;
  for (const auto& [size, all] : sizes) {
    const std::vector<int> train(pool.begin(), pool.begin() + size);
    const LearnMatrix x_train = take_rows(patches, train);
    const RidgeBasis basis(x_train);
    // Neighbour lists depend on the inputs only: one search serves every scalarizer.
    const std::vector<int> ks = usable_ks(knn_ks(), x_train.rows());
    const int kmax = *std::max_element(ks.begin(), ks.end());
    const std::size_t nq = std::min<std::size_t>(train.size(), kKnnLooQueries);
    const std::vector<int> nn_test = nearest(x_train, x_test, kmax, false);
    const std::vector<int> nn_loo = nearest(x_train, x_train.topRows(Eigen::Index(nq)), kmax, true);
    LearnMatrix g_train = take_rows(geometry, train), g_test = take_rows(geometry, test);
    for (int c = 0; c < 3; ++c) {
      const double mu = g_train.col(c).mean();
      const double sd = std::sqrt((g_train.col(c).array() - mu).square().mean());
      const double scale = sd > 0 ? 1.0 / sd : 1.0;
      g_train.col(c) *= scale;
      g_test.col(c) *= scale;
    }
    const std::vector<int> gnn_test = nearest(g_train, g_test, kmax, false);
    const std::vector<int> gnn_loo = nearest(g_train, g_train.topRows(Eigen::Index(nq)), kmax, true);
    for (std::size_t s = 0; s < specs.size(); ++s) {
      const std::vector<double> y_train = take(targets[s], train), y_test = take(targets[s], test);
      LearnabilityRow r;
      r.scalarizer = names[s];
      r.n_train = size;
      r.all = all;
      const RidgeFit fit = basis.fit_loo(y_train, ridge_alphas());
      r.ridge_alpha = fit.alpha;
      r.ridge_patch_r2 = r2_score(y_test, ridge_predict(fit, x_test));
      std::vector<double> p(test.size());
      r.knn_k = select_k(nn_loo, kmax, nq, ks, y_train);
      for (std::size_t i = 0; i < p.size(); ++i) p[i] = neighbour_mean(nn_test, kmax, i, r.knn_k, y_train);
      r.knn_patch_r2 = r2_score(y_test, p);
      r.oracle_k = select_k(gnn_loo, kmax, nq, ks, y_train);
      for (std::size_t i = 0; i < p.size(); ++i) p[i] = neighbour_mean(gnn_test, kmax, i, r.oracle_k, y_train);
      r.oracle_r2 = r2_score(y_test, p);
      rows.push_back(r);
    }
  }
  // Scalarizer-major order.
  for (const auto& name : names)
    for (const auto& r : rows)
      if (r.scalarizer == name) t.rows.push_back(r);
  return t;
}

std::string learnability_markdown(const LearnabilityTable& t) {
  std::ostringstream s;
  s << "Held-out R² (" << t.test_count << " of " << t.candidates << " candidates held out; " << t.patch_px << " px patches, stride "
    << t.stride_px << " px)\n\n";
  s << "| scalarizer | n train | ridge (patch) | kNN (patch) | oracle kNN (true geometry) |\n";
  s << "|---|---|---|---|---|\n";
  for (const auto& r : t.rows)
    s << "| " << r.scalarizer << " | " << r.n_train << (r.all ? " (all)" : "") << " | " << fixed(r.ridge_patch_r2, 3) << " | "
      << fixed(r.knn_patch_r2, 3) << " (k=" << r.knn_k << ") | " << fixed(r.oracle_r2, 3) << " (k=" << r.oracle_k << ") |\n";
  return s.str();
}

std::vector<std::filesystem::path> write_learnability(const LearnabilityTable& t, const std::filesystem::path& dir) {
  const auto write = [](const std::filesystem::path& p, const std::string& text) {
    std::ofstream f(p, std::ios::binary);
    f << text;
    f.close();
    if (!f) throw Error("cannot write " + p.string());
  };
  std::ostringstream csv;
  csv << "scalarizer,n_train,all,ridge_patch_r2,ridge_alpha,knn_patch_r2,knn_k,oracle_r2,oracle_k,test_count,candidates\n";
  csv << std::setprecision(10);
  for (const auto& r : t.rows)
    csv << r.scalarizer << ',' << r.n_train << ',' << (r.all ? 1 : 0) << ',' << r.ridge_patch_r2 << ',' << r.ridge_alpha << ','
        << r.knn_patch_r2 << ',' << r.knn_k << ',' << r.oracle_r2 << ',' << r.oracle_k << ',' << t.test_count << ',' << t.candidates << '\n';
  const std::filesystem::path c = dir / "learnability.csv", m = dir / "learnability.md";
  write(c, csv.str());
  write(m, "# Learnability of the film's properties from the survey patches\n\n" + learnability_markdown(t) +
               "\nridge: λ by exact leave-one-out; kNN: k by leave-one-out; oracle: kNN on the true distances to the nearest "
               "boundary, triple junction and asymmetric boundary (docs/twin.md).\n");
  return {c, m};
}

}  // namespace sdm::bench
