#include "sim/instrument_config.hpp"

#include "core/config.hpp"

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
  s.read("tip_wear_ohm_per_c", c.tip_wear_ohm_per_c, Range::non_negative());
  s.read("perturbation_per_c", c.perturbation_per_c, Range::non_negative());
  s.read("move_speed_m_per_s", c.move_speed_m_per_s, Range::closed(1e-9, 1e-3));
  s.read("settle_time_s", c.settle_time_s, Range::closed(0.0, 60.0));
  s.read("survey_line_time_s", c.survey_line_time_s, Range::closed(0.0, 60.0));
  s.finish();
}

}  // namespace sdm::sim
