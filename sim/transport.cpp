#include "sim/transport.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/error.hpp"

namespace sdm::sim {
namespace {

double log_saturation(const LocalParams& p, bool positive) {
  const double kt = kBoltzmann_ev_per_k * p.temperature_k;
  return std::log(p.area_m2 * p.richardson_a_per_m2k2 * p.temperature_k * p.temperature_k) -
         (positive ? p.barrier_pos_ev : p.barrier_neg_ev) / kt;
}

/// Constants of the series equation for one spot, precomputed once per sweep.
class Junction {
 public:
  explicit Junction(const LocalParams& p)
      : g_ohm_(p.area_m2 * kElementaryCharge_c * p.carrier_density_m3 * p.mobility_m2_per_vs / p.thickness_m),
        k_mg_(p.area_m2 * 9.0 / 8.0 * p.permittivity_f_per_m * p.mobility_m2_per_vs /
              (p.thickness_m * p.thickness_m * p.thickness_m)),
        v_tfl_(p.tfl_voltage_v()),
        log_v_tfl_(std::log(p.tfl_voltage_v())),
        m_(p.trap_exponent),
        m_int_(p.trap_exponent == std::floor(p.trap_exponent) && p.trap_exponent <= 8 ? int(p.trap_exponent) : 0),
        g0_(p.conductance_factor),
        gain_(p.ion_gain),
        nvt_(p.ideality * kBoltzmann_ev_per_k * p.temperature_k),
        log_is_pos_(log_saturation(p, true)),
        log_is_neg_(log_saturation(p, false)),
        dphi_over_kt_(p.ion_barrier_ev / (kBoltzmann_ev_per_k * p.temperature_k)),
        r_s_(p.series_ohm) {}

  /// Space-charge term sc(u) (V²) and its log-derivative d ln sc / d ln u, for u = exp(w) > 0.
  void space_charge(double u, double w, double& sc, double& dlog) const {
    if (u >= v_tfl_) {
      sc = u * u;
      dlog = 2.0;
      return;
    }
    dlog = m_;
    if (m_int_ > 0) {  // integer exponent: (u/V_TFL)^m by multiplication
      const double r = u / v_tfl_;
      double pw = r;
      for (int k = 1; k < m_int_; ++k) pw *= r;
      sc = v_tfl_ * v_tfl_ * pw;
    } else {
      sc = v_tfl_ * v_tfl_ * std::exp(m_ * (w - log_v_tfl_));
    }
  }

  /// Bulk current at bulk voltage u ≥ 0 (A) for conductance multiplier gx.
  double bulk(double u, double gx) const {
    if (u <= 0) return 0.0;
    double sc, dl;
    space_charge(u, std::log(u), sc, dl);
    return gx * (g_ohm_ * u + k_mg_ * sc);
  }

  /// Solves V = V_j(I) + V_b + I·R_s for V > 0; `w` is ln V_b (in: a guess, or NaN; out: the solution).
  /// V_j = n·kT/q·ln(1 + I/I_s) is evaluated as n·kT/q·(ln(I_s + I) − ln I_s).
  double solve(double v, double x, bool positive, double& w) const {
    const double log_is = (positive ? log_is_pos_ : log_is_neg_) + dphi_over_kt_ * x;
    return solve(v, x, log_is, std::exp(log_is), w);
  }

  /// Same with ln I_s(x) and I_s(x) precomputed.
  double solve(double v, double x, double log_is, double i_s, double& w) const {
    const double gx = g0_ * (1.0 + gain_ * x);
    double w_hi = std::log(v), w_lo = w_hi - 90.0;
    if (!(w < w_hi && w > w_lo)) w = w_hi - 0.7;
    double current = 0;
    for (int it = 0; it < 200; ++it) {
      const double u = std::exp(w);
      double sc, dl;
      space_charge(u, w, sc, dl);
      const double ohm = g_ohm_ * u, scl = k_mg_ * sc;
      current = gx * (ohm + scl);
      const double di_dw = gx * (ohm + dl * scl);  // dI_b/d ln u
      const double f = u + nvt_ * (std::log(i_s + current) - log_is) + r_s_ * current - v;
      const double df = u + (nvt_ / (i_s + current) + r_s_) * di_dw;
      w_hi = f > 0 ? w : w_hi;
      w_lo = f > 0 ? w_lo : w;
      double w_new = w - f / df;
      if (!(w_new > w_lo && w_new < w_hi)) w_new = 0.5 * (w_lo + w_hi);  // Newton left the bracket: bisect
      const double step = w_new - w;
      w = w_new;
      // Quadratic convergence: after a Newton step of size |step| < 1e-5 the error in ln V_b is
      // ~step² < 1e-10; the current is carried along the same step to first order.
      if (std::abs(step) < 1e-5 || f == 0) {
        current += di_dw * step;
        break;
      }
    }
    return current;
  }

