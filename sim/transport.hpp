#pragma once
// The tip–film–electrode junction of a conductive-AFM measurement on a halide perovskite:
// local parameters, the DC current at a bias and ionic state, and the I–V sweep with its
// memristive hysteresis and displacement current.
//
// Circuit (series): tip injection junction ─ perovskite bulk under the tip ─ R_s.
//   V = V_j(I) + V_b(I) + I·R_s, solved for I at every bias (odd in V: I(−V) uses barrier_neg).
// R_s is the tip coating and cantilever (it grows with tip wear); the film's own spreading
// resistance is the ohmic term of the bulk element (an effective area pi a² and thickness L,
// which PHYSICS.md treats as fit parameters for a sharp tip).
// Injection (thermionic emission, Sze & Ng, Physics of Semiconductor Devices, ch. 3):
//   I = I_s·(exp(q·V_j/(n·kT)) − 1),  I_s = A·A*·T²·exp(−(phi_B − dphi·x)/kT),
//   A = pi a² (a = 20 nm, A* = 24 A cm⁻² K⁻²: I_s ≈ 1e−13 A at phi_B = 0.5 eV).
// Bulk (space-charge-limited current, Lampert & Mark 1970; Shi et al., Science 347, 519
// (2015); Shrestha et al., J. Phys. Chem. C 122, 5935 (2018)):
//   I_b = g(x)·A·[ q·n0·mu·V_b/L + J_sc(V_b) ]
//   J_sc = (9/8)·eps·mu·V²/L³ (Mott–Gurney) for V ≥ V_TFL = q·n_t·L²/(2·eps),
//   J_sc = J_MG(V_TFL)·(V/V_TFL)^m below it (trap-limited, m > 2, continuous at V_TFL),
//   so the log–log slope is 1 (ohmic) → m (trap-limited) → 2 (Mott–Gurney).
// Ions (reduced memristive model of PHYSICS.md; Bisquert et al., PCCP 2024; Richardson
// et al., EES 9, 1476 (2016)): x ∈ [0, 1] is the ionic (iodide-vacancy) accumulation at the
// contact, dx/dt = (x_inf(V) − x)/tau(V), x_inf = 1/(1 + exp(−(V − V0)/Vw)),
// tau = tau0·exp(−|V|/Vtau); it raises the bulk conductance, g(x) = g0·(1 + gain·x), and
// lowers the injection barrier by dphi·x. At rest (0 V for a long time) x = x_inf(0).
// Displacement current: I_cap = C·dV/dt (1 pF at 1 V/s gives 1 pA).
//
// Integration: x is advanced with an exponential integrator, exact for tau frozen at the
// sub-step's mid-point bias and x_inf linear in time between its end values:
//   x ← x_inf(t+dt) − b·tau + (x − x_inf(t) + b·tau)·exp(−dt/tau),  b = dx_inf/dt;
// second order, unconditionally stable for any dt/tau (any sweep rate), and exact in the
// quasi-static limit; each waveform segment is sub-stepped so a sub-step changes V by at
// most Vw/4. The series
// equation is solved by safeguarded Newton on ln V_b (bracketed, bisection fallback); along a
// sweep, Newton runs directly on V_b from a guess extrapolated from the previous three samples
// (no exponential per iteration) and falls back to the bracketed solve if a step leaves (0, V).
// Relative accuracy ~1e−10 either way.
#include <vector>

#include "core/waveform.hpp"

namespace sdm::sim {

inline constexpr double kElementaryCharge_c = 1.602176634e-19;
inline constexpr double kBoltzmann_ev_per_k = 8.617333262e-5;
inline constexpr double kVacuumPermittivity_f_per_m = 8.8541878128e-12;

/// Everything that sets the I–V response of one spot. SI units.
struct LocalParams {
  double area_m2 = 1.2566e-15;              ///< effective contact area pi a², m²
  double thickness_m = 400e-9;              ///< film thickness L, m
  double permittivity_f_per_m = 24 * kVacuumPermittivity_f_per_m;  ///< eps = eps_r eps0, F/m
  double mobility_m2_per_vs = 2e-4;         ///< mu, m²/(V s)
  double carrier_density_m3 = 1e20;         ///< free carriers n0, m⁻³
  double trap_density_m3 = 1e22;            ///< traps n_t, m⁻³
  double trap_exponent = 3.0;               ///< m of the trap-limited regime
  double conductance_factor = 1.0;          ///< g0: motif/grain multiplier of the bulk current
  double barrier_pos_ev = 0.5;              ///< injection barrier at positive tip bias, eV
  double barrier_neg_ev = 0.5;              ///< injection barrier at negative tip bias, eV
  double ideality = 2.0;                    ///< n
  double richardson_a_per_m2k2 = 24e4;      ///< A*, A m⁻² K⁻²
  double temperature_k = 298.0;             ///< T, K
  double series_ohm = 1e7;                  ///< R_s, ohm
  double capacitance_f = 0.3e-12;           ///< C, F
  double ion_tau_s = 20.0;                  ///< tau0, s
  double ion_v0_v = 0.8;                    ///< V0, V
  double ion_vw_v = 0.15;                   ///< Vw, V
  double ion_vtau_v = 0.5;                  ///< Vtau, V
  double ion_gain = 0.3;                    ///< gain: g(x) = g0·(1 + gain·x)
  double ion_barrier_ev = 0.02;             ///< dphi at x = 1, eV

  /// Trap-filled-limit voltage q·n_t·L²/(2·eps), V.
  double tfl_voltage_v() const;
  /// Thermionic saturation current at ionic state x for the given polarity, A.
  double saturation_current_a(double ion_state, bool positive_bias) const;
};

/// x_inf(V) = 1/(1 + exp(−(V − V0)/Vw)).
double ion_equilibrium(const LocalParams& p, double bias_v);
/// tau(V) = tau0·exp(−|V|/Vtau), s.
double ion_time_constant(const LocalParams& p, double bias_v);
/// x at rest: x_inf(0).
inline double rest_ion_state(const LocalParams& p) { return ion_equilibrium(p, 0.0); }

/// Bulk current I_b(V_b) at ionic state x (odd in V_b), A.
double bulk_current(const LocalParams& p, double bulk_bias_v, double ion_state);
/// DC (faradaic) current through the series junction at `bias_v` and ionic state x, A.
double dc_current(const LocalParams& p, double bias_v, double ion_state);

struct SweepResult {
  core::IvCurve curve;           ///< total current (faradaic + C dV/dt) at every waveform sample
  std::vector<double> ion_state; ///< x at every sample
  double final_ion_state = 0;    ///< x at the end
  double charge_c = 0;           ///< ∫|I_dc| dt, C (trapezoid on the samples)
};

/// Noiseless sweep of `waveform` starting from ionic state `initial_ion_state`.
/// Throws sdm::Error on an invalid waveform.
SweepResult simulate_sweep(const LocalParams& p, const core::Waveform& waveform, double initial_ion_state);

/// Same, starting at rest (x = x_inf(0)): the ground-truth curve of a never-measured spot.
inline core::IvCurve rest_sweep(const LocalParams& p, const core::Waveform& waveform) {
  return simulate_sweep(p, waveform, rest_ion_state(p)).curve;
}

}  // namespace sdm::sim
