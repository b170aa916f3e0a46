#pragma once
// Deep kernel learning: a feature extractor g(x) (MLP or small CNN) feeding exact GPs,
// one head per scalar target, trained jointly on the exact negative log marginal
// likelihood with Adam. GP algebra in float64 on the Cholesky factor of K (jitter
// escalation); K^-1 is formed only for the gradient, which needs it entrywise (see
// exact_gp.hpp). Inputs and targets are normalised inside the model.
// Torch stays behind a pimpl: this header is cheap to include.
//
// Model, per target t (standardised: y_t' = (y_t - mu_t) / sd_t):
//   z = g(x'),  x' = normalised input,   y_t' = f_t(z) + eps,  f_t ~ GP(m_t, k_t),  eps ~ N(0, noise_t)
// Loss (minimised by Adam over the extractor weights and every head's hyperparameters):
//   L = sum_t NLL_t / n   (exact NLL of head t, see engine/gp/exact_gp.hpp)
// The extractor runs in float32: the mlp forward and backward by sgemm (engine/nn/dense_stack.hpp,
// no autograd), the cnn through libtorch's autograd; the GP algebra in float64 (LAPACK) with
// the analytic gradient dNLL/dz pushed back through the extractor.
//
// Determinism: every random draw (the weight initialisation, and the row subsets once n
// exceeds config.train_subset) comes from `seed`. Same inputs + seed + build + thread counts
// (torch intra-op, OpenBLAS; this class sets neither) give bit-identical results; a
// different thread count changes the last bits.
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>

#include <Eigen/Core>
#include <nlohmann/json.hpp>

#include "engine/gp/dkl_config.hpp"

namespace sdm::engine::gp {

/// Row-major float matrix: one input (e.g. a flattened patch) per row.
using RowMatrixF = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

/// Posterior at m candidates, in target units, m × targets.
/// `variance` is the latent (noise-free) variance of f_t; the predictive variance of a new
/// measurement is variance.col(t) + noise_variance(t).
struct Prediction {
  Eigen::MatrixXd mean;
  Eigen::MatrixXd variance;
  Eigen::VectorXd noise_variance;  ///< per target: learned observation-noise variance
};

/// What one training call did.
struct FitReport {
  int steps_run = 0;            ///< Adam steps actually taken (early stopping may cut)
  bool stopped_early = false;   ///< the loss plateaued before config.steps
  int best_step = 0;            ///< the step whose state (lowest loss) the model keeps
  int n_points = 0;             ///< training rows
  int batch_size = 0;           ///< rows per Adam step (n_points unless config.train_subset < n)
  double initial_loss = 0;      ///< NLL per point summed over heads (standardised targets) at the first
                                ///< step (of its subset when train_subset is active)
  double final_loss = 0;        ///< the same on all n points after training
  double jitter = 0;            ///< largest diagonal jitter the Cholesky needed
  double seconds = 0;           ///< wall time
  nlohmann::json hyperparameters;  ///< per head: length scales, output scale, noise, mean (see Dkl::hyperparameters)
};

class Dkl {
 public:
  /// `input_dim` features per row; `image_side` > 0 (with image_side² = input_dim) is
  /// required by the CNN extractor. Every random draw comes from `seed`.
  Dkl(const DklConfig& config, int input_dim, int n_targets, std::uint64_t seed, int image_side = 0);
  ~Dkl();
  Dkl(Dkl&&) noexcept;
  Dkl& operator=(Dkl&&) noexcept;

  /// Trains on n rows of `inputs` (n × input_dim) and `targets` (n × n_targets), then
  /// conditions every head on them. Normalisers are recomputed from these rows.
  /// Warm start (config.warm_start) continues from the previous weights, hyperparameters and
  /// Adam moments; otherwise everything is re-initialised from the seed (so a refit depends
  /// only on the current data and the seed). The state with the lowest loss seen during the
  /// fit is kept (so final_loss <= initial_loss without train_subset). Throws sdm::Error on
  /// bad shapes or NaN.
  FitReport fit(const RowMatrixF& inputs, const Eigen::MatrixXd& targets);

  /// Posterior at m candidate rows, computed in chunks of config.predict_chunk (the
  /// factorisation from fit is reused by every chunk; no autograd). Memory: about
  /// predict_chunk × n doubles per chunk. Throws sdm::Error before the first fit.
  Prediction predict(const RowMatrixF& candidates) const;

  /// Latent features g(x) of the extractor (m × latent_dim), e.g. for plots.
  Eigen::MatrixXd embed(const RowMatrixF& inputs) const;

  /// Full state: weights, hyperparameters, normalisers, training data, optimiser moments,
  /// fit count and seed (one torch archive). `load` requires the same architecture
  /// (extractor, widths, latent, kernel, ard, normalisation, noise floor, input_dim,
  /// n_targets, image_side; sdm::Error naming the mismatch otherwise), takes the seed from the
  /// file and keeps this object's training settings (steps, learning rate, ...). After load,
  /// predict() is identical and the next fit() continues exactly as the saved model would.
  void save(const std::filesystem::path& file) const;
  void load(const std::filesystem::path& file);

  /// Current hyperparameters as JSON: {"kernel", "latent_dim", "n_points", "fits", "heads": [
  /// {"length_scale": [latent units], "output_scale", "noise_variance", "mean" (target units),
  ///  "nll_per_point", "jitter"}]}.
  nlohmann::json hyperparameters() const;

  int input_dim() const;
  int n_targets() const;
  int latent_dim() const;
  int fits() const;  ///< fit() calls so far
  bool trained() const;
  const DklConfig& config() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace sdm::engine::gp
