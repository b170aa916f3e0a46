#pragma once
// How one campaign runs: budget, initial design, candidate patches, sweep and seeds.
#include <cstdint>
#include <string>

namespace sdm::core { class ConfigSection; }

namespace sdm::engine::campaign {

struct CampaignConfig {
  int budget = 210;                     ///< total measurements, initial points included
  double time_budget_s = 0.0;           ///< instrument-clock budget, s (0: none)
  int initial_points = 10;              ///< seed measurements before the strategy decides
  std::string initial_design = "lhs";   ///< lhs | random | raster
  int patch_px = 16;                    ///< candidate patch side, pixels
  int stride_px = 2;                    ///< candidate grid stride, pixels
  std::string survey_channel = "topography";
  std::uint64_t seed = 0;               ///< first seed
  int seeds = 3;                        ///< number of seeds a benchmark runs (seed, seed+1, ...)
  // Sweep sent to the microscope at each location.
  std::string sweep_shape = "triangle"; ///< triangle (0 → V → 0) | bipolar (0 → +V → −V → 0)
  double sweep_max_bias_v = 1.5;
  int sweep_points = 251;
  double sweep_rate_v_per_s = 1.0;
  // Failure policy for instrument calls.
  int retries = 2;                      ///< retries of a failed call before the campaign stops
  double retry_delay_s = 0.5;
};

void read_config(core::ConfigSection& section, CampaignConfig& config);

}  // namespace sdm::engine::campaign
