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
};

void read_config(core::ConfigSection& section, MetricsConfig& config);

}  // namespace sdm::bench
