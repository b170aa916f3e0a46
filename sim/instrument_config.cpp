#include "sim/instrument_config.hpp"

#include <cmath>
#include <sstream>
#include <toml++/toml.h>

#include "core/config.hpp"
#include "core/error.hpp"

namespace sdm::sim {

void read_config(core::ConfigSection& s, InstrumentConfig& c) {
  using core::Range;
  s.read("noise_rms_a", c.noise_rms_a, Range::closed(0.0, 1e-6));
  s.read("flicker_rms_a", c.flicker_rms_a, Range::closed(0.0, 1e-6));
  s.read("offset_a", c.offset_a, Range::closed(-1e-6, 1e-6));
  s.read("saturation_a", c.saturation_a, Range::closed(1e-12, 1e-3));
  s.read("adc_bits", c.adc_bits, Range::closed(4, 32));
  s.read("bandwidth_hz", c.bandwidth_hz, Range::closed(1.0, 1e7));
  s.read("drift_speed_m_per_s", c.drift_speed_m_per_s, Range::closed(0.0, 1e-6));
  s.read("drift_walk_m_per_sqrt_s", c.drift_walk_m_per_sqrt_s, Range::closed(0.0, 1e-6));
  s.read("tip_wear_ohm_per_c", c.tip_wear_ohm_per_c, Range::closed(0.0, 1e24));
  s.read("perturbation_per_c", c.perturbation_per_c, Range::closed(0.0, 1e15));
  s.read("move_speed_m_per_s", c.move_speed_m_per_s, Range::closed(1e-9, 1e-3));
  s.read("settle_time_s", c.settle_time_s, Range::closed(0.0, 60.0));
  s.read("survey_line_time_s", c.survey_line_time_s, Range::closed(0.0, 60.0));
  s.read("survey_bias_v", c.survey_bias_v, Range::closed(-10.0, 10.0));
  s.read("max_bias_v", c.max_bias_v, Range::closed(0.1, 100.0));
  s.read("max_sweep_rate_v_per_s", c.max_sweep_rate_v_per_s, Range::closed(1e-3, 1e4));
  s.finish();
  if (std::abs(c.survey_bias_v) > c.max_bias_v) {
    std::ostringstream m;
    m << "survey_bias_v = " << c.survey_bias_v << " V exceeds max_bias_v = " << c.max_bias_v << " V";
    s.fail("survey_bias_v", m.str());
  }
}

InstrumentConfig parse_instrument_config(const std::string& text, const std::string& origin) {
  toml::table root;
  try {
    root = toml::parse(text, origin);
  } catch (const toml::parse_error& e) {
    std::ostringstream s;
    s << origin << ":" << e.source().begin.line << ":" << e.source().begin.column << ": " << e.description();
    throw Error(s.str());
  }
  InstrumentConfig c;
  core::ConfigSection section(&root, "instrument", origin);
  read_config(section, c);
  return c;
}

}  // namespace sdm::sim
