#pragma once
// One [[strategy]] entry of a scenario: which acquisition strategy and its constants.
#include <string>
#include <vector>

namespace sdm::core { class ConfigSection; }

namespace sdm::engine::acquisition {

/// Names of every strategy the engine knows.
const std::vector<std::string>& strategy_names();
/// Names of the I–V scalarizers selectable by `scalarizer`.
const std::vector<std::string>& scalarizer_names();

struct StrategyConfig {
  std::string name;                       ///< one of strategy_names(); required
  std::string label;                      ///< shown in reports; defaults to name
  double beta = 0.25;                     ///< UCB exploration: mu + sqrt(beta)·sigma (paper: 0.25)
  double xi = 0.01;                       ///< EI improvement margin, in normalised target units
  std::string scalarizer = "loop_area";   ///< target of ucb / ei / max_variance / beacon
  double scalarizer_bias_v = 1.0;         ///< bias for current_at_bias, V
  double onset_current_a = 10e-12;        ///< current defining the onset voltage, A
  double contamination = 0.1;             ///< Isolation Forest contamination (paper: 0.1)
  int forest_trees = 100;                 ///< Isolation Forest trees
  int forest_subsample = 256;             ///< Isolation Forest subsample size
  std::string ssim_window = "uniform";    ///< SSIM window: uniform (skimage default, paper) | gaussian
  int ssim_window_px = 7;                 ///< uniform SSIM window side, pixels (odd; skimage default 7)
  double ssim_window_sigma = 1.5;         ///< Gaussian SSIM window sigma, pixels
  std::string spectral_normalisation = "set";  ///< I–V min-max scaling before the forest: set (jointly) | curve (each its own)
  double elite_fraction = 0.2;            ///< beacon: fraction of measured behaviours in the elite set
};

void read_config(core::ConfigSection& section, StrategyConfig& config);

}  // namespace sdm::engine::acquisition
