#pragma once
// Parameters of a synthetic halide-perovskite film: microstructure, topography and
// transport. Defaults sit inside the literature ranges of ../shared/PHYSICS.md.
#include <cstdint>

namespace sdm::core { class ConfigSection; }

namespace sdm::sim {

struct FilmConfig {
  // Field of view.
  int size_px = 256;                 ///< pixels per side of the square survey
  double scan_size_m = 2.0e-6;       ///< side of the field of view, m
  // Microstructure (MAPbI3 films: mean 0.1–2 µm, sigma_ln 0.3–0.5; Nat. Commun. 11 s41467-020-17012-y).
  double grain_mean_m = 0.3e-6;      ///< mean equivalent-circle grain diameter, m
  double grain_sigma_ln = 0.4;       ///< lognormal shape of grain diameter
  double asymmetric_fraction = 0.1;  ///< fraction of boundary segments that are asymmetric
  // Topography (grooves 5–50 nm deep, 10–40 nm wide; roughness 5–40 nm RMS; tip R 10–30 nm).
  double dome_height_m = 20e-9;      ///< grain dome height, m
  double groove_depth_m = 15e-9;     ///< grain-boundary groove depth, m
  double groove_width_m = 20e-9;     ///< groove full width, m
  double asymmetric_step_m = 10e-9;  ///< height step across an asymmetric boundary, m
  double roughness_rms_m = 5e-9;     ///< correlated roughness, m RMS
  double roughness_corr_m = 30e-9;   ///< roughness correlation length, m
  double tip_radius_m = 20e-9;       ///< paraboloid tip radius for dilation, m
  double height_noise_m = 0.3e-9;    ///< white measurement noise on topography, m RMS
  // Transport (Shrestha JPCC 2018; Shi Science 2015; IonMonger parameters).
  double thickness_m = 400e-9;             ///< film thickness L, m
  double relative_permittivity = 24.0;     ///< eps_r
  double mobility_cm2_per_vs = 2.0;        ///< film mobility, cm²/Vs
  double trap_density_cm3 = 1e16;          ///< trap density n_t, cm⁻³
  double barrier_ev = 0.5;                 ///< tip–film Schottky barrier phi_B, eV
  double contact_radius_m = 20e-9;         ///< effective contact radius a, m
  double temperature_k = 298.0;            ///< K
  double ion_tau_s = 1.0;                  ///< ionic time constant tau0 in grain interiors, s
  std::uint64_t seed = 0;                  ///< added to the campaign seed: one film per seed
};

void read_config(core::ConfigSection& section, FilmConfig& config);

}  // namespace sdm::sim
