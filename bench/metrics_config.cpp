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
  s.read("scalarizer_bias_v", c.scalarizer_bias_v, Range::closed(-100, 100));
  s.read("onset_current_a", c.onset_current_a, Range::positive(1));
  s.read("hysteresis_quantiles", c.hysteresis_quantiles, Range{0.0, 1.0, true, true});
  for (std::size_t i = 1; i < c.hysteresis_quantiles.size(); ++i)
    if (!(c.hysteresis_quantiles[i] > c.hysteresis_quantiles[i - 1]))
      s.fail("hysteresis_quantiles", "quantiles must be strictly increasing");
  s.read("vae_eval_candidates", c.vae_eval_candidates, Range::closed(10, 1000000));
  s.finish();
}

}  // namespace sdm::bench
