#pragma once
// Deep kernel learning surrogate: feature extractor + exact GP on its latent.
// Paper-faithful (gpax viDKL): mlp 256→64→64→2, matern52, refit from scratch, 2000 steps.
// Default here: the same network, warm-started, 100 steps with early stopping.
#include <string>
#include <vector>

namespace sdm::core { class ConfigSection; }

namespace sdm::engine::gp {

struct DklConfig {
  std::string feature_extractor = "mlp";   ///< mlp | cnn (square patches: conv 3x3 + ReLU + 2x2 max-pool per stage, then the mlp)
  std::vector<int> hidden = {64, 64};      ///< hidden layer widths of the mlp (after the conv stages for cnn)
  std::vector<int> cnn_channels = {8, 16}; ///< output channels of the cnn's conv stages
  int latent_dim = 2;                      ///< GP input dimension
  std::string kernel = "matern52";         ///< matern52 | rbf
  bool ard = false;                        ///< one length scale per latent dimension
  int steps = 100;                         ///< Adam steps per update
  double learning_rate = 0.01;
  bool warm_start = true;                  ///< false: refit from scratch each step (paper)
  int train_subset = 512;                  ///< > 0: once n exceeds it, each Adam step uses the exact NLL of a random
                                           ///< subset of this many rows (stochastic; bounds a step at O(512^3) as a
                                           ///< campaign grows; every scenario so far stays below it). 0: always all
                                           ///< rows, the exact full-batch NLL. The posterior always uses all rows.
  int early_stop_patience = 20;            ///< steps without relative improvement before stopping (0: never)
  double early_stop_tolerance = 1e-4;      ///< progress: loss falls below the best by more than tol * max(1, |best|)
  double min_noise_variance = 1e-4;        ///< noise-variance floor of every head, standardised target units
                                           ///< (1e-4: noise sd >= 1 % of the target sd; keeps the exact NLL well conditioned)
  std::string input_normalisation = "global";  ///< global (one mean/std over all entries) | per_feature | none
  double jitter = 1e-6;                    ///< first diagonal jitter tried when K is not PD, relative to the output scale (x10 per retry)
  double max_jitter = 1e-1;                ///< give up beyond this
  int predict_chunk = 4096;                ///< candidates per prediction chunk
};

void read_config(core::ConfigSection& section, DklConfig& config);

}  // namespace sdm::engine::gp
