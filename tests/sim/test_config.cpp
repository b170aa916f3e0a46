// Every [film] and [instrument] key rejects a bad value with a message naming the key and
// what is allowed; cross-key checks name the keys involved; defaults are valid.
#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

#include "core/error.hpp"
#include "sim/film.hpp"
#include "sim/instrument_config.hpp"

using namespace sdm::sim;

namespace {

template <class F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const sdm::Error& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST(SimConfig, DefaultsAreValidAndParseToTheInCodeDefaults) {
  EXPECT_NO_THROW(validate(FilmConfig{}));
  const FilmConfig c = parse_film_config("");
  EXPECT_EQ(c.size_px, FilmConfig{}.size_px);
  EXPECT_EQ(parse_film_config("grain_mean_m = 5e-7\n").grain_mean_m, 5e-7);
  EXPECT_EQ(parse_instrument_config("noise_rms_a = 2e-12\n").noise_rms_a, 2e-12);
}

TEST(SimConfig, EveryFilmKeyRejectsAnOutOfRangeValue) {
  const std::vector<std::pair<std::string, std::string>> bad = {
      {"size_px", "8"},
      {"scan_size_m", "-1e-6"},
      {"grain_mean_m", "0"},
      {"grain_sigma_ln", "2.0"},
      {"asymmetric_fraction", "1.5"},
      {"lloyd_iterations", "-1"},
      {"dome_height_m", "-1e-9"},
      {"groove_depth_m", "1.0"},
      {"groove_width_m", "0"},
      {"asymmetric_step_m", "-1e-9"},
      {"roughness_rms_m", "1e-3"},
      {"roughness_corr_m", "0"},
      {"tip_radius_m", "0"},
      {"height_noise_m", "-1e-10"},
      {"junction_radius_m", "0"},
      {"thickness_m", "1e-9"},
      {"relative_permittivity", "0.5"},
      {"mobility_cm2_per_vs", "0"},
      {"carrier_density_cm3", "-1"},
      {"trap_density_cm3", "1e30"},
      {"trap_exponent", "2.0"},
      {"barrier_ev", "-0.1"},
      {"ideality", "0.5"},
      {"richardson_a_per_cm2k2", "0"},
      {"contact_radius_m", "0"},
      {"series_resistance_ohm", "-1"},
      {"capacitance_f", "1.0"},
      {"temperature_k", "0"},
      {"grain_variation", "-0.1"},
      {"ion_tau_s", "0"},
      {"ion_v0_v", "100"},
      {"ion_vw_v", "0"},
      {"ion_vtau_v", "0"},
      {"ion_gain", "-1"},
      {"ion_barrier_ev", "1"},
      {"boundary_ion_speedup", "0"},
      {"boundary_ion_strength", "-1"},
      {"boundary_conductance_factor", "0"},
      {"boundary_trap_factor", "0"},
      {"junction_ion_speedup", "0"},
      {"junction_ion_strength", "-1"},
      {"junction_conductance_factor", "0"},
      {"asymmetric_barrier_ev", "-0.1"},
      {"asymmetric_conductance_factor", "0"},
  };
  for (const auto& [key, value] : bad) {
    const std::string msg = error_of([&] { parse_film_config(key + " = " + value + "\n", "x.toml"); });
    EXPECT_NE(msg.find("'" + key + "'"), std::string::npos) << key << ": " << msg;
    EXPECT_NE(msg.find("out of range"), std::string::npos) << key << ": " << msg;
    EXPECT_NE(msg.find("allowed"), std::string::npos) << key << ": " << msg;
  }
  const std::string type = error_of([] { parse_film_config("size_px = \"big\"\n"); });
  EXPECT_NE(type.find("size_px"), std::string::npos) << type;
  const std::string unknown = error_of([] { parse_film_config("grain_size = 3e-7\n"); });
  EXPECT_NE(unknown.find("grain_size"), std::string::npos) << unknown;
  EXPECT_NE(unknown.find("grain_mean_m"), std::string::npos) << unknown;  // lists the valid keys
}

TEST(SimConfig, CrossKeyChecksNameTheKeys) {
  // Grains not resolved: 20 nm grains at 2 µm / 64 px = 31 nm pixels.
  std::string m = error_of([] { parse_film_config("size_px = 64\ngrain_mean_m = 2e-8\n"); });
  EXPECT_NE(m.find("grain_mean_m"), std::string::npos) << m;
  EXPECT_NE(m.find("size_px"), std::string::npos) << m;
  // Too few grains for the periodic tessellation.
  m = error_of([] { parse_film_config("scan_size_m = 5e-7\ngrain_mean_m = 3e-7\nsize_px = 64\n"); });
  EXPECT_NE(m.find("at least 8"), std::string::npos) << m;
  // Groove wider than half a grain.
  m = error_of([] { parse_film_config("groove_width_m = 2e-7\n"); });
  EXPECT_NE(m.find("groove_width_m"), std::string::npos) << m;
  // generate_film validates too, for configs built in code.
  FilmConfig c;
  c.size_px = 64;
  c.grain_mean_m = 2e-8;
  m = error_of([&] { generate_film(c, 1); });
  EXPECT_NE(m.find("grain_mean_m"), std::string::npos) << m;
}

TEST(SimConfig, EveryInstrumentKeyRejectsAnOutOfRangeValue) {
  const std::vector<std::pair<std::string, std::string>> bad = {
      {"noise_rms_a", "-1e-12"},        {"flicker_rms_a", "1"},           {"offset_a", "1"},
      {"saturation_a", "0"},            {"adc_bits", "2"},                {"bandwidth_hz", "0"},
      {"drift_speed_m_per_s", "-1e-9"}, {"drift_walk_m_per_sqrt_s", "1"}, {"tip_wear_ohm_per_c", "-1"},
      {"perturbation_per_c", "-1"},     {"move_speed_m_per_s", "0"},      {"settle_time_s", "-1"},
      {"survey_line_time_s", "100"},    {"survey_bias_v", "50"},          {"max_bias_v", "0"},
      {"max_sweep_rate_v_per_s", "0"},
  };
  for (const auto& [key, value] : bad) {
    const std::string msg = error_of([&] { parse_instrument_config(key + " = " + value + "\n", "x.toml"); });
    EXPECT_NE(msg.find("'" + key + "'"), std::string::npos) << key << ": " << msg;
    EXPECT_NE(msg.find("allowed"), std::string::npos) << key << ": " << msg;
  }
  const std::string m = error_of([] { parse_instrument_config("survey_bias_v = 5\nmax_bias_v = 2\n"); });
  EXPECT_NE(m.find("survey_bias_v"), std::string::npos) << m;
  EXPECT_NE(m.find("max_bias_v"), std::string::npos) << m;
  const std::string syntax = error_of([] { parse_instrument_config("noise_rms_a = = 1\n", "bad.toml"); });
  EXPECT_NE(syntax.find("bad.toml:1"), std::string::npos) << syntax;
}
