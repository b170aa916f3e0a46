#pragma once
// Dual VAE tying image patches and I–V curves in one latent space (paper defaults).
#include <string>

namespace sdm::core { class ConfigSection; }

namespace sdm::engine::vae {

struct VaeConfig {
  int latent_dim = 2;
  int hidden = 256;                    ///< width of the two hidden layers
  int epochs = 1000;                   ///< full-batch epochs
  double learning_rate = 1e-4;
  double beta_kl = 1.0;                ///< weight of the KL term
  double gamma_similarity = 10.0;      ///< weight of the L1 latent tie
  bool coordinate_invariance = true;   ///< image VAE with rotation + translation latents
  double rotation_prior_rad = 1.5707963267948966;  ///< pi/2
  double shift_prior = 0.5;
  std::string scalarizer = "loop_area";  ///< colouring of the structure–property map
};

void read_config(core::ConfigSection& section, VaeConfig& config);

}  // namespace sdm::engine::vae
