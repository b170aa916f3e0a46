#include "sim/film_config.hpp"

#include "core/config.hpp"

namespace sdm::sim {

void read_config(core::ConfigSection& s, FilmConfig& c) {
  using core::Range;
  s.read("size_px", c.size_px, Range::closed(32, 4096));
  s.read("scan_size_m", c.scan_size_m, Range::closed(1e-7, 1e-4));
  s.read("grain_mean_m", c.grain_mean_m, Range::closed(2e-8, 2e-5));
  s.read("grain_sigma_ln", c.grain_sigma_ln, Range::closed(0.0, 1.5));
  s.read("asymmetric_fraction", c.asymmetric_fraction, Range::closed(0.0, 1.0));
  s.read("dome_height_m", c.dome_height_m, Range::closed(0.0, 5e-7));
  s.read("groove_depth_m", c.groove_depth_m, Range::closed(0.0, 2e-7));
  s.read("groove_width_m", c.groove_width_m, Range::closed(1e-9, 2e-7));
  s.read("asymmetric_step_m", c.asymmetric_step_m, Range::closed(0.0, 2e-7));
  s.read("roughness_rms_m", c.roughness_rms_m, Range::closed(0.0, 1e-7));
  s.read("roughness_corr_m", c.roughness_corr_m, Range::closed(1e-9, 1e-6));
  s.read("tip_radius_m", c.tip_radius_m, Range::closed(1e-9, 2e-7));
  s.read("height_noise_m", c.height_noise_m, Range::closed(0.0, 2e-8));
  s.read("thickness_m", c.thickness_m, Range::closed(5e-8, 5e-6));
  s.read("relative_permittivity", c.relative_permittivity, Range::closed(1.0, 100.0));
  s.read("mobility_cm2_per_vs", c.mobility_cm2_per_vs, Range::closed(1e-3, 200.0));
  s.read("trap_density_cm3", c.trap_density_cm3, Range::closed(1e8, 1e19));
  s.read("barrier_ev", c.barrier_ev, Range::closed(0.0, 1.5));
  s.read("contact_radius_m", c.contact_radius_m, Range::closed(1e-9, 5e-7));
  s.read("temperature_k", c.temperature_k, Range::closed(4.0, 500.0));
  s.read("ion_tau_s", c.ion_tau_s, Range::closed(1e-3, 600.0));
  s.read("seed", c.seed);
  s.finish();
}

}  // namespace sdm::sim
