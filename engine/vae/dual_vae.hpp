#pragma once
// The dual VAE: an image VAE on survey patches and a spectrum VAE on I–V curves, tied into
// one latent space (the structure–property map). Gong et al., arXiv 2603.17028 (architecture and
// constants as the paper and its notebook describe them); every constant is in VaeConfig.
// Torch stays behind a pimpl.
//
// Image VAE (coordinate_invariance, the rVAE construction): encoder p² → H → H (tanh) →
// mean and log-variance of [θ, dx, dy, z₁..z_d]. The spatial decoder sees every pixel's
// coordinate c ∈ [−1, 1]² (x right, y up; row 0 at the top) moved to c' = R(θ)·c + (dx, dy),
// concatenated with z: p(pixel) = σ(wᵀ tanh(W_c c' + W_z z + b) + b_out). Priors θ ~ N(0,
// rotation_prior²), dx, dy ~ N(0, shift_prior²), z ~ N(0, I). Without coordinate invariance
// the decoder is the dense mirror z → H → H → p² (sigmoid).
// Spectrum VAE: L → H → H → (mean, log-variance) of s ∈ R^d; decoder d → H → H → L (sigmoid).
//
// Loss per epoch (full batch of n pairs; ELBO terms summed over features and averaged over pairs,
// the tie averaged over its n × d entries as PyTorch's l1_loss does):
//   J = mean_i [BCE(patch_i) + BCE(curve_i) + β·(KL(q(θ,t,z|patch_i) ‖ prior) + KL(q(s|curve_i) ‖ N(0, I)))]
//       + γ·mean_ij |μ_z,ij − (A·μ_s,i)_j|.
// A is a learnable d × d matrix (identity at start). The reductions are a choice (the notebook's
// code is not available here): per pair, so the tie's weight does not change with n. Summing the
// ELBO over pairs left γ = 10 too weak to align the latents on synthetic data, and a tie summed
// over d and weighted 10 per pair collapsed both latents onto the origin. γ is ramped in over the
// first VaeConfig::tie_warmup_fraction of the epochs (see there and docs/vae.md).
// The joint latent is the image latent z:
// a patch lands at μ_z, a curve at A·μ_s, and decoding a joint point z into a curve uses
// s = A⁻¹·z. Inputs are scaled to [0, 1] (VaeConfig::patch_scaling / curve_scaling: by default
// one min–max over the training set, kept in the model so outputs map back to input units);
// curves whose length differs from curve_points are linearly resampled along the sweep.
// Training is seeded and deterministic: same data + seed + build ⇒ bit-identical weights.
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <Eigen/Core>

#include "engine/vae/vae_config.hpp"

namespace sdm::engine::vae {

/// Row-major float matrix: one flattened patch (row-major pixels) per row.
using RowMatrixF = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

/// The loss terms of one epoch (or one evaluation), per pair:
/// total = J = recon_image + recon_curve + β·(kl_image + kl_curve) + γ·similarity.
struct LossTerms {
  double total = 0;
  double recon_image = 0;   ///< Σ_pixels BCE, per pair
  double recon_curve = 0;   ///< Σ_points BCE, per pair
  double kl_image = 0;      ///< KL of [θ, dx, dy, z] against its prior, per pair
  double kl_curve = 0;      ///< KL of s against N(0, I), per pair
  double similarity = 0;    ///< mean_ij |μ_z,ij − (A·μ_s,i)_j| (unweighted)
};

/// What one fit did.
struct TrainingReport {
  std::vector<LossTerms> history;  ///< one entry per epoch (the training loss, with sampled latents)
  LossTerms final_at_means;        ///< the loss at the posterior means after training (no sampling)
  Eigen::MatrixXd tie_matrix;      ///< A after training (d × d)
  int pairs = 0;
  double seconds = 0;              ///< wall time of the training loop
};

/// Posterior of the latents, n rows.
struct LatentEncoding {
  Eigen::MatrixXd mean;           ///< n × d (joint latent for patches; spectral latent s for curves)
  Eigen::MatrixXd variance;       ///< n × d
  Eigen::MatrixXd pose_mean;      ///< n × 3 [θ rad, dx, dy] for patches with coordinate invariance, else n × 0
  Eigen::MatrixXd pose_variance;  ///< n × 3 (or n × 0)
};

/// Decoded grids over a rectangle of the joint latent (first two dimensions; others at 0).
struct Manifold {
  int grid = 0;                  ///< grid × grid points, row-major: row r has z₂ = z2[r], column c has z₁ = z1[c]
  std::vector<double> z1, z2;    ///< the axis values (z2 descending: the top row has the largest z₂)
  Eigen::MatrixXd latent;        ///< grid² × d
  RowMatrixF patches;            ///< grid² × p², decoded at θ = 0, no shift, in input units
  Eigen::MatrixXd curves;        ///< grid² × L, decoded from s = A⁻¹ z, in input units
};

class DualVae {
 public:
  /// Patches are patch_side × patch_side; curves have config.curve_points samples after
  /// resampling. Every random draw (initial weights, latent samples) comes from `seed`.
  /// Throws sdm::Error on an invalid configuration or patch_side < 2.
  DualVae(const VaeConfig& config, int patch_side, std::uint64_t seed);
  ~DualVae();
  DualVae(DualVae&&) noexcept;
  DualVae& operator=(DualVae&&) noexcept;

