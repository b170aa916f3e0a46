#pragma once
// Stationary covariance kernels for exact GP regression, float64, Eigen only.
//
// With the scaled distance r(a, b) = sqrt(sum_k (a_k - b_k)^2 / l_k^2)
// (one length scale l for all dimensions, or one per dimension with ARD):
//   rbf:       k(a, b) = s * exp(-r^2 / 2)
//   matern52:  k(a, b) = s * (1 + sqrt5 r + 5 r^2 / 3) * exp(-sqrt5 r)
// where s is the output scale (signal variance, target units squared).
// Both have the form dk/da_k = -s * phi(r) * (a_k - b_k) / l_k^2 with
//   phi_rbf(r) = exp(-r^2 / 2),   phi_matern52(r) = (5/3) (1 + sqrt5 r) exp(-sqrt5 r),
// which is smooth at r = 0 (no singularity at coincident points).
#include <string>

#include <Eigen/Core>

namespace sdm::engine::gp {

enum class KernelKind { rbf, matern52 };

/// "rbf" | "matern52"; throws sdm::Error naming the value otherwise.
KernelKind parse_kernel(const std::string& name);
std::string to_string(KernelKind kind);

/// Natural (constrained) hyperparameters of one GP head.
struct GpHyperparameters {
  Eigen::VectorXd length_scale = Eigen::VectorXd::Ones(1);  ///< size 1 (isotropic) or input_dim (ARD), input units
  double output_scale = 1.0;    ///< s: prior variance of the latent function, target units^2
  double noise_variance = 0.1;  ///< sigma_n^2: observation noise variance, target units^2
  double mean = 0.0;            ///< constant prior mean, target units
};

/// Cross-covariance K(A, B): rows of A against rows of B (|A| x |B|). No noise term.
Eigen::MatrixXd kernel_matrix(KernelKind kind, const GpHyperparameters& h, const Eigen::MatrixXd& a,
                              const Eigen::MatrixXd& b);

/// Value and analytic derivatives of k(a, b) for one pair of points.
struct KernelPairGradient {
  double value = 0;
  Eigen::VectorXd d_a;             ///< dk/da (input_dim)
  Eigen::VectorXd d_length_scale;  ///< dk/dl (size of h.length_scale)
  double d_output_scale = 0;       ///< dk/ds
};
KernelPairGradient kernel_pair_gradient(KernelKind kind, const GpHyperparameters& h, const Eigen::VectorXd& a,
                                        const Eigen::VectorXd& b);

}  // namespace sdm::engine::gp
