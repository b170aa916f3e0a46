#pragma once
// Parameters of a synthetic halide-perovskite (MAPbI3-like) film: microstructure,
// topography and transport. Every default sits inside the literature range quoted
// next to it (see ../shared/PHYSICS.md for the full list of sources):
//   grain size       Nat. Commun. 11 (2020) s41467-020-17012-y; EPJ PV 2024 pv230058
//                    (planar MAPbI3: 107–668 nm, mean 308 nm; lognormal sigma_ln 0.3–0.5)
//   grooves          Mullins grooving; 5–50 nm deep, 10–40 nm wide on domed grains
//   roughness, tip   Gwyddion lat_synth.c; pycroscopy DTMicroscope afm_artefacts.py;
//                    Villarrubia, J. Res. NIST 102, 425 (1997): paraboloid tip R 10–30 nm
//   transport        Shi et al., Science 347, 519 (2015); Shrestha et al., J. Phys. Chem. C
//                    122, 5935 (2018); IonMonger parameters.m (Courtier et al., 2019):
//                    eps_r ~24, film mobility 1–10 cm²/Vs, trap density 1e15–1e17 cm⁻³,
//                    Richardson constant ~24 A cm⁻² K⁻² for these effective masses
//   ions             Eames et al., Nat. Commun. 6, 7497 (2015); Richardson et al., EES 9,
//                    1476 (2016): iodide-vacancy time constants 0.1–60 s
//   grain boundaries Nat. Commun. 10 (2019) s41467-019-08364-1 (faster ions at GBs);
//                    Yun et al., JPCL 6, 875 (2015); Berweger et al., Nano Lett. 17 (2017);
//                    Gong et al., arXiv 2603.17028 (junctions hysteretic, asymmetric
//                    boundaries block transport)
// The motif multipliers are this model's choice inside the plausible ranges of PHYSICS.md
// ("GB ion mobility ×10–100, conductance ×0.3–3; junction conductance ×0.2–0.5, loop area
// ×2–5; asymmetric boundary a one-sided 0.1–0.3 eV barrier or conductance ×0.05–0.3").
#include <cstdint>
#include <string>

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
  int lloyd_iterations = 6;          ///< Lloyd (centroidal) relaxation steps of the Laguerre seeds
  // Topography (grooves 5–50 nm deep, 10–40 nm wide; roughness 5–40 nm RMS; tip R 10–30 nm).
  double dome_height_m = 20e-9;      ///< grain dome height (for a grain of the mean size), m
  double groove_depth_m = 15e-9;     ///< grain-boundary groove depth, m
  double groove_width_m = 20e-9;     ///< groove full width at half depth, m
  double asymmetric_step_m = 10e-9;  ///< height step across an asymmetric boundary, m
  double roughness_rms_m = 5e-9;     ///< correlated roughness, m RMS
  double roughness_corr_m = 30e-9;   ///< roughness correlation length l (autocorrelation exp(−r²/l²)), m
  double tip_radius_m = 20e-9;       ///< paraboloid tip radius for dilation, m
  double height_noise_m = 0.3e-9;    ///< white measurement noise on topography, m RMS
  double junction_radius_m = 20e-9;  ///< radius around a triple junction labelled (and weighted) as junction, m
  // Transport (Shrestha JPCC 2018; Shi Science 2015; IonMonger parameters).
  double thickness_m = 400e-9;             ///< film thickness L, m
  double relative_permittivity = 24.0;     ///< eps_r
  double mobility_cm2_per_vs = 1.0;        ///< film mobility, cm²/Vs (lower end of films: ~0.1 nA at 1 V, ~0.3 nA at 1.5 V in interiors)
  double carrier_density_cm3 = 1e14;       ///< free carrier density n0 (ohmic regime), cm⁻³
  double trap_density_cm3 = 1e16;          ///< trap density n_t, cm⁻³ (V_TFL = q n_t L²/(2 eps))
  double trap_exponent = 3.0;              ///< J ∝ V^m in the trap-limited regime below V_TFL (m > 2)
  double barrier_ev = 0.5;                 ///< tip–film Schottky barrier phi_B, eV
  double ideality = 2.0;                   ///< diode ideality factor n of thermionic injection
  double richardson_a_per_cm2k2 = 24.0;    ///< effective Richardson constant A*, A cm⁻² K⁻²
  double contact_radius_m = 15e-9;         ///< effective contact radius a (area pi a²), m: a fit parameter under a
                                           ///< 20 nm tip; 15 nm puts interior currents at 1.5 V near the paper's ≲0.5 nA
  double series_resistance_ohm = 1e7;      ///< tip coating + cantilever series resistance R_s, ohm
  double capacitance_f = 0.3e-12;          ///< tip–sample (incl. stray) capacitance C, F (C dV/dt current)
  double temperature_k = 298.0;            ///< K
  double grain_variation = 0.15;           ///< sigma_ln of per-grain transport multipliers (and 0.1×this eV on phi_B)
  // Memristive ionic state x ∈ [0, 1]: dx/dt = (x_inf(V) − x)/tau(V),
  // x_inf = 1/(1 + exp(−(V − V0)/Vw)), tau = tau0·exp(−|V|/Vtau); x raises the bulk
  // conductance by (1 + gain·x) and lowers the injection barrier by dphi·x.
  double ion_tau_s = 30.0;                 ///< tau0 in grain interiors, s (iodide vacancies: 0.1–60 s): slow, little hysteresis
  double ion_v0_v = 0.8;                   ///< V0: bias where x_inf = 1/2, V
  double ion_vw_v = 0.15;                  ///< Vw: width of the x_inf step, V
  double ion_vtau_v = 0.5;                 ///< Vtau: field acceleration of ion motion, V
  double ion_gain = 0.3;                   ///< interior G_on/G_off − 1 of the bulk conductance
  double ion_barrier_ev = 0.02;            ///< interior barrier lowering dphi at x = 1, eV
  // Motif multipliers (applied with smooth weights that are 1 on the motif and fall off
  // over the groove width / junction radius; junction factors act on top of boundary ones).
  double boundary_ion_speedup = 10.0;      ///< tau0 divided by this at boundaries (GB ion mobility ×10–100): tau0 ~ sweep time
  double boundary_ion_strength = 3.0;      ///< gain and dphi multiplied by this at boundaries
  double boundary_conductance_factor = 1.5;///< bulk conductance × this at boundaries (×0.3–3)
  double boundary_trap_factor = 3.0;       ///< trap density × this at boundaries
  double junction_ion_speedup = 1.0;       ///< further tau0 division at triple junctions
  double junction_ion_strength = 4.0;      ///< further gain and dphi multiplier at junctions
  double junction_conductance_factor = 0.35; ///< further conductance factor at junctions (×0.2–0.5)
  double asymmetric_barrier_ev = 0.3;      ///< extra one-sided (positive-bias) injection barrier, eV (0.1–0.3)
  double asymmetric_conductance_factor = 0.3; ///< bulk conductance × this at asymmetric boundaries (×0.05–0.3)
  std::uint64_t seed = 0;                  ///< added to the campaign seed: the film of campaign seed s uses s + seed
};

/// Reads [film]; every key range-checked, then the cross-key checks of validate().
void read_config(core::ConfigSection& section, FilmConfig& config);

/// Cross-key checks (grains resolved by the pixels, not too many grains, groove narrower
/// than a grain, ...). Throws sdm::Error naming the keys, their values and what is allowed.
void validate(const FilmConfig& config);

/// Parses a [film] table from TOML text (e.g. "size_px = 64\n"): defaults, overrides, checks.
/// For tools and tests; scenario files go through bench::load_scenario.
FilmConfig parse_film_config(const std::string& toml_text, const std::string& origin = "film config");

/// The film seed of a campaign: campaign_seed + config.seed.
inline std::uint64_t film_seed(const FilmConfig& config, std::uint64_t campaign_seed) { return campaign_seed + config.seed; }

}  // namespace sdm::sim
