#include "engine/gp/kernel.hpp"

#include <cmath>

#include "core/error.hpp"
#include "engine/gp/detail/kernel_detail.hpp"

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

void unit_kernel(KernelKind kind, const Eigen::VectorXd& length_scale, const Eigen::MatrixXd& a,
                 const Eigen::MatrixXd& b, Eigen::MatrixXd& c, Eigen::MatrixXd* phi) {
  const Eigen::Index na = a.rows(), nb = b.rows(), d = a.cols();
  if (b.cols() != d) throw Error("GP kernel inputs have different dimensions");
  const Eigen::ArrayXd il2 = inverse_squared_length_scales(length_scale, static_cast<int>(d));
  c.resize(na, nb);
  if (phi) phi->resize(na, nb);
  Eigen::ArrayXd d2(na), e(na);
  // Column by column so that the temporaries stay in L1.
  for (Eigen::Index j = 0; j < nb; ++j) {
    d2 = (a.col(0).array() - b(j, 0)).square() * il2(0);
    for (Eigen::Index k = 1; k < d; ++k) d2 += (a.col(k).array() - b(j, k)).square() * il2(k);
    if (kind == KernelKind::rbf) {
      c.col(j).array() = (-0.5 * d2).exp();
      if (phi) phi->col(j) = c.col(j);
    } else {
      const Eigen::ArrayXd sr = (5.0 * d2).sqrt();  // sqrt5 * r
      e = (-sr).exp();
      c.col(j).array() = (1.0 + sr + d2 * (5.0 / 3.0)) * e;
      if (phi) phi->col(j).array() = (5.0 / 3.0) * (1.0 + sr) * e;
    }
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
