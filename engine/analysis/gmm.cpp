#include "engine/analysis/gmm.hpp"

#include <Eigen/Cholesky>
#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <random>
#include <string>

#include "core/error.hpp"

namespace sdm::engine::analysis {
namespace {

constexpr double kLog2Pi = 1.8378770664093453;

// log N(x_i | μ, Σ) for every row; Σ = L·Lᵀ.
Eigen::VectorXd log_gaussian(const Eigen::MatrixXd& x, const Eigen::RowVectorXd& mean, const Eigen::MatrixXd& cov) {
  const Eigen::LLT<Eigen::MatrixXd> llt(cov);
  if (llt.info() != Eigen::Success) throw Error("Gaussian mixture: a covariance is not positive definite");
  const Eigen::MatrixXd L = llt.matrixL();
  const double log_det = 2.0 * L.diagonal().array().log().sum();
  const Eigen::MatrixXd centred = (x.rowwise() - mean).transpose();  // d × n
  const Eigen::MatrixXd solved = L.triangularView<Eigen::Lower>().solve(centred);
  const double d = static_cast<double>(x.cols());
  return (-0.5 * (d * kLog2Pi + log_det + solved.colwise().squaredNorm().array())).matrix().transpose();
}

// log p(x_i, component k) = log w_k + log N_k(x_i): n × k.
Eigen::MatrixXd joint_log(const GaussianMixture& g, const Eigen::MatrixXd& x) {
  Eigen::MatrixXd lj(x.rows(), g.components());
  for (int k = 0; k < g.components(); ++k)
    lj.col(k) = log_gaussian(x, g.means.row(k), g.covariances[k]).array() + std::log(std::max(g.weights(k), 1e-300));
  return lj;
}

Eigen::VectorXd row_logsumexp(const Eigen::MatrixXd& m) {
  const Eigen::VectorXd mx = m.rowwise().maxCoeff();
  return mx.array() + (m.colwise() - mx).array().exp().rowwise().sum().log();
}

void check_points(const Eigen::MatrixXd& x, const char* fn) {
  if (x.rows() < 1 || x.cols() < 1) throw Error(std::string(fn) + ": no points");
  if (!x.allFinite()) throw Error(std::string(fn) + ": points contain non-finite coordinates");
}

// M step from responsibilities r (n × k).
void m_step(GaussianMixture& g, const Eigen::MatrixXd& x, const Eigen::MatrixXd& r, double reg) {
  const int k = static_cast<int>(r.cols());
  const Eigen::Index n = x.rows(), d = x.cols();
  const Eigen::VectorXd nk = r.colwise().sum().transpose();
  g.weights = nk / static_cast<double>(n);
  g.means.resize(k, d);
  g.covariances.resize(k);
  const Eigen::RowVectorXd global_mean = x.colwise().mean();
  for (int c = 0; c < k; ++c) {
    if (nk(c) < 1e-10) {  // an empty component: park it on the data mean with the data's spread
      g.means.row(c) = global_mean;
      const Eigen::MatrixXd centred = x.rowwise() - global_mean;
      g.covariances[c] = centred.transpose() * centred / static_cast<double>(n) +
                         reg * Eigen::MatrixXd::Identity(d, d);
      g.weights(c) = 1e-10;
      continue;
    }
    g.means.row(c) = (r.col(c).transpose() * x) / nk(c);
    const Eigen::MatrixXd centred = x.rowwise() - g.means.row(c);
    g.covariances[c] = (centred.transpose() * r.col(c).asDiagonal() * centred) / nk(c) +
                       reg * Eigen::MatrixXd::Identity(d, d);
  }
  g.weights /= g.weights.sum();
}

// k-means++ centres → hard assignment → first M step.
GaussianMixture initialise(const Eigen::MatrixXd& x, int k, double reg, std::mt19937_64& rng) {
  const Eigen::Index n = x.rows();
  std::vector<Eigen::Index> centres;
  std::uniform_int_distribution<Eigen::Index> pick(0, n - 1);
  centres.push_back(pick(rng));
  Eigen::VectorXd d2 = (x.rowwise() - x.row(centres[0])).rowwise().squaredNorm();
  while (static_cast<int>(centres.size()) < k) {
    const double total = d2.sum();
    Eigen::Index next = 0;
    if (total > 0) {
      std::uniform_real_distribution<double> u(0.0, total);
      double t = u(rng), acc = 0;
      for (next = 0; next < n - 1; ++next) {
        acc += d2(next);
        if (acc >= t && d2(next) > 0) break;
      }
    } else {
      next = pick(rng);
    }
    centres.push_back(next);
    d2 = d2.cwiseMin((x.rowwise() - x.row(next)).rowwise().squaredNorm());
  }
  Eigen::MatrixXd r = Eigen::MatrixXd::Zero(n, k);
  for (Eigen::Index i = 0; i < n; ++i) {
    int best = 0;
    double bd = std::numeric_limits<double>::infinity();
    for (int c = 0; c < k; ++c) {
      const double dd = (x.row(i) - x.row(centres[c])).squaredNorm();
      if (dd < bd) {
        bd = dd;
        best = c;
      }
    }
    r(i, best) = 1.0;
  }
  GaussianMixture g;
  m_step(g, x, r, reg);
  return g;
}

double regularisation(const Eigen::MatrixXd& x, double floor) {
  const Eigen::MatrixXd centred = x.rowwise() - x.colwise().mean();
  const double mean_var = centred.squaredNorm() / static_cast<double>(x.rows() * x.cols());
  return floor * (mean_var > 0 ? mean_var : 1.0);
}

}  // namespace

int GaussianMixture::free_parameters() const {
  const int k = components(), d = dimension();
  return (k - 1) + k * d + k * d * (d + 1) / 2;
}

double GaussianMixture::bic(int n) const {
  return -2.0 * log_likelihood + free_parameters() * std::log(static_cast<double>(n));
}

Eigen::VectorXd GaussianMixture::log_density(const Eigen::MatrixXd& x) const {
  check_points(x, "GaussianMixture::log_density");
  if (x.cols() != dimension()) throw Error("GaussianMixture::log_density: points have the wrong dimension");
  return row_logsumexp(joint_log(*this, x));
}

Eigen::MatrixXd GaussianMixture::responsibilities(const Eigen::MatrixXd& x) const {
  check_points(x, "GaussianMixture::responsibilities");
  if (x.cols() != dimension()) throw Error("GaussianMixture::responsibilities: points have the wrong dimension");
  const Eigen::MatrixXd lj = joint_log(*this, x);
  return (lj.colwise() - row_logsumexp(lj)).array().exp().matrix();
}

std::vector<int> GaussianMixture::predict(const Eigen::MatrixXd& x) const {
  const Eigen::MatrixXd r = responsibilities(x);
  std::vector<int> out(static_cast<std::size_t>(x.rows()));
  for (Eigen::Index i = 0; i < x.rows(); ++i) r.row(i).maxCoeff(&out[i]);
  return out;
}

GaussianMixture fit_gmm(const Eigen::MatrixXd& x, int k, const GmmConfig& config, std::uint64_t seed) {
  check_points(x, "fit_gmm");
  if (k < 1 || k > x.rows())
    throw Error("fit_gmm: k must be in 1.." + std::to_string(x.rows()) + " (the number of points), got " + std::to_string(k));
  if (config.max_iterations < 1 || config.restarts < 1 || !(config.tolerance >= 0) || !(config.covariance_floor > 0))
    throw Error("fit_gmm: need max_iterations >= 1, restarts >= 1, tolerance >= 0 and covariance_floor > 0");
  const double reg = regularisation(x, config.covariance_floor);
  const double n = static_cast<double>(x.rows());
  std::mt19937_64 rng(seed);
  GaussianMixture best;
  best.log_likelihood = -std::numeric_limits<double>::infinity();
  for (int start = 0; start < config.restarts; ++start) {
    GaussianMixture g = initialise(x, k, reg, rng);
    double previous = -std::numeric_limits<double>::infinity();
    for (int it = 1; it <= config.max_iterations; ++it) {
      const Eigen::MatrixXd lj = joint_log(g, x);
      const Eigen::VectorXd lse = row_logsumexp(lj);
      g.log_likelihood = lse.sum();
      g.iterations = it;
      if (g.log_likelihood - previous < config.tolerance * n) {
        g.converged = true;
        break;
      }
      previous = g.log_likelihood;
      m_step(g, x, (lj.colwise() - lse).array().exp().matrix(), reg);
    }
    if (!g.converged) g.log_likelihood = row_logsumexp(joint_log(g, x)).sum();  // at the final parameters
    if (g.log_likelihood > best.log_likelihood) best = g;
  }
  return best;
}

GmmSelection select_gmm_bic(const Eigen::MatrixXd& x, int max_k, const GmmConfig& config, std::uint64_t seed) {
  check_points(x, "select_gmm_bic");
  if (max_k < 1) throw Error("select_gmm_bic: max_k must be >= 1, got " + std::to_string(max_k));
  const int k_max = std::max(1, std::min<int>(max_k, static_cast<int>(x.rows() / (x.cols() + 1))));
  GmmSelection s;
  double best_bic = std::numeric_limits<double>::infinity();
  for (int k = 1; k <= k_max; ++k) {
    GaussianMixture g = fit_gmm(x, k, config, seed + 7919ULL * static_cast<std::uint64_t>(k));
    const double b = g.bic(static_cast<int>(x.rows()));
    s.ks.push_back(k);
    s.bic.push_back(b);
    if (b < best_bic) {
      best_bic = b;
      s.best_k = k;
      s.best = std::move(g);
    }
  }
  return s;
}

std::vector<int> nearest_rows(const Eigen::MatrixXd& x, const Eigen::VectorXd& centre, const std::vector<int>& among,
                              int count) {
  std::vector<std::pair<double, int>> d;
  for (int i : among) {
    if (i < 0 || i >= x.rows()) throw Error("nearest_rows: row index " + std::to_string(i) + " out of range");
    d.emplace_back((x.row(i).transpose() - centre).squaredNorm(), i);
  }
  std::sort(d.begin(), d.end());
  std::vector<int> out;
  for (int j = 0; j < std::min<int>(count, static_cast<int>(d.size())); ++j) out.push_back(d[j].second);
  return out;
}

}  // namespace sdm::engine::analysis
