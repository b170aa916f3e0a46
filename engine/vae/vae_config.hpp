#pragma once
// Dual VAE tying image patches and I–V curves in one latent space (paper defaults:
// Gong et al., arXiv 2603.17028, after the authors' notebook), plus the settings of the
// structure–property analysis built on it (clusters, manifolds).
#include <string>

namespace sdm::core { class ConfigSection; }

namespace sdm::engine::vae {

struct VaeConfig {
  // --- the model (paper defaults) ---
  int latent_dim = 2;                  ///< shared latent dimension d (A is d × d)
  int hidden = 256;                    ///< width of the hidden layers of every encoder/decoder
  int epochs = 1000;                   ///< full-batch epochs
  double learning_rate = 1e-4;         ///< Adam
  double beta_kl = 1.0;                ///< weight of the KL terms (both VAEs)
  double gamma_similarity = 10.0;      ///< weight of the L1 latent tie γ·mean|μ_z − A·μ_s| (see dual_vae.hpp)
  /// γ ramps linearly from 0 to gamma_similarity over this fraction of the epochs (0: the paper's
  /// constant γ). With a constant γ, training on synthetic data often fell into a collapsed state
  /// (both latents shrunk onto the origin, the tie trivially satisfied, im2spec uninformative);
  /// letting the two VAEs first learn informative latents avoided it. Same final objective.
  double tie_warmup_fraction = 0.25;
  /// Which side the tie's gradient moves. "both" (the paper): it pulls μ_z, μ_s and A.
  /// "curve": A and the spectral encoder only (the image latent is the fixed target).
  /// "image": the image encoder only (A·μ_s is the fixed target and A stays at its identity start).
  std::string tie_moves = "both";
  bool coordinate_invariance = true;   ///< image VAE with rotation + 2 translation latents (rVAE)
  double rotation_prior_rad = 1.5707963267948966;  ///< std of the rotation prior θ ~ N(0, σ²), π/2
  double shift_prior = 0.5;            ///< std of the shift priors (patch half-widths: coordinates span [−1, 1])
  /// Tanh layers of the spatial decoder: 1 = the coordinate–latent layer only (fused, fast
  /// kernel); each extra layer adds a hidden × hidden layer evaluated at every pixel of every
  /// patch (≈ 7 GFLOP per epoch forward on 210 16×16 patches at width 256: slow on a CPU).
  int spatial_decoder_layers = 1;
  int curve_points = 251;              ///< spectrum VAE input length; curves are resampled to it
  /// Patch intensities → [0, 1] for the Bernoulli (BCE) likelihood: "global_minmax" (one min/max
  /// over the training patches, kept for encoding), "per_patch_minmax", or "none" (already in [0, 1]).
  std::string patch_scaling = "global_minmax";
  /// Currents → [0, 1]: "global_minmax" (one min/max over the training curves, so predicted
  /// curves map back to amperes), "per_curve_minmax" (shape only: predictions stay in [0, 1]), "none".
  std::string curve_scaling = "global_minmax";
  int threads = 0;                     ///< threads of the spatial-decoder kernel (0: hardware concurrency, ≤ 8)
  std::string scalarizer = "loop_area";  ///< colouring of the structure–property map and im2spec R²

  // --- the structure–property analysis ---
  int manifold_grid = 10;              ///< decoded manifolds are manifold_grid × manifold_grid
  int max_clusters = 8;                ///< Gaussian mixture: BIC chooses among 1..max_clusters components
  int cluster_representatives = 6;     ///< patches / loops shown per cluster (nearest to its mean)
};

/// Reads the [vae] section: every key optional, each checked against its range.
void read_config(core::ConfigSection& section, VaeConfig& config);

}  // namespace sdm::engine::vae
