#include "engine/campaign/campaign_config.hpp"

#include "core/config.hpp"

namespace sdm::engine::campaign {

void read_config(core::ConfigSection& s, CampaignConfig& c) {
  using core::Range;
  s.read("budget", c.budget, Range::closed(1, 100000));
  s.read("time_budget_s", c.time_budget_s, Range::non_negative());
  s.read("initial_points", c.initial_points, Range::closed(1, 100000));
  s.read("initial_design", c.initial_design, {"lhs", "random", "raster"});
  s.read("patch_px", c.patch_px, Range::closed(4, 128));
  s.read("stride_px", c.stride_px, Range::closed(1, 128));
  s.read("survey_channel", c.survey_channel);
  s.read("seed", c.seed);
  s.read("seeds", c.seeds, Range::closed(1, 1000));
  s.read("sweep_shape", c.sweep_shape, {"triangle", "bipolar"});
  s.read("sweep_max_bias_v", c.sweep_max_bias_v, Range{0.0, 20.0, true, false});
  s.read("sweep_points", c.sweep_points, Range::closed(5, 100000));
  s.read("sweep_rate_v_per_s", c.sweep_rate_v_per_s, Range{0.0, 1000.0, true, false});
  s.read("retries", c.retries, Range::closed(0, 100));
  s.read("retry_delay_s", c.retry_delay_s, Range::closed(0.0, 600.0));
  if (c.initial_points > c.budget)
    s.fail("initial_points", "value " + std::to_string(c.initial_points) + " exceeds budget = " + std::to_string(c.budget) +
                                 "; allowed: 1 .. budget");
  s.finish();
}

}  // namespace sdm::engine::campaign
