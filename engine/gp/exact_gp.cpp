#include "engine/gp/exact_gp.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "core/error.hpp"
#include "core/target_clones.hpp"
#include "engine/gp/detail/early_stopping.hpp"
#include "engine/gp/detail/kernel_detail.hpp"
#include "engine/gp/detail/lapack.hpp"

namespace sdm::engine::gp {

namespace {

constexpr double kLog2Pi = 1.8378770664093454836;

int as_int(Eigen::Index n) { return static_cast<int>(n); }

void check_hyper(const GpHyperparameters& h, int dim, bool ard) {
  const Eigen::Index want = ard ? dim : 1;
  if (h.length_scale.size() != want)
    throw Error("GP hyperparameters: length_scale has " + std::to_string(h.length_scale.size()) +
                " entries; expected " + std::to_string(want) + (ard ? " (ARD)" : " (isotropic)"));
  if (!(h.length_scale.array() > 0).all() || !h.length_scale.allFinite())
    throw Error("GP hyperparameters: length scales must be finite and > 0");
  if (!(h.output_scale > 0) || !std::isfinite(h.output_scale))
    throw Error("GP hyperparameters: output_scale must be finite and > 0, got " + std::to_string(h.output_scale));
  if (!(h.noise_variance >= 0) || !std::isfinite(h.noise_variance))
    throw Error("GP hyperparameters: noise_variance must be finite and >= 0, got " +
                std::to_string(h.noise_variance));
  if (!std::isfinite(h.mean)) throw Error("GP hyperparameters: mean must be finite");
}

/// Next jitter of the escalation, or throws when it would exceed max_jitter * scale.
double next_jitter(double jitter, double scale, const CholeskyOptions& options) {
  const double next = jitter == 0 ? options.jitter * scale : jitter * 10.0;
  if (!(next <= options.max_jitter * scale * (1 + 1e-12)) || !(next > 0))
    throw Error("GP covariance matrix is not positive definite even with diagonal jitter " + std::to_string(jitter) +
                " (max_jitter = " + std::to_string(options.max_jitter) + " x output scale " + std::to_string(scale) +
                ")");
  return next;
}

/// Lower triangles of the unit kernel `c` (and of phi), then K = s C + noise I factorised
/// into the lower triangle of `f`, with jitter escalation. Returns the jitter.
double factorise(KernelKind kind, const GpHyperparameters& h, const Eigen::MatrixXd& x, const CholeskyOptions& opt,
                 Eigen::MatrixXd& f, Eigen::MatrixXd& c, Eigen::MatrixXd* phi) {
  if (!x.allFinite()) throw Error("GP inputs contain NaN or inf");
  const Eigen::Index n = x.rows();
  detail::unit_kernel_lower(kind, h.length_scale, x, c, phi);
  f.resize(n, n);
  double jitter = 0.0;
  for (;;) {
    const double diag = h.noise_variance + jitter;
    for (Eigen::Index j = 0; j < n; ++j) {
      f.col(j).tail(n - j) = h.output_scale * c.col(j).tail(n - j);
      f(j, j) += diag;
    }
    if (detail::potrf_lower(f.data(), as_int(n), as_int(n)) == 0) return jitter;
    jitter = next_jitter(jitter, h.output_scale, opt);
  }
}

/// The one pass over the lower triangles behind the NLL gradient (see its caller): with
/// G = K^-1 - alpha alpha^T (kinv: lower triangle of K^-1), W = G o phi with zero diagonal,
/// accumulates rs = W 1, wz_k = W z_k, trace(G) and sum_ij G_ij C_ij. All matrices n x n
/// column-major, z n x d column-major; rs and wz start at zero. The sums are vector
/// reductions (omp simd: a fixed order for a given clone, so still deterministic).
SDM_TARGET_CLONES
void gradient_pass(int n, int d, const double* kinv_all, const double* c_all, const double* phi_all,
                   const double* alpha, const double* z, double* rs, double* wz, double& trace_g, double& g_dot_c) {
  std::vector<double> w(n);
  for (int j = 0; j < n; ++j) {
    const int len = n - j;
    const std::size_t col = static_cast<std::size_t>(j) * n + j;
    const double* __restrict kinv = kinv_all + col;
    const double* __restrict cj = c_all + col;
    const double* __restrict pj = phi_all + col;
    const double* __restrict aj = alpha + j;
    const double a0 = alpha[j];
    double* __restrict wp = w.data();
    double gc = 0;
#pragma omp simd reduction(+ : gc)
    for (int i = 0; i < len; ++i) {
      const double g = kinv[i] - a0 * aj[i];
      gc += g * cj[i];
      wp[i] = g * pj[i];
    }
    const double g_jj = kinv[0] - a0 * a0;
    trace_g += g_jj;
    g_dot_c += 2.0 * gc - g_jj * cj[0];
    wp[0] = 0.0;  // the diagonal has no distance derivative
    double row_sum = 0;
    double* __restrict rsp = rs + j;
#pragma omp simd reduction(+ : row_sum)
    for (int i = 1; i < len; ++i) {
      rsp[i] += wp[i];
      row_sum += wp[i];
    }
    rs[j] += row_sum;
    for (int k = 0; k < d; ++k) {
      const double* __restrict zk = z + static_cast<std::size_t>(k) * n + j;
      double* __restrict wzk = wz + static_cast<std::size_t>(k) * n + j;
      const double zjk = zk[0];
      double acc = 0;
#pragma omp simd reduction(+ : acc)
      for (int i = 1; i < len; ++i) {
        wzk[i] += wp[i] * zjk;
        acc += wp[i] * zk[i];
      }
      wzk[0] += acc;
    }
  }
}

}  // namespace

double cholesky_with_jitter(Eigen::MatrixXd& a, double scale, const CholeskyOptions& options) {
  const int n = as_int(a.rows());
  if (a.cols() != n) throw Error("Cholesky: matrix is not square");
  if (n == 0) return 0.0;
  if (!a.allFinite()) throw Error("GP covariance matrix has non-finite entries (NaN or inf in inputs or hyperparameters)");
  if (!(scale > 0) || !std::isfinite(scale)) scale = std::max(a.diagonal().cwiseAbs().maxCoeff(), 1e-300);
  const Eigen::VectorXd diag = a.diagonal();
  double jitter = 0.0;
  for (;;) {
    if (jitter > 0) {
      // potrf wrote L into the lower triangle: restore it from the untouched upper triangle.
      a.triangularView<Eigen::StrictlyLower>() = a.transpose().triangularView<Eigen::StrictlyLower>();
      a.diagonal() = diag.array() + jitter;
    }
    if (detail::potrf_lower(a.data(), n, n) == 0) return jitter;
    jitter = next_jitter(jitter, scale, options);
  }
}

NllResult negative_log_marginal_likelihood(KernelKind kind, const GpHyperparameters& h, const Eigen::MatrixXd& x,
                                           const Eigen::VectorXd& y, const CholeskyOptions& options,
                                           bool with_gradient, NllWorkspace* workspace) {
  const int n = as_int(x.rows()), d = as_int(x.cols());
  if (y.size() != n) throw Error("GP NLL: " + std::to_string(n) + " inputs but " + std::to_string(y.size()) + " targets");
  NllResult res;
  if (n == 0) return res;
  NllWorkspace local;
  NllWorkspace& ws = workspace ? *workspace : local;
  Eigen::MatrixXd &f = ws.factor, &c = ws.kernel, &phi = ws.phi;
  res.jitter = factorise(kind, h, x, options, f, c, with_gradient ? &phi : nullptr);

  Eigen::VectorXd alpha = y.array() - h.mean;
  const Eigen::VectorXd r = alpha;
  detail::potrs_lower(f.data(), n, n, alpha.data(), 1, n);
  res.value = 0.5 * r.dot(alpha) + f.diagonal().array().log().sum() + 0.5 * n * kLog2Pi;
  if (!with_gradient) return res;

  // dNLL/dK = 1/2 G with G = K^-1 - alpha alpha^T. One pass over the lower triangle forms
  // G, W = G o phi and the symmetric products rs = W 1 and wz_k = W z_k.
  detail::inverse_from_cholesky_lower(f.data(), n, n);
  // Centre the inputs: the kernel is translation invariant and this limits cancellation.
  const Eigen::MatrixXd z = x.rowwise() - x.colwise().mean();
  double trace_g = 0, g_dot_c = 0;  // g_dot_c = sum_ij G_ij C_ij
  Eigen::VectorXd rs = Eigen::VectorXd::Zero(n);
  Eigen::MatrixXd wz = Eigen::MatrixXd::Zero(n, d);
  gradient_pass(n, d, f.data(), c.data(), phi.data(), alpha.data(), z.data(), rs.data(), wz.data(), trace_g, g_dot_c);
  res.d_hyper.noise_variance = 0.5 * trace_g;
  res.d_hyper.output_scale = 0.5 * g_dot_c;
  res.d_hyper.mean = -alpha.sum();

  const Eigen::ArrayXd il2 = detail::inverse_squared_length_scales(h.length_scale, d);
  const double s = h.output_scale;
  res.d_inputs.resize(n, d);
  res.d_hyper.length_scale = Eigen::VectorXd::Zero(h.length_scale.size());
  for (int k = 0; k < d; ++k) {
    // dNLL/dz_ik = sum_j G_ij dk_ij/dz_ik = -s/l_k^2 sum_j W_ij (z_ik - z_jk)
    res.d_inputs.col(k) = -s * il2(k) * (z.col(k).cwiseProduct(rs) - wz.col(k));
    // dNLL/dl_k = 1/2 sum_ij G_ij s phi_ij d_ijk^2 / l_k^3, sum_ij W_ij d_ijk^2 = 2 (z_k^2 . rs - z_k . wz_k)
    const double l = h.length_scale.size() == 1 ? h.length_scale(0) : h.length_scale(k);
    const double sum_w_d2 = 2.0 * (z.col(k).array().square().matrix().dot(rs) - z.col(k).dot(wz.col(k)));
    const double dl = 0.5 * s * sum_w_d2 / (l * l * l);
    if (h.length_scale.size() == 1)
      res.d_hyper.length_scale(0) += dl;
    else
      res.d_hyper.length_scale(k) = dl;
  }
  return res;
}

Eigen::VectorXd to_unconstrained(const GpHyperparameters& h, double min_noise) {
  const Eigen::Index nl = h.length_scale.size();
  Eigen::VectorXd t(nl + 3);
  t.head(nl) = h.length_scale.array().log().matrix();
  t(nl) = std::log(h.output_scale);
  t(nl + 1) = std::log(std::max(h.noise_variance - min_noise, 1e-12));
  t(nl + 2) = h.mean;
  return t;
}

GpHyperparameters from_unconstrained(const Eigen::VectorXd& t, double min_noise) {
  const Eigen::Index nl = t.size() - 3;
  if (nl < 1) throw Error("GP unconstrained parameter vector too short");
  GpHyperparameters h;
  h.length_scale = t.head(nl).array().exp().matrix();
  h.output_scale = std::exp(t(nl));
  h.noise_variance = std::exp(t(nl + 1)) + min_noise;
  h.mean = t(nl + 2);
  return h;
}

Eigen::VectorXd unconstrained_gradient(const GpHyperGradient& g, const GpHyperparameters& h, double min_noise) {
  const Eigen::Index nl = h.length_scale.size();
  Eigen::VectorXd t(nl + 3);
  t.head(nl) = g.length_scale.cwiseProduct(h.length_scale);
  t(nl) = g.output_scale * h.output_scale;
  t(nl + 1) = g.noise_variance * (h.noise_variance - min_noise);
  t(nl + 2) = g.mean;
  return t;
}

double median_pairwise_distance(const Eigen::MatrixXd& x) {
  const Eigen::Index n = x.rows();
  std::vector<Eigen::Index> rows;
  const Eigen::Index keep = std::min<Eigen::Index>(n, 512);
  for (Eigen::Index i = 0; i < keep; ++i) rows.push_back(keep == n ? i : (i * n) / keep);
  std::vector<double> dist;
  dist.reserve(rows.size() * rows.size() / 2);
  for (size_t i = 0; i < rows.size(); ++i)
    for (size_t j = i + 1; j < rows.size(); ++j) {
      const double v = (x.row(rows[i]) - x.row(rows[j])).norm();
      if (v > 0 && std::isfinite(v)) dist.push_back(v);
    }
  if (dist.empty()) return 1.0;
  auto mid = dist.begin() + static_cast<std::ptrdiff_t>(dist.size() / 2);
  std::nth_element(dist.begin(), mid, dist.end());
  return *mid;
}

ExactGp::ExactGp(KernelKind kind, int input_dim, bool ard) : kind_(kind), input_dim_(input_dim), ard_(ard) {
  if (input_dim < 1) throw Error("ExactGp: input_dim must be >= 1, got " + std::to_string(input_dim));
  hyper_.length_scale = Eigen::VectorXd::Ones(ard ? input_dim : 1);
}

void ExactGp::set_hyperparameters(const GpHyperparameters& h) {
  check_hyper(h, input_dim_, ard_);
  hyper_ = h;
  initialised_ = true;
  conditioned_ = false;
}

void ExactGp::condition(const Eigen::MatrixXd& x, const Eigen::VectorXd& y, const CholeskyOptions& options) {
  const int n = as_int(x.rows());
  if (x.cols() != input_dim_)
    throw Error("ExactGp: inputs have " + std::to_string(x.cols()) + " columns; expected " + std::to_string(input_dim_));
  if (y.size() != n) throw Error("ExactGp: " + std::to_string(n) + " inputs but " + std::to_string(y.size()) + " targets");
  if (n == 0) throw Error("ExactGp: cannot condition on zero points");
  if (!y.allFinite()) throw Error("ExactGp: targets contain NaN or inf");
  Eigen::MatrixXd c;
  Eigen::MatrixXd& l = l_inv_;
  jitter_ = factorise(kind_, hyper_, x, options, l, c, nullptr);
  l.triangularView<Eigen::StrictlyUpper>().setZero();
  x_ = x;
  const Eigen::VectorXd r = y.array() - hyper_.mean;
  alpha_ = r;
  detail::potrs_lower(l.data(), n, n, alpha_.data(), 1, n);
  nll_ = 0.5 * r.dot(alpha_) + l.diagonal().array().log().sum() + 0.5 * n * kLog2Pi;
  detail::trtri_lower(l.data(), n, n);  // L -> L^-1, in place
  conditioned_ = true;
}

GpPrediction ExactGp::predict(const Eigen::MatrixXd& candidates, int chunk) const {
  if (!conditioned_) throw Error("ExactGp::predict called before condition()/optimise()");
  if (candidates.cols() != input_dim_)
    throw Error("ExactGp::predict: candidates have " + std::to_string(candidates.cols()) + " columns; expected " +
                std::to_string(input_dim_));
  if (chunk < 1) throw Error("ExactGp::predict: chunk must be >= 1");
  const Eigen::Index m = candidates.rows();
  const int n = as_int(x_.rows());
  GpPrediction p;
  p.mean.resize(m);
  p.variance.resize(m);
  p.noise_variance = hyper_.noise_variance;
  Eigen::MatrixXd ks;
  for (Eigen::Index start = 0; start < m; start += chunk) {
    const Eigen::Index len = std::min<Eigen::Index>(chunk, m - start);
    const Eigen::MatrixXd xc = candidates.middleRows(start, len);
    detail::unit_kernel(kind_, hyper_.length_scale, xc, x_, ks, nullptr);  // len x n: k(x*, X) / s
    ks *= hyper_.output_scale;
    p.mean.segment(start, len) = (ks * alpha_).array() + hyper_.mean;
    // Row i of ks L^-T is (L^-1 k(X, x*_i))^T: the variance reduction is its squared norm.
    detail::trmm_right_lower_transposed(l_inv_.data(), n, n, ks.data(), as_int(len), as_int(len));
    auto var = p.variance.segment(start, len);
    var.setConstant(hyper_.output_scale);
    for (int j = 0; j < n; ++j) var -= ks.col(j).cwiseAbs2();
    var = var.cwiseMax(0.0);
  }
  return p;
}

ExactGpFitReport ExactGp::optimise(const Eigen::MatrixXd& x, const Eigen::VectorXd& y, const ExactGpTraining& t) {
  const int n = as_int(x.rows());
  if (x.cols() != input_dim_)
    throw Error("ExactGp: inputs have " + std::to_string(x.cols()) + " columns; expected " + std::to_string(input_dim_));
  if (y.size() != n || n == 0) throw Error("ExactGp::optimise needs n > 0 inputs and as many targets");
  if (!y.allFinite() || !x.allFinite()) throw Error("ExactGp::optimise: inputs or targets contain NaN or inf");
  const double y_mean = y.mean();
  double y_std = n > 1 ? std::sqrt((y.array() - y_mean).square().sum() / (n - 1)) : 0.0;
  if (!(y_std > 0) || !std::isfinite(y_std)) y_std = 1.0;
  const Eigen::VectorXd yn = (y.array() - y_mean) / y_std;
  const double var = y_std * y_std;

  GpHyperparameters hn;
  if (!initialised_) {
    hn.length_scale = Eigen::VectorXd::Constant(ard_ ? input_dim_ : 1, median_pairwise_distance(x));
    hn.output_scale = 1.0;
    hn.noise_variance = 0.1;
    hn.mean = 0.0;
  } else {
    hn = hyper_;
    hn.output_scale /= var;
    hn.noise_variance /= var;
    hn.mean = (hyper_.mean - y_mean) / y_std;
  }
  const double min_noise = t.min_noise_relative;
  Eigen::VectorXd theta = to_unconstrained(hn, min_noise);
  Eigen::VectorXd m1 = Eigen::VectorXd::Zero(theta.size()), m2 = m1;
  const double b1 = 0.9, b2 = 0.999, eps = 1e-8;
  ExactGpFitReport rep;
  NllWorkspace ws;
  detail::EarlyStopping stopper(t.early_stop_patience, t.early_stop_tolerance);
  for (int step = 0; step < t.steps; ++step) {
    const GpHyperparameters h = from_unconstrained(theta, min_noise);
    const NllResult r = gp::negative_log_marginal_likelihood(kind_, h, x, yn, t.cholesky, true, &ws);
    rep.jitter = std::max(rep.jitter, r.jitter);
    const double loss = r.value / n;
    if (step == 0) rep.initial_loss = loss;
    if (stopper.observe(loss)) break;
    const Eigen::VectorXd g = unconstrained_gradient(r.d_hyper, h, min_noise) / n;
    m1 = b1 * m1 + (1 - b1) * g;
    m2 = b2 * m2 + (1 - b2) * g.cwiseAbs2();
    const double c1 = 1 - std::pow(b1, step + 1), c2 = 1 - std::pow(b2, step + 1);
    theta.array() -= t.learning_rate * (m1.array() / c1) / ((m2.array() / c2).sqrt() + eps);
    ++rep.steps_run;
  }
  GpHyperparameters h = from_unconstrained(theta, min_noise);
  h.output_scale *= var;
  h.noise_variance *= var;
  h.mean = h.mean * y_std + y_mean;
  hyper_ = h;
  initialised_ = true;
  condition(x, y, t.cholesky);
  rep.jitter = std::max(rep.jitter, jitter_);
  // NLL of the standardised targets: the Jacobian of y -> (y - mean)/std adds log(std) per point.
  rep.final_loss = nll_ / n - std::log(y_std);
  if (t.steps == 0) rep.initial_loss = rep.final_loss;
  return rep;
}

}  // namespace sdm::engine::gp
