#pragma once
// Exact Gaussian-process regression in float64 (Eigen + LAPACK, no torch).
//
// Model: y_i = f(x_i) + eps_i, f ~ GP(mean, k), eps_i ~ N(0, noise_variance).
// With K = k(X, X) + (noise_variance + jitter) I = L L^T and r = y - mean:
//   NLL   = 1/2 r^T K^-1 r + sum_i log L_ii + n/2 log(2 pi)           (exact, not per point)
//   dNLL/dK = 1/2 (K^-1 - a a^T),  a = K^-1 r   (K^-1 from the Cholesky factor, dpotri)
//   mean*(x) = mean + k(x, X) a
//   var*(x)  = k(x, x) - |L^-1 k(X, x)|^2   (latent f; add noise_variance for a new observation y)
// K is factorised once (LAPACK dpotrf); the mean weights a = K^-1 r come from the factor
// (dpotrs). K^-1 itself is formed only for the NLL gradient, where it is needed entrywise.
// For the predictive variance the triangular L^-1 is formed once per condition() (a
// blocked triangular inverse) and applied to every chunk with dtrmm: the same accuracy as
// a triangular solve per chunk (tested against an Eigen LLT reference) at 2-3x the speed.
// When K is not numerically positive definite, a diagonal jitter (relative to the output
// scale) is added and escalated tenfold until the factorisation succeeds; the jitter
// actually used is reported.
#include <string>

#include <Eigen/Core>

#include "engine/gp/kernel.hpp"

namespace sdm::engine::gp {

/// Jitter escalation: first try without; then jitter * scale, x10 per try, up to max_jitter * scale.
struct CholeskyOptions {
  double jitter = 1e-6;
  double max_jitter = 1e-1;
};

/// In-place lower Cholesky factor of the symmetric matrix `a` (only the lower triangle is
/// read; on return the lower triangle holds L, the strict upper triangle is unspecified).
/// Returns the absolute jitter added to the diagonal (0 when none was needed). Throws
/// sdm::Error when the matrix is not positive definite even with max jitter (e.g. NaN).
double cholesky_with_jitter(Eigen::MatrixXd& a, double scale, const CholeskyOptions& options);

/// Derivatives of the NLL with respect to the natural hyperparameters.
struct GpHyperGradient {
  Eigen::VectorXd length_scale;
  double output_scale = 0;
  double noise_variance = 0;
  double mean = 0;
};

struct NllResult {
  double value = 0;           ///< total negative log marginal likelihood (nats)
  double jitter = 0;          ///< absolute diagonal jitter the Cholesky needed
  Eigen::MatrixXd d_inputs;   ///< dNLL/dX (n x d), only when requested
  GpHyperGradient d_hyper;    ///< only when requested
};

/// n x n buffers reused across NLL evaluations (an optimiser loop), so that repeated calls
/// do not allocate (and page-fault) three fresh n x n matrices each time.
struct NllWorkspace {
  Eigen::MatrixXd factor, kernel, phi;
};

/// Exact NLL of targets y (n) at inputs x (n x d); with `with_gradient` also its
/// analytic gradient with respect to the inputs and the hyperparameters.
/// Cost: one Cholesky (n^3/3) and, for the gradient, one inverse from it (2n^3/3 flops).
NllResult negative_log_marginal_likelihood(KernelKind kind, const GpHyperparameters& h, const Eigen::MatrixXd& x,
                                           const Eigen::VectorXd& y, const CholeskyOptions& options,
                                           bool with_gradient, NllWorkspace* workspace = nullptr);

/// Unconstrained parametrisation for gradient-based optimisers:
///   theta = [log l_1 .. log l_L, log s, log(noise_variance - min_noise), mean].
/// `min_noise` is a floor on the noise variance (same units as the hyperparameters).
Eigen::VectorXd to_unconstrained(const GpHyperparameters& h, double min_noise);
GpHyperparameters from_unconstrained(const Eigen::VectorXd& theta, double min_noise);
/// Chain rule: dNLL/dtheta from dNLL/d(natural) at h = from_unconstrained(theta).
Eigen::VectorXd unconstrained_gradient(const GpHyperGradient& g, const GpHyperparameters& h, double min_noise);

/// Posterior at candidate points.
struct GpPrediction {
  Eigen::VectorXd mean;        ///< predictive mean of f (target units)
  Eigen::VectorXd variance;    ///< predictive variance of the latent f (no noise)
  double noise_variance = 0;   ///< add to `variance` for the predictive variance of a new observation
};

/// Hyperparameter optimisation (Adam on theta, full batch, exact NLL).
struct ExactGpTraining {
  int steps = 300;
  double learning_rate = 0.05;
  int early_stop_patience = 30;     ///< stop after this many steps without progress (0: never)
  double early_stop_tolerance = 1e-6;  ///< progress: NLL/n drops by more than tol * max(1, |best|)
  double min_noise_relative = 1e-6;    ///< noise floor, relative to the sample variance of y
  CholeskyOptions cholesky;
};

struct ExactGpFitReport {
  int steps_run = 0;
  double initial_loss = 0;  ///< NLL per point before optimisation
  double final_loss = 0;    ///< NLL per point at the returned hyperparameters
  double jitter = 0;        ///< largest jitter any Cholesky needed
};

/// A GP regressor usable on its own: set or optimise hyperparameters, condition on data,
/// predict in chunks (the factorisation is computed once and reused by every chunk).
class ExactGp {
 public:
  /// `ard`: one length scale per input dimension, else one shared.
  ExactGp(KernelKind kind, int input_dim, bool ard = false);

  const GpHyperparameters& hyperparameters() const { return hyper_; }
  /// Sets hyperparameters (sizes checked); drops the conditioned state.
  void set_hyperparameters(const GpHyperparameters& h);

  /// Maximises the marginal likelihood from the current hyperparameters (or, on the first
  /// call, from a data-driven start: mean(y), var(y), 0.1 var(y), median pairwise distance),
  /// working on standardised targets internally, then conditions on (x, y).
  ExactGpFitReport optimise(const Eigen::MatrixXd& x, const Eigen::VectorXd& y, const ExactGpTraining& training = {});

  /// Factorises K at the current hyperparameters and stores what prediction needs.
  void condition(const Eigen::MatrixXd& x, const Eigen::VectorXd& y, const CholeskyOptions& options = {});

  /// Posterior at the rows of `candidates`, `chunk` rows at a time (bounded memory: n x chunk).
  GpPrediction predict(const Eigen::MatrixXd& candidates, int chunk = 4096) const;

  bool conditioned() const { return conditioned_; }
  double jitter() const { return jitter_; }  ///< jitter of the last condition()
  double negative_log_marginal_likelihood() const { return nll_; }  ///< at the conditioned data (total)
  int input_dim() const { return input_dim_; }
  KernelKind kernel() const { return kind_; }
  bool ard() const { return ard_; }

 private:
  KernelKind kind_;
  int input_dim_;
  bool ard_;
  bool initialised_ = false;
  GpHyperparameters hyper_;
  bool conditioned_ = false;
  Eigen::MatrixXd x_;
  Eigen::MatrixXd l_inv_;  ///< inverse of the lower Cholesky factor L of K (lower triangular)
  Eigen::VectorXd alpha_;  ///< K^-1 (y - mean)
  double jitter_ = 0;
  double nll_ = 0;
};

/// Median of the pairwise Euclidean distances between rows (subsampled to at most 512 rows,
/// deterministically); 1 when fewer than two distinct rows. Used to start length scales.
double median_pairwise_distance(const Eigen::MatrixXd& x);

}  // namespace sdm::engine::gp
