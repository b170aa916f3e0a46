#pragma once
// Private: vectorised kernel evaluation shared by kernel.cpp and exact_gp.cpp.
#include <Eigen/Core>

#include "engine/gp/kernel.hpp"

namespace sdm::engine::gp::detail {

/// Unit-scale kernel c(a_i, b_j) = k / s into `c` (|A| x |B|) and, when `phi` is not null,
/// phi(r_ij) with dk/da = -s phi (a - b) / l^2 (see kernel.hpp).
void unit_kernel(KernelKind kind, const Eigen::VectorXd& length_scale, const Eigen::MatrixXd& a,
                 const Eigen::MatrixXd& b, Eigen::MatrixXd& c, Eigen::MatrixXd* phi);

/// Lower triangle (diagonal included) of the unit kernel of x with itself, and of phi.
/// The strict upper triangles of `c` and `phi` are left unspecified.
void unit_kernel_lower(KernelKind kind, const Eigen::VectorXd& length_scale, const Eigen::MatrixXd& x,
                       Eigen::MatrixXd& c, Eigen::MatrixXd* phi);

/// 1 / l_k^2 for every input dimension (isotropic: repeated).
Eigen::ArrayXd inverse_squared_length_scales(const Eigen::VectorXd& length_scale, int dim);

}  // namespace sdm::engine::gp::detail