  /// Trains from freshly seeded weights on n paired rows: patches n × patch_side², curves n × L'
  /// (any L' ≥ 2, resampled to curve_points). Fits the input scalings on these data.
  /// Throws sdm::Error for n < 2, n mismatch, wrong widths or non-finite values.
  TrainingReport fit(const RowMatrixF& patches, const Eigen::MatrixXd& curves);

  /// Image-encoder posterior: the joint-latent position of each patch (and its pose).
  LatentEncoding encode_patches(const RowMatrixF& patches) const;
  /// Spectrum-encoder posterior of s (spectral latent); see curves_to_joint for A·μ_s.
  LatentEncoding encode_curves(const Eigen::MatrixXd& curves) const;
  /// A·μ_s: the joint-latent position of each curve (n × d).
  Eigen::MatrixXd curves_to_joint(const Eigen::MatrixXd& curves) const;

  /// im2spec: patch → μ_z → s = A⁻¹ μ_z → spectral decoder. n × curve_points, input units.
  Eigen::MatrixXd im2spec(const RowMatrixF& patches) const;
  /// spec2im: curve → A·μ_s → spatial decoder at θ = 0, no shift. n × p², input units.
  RowMatrixF spec2im(const Eigen::MatrixXd& curves) const;
  /// Decoders evaluated at joint-latent points (n × d).
  RowMatrixF decode_patches(const Eigen::MatrixXd& joint_latent) const;
  Eigen::MatrixXd decode_curves(const Eigen::MatrixXd& joint_latent) const;
  /// Reconstructions through each VAE alone (posterior means), in input units.
  RowMatrixF reconstruct_patches(const RowMatrixF& patches) const;
  Eigen::MatrixXd reconstruct_curves(const Eigen::MatrixXd& curves) const;

  /// Both decoders on a grid × grid lattice over [z1_lo, z1_hi] × [z2_lo, z2_hi].
  Manifold manifold(int grid, double z1_lo, double z1_hi, double z2_lo, double z2_hi) const;

  /// The loss terms at the current weights with the latents at their posterior means
  /// (deterministic; KL uses the posterior variances). Same input checks as fit.
  LossTerms evaluate(const RowMatrixF& patches, const Eigen::MatrixXd& curves) const;

  Eigen::MatrixXd tie_matrix() const;   ///< A (d × d)
  const VaeConfig& config() const;
  int patch_side() const;
  int curve_points() const;
  int latent_dim() const;
  bool trained() const;

  /// Weights, A, scalings and configuration; load() restores a model whose encodings and
  /// decodings are bit-identical to the saved one's. Throws sdm::Error naming the file.
  void save(const std::filesystem::path& file) const;
  static DualVae load(const std::filesystem::path& file);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

/// Linear resampling of each row (uniform along the sweep) to `points` samples.
Eigen::MatrixXd resample_rows(const Eigen::MatrixXd& rows, int points);
std::vector<double> resample(const std::vector<double>& values, int points);

}  // namespace sdm::engine::vae
