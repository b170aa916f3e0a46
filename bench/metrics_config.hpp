#pragma once
// Which metrics the benchmark harness computes against the twin's ground truth.
#include <string>
#include <vector>

namespace sdm::core { class ConfigSection; }

namespace sdm::bench {

struct MetricsConfig {
  std::vector<int> budgets = {25, 50, 100, 210};  ///< measurement counts at which tables report metrics
  std::string scalarizer = "loop_area";            ///< target-space coverage and model error use this
  int target_bins = 100;                           ///< histogram bins of the true scalarizer
  int patch_clusters = 100;                        ///< k of the k-means over candidate patches
  int model_error_every = 10;                      ///< evaluate model error every N steps
  int knn_k = 5;                                   ///< k of the motif-separability kNN
  bool vae = true;                                 ///< fit the dual VAE after each campaign for its metrics
  double scalarizer_bias_v = 1.0;                  ///< read bias of current_at_bias / on_off_ratio, V
  double onset_current_a = 10e-12;                 ///< threshold of onset_voltage, A
  /// Loop-area quantiles of the film that cut the hysteresis classes (ascending, in (0, 1)):
  /// 50/90/99 % give four classes, low, moderate, high and extreme (the film's top 1 %).
  std::vector<double> hysteresis_quantiles = {0.5, 0.9, 0.99};
  int vae_eval_candidates = 2000;                  ///< candidates (seeded subsample) scored by the VAE metrics
};

void read_config(core::ConfigSection& section, MetricsConfig& config);

}  // namespace sdm::bench
