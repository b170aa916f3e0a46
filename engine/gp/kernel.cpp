#include "engine/gp/kernel.hpp"

#include <cmath>
#include <vector>

#include "core/error.hpp"
#include "core/target_clones.hpp"
#include "engine/gp/detail/kernel_detail.hpp"
#include "engine/gp/detail/vector_exp.hpp"

namespace sdm::engine::gp {

KernelKind parse_kernel(const std::string& name) {
  if (name == "rbf") return KernelKind::rbf;
  if (name == "matern52") return KernelKind::matern52;
  throw Error("unknown GP kernel '" + name + "'; allowed: matern52, rbf");
}

std::string to_string(KernelKind kind) { return kind == KernelKind::rbf ? "rbf" : "matern52"; }

namespace detail {

Eigen::ArrayXd inverse_squared_length_scales(const Eigen::VectorXd& length_scale, int dim) {
  if (length_scale.size() != 1 && length_scale.size() != dim)
    throw Error("GP length_scale has " + std::to_string(length_scale.size()) + " entries; expected 1 or " +
                std::to_string(dim));
  Eigen::ArrayXd il2(dim);
  for (int k = 0; k < dim; ++k) {
    const double l = length_scale.size() == 1 ? length_scale(0) : length_scale(k);
    il2(k) = 1.0 / (l * l);
  }
  return il2;
}

namespace {

/// Squared scaled distances from rows [0, len) of `a` (column pointers) to the point b_j.
__attribute__((always_inline)) inline void scaled_sq_dist(const double* const* a_cols, const double* b_j,
                                                          const double* il2, Eigen::Index d, Eigen::Index len,
                                                          double* d2) {
  {
    const double* a0 = a_cols[0];
    const double b0 = b_j[0], w0 = il2[0];
    for (Eigen::Index i = 0; i < len; ++i) {
      const double t = a0[i] - b0;
      d2[i] = t * t * w0;
    }
  }
  for (Eigen::Index k = 1; k < d; ++k) {
    const double* ak = a_cols[k];
    const double bk = b_j[k], wk = il2[k];
    for (Eigen::Index i = 0; i < len; ++i) {
      const double t = ak[i] - bk;
      d2[i] += t * t * wk;
    }
  }
}

/// Unit kernel and phi from squared scaled distances. Every pass is branch-free arithmetic
/// (exp_nonpositive, sqrt), so it vectorises in each target clone.
__attribute__((always_inline)) inline void kernel_from_sq_dist(KernelKind kind, const double* d2, double* c,
                                                               double* phi, Eigen::Index len) {
  if (kind == KernelKind::rbf) {
    for (Eigen::Index i = 0; i < len; ++i) c[i] = exp_nonpositive(-0.5 * d2[i]);
    if (phi)
      for (Eigen::Index i = 0; i < len; ++i) phi[i] = c[i];
    return;
  }
  // matern52, with sr = sqrt5 r: c = (1 + sr + sr^2/3) e^-sr, phi = 5/3 (1 + sr) e^-sr
  if (phi) {
    for (Eigen::Index i = 0; i < len; ++i) {
      const double sr = std::sqrt(5.0 * d2[i]);
      const double e = exp_nonpositive(-sr);
      c[i] = (1.0 + sr + d2[i] * (5.0 / 3.0)) * e;
      phi[i] = (5.0 / 3.0) * (1.0 + sr) * e;
    }
  } else {
    for (Eigen::Index i = 0; i < len; ++i) {
      const double sr = std::sqrt(5.0 * d2[i]);
      c[i] = (1.0 + sr + d2[i] * (5.0 / 3.0)) * exp_nonpositive(-sr);
    }
  }
}

}  // namespace

SDM_TARGET_CLONES
void unit_kernel(KernelKind kind, const Eigen::VectorXd& length_scale, const Eigen::MatrixXd& a,
                 const Eigen::MatrixXd& b, Eigen::MatrixXd& c, Eigen::MatrixXd* phi) {
  const Eigen::Index na = a.rows(), nb = b.rows(), d = a.cols();
  if (b.cols() != d) throw Error("GP kernel inputs have different dimensions");
  const Eigen::ArrayXd il2 = inverse_squared_length_scales(length_scale, static_cast<int>(d));
  c.resize(na, nb);
  if (phi) phi->resize(na, nb);
  std::vector<const double*> a_cols(d);
  for (Eigen::Index k = 0; k < d; ++k) a_cols[k] = a.col(k).data();
  const Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor> b_rows = b;
  Eigen::ArrayXd d2(na);
  // Column by column so that the temporaries stay in L1.
  for (Eigen::Index j = 0; j < nb; ++j) {
    scaled_sq_dist(a_cols.data(), b_rows.row(j).data(), il2.data(), d, na, d2.data());
    kernel_from_sq_dist(kind, d2.data(), c.col(j).data(), phi ? phi->col(j).data() : nullptr, na);
  }
}

SDM_TARGET_CLONES
void unit_kernel_lower(KernelKind kind, const Eigen::VectorXd& length_scale, const Eigen::MatrixXd& x,
                       Eigen::MatrixXd& c, Eigen::MatrixXd* phi) {
  const Eigen::Index n = x.rows(), d = x.cols();
  const Eigen::ArrayXd il2 = inverse_squared_length_scales(length_scale, static_cast<int>(d));
  c.resize(n, n);
  if (phi) phi->resize(n, n);
  const Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor> x_rows = x;
  std::vector<const double*> cols(d);
  Eigen::ArrayXd d2(n);
  for (Eigen::Index j = 0; j < n; ++j) {
    for (Eigen::Index k = 0; k < d; ++k) cols[k] = x.col(k).data() + j;
    const Eigen::Index len = n - j;
    scaled_sq_dist(cols.data(), x_rows.row(j).data(), il2.data(), d, len, d2.data());
    kernel_from_sq_dist(kind, d2.data(), c.col(j).data() + j, phi ? phi->col(j).data() + j : nullptr, len);
  }
}

}  // namespace detail

Eigen::MatrixXd kernel_matrix(KernelKind kind, const GpHyperparameters& h, const Eigen::MatrixXd& a,
                              const Eigen::MatrixXd& b) {
  Eigen::MatrixXd c;
  detail::unit_kernel(kind, h.length_scale, a, b, c, nullptr);
  c *= h.output_scale;
  return c;
}

KernelPairGradient kernel_pair_gradient(KernelKind kind, const GpHyperparameters& h, const Eigen::VectorXd& a,
                                        const Eigen::VectorXd& b) {
  const int d = static_cast<int>(a.size());
  if (b.size() != d) throw Error("GP kernel inputs have different dimensions");
  const Eigen::ArrayXd il2 = detail::inverse_squared_length_scales(h.length_scale, d);
  const Eigen::ArrayXd delta = (a - b).array();
  const double d2 = (delta.square() * il2).sum();
  double unit = 0, phi = 0;
  if (kind == KernelKind::rbf) {
    unit = phi = std::exp(-0.5 * d2);
  } else {
    const double sr = std::sqrt(5.0 * d2), e = std::exp(-sr);
    unit = (1.0 + sr + d2 * 5.0 / 3.0) * e;
    phi = 5.0 / 3.0 * (1.0 + sr) * e;
  }
  KernelPairGradient g;
  g.value = h.output_scale * unit;
  g.d_output_scale = unit;
  g.d_a = (-h.output_scale * phi * delta * il2).matrix();
  // dk/dl_k = s phi delta_k^2 / l_k^3 (isotropic: summed over k).
  const Eigen::ArrayXd per_dim = h.output_scale * phi * delta.square() * il2;  // times 1/l_k below
  g.d_length_scale.resize(h.length_scale.size());
  if (h.length_scale.size() == 1) {
    g.d_length_scale(0) = per_dim.sum() / h.length_scale(0);
  } else {
    for (int k = 0; k < d; ++k) g.d_length_scale(k) = per_dim(k) / h.length_scale(k);
  }
  return g;
}

}  // namespace sdm::engine::gp
