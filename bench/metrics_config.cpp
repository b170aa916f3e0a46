#include "bench/metrics_config.hpp"

#include "core/config.hpp"
#include "engine/acquisition/strategy_config.hpp"

namespace sdm::bench {

void read_config(core::ConfigSection& s, MetricsConfig& c) {
  using core::Range;
  s.read("budgets", c.budgets, Range::closed(1, 1000000));
  s.read("scalarizer", c.scalarizer, engine::acquisition::scalarizer_names());
  s.read("target_bins", c.target_bins, Range::closed(2, 100000));
  s.read("patch_clusters", c.patch_clusters, Range::closed(2, 100000));
  s.read("model_error_every", c.model_error_every, Range::closed(1, 100000));
  s.read("knn_k", c.knn_k, Range::closed(1, 1000));
  s.read("vae", c.vae);
  s.finish();
}

}  // namespace sdm::bench