  /// Same, from a close guess `u` of V_b (in/out, V): Newton directly on V_b needs no
  /// exponential per iteration; it falls back to the bracketed solve in ln V_b whenever a
  /// step leaves (0, V), after 4 iterations, or for a non-integer trap exponent.
  double solve_near(double v, double x, double log_is, double i_s, double& u) const {
    if (m_int_ > 0 && u > 0 && u < v) {
      const double gx = g0_ * (1.0 + gain_ * x);
      double uu = u;
      for (int it = 0; it < 4; ++it) {
        double sc, dl;
        space_charge(uu, 0.0, sc, dl);
        const double ohm = g_ohm_ * uu, scl = k_mg_ * sc;
        double current = gx * (ohm + scl);
        const double di_du = gx * (g_ohm_ + dl * scl / uu);
        const double f = uu + nvt_ * (std::log(i_s + current) - log_is) + r_s_ * current - v;
        const double df = 1.0 + (nvt_ / (i_s + current) + r_s_) * di_du;
        const double step = -f / df;
        const double u_new = uu + step;
        if (!(u_new > 0 && u_new < v)) break;
        if (std::abs(step) < 1e-5 * uu || f == 0) {  // as in solve(): relative step 1e-5, first-order carry
          current += di_du * step;
          u = u_new;
          return current;
        }
        uu = u_new;
      }
    }
    double w = (u > 0 && u < v) ? std::log(u) : std::numeric_limits<double>::quiet_NaN();
    const double current = solve(v, x, log_is, i_s, w);
    u = std::exp(w);
    return current;
  }

  double log_saturation_at(double x, bool positive) const {
    return (positive ? log_is_pos_ : log_is_neg_) + dphi_over_kt_ * x;
  }

  double current(double v, double x, double& w_pos, double& w_neg) const {
    if (v > 0) return solve(v, x, true, w_pos);
    if (v < 0) return -solve(-v, x, false, w_neg);
    return 0.0;
  }

