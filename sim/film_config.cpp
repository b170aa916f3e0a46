#include "sim/film_config.hpp"

#include <cmath>
#include <sstream>
#include <toml++/toml.h>

#include "core/config.hpp"
#include "core/error.hpp"

namespace sdm::sim {
namespace {
std::string num(double v) {
  std::ostringstream s;
  s << v;
  return s.str();
}
std::string check(const FilmConfig& c);  // "" when valid
}  // namespace

void read_config(core::ConfigSection& s, FilmConfig& c) {
  using core::Range;
  s.read("size_px", c.size_px, Range::closed(32, 4096));
  s.read("scan_size_m", c.scan_size_m, Range::closed(1e-7, 1e-4));
  s.read("grain_mean_m", c.grain_mean_m, Range::closed(2e-8, 2e-5));
  s.read("grain_sigma_ln", c.grain_sigma_ln, Range::closed(0.0, 1.5));
  s.read("asymmetric_fraction", c.asymmetric_fraction, Range::closed(0.0, 1.0));
  s.read("lloyd_iterations", c.lloyd_iterations, Range::closed(0, 100));
  s.read("dome_height_m", c.dome_height_m, Range::closed(0.0, 5e-7));
  s.read("groove_depth_m", c.groove_depth_m, Range::closed(0.0, 2e-7));
  s.read("groove_width_m", c.groove_width_m, Range::closed(1e-9, 2e-7));
  s.read("asymmetric_step_m", c.asymmetric_step_m, Range::closed(0.0, 2e-7));
  s.read("roughness_rms_m", c.roughness_rms_m, Range::closed(0.0, 1e-7));
  s.read("roughness_corr_m", c.roughness_corr_m, Range::closed(1e-9, 1e-6));
  s.read("tip_radius_m", c.tip_radius_m, Range::closed(1e-9, 2e-7));
  s.read("height_noise_m", c.height_noise_m, Range::closed(0.0, 2e-8));
  s.read("junction_radius_m", c.junction_radius_m, Range::closed(1e-9, 2e-7));
  s.read("thickness_m", c.thickness_m, Range::closed(5e-8, 5e-6));
  s.read("relative_permittivity", c.relative_permittivity, Range::closed(1.0, 100.0));
  s.read("mobility_cm2_per_vs", c.mobility_cm2_per_vs, Range::closed(1e-3, 200.0));
  s.read("carrier_density_cm3", c.carrier_density_cm3, Range::closed(0.0, 1e19));
  s.read("trap_density_cm3", c.trap_density_cm3, Range::closed(1e8, 1e19));
  s.read("trap_exponent", c.trap_exponent, Range{2.0, 12.0, true, false});
  s.read("barrier_ev", c.barrier_ev, Range::closed(0.0, 1.5));
  s.read("ideality", c.ideality, Range::closed(1.0, 10.0));
  s.read("richardson_a_per_cm2k2", c.richardson_a_per_cm2k2, Range::closed(0.01, 1000.0));
  s.read("contact_radius_m", c.contact_radius_m, Range::closed(1e-9, 5e-7));
  s.read("series_resistance_ohm", c.series_resistance_ohm, Range::closed(0.0, 1e13));
  s.read("capacitance_f", c.capacitance_f, Range::closed(0.0, 1e-9));
  s.read("temperature_k", c.temperature_k, Range::closed(4.0, 500.0));
  s.read("grain_variation", c.grain_variation, Range::closed(0.0, 1.0));
  s.read("ion_tau_s", c.ion_tau_s, Range::closed(1e-3, 600.0));
  s.read("ion_v0_v", c.ion_v0_v, Range::closed(-10.0, 10.0));
  s.read("ion_vw_v", c.ion_vw_v, Range::closed(1e-3, 5.0));
  s.read("ion_vtau_v", c.ion_vtau_v, Range::closed(1e-2, 100.0));
  s.read("ion_gain", c.ion_gain, Range::closed(0.0, 100.0));
  s.read("ion_barrier_ev", c.ion_barrier_ev, Range::closed(0.0, 0.5));
  s.read("boundary_ion_speedup", c.boundary_ion_speedup, Range::closed(1e-2, 1e4));
  s.read("boundary_ion_strength", c.boundary_ion_strength, Range::closed(0.0, 100.0));
  s.read("boundary_conductance_factor", c.boundary_conductance_factor, Range::closed(1e-3, 100.0));
  s.read("boundary_trap_factor", c.boundary_trap_factor, Range::closed(1e-3, 1e3));
  s.read("junction_ion_speedup", c.junction_ion_speedup, Range::closed(1e-2, 1e4));
  s.read("junction_ion_strength", c.junction_ion_strength, Range::closed(0.0, 100.0));
  s.read("junction_conductance_factor", c.junction_conductance_factor, Range::closed(1e-3, 100.0));
  s.read("asymmetric_barrier_ev", c.asymmetric_barrier_ev, Range::closed(0.0, 1.5));
  s.read("asymmetric_conductance_factor", c.asymmetric_conductance_factor, Range::closed(1e-4, 100.0));
  s.read("seed", c.seed);
  s.finish();
  const std::string problem = check(c);
  if (!problem.empty()) s.fail("", problem);
}

void validate(const FilmConfig& c) {
  const std::string problem = check(c);
  if (!problem.empty()) throw Error("film config: " + problem);
}

namespace {
std::string check(const FilmConfig& c) {
  struct Bad {
    std::string what;
  };
  auto fail = [](const std::string& what) { throw Bad{what}; };
  try {
  if (c.size_px < 8) fail("size_px = " + num(c.size_px) + " is too small; allowed: >= 8");
  if (!(c.scan_size_m > 0) || !(c.grain_mean_m > 0)) fail("scan_size_m and grain_mean_m must be positive");
  const double pixel_m = c.scan_size_m / c.size_px;
  if (c.grain_mean_m < 4 * pixel_m)
    fail("grain_mean_m = " + num(c.grain_mean_m) + " m is not resolved: the pixel is scan_size_m/size_px = " +
         num(pixel_m) + " m; allowed: grain_mean_m >= 4 pixels (" + num(4 * pixel_m) +
         " m): raise size_px or lower scan_size_m");
  // Expected grain count: field area / mean grain area, E[d²] = mean²·exp(sigma²) for a lognormal.
  const double mean_area = M_PI / 4 * c.grain_mean_m * c.grain_mean_m * std::exp(c.grain_sigma_ln * c.grain_sigma_ln);
  const double grains = c.scan_size_m * c.scan_size_m / mean_area;
  if (grains < 8)
    fail("scan_size_m = " + num(c.scan_size_m) + " m holds only ~" + num(std::round(grains)) +
         " grains of grain_mean_m = " + num(c.grain_mean_m) + " m; allowed: at least 8 (the tessellation is periodic)");
  if (grains > 2e5)
    fail("scan_size_m = " + num(c.scan_size_m) + " m would hold ~" + num(std::round(grains)) +
         " grains of grain_mean_m = " + num(c.grain_mean_m) + " m; allowed: at most 200000");
  if (c.groove_width_m > 0.5 * c.grain_mean_m)
    fail("groove_width_m = " + num(c.groove_width_m) + " m must be at most half of grain_mean_m = " + num(c.grain_mean_m) + " m");
  if (c.junction_radius_m > 0.5 * c.grain_mean_m)
    fail("junction_radius_m = " + num(c.junction_radius_m) + " m must be at most half of grain_mean_m = " +
         num(c.grain_mean_m) + " m");
  if (c.asymmetric_barrier_ev + c.barrier_ev > 2.0)
    fail("barrier_ev + asymmetric_barrier_ev = " + num(c.barrier_ev + c.asymmetric_barrier_ev) + " eV; allowed: <= 2 eV");
  } catch (const Bad& b) {
    return b.what;
  }
  return "";
}
}  // namespace

FilmConfig parse_film_config(const std::string& text, const std::string& origin) {
  toml::table root;
  try {
    root = toml::parse(text, origin);
  } catch (const toml::parse_error& e) {
    std::ostringstream s;
    s << origin << ":" << e.source().begin.line << ":" << e.source().begin.column << ": " << e.description();
    throw Error(s.str());
  }
  FilmConfig c;
  core::ConfigSection section(&root, "film", origin);
  read_config(section, c);
  return c;
}

}  // namespace sdm::sim
