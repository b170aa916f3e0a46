#include "engine/acquisition/strategy_config.hpp"

#include "core/config.hpp"

namespace sdm::engine::acquisition {

const std::vector<std::string>& strategy_names() {
  static const std::vector<std::string> names = {"dn_dkl", "random", "raster", "lhs", "max_variance", "ucb", "ei",
                                                 "structural_novelty", "spectral_novelty", "beacon"};
  return names;
}

const std::vector<std::string>& scalarizer_names() {
  static const std::vector<std::string> names = {"loop_area", "current_at_bias", "max_current", "on_off_ratio", "onset_voltage"};
  return names;
}

void read_config(core::ConfigSection& s, StrategyConfig& c) {
  using core::Range;
  if (!s.has("name")) s.fail("", "missing required key 'name'; allowed names: dn_dkl, random, raster, lhs, max_variance, ucb, ei, structural_novelty, spectral_novelty, beacon");
  s.read("name", c.name, strategy_names());
  c.label = c.name;
  s.read("label", c.label);
  s.read("beta", c.beta, Range::non_negative(1e6));
  s.read("xi", c.xi, Range::non_negative(1e3));
  s.read("scalarizer", c.scalarizer, scalarizer_names());
  s.read("scalarizer_bias_v", c.scalarizer_bias_v, Range::closed(-20.0, 20.0));
  s.read("onset_current_a", c.onset_current_a, Range::positive(1e-3));
  s.read("contamination", c.contamination, Range{0.0, 0.5, true, false});
  s.read("forest_trees", c.forest_trees, Range::closed(1, 10000));
  s.read("forest_subsample", c.forest_subsample, Range::closed(2, 100000));
  s.read("ssim_window", c.ssim_window, {"uniform", "gaussian"});
  s.read("ssim_window_px", c.ssim_window_px, Range::closed(1, 63));
  if (c.ssim_window_px % 2 == 0) s.fail("ssim_window_px", "value " + std::to_string(c.ssim_window_px) + " must be odd");
  s.read("ssim_window_sigma", c.ssim_window_sigma, Range::closed(0.1, 20.0));
  s.read("spectral_normalisation", c.spectral_normalisation, {"set", "curve"});
  s.read("elite_fraction", c.elite_fraction, Range{0.0, 1.0, true, false});
  s.finish();
}

}  // namespace sdm::engine::acquisition