 private:
  double g_ohm_, k_mg_, v_tfl_, log_v_tfl_, m_;
  int m_int_;
  double g0_, gain_, nvt_, log_is_pos_, log_is_neg_, dphi_over_kt_, r_s_;
};

}  // namespace

double LocalParams::tfl_voltage_v() const {
  return kElementaryCharge_c * trap_density_m3 * thickness_m * thickness_m / (2.0 * permittivity_f_per_m);
}

double LocalParams::saturation_current_a(double ion_state, bool positive_bias) const {
  const double kt = kBoltzmann_ev_per_k * temperature_k;
  const double phi = (positive_bias ? barrier_pos_ev : barrier_neg_ev) - ion_barrier_ev * ion_state;
  return area_m2 * richardson_a_per_m2k2 * temperature_k * temperature_k * std::exp(-phi / kt);
}

double ion_equilibrium(const LocalParams& p, double v) { return 1.0 / (1.0 + std::exp(-(v - p.ion_v0_v) / p.ion_vw_v)); }

double ion_time_constant(const LocalParams& p, double v) { return p.ion_tau_s * std::exp(-std::abs(v) / p.ion_vtau_v); }

double bulk_current(const LocalParams& p, double v, double x) {
  const Junction j(p);
  const double gx = p.conductance_factor * (1.0 + p.ion_gain * x);
  return v >= 0 ? j.bulk(v, gx) : -j.bulk(-v, gx);
}

double dc_current(const LocalParams& p, double v, double x) {
  const Junction j(p);
  double wp = std::numeric_limits<double>::quiet_NaN(), wn = wp;
  return j.current(v, x, wp, wn);
}

SweepResult simulate_sweep(const LocalParams& p, const core::Waveform& w, double x0) {
  // Cheap checks here; Waveform::validate() builds the message only when one fails.
  bool ok = w.size() >= 2 && w.time_s.size() == w.bias_v.size();
  for (std::size_t i = 0; ok && i < w.size(); ++i)
    ok = std::isfinite(w.bias_v[i]) && std::isfinite(w.time_s[i]) && (i == 0 || w.time_s[i] > w.time_s[i - 1]);
  if (!ok) {
    w.validate();
    throw Error("simulate_sweep: invalid waveform");
  }
  const std::size_t n = w.size();
  SweepResult r;
  r.curve.time_s = w.time_s;
  r.curve.bias_v = w.bias_v;
  r.curve.current_a.resize(n);
  r.ion_state.resize(n);
  const Junction j(p);
  double x = std::clamp(std::isfinite(x0) ? x0 : 0.0, 0.0, 1.0);
  const double max_dv = 0.25 * p.ion_vw_v;
  const double inv_vw = 1.0 / p.ion_vw_v, inv_vtau = 1.0 / p.ion_vtau_v;
  // Warm start per polarity: quadratic (Lagrange) extrapolation in time of the last three
  // solutions V_b (the bias and the ionic state both move smoothly in time).
  struct History {
    double t[3] = {0, 0, 0}, u[3] = {0, 0, 0};  // [0] most recent
    double v1 = 0;
    int count = 0;
    double guess(double tn, double v) const {
      if (count == 0) return std::numeric_limits<double>::quiet_NaN();
      if (count == 1) return u[0] * (v / v1);
      if (count == 2) return u[0] + (u[0] - u[1]) * (tn - t[0]) / (t[0] - t[1]);
      const double l0 = (tn - t[1]) * (tn - t[2]) / ((t[0] - t[1]) * (t[0] - t[2]));
      const double l1 = (tn - t[0]) * (tn - t[2]) / ((t[1] - t[0]) * (t[1] - t[2]));
      const double l2 = (tn - t[0]) * (tn - t[1]) / ((t[2] - t[0]) * (t[2] - t[1]));
      return l0 * u[0] + l1 * u[1] + l2 * u[2];
    }
    void push(double tn, double v, double un) {
      t[2] = t[1], u[2] = u[1], t[1] = t[0], u[1] = u[0], t[0] = tn, u[0] = un, v1 = v;
      count = std::min(count + 1, 3);
    }
  } hist_pos, hist_neg;
  // Within a sub-step tau is frozen at the mid-point bias and x_inf varies linearly in time
  // between its end values; the exact solution of that linear ODE is
  //   x(h) = x_inf(h) − b·tau + (x(0) − x_inf(0) + b·tau)·exp(−h/tau),  b = dx_inf/dt,
  // second-order accurate, unconditionally stable, and in the stiff limit (h ≫ tau) it gives
  // the quasi-static lag x_inf − b·tau rather than a half-step delay.
  r.ion_state[0] = x;
  double xs = 1.0 / (1.0 + std::exp(-(w.bias_v[0] - p.ion_v0_v) * inv_vw));
  for (std::size_t i = 1; i < n; ++i) {
    const double h = w.time_s[i] - w.time_s[i - 1];
    const double dv = w.bias_v[i] - w.bias_v[i - 1];
    const int sub = std::max(1, int(std::ceil(std::abs(dv) / max_dv)));
    const double dt = h / sub;
    for (int s = 0; s < sub; ++s) {
      const double ve = w.bias_v[i - 1] + dv * (s + 1.0) / sub;
      const double vm = w.bias_v[i - 1] + dv * (s + 0.5) / sub;
      const double xe = 1.0 / (1.0 + std::exp(-(ve - p.ion_v0_v) * inv_vw));
      const double tau = p.ion_tau_s * std::exp(-std::abs(vm) * inv_vtau);
      // Same formula, rearranged to stay well conditioned when dt ≪ tau:
      // x·E + x_inf(t+dt)·(1 − E) + (x_inf(t+dt) − x_inf(t))·(E − (1 − E)/z), z = dt/tau, E = e^−z.
      const double z = dt / tau;
      const double om = -std::expm1(-z);
      x = x * (1 - om) + xe * om + (xe - xs) * ((1 - om) - om / z);
      xs = xe;
    }
    r.ion_state[i] = std::clamp(x, 0.0, 1.0);
    x = r.ion_state[i];
  }
  // Pass 2: the series equation at every sample, warm-started along the sweep.
  std::vector<double>& cur = r.curve.current_a;
  // I_s(x) of every sample first: independent exponentials that pipeline (cur is scratch here).
  for (std::size_t i = 0; i < n; ++i) cur[i] = std::exp(j.log_saturation_at(r.ion_state[i], w.bias_v[i] > 0));
  for (std::size_t i = 0; i < n; ++i) {
    const double v = w.bias_v[i];
    const double xi = r.ion_state[i];
    double dc = 0;
    if (v != 0) {
      History& hs = v > 0 ? hist_pos : hist_neg;
      const double av = std::abs(v);
      double ub = hs.guess(w.time_s[i], av);
      const double log_is = j.log_saturation_at(xi, v > 0);
      dc = j.solve_near(av, xi, log_is, cur[i], ub);
      hs.push(w.time_s[i], av, ub);
      if (v < 0) dc = -dc;
    }
    cur[i] = dc;
  }
  // Displacement current and charge.
  for (std::size_t i = 1; i < n; ++i) r.charge_c += 0.5 * (std::abs(cur[i]) + std::abs(cur[i - 1])) * (w.time_s[i] - w.time_s[i - 1]);
  for (std::size_t i = 0; i < n; ++i) {
    const std::size_t a = i == 0 ? 0 : i - 1, b = i == 0 ? 1 : i;
    cur[i] += p.capacitance_f * (w.bias_v[b] - w.bias_v[a]) / (w.time_s[b] - w.time_s[a]);
  }
  r.final_ion_state = x;
  return r;
}

}  // namespace sdm::sim
