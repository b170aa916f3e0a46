#pragma once
// Deep kernel learning: a feature extractor g(x) (MLP or small CNN) feeding exact GPs,
// one head per scalar target, trained jointly on the exact negative log marginal
// likelihood with Adam. GP algebra in float64 with Cholesky solves (jitter escalation,
// never an explicit inverse). Inputs and targets are normalised inside the model.
// Torch stays behind a pimpl: this header is cheap to include.
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

/// Predictive mean and variance (of the latent function, in target units), m × targets.
struct Prediction {
  Eigen::MatrixXd mean;
  Eigen::MatrixXd variance;
};

/// What one training call did.
struct FitReport {
  int steps_run = 0;            ///< Adam steps actually taken (early stopping may cut)
  double initial_loss = 0;      ///< negative log marginal likelihood per point, before
  double final_loss = 0;        ///< and after
  double jitter = 0;            ///< largest diagonal jitter the Cholesky needed
  double seconds = 0;           ///< wall time
  nlohmann::json hyperparameters;  ///< per head: length scales, output scale, noise, mean
};

class Dkl {
 public:
  /// `input_dim` features per row; `image_side` > 0 (with image_side² = input_dim) is
  /// required by the CNN extractor. Every random draw comes from `seed`.
  Dkl(const DklConfig& config, int input_dim, int n_targets, std::uint64_t seed, int image_side = 0);
  ~Dkl();
  Dkl(Dkl&&) noexcept;
  Dkl& operator=(Dkl&&) noexcept;

  /// Trains on n rows of `inputs` (n × input_dim) and `targets` (n × n_targets).
  /// Warm start (config.warm_start) keeps the previous weights; otherwise re-initialises.
  FitReport fit(const RowMatrixF& inputs, const Eigen::MatrixXd& targets);

  /// Posterior at m candidate rows, computed in chunks of config.predict_chunk.
  Prediction predict(const RowMatrixF& candidates) const;

  /// Latent features g(x) of the extractor (m × latent_dim), e.g. for plots.
  Eigen::MatrixXd embed(const RowMatrixF& inputs) const;

  /// Full state: weights, hyperparameters, normalisers, training data, optimiser moments.
  void save(const std::filesystem::path& file) const;
  void load(const std::filesystem::path& file);

  int input_dim() const;
  int n_targets() const;
  bool trained() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace sdm::engine::gp
