// The junction model against closed forms (ohmic, Mott–Gurney, thermionic emission, V_TFL),
// an independent solve of the series equation, an independent RK4 integration of the ionic
// state, the slow/fast sweep limits, and the motif behaviour the paper reports.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>

#include "core/error.hpp"
#include "sim/film.hpp"
#include "sim/transport.hpp"

using namespace sdm::sim;
using sdm::core::Waveform;

namespace {

constexpr double q = 1.602176634e-19, eps0 = 8.8541878128e-12, kB = 8.617333262e-5;

/// Log–log slope d ln I / d ln V by a centred difference.
double slope(const LocalParams& p, double v) {
  const double h = 1e-3;
  return std::log(dc_current(p, v * (1 + h), 0) / dc_current(p, v * (1 - h), 0)) / std::log((1 + h) / (1 - h));
}

LocalParams bulk_only() {  // ohmic contact, no series resistance, no ions: the bulk alone
  LocalParams p;
  p.barrier_pos_ev = p.barrier_neg_ev = 0.0;
  p.series_ohm = 0;
  p.ion_gain = 0;
  p.ion_barrier_ev = 0;
  return p;
}

/// ∫|I_up − I_down| dV of a 0 → V → 0 triangle (pairs sample i with n−1−i).
double loop_area(const sdm::core::IvCurve& c) {
  const std::size_t n = c.size(), h = (n - 1) / 2;
  double a = 0;
  for (std::size_t i = 1; i <= h; ++i) {
    const double d1 = std::abs(c.current_a[i] - c.current_a[n - 1 - i]);
    const double d0 = std::abs(c.current_a[i - 1] - c.current_a[n - i]);
    a += 0.5 * (d0 + d1) * (c.bias_v[i] - c.bias_v[i - 1]);
  }
  return a;
}

double median(std::vector<double> v) {
  std::nth_element(v.begin(), v.begin() + long(v.size() / 2), v.end());
  return v[v.size() / 2];
}

}  // namespace

TEST(Transport, TrapFilledLimitVoltageMatchesTheClosedForm) {
  LocalParams p;
  p.thickness_m = 400e-9;
  p.permittivity_f_per_m = 24 * eps0;
  for (double nt_cm3 : {1e15, 1e16, 1e17}) {
    p.trap_density_m3 = nt_cm3 * 1e6;
    EXPECT_NEAR(p.tfl_voltage_v(), q * p.trap_density_m3 * 400e-9 * 400e-9 / (2 * 24 * eps0), 1e-12);
  }
  p.trap_density_m3 = 1e22;
  EXPECT_NEAR(p.tfl_voltage_v(), 0.60, 0.01);  // PHYSICS.md: ≈ 0.06, 0.6, 6 V for 1e15, 1e16, 1e17 cm⁻³
}

// Slopes: ohmic J ∝ V (slope 1) far below the ohmic/trap crossover (~0.07 V here); Mott–Gurney
// J ∝ V² above V_TFL = 0.6 V, where the ohmic term is < 1 % of the total. Tolerances 0.02 / 0.03
// cover those residual terms.
TEST(Transport, LogLogSlopeIsOneWhenOhmicAndTwoInTheMottGurneyRegime) {
  const LocalParams p = bulk_only();
  for (double v : {1e-3, 2e-3, 4e-3}) EXPECT_NEAR(slope(p, v), 1.0, 0.02) << v;
  for (double v : {1.0, 1.2, 1.5}) EXPECT_NEAR(slope(p, v), 2.0, 0.03) << v;
  // Trap-limited between: steeper than Mott–Gurney (m = 3 here).
  EXPECT_GT(slope(p, 0.35), 2.5);
  EXPECT_LE(slope(p, 0.35), 3.0 + 1e-6);
}

TEST(Transport, BulkCurrentMatchesOhmPlusMottGurneyClosedForm) {
  LocalParams p = bulk_only();
  const double a = p.area_m2, L = p.thickness_m, mu = p.mobility_m2_per_vs, e = p.permittivity_f_per_m;
  for (double v : {0.8, 1.0, 1.5}) {
    const double expected = a * (q * p.carrier_density_m3 * mu * v / L + 9.0 / 8.0 * e * mu * v * v / (L * L * L));
    // With phi_B = 0 the diode drop is ~1e−6 V: relative error ~ 2·1e−6/V.
    EXPECT_NEAR(dc_current(p, v, 0) / expected, 1.0, 1e-5) << v;
    EXPECT_NEAR(bulk_current(p, v, 0) / expected, 1.0, 1e-12) << v;
    EXPECT_NEAR(dc_current(p, -v, 0), -dc_current(p, v, 0), 1e-12 * expected);  // odd with equal barriers
  }
  // PHYSICS.md: I(1 V) ≈ 0.5 nA at mu = 1 cm²/Vs, L = 400 nm, a = 20 nm (Mott–Gurney term).
  p.mobility_m2_per_vs = 1e-4;
  EXPECT_NEAR(dc_current(p, 1.0, 0), 0.5e-9, 0.1e-9);
}

// Injection-limited case (bulk made very conductive, R_s = 0): I = I_s (exp(V/(n kT/q)) − 1),
// I_s = A A* T² exp(−phi/kT) ≈ 1e−13 A at 0.5 eV and a 20 nm contact (PHYSICS.md), falling
// ~50× per 0.1 eV.
TEST(Transport, ThermionicInjectionMatchesTheDiodeEquation) {
  LocalParams p;
  p.carrier_density_m3 = 1e27;
  p.series_ohm = 0;
  p.ion_gain = 0;
  p.ion_barrier_ev = 0;
  const double kt = kB * p.temperature_k;
  const double is = p.area_m2 * p.richardson_a_per_m2k2 * p.temperature_k * p.temperature_k * std::exp(-0.5 / kt);
  EXPECT_NEAR(is, 1e-13, 0.2e-13);
  EXPECT_NEAR(p.saturation_current_a(0, true) / is, 1.0, 1e-12);
  for (double v : {0.05, 0.2, 0.4}) {
    const double expected = is * std::expm1(v / (p.ideality * kt));
    EXPECT_NEAR(dc_current(p, v, 0) / expected, 1.0, 1e-4) << v;
  }
  LocalParams hi = p;
  hi.barrier_pos_ev = 0.6;
  EXPECT_NEAR(p.saturation_current_a(0, true) / hi.saturation_current_a(0, true), std::exp(0.1 / kt), 1e-6);
  EXPECT_GT(std::exp(0.1 / kt), 40);
}

// The series equation V = V_j(I) + V_b(I) + I R_s, checked by recomputing each drop
// independently: V_j from the diode equation, V_b by bisection on the bulk current.
TEST(Transport, SolutionSatisfiesTheSeriesEquation) {
  std::mt19937_64 rng(7);
  std::uniform_real_distribution<double> u(0, 1);
  for (int k = 0; k < 200; ++k) {
    LocalParams p;
    p.barrier_pos_ev = 0.3 + 0.5 * u(rng);
    p.barrier_neg_ev = 0.3 + 0.5 * u(rng);
    p.series_ohm = std::pow(10.0, 4 + 6 * u(rng));
    p.trap_density_m3 = std::pow(10.0, 21 + 2 * u(rng));
    p.carrier_density_m3 = std::pow(10.0, 17 + 4 * u(rng));
    p.trap_exponent = 2.5 + 3 * u(rng);
    p.conductance_factor = std::pow(10.0, -1 + 2 * u(rng));
    const double x = u(rng), v = (u(rng) - 0.3) * 3;
    const double i = dc_current(p, v, x);
    if (v == 0) continue;
    const double s = v > 0 ? 1.0 : -1.0, ai = std::abs(i);
    ASSERT_GT(s * i, 0) << k;
    const double kt = kB * p.temperature_k;
    const double vj = p.ideality * kt * std::log1p(ai / p.saturation_current_a(x, v > 0));
    double lo = 0, hi = std::abs(v);
    for (int it = 0; it < 200; ++it) {
      const double mid = 0.5 * (lo + hi);
      (bulk_current(p, mid, x) < ai ? lo : hi) = mid;
    }
    const double vb = 0.5 * (lo + hi);
    EXPECT_NEAR(vj + vb + ai * p.series_ohm, std::abs(v), 1e-7 * std::abs(v) + 1e-12) << "case " << k;
  }
}

// The sweep's warm-started solver (Newton on V_b from an extrapolated guess) against the cold
// bracketed solve of dc_current (itself checked against bisection above), at every sample of
// bipolar sweeps over random parameters: I − C·dV/dt = I_dc(V, x) to 1e−7.
TEST(Transport, SweepSolverAgreesWithTheColdSolveAtEverySample) {
  std::mt19937_64 rng(11);
  std::uniform_real_distribution<double> u(0, 1);
  for (int k = 0; k < 40; ++k) {
    LocalParams p;
    p.barrier_pos_ev = 0.3 + 0.5 * u(rng);
    p.barrier_neg_ev = 0.3 + 0.5 * u(rng);
    p.series_ohm = std::pow(10.0, 4 + 6 * u(rng));
    p.trap_density_m3 = std::pow(10.0, 21 + 2 * u(rng));
    p.trap_exponent = k % 2 ? 3.0 : 2.5 + 3 * u(rng);  // integer and non-integer exponents
    p.ion_gain = 3 * u(rng);
    p.ion_barrier_ev = 0.2 * u(rng);
    p.ion_tau_s = std::pow(10.0, -1 + 2 * u(rng));
    const Waveform w = Waveform::bipolar(0.5 + 1.5 * u(rng), 101 + 100 * (k % 3), 0.1 + 2 * u(rng));
    const SweepResult r = simulate_sweep(p, w, rest_ion_state(p));
    for (std::size_t i = 0; i < w.size(); ++i) {
      const std::size_t a = i ? i - 1 : 0, b = i ? i : 1;
      const double cap = p.capacitance_f * (w.bias_v[b] - w.bias_v[a]) / (w.time_s[b] - w.time_s[a]);
      const double cold = dc_current(p, w.bias_v[i], r.ion_state[i]);
      ASSERT_NEAR(r.curve.current_a[i] - cap, cold, 1e-7 * std::abs(cold) + 1e-22) << "case " << k << " sample " << i;
    }
  }
}

// x(t) against an independent RK4 of dx/dt = (x_inf(V(t)) − x)/tau(V(t)) with 100× finer
// steps. The exponential midpoint integrator is second order: 1e−4 absolute at 251 points.
TEST(Transport, IonicStateMatchesAnIndependentRk4Integration) {
  LocalParams p;
  p.ion_tau_s = 2.0;
  const Waveform w = Waveform::bipolar(1.5, 501, 1.0);
  const SweepResult r = simulate_sweep(p, w, rest_ion_state(p));
  auto x_inf = [&](double v) { return 1 / (1 + std::exp(-(v - p.ion_v0_v) / p.ion_vw_v)); };
  auto tau = [&](double v) { return p.ion_tau_s * std::exp(-std::abs(v) / p.ion_vtau_v); };
  double x = x_inf(0);
  double max_err = 0;
  for (std::size_t i = 1; i < w.size(); ++i) {
    const int m = 100;
    const double h = (w.time_s[i] - w.time_s[i - 1]) / m;
    auto V = [&](double t) {
      return w.bias_v[i - 1] + (w.bias_v[i] - w.bias_v[i - 1]) * (t - w.time_s[i - 1]) / (w.time_s[i] - w.time_s[i - 1]);
    };
    auto f = [&](double t, double y) { return (x_inf(V(t)) - y) / tau(V(t)); };
    double t = w.time_s[i - 1];
    for (int k = 0; k < m; ++k, t += h) {
      const double k1 = f(t, x), k2 = f(t + h / 2, x + h / 2 * k1), k3 = f(t + h / 2, x + h / 2 * k2), k4 = f(t + h, x + h * k3);
      x += h / 6 * (k1 + 2 * k2 + 2 * k3 + k4);
    }
    max_err = std::max(max_err, std::abs(r.ion_state[i] - x));
  }
  EXPECT_LT(max_err, 1e-4);
}

// Stable at any sweep rate. Slow limit: x tracks x_inf(V), the curve is the quasi-static
// I_dc(V, x_inf(V)) (C dV/dt negligible). Fast limit: x stays at rest; I = I_dc(V, x_rest) + C·rate.
TEST(Transport, SlowAndFastSweepLimitsAndStability) {
  LocalParams p;
  for (double rate : {1e-6, 1e-3, 1.0, 1e3, 1e6}) {
    const SweepResult r = simulate_sweep(p, Waveform::triangle(1.5, 251, rate), rest_ion_state(p));
    for (std::size_t i = 0; i < r.curve.size(); ++i) {
      ASSERT_TRUE(std::isfinite(r.curve.current_a[i]));
      ASSERT_GE(r.ion_state[i], 0.0);
      ASSERT_LE(r.ion_state[i], 1.0);
    }
  }
  const Waveform slow = Waveform::triangle(1.5, 251, 1e-5);
  const SweepResult s = simulate_sweep(p, slow, rest_ion_state(p));
  for (std::size_t i = 0; i < slow.size(); i += 10) {
    const double v = slow.bias_v[i];
    const double expected = dc_current(p, v, ion_equilibrium(p, v));
    EXPECT_NEAR(s.curve.current_a[i], expected, 1e-3 * std::abs(expected) + 1e-16) << v;
  }
  const double rate = 1e5;
  const Waveform fast = Waveform::triangle(1.5, 251, rate);
  const SweepResult f = simulate_sweep(p, fast, rest_ion_state(p));
  const double x0 = rest_ion_state(p);
  for (std::size_t i = 1; i < fast.size(); i += 10) {
    EXPECT_NEAR(f.ion_state[i], x0, 1e-4);
    const double dvdt = (fast.bias_v[i] - fast.bias_v[i - 1]) / (fast.time_s[i] - fast.time_s[i - 1]);
    const double expected = dc_current(p, fast.bias_v[i], f.ion_state[i]) + p.capacitance_f * dvdt;
    EXPECT_NEAR(f.curve.current_a[i], expected, 1e-9 * std::abs(expected));
  }
  EXPECT_NEAR(loop_area(s.curve), 0.0, 1e-3 * loop_area(simulate_sweep(p, Waveform::triangle(), x0).curve));
}

TEST(Transport, DisplacementCurrentIsCTimesRate) {
  LocalParams p;
  p.capacitance_f = 1e-12;
  p.carrier_density_m3 = 0;
  p.barrier_pos_ev = p.barrier_neg_ev = 1.5;  // no faradaic current to speak of
  const SweepResult r = simulate_sweep(p, Waveform::triangle(0.2, 21, 1.0), rest_ion_state(p));
  EXPECT_NEAR(r.curve.current_a[5], 1e-12, 1e-16);    // 1 pF at +1 V/s: 1 pA (PHYSICS.md)
  EXPECT_NEAR(r.curve.current_a[15], -1e-12, 1e-16);  // and −1 pA coming back
}

TEST(Transport, InvalidWaveformIsRejected) {
  LocalParams p;
  Waveform w;
  w.time_s = {0, 1, 1};
  w.bias_v = {0, 1, 0};
  EXPECT_THROW(simulate_sweep(p, w, 0), sdm::Error);
  w.time_s = {0, 1};
  EXPECT_THROW(simulate_sweep(p, w, 0), sdm::Error);
}

// The paper's motifs on the default film, 0 → 1.5 → 0 V in 251 points at 1 V/s, from rest:
// junction loops ≫ boundary > interior; asymmetric boundaries nearly blocked below threshold;
// currents in the pA–nA range.
class MotifBehaviour : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    FilmConfig c;
    c.size_px = 256;
    c.scan_size_m = 2e-6;
    c.asymmetric_fraction = 0.2;
    film_ = new Film(generate_film(c, 21));
    const Waveform w = Waveform::triangle(1.5, 251, 1.0);
    std::mt19937_64 rng(1);
    std::vector<std::vector<std::size_t>> pix(kMotifCount);
    for (std::size_t i = 0; i < film_->pixel_count(); ++i) pix[std::size_t(film_->motif[i])].push_back(i);
    for (int m = 0; m < kMotifCount; ++m) {
      std::shuffle(pix[m].begin(), pix[m].end(), rng);
      pix[m].resize(std::min<std::size_t>(pix[m].size(), 150));
      for (std::size_t i : pix[m]) {
        const auto c = ground_truth_iv(*film_, int(i % film_->size_px), int(i / film_->size_px), w);
        loop_[m].push_back(loop_area(c));
        low_[m].push_back(c.current_a[42]);   // up branch at 0.504 V
        high_[m].push_back(c.current_a[125]);  // apex, 1.5 V
        double onset = 1.5;
        for (std::size_t k = 0; k <= 125; ++k)
          if (c.current_a[k] >= 10e-12) {
            onset = c.bias_v[k];
            break;
          }
        onset_[m].push_back(onset);
      }
    }
  }
  static void TearDownTestSuite() { delete film_; }
  static Film* film_;
  static std::vector<double> loop_[kMotifCount], low_[kMotifCount], high_[kMotifCount], onset_[kMotifCount];
};
Film* MotifBehaviour::film_ = nullptr;
std::vector<double> MotifBehaviour::loop_[kMotifCount], MotifBehaviour::low_[kMotifCount], MotifBehaviour::high_[kMotifCount],
    MotifBehaviour::onset_[kMotifCount];

TEST_F(MotifBehaviour, HysteresisIsStrongAtJunctionsAndWeakInInteriors) {
  const double interior = median(loop_[0]), boundary = median(loop_[1]), junction = median(loop_[2]);
  EXPECT_GT(junction, 3 * interior);  // PHYSICS.md: junction loop area ×2–5 and more
  EXPECT_GT(junction, boundary);
  EXPECT_GT(boundary, interior);
  // Relative to the current it carries, an interior loop is small (< 5 % of I_max·V_max).
  EXPECT_LT(interior / (median(high_[0]) * 1.5), 0.05);
}

TEST_F(MotifBehaviour, AsymmetricBoundariesCarryAlmostNoCurrentBelowThreshold) {
  EXPECT_LT(median(low_[3]), 0.05 * median(low_[0]));
  EXPECT_GT(median(onset_[3]), median(onset_[0]) + 0.4);  // onset = first bias with I ≥ 10 pA
  EXPECT_GT(median(onset_[3]), 0.8);
}

TEST_F(MotifBehaviour, CurrentsAreInThePicoToNanoampereRange) {
  for (int m = 0; m < kMotifCount; ++m) {
    EXPECT_GT(median(high_[m]), 10e-12) << motif_name(Motif(m));
    EXPECT_LT(*std::max_element(high_[m].begin(), high_[m].end()), 10e-9) << motif_name(Motif(m));
  }
  EXPECT_GT(median(high_[0]), 0.1e-9);
  EXPECT_LT(median(high_[0]), 2e-9);
}

// The asymmetric barrier is one-sided: it blocks injection at positive tip bias only, so an
// asymmetric boundary rectifies (|I(−V)| ≫ I(+V)), while an interior pixel, with equal
// barriers for both polarities, is antisymmetric at rest (up to the barrier's weight tail,
// exp(−ln 2·(d/h_b)²), near an asymmetric segment).
TEST_F(MotifBehaviour, AsymmetricBarrierIsOneSidedAndInteriorsAreSymmetric) {
  std::vector<double> ratio_asym;
  int interior_checked = 0;
  for (std::size_t i = 0; i < film_->pixel_count(); i += 37) {
    const LocalParams p = film_->params(i);
    const double x = rest_ion_state(p);
    const double fwd = dc_current(p, 0.8, x), rev = dc_current(p, -0.8, x);
    if (film_->motif[i] == Motif::asymmetric_boundary) ratio_asym.push_back(-rev / fwd);
    if (film_->motif[i] == Motif::grain_interior && film_->asymmetric_weight[i] < 1e-9) {  // away from asymmetric segments
      EXPECT_NEAR(rev, -fwd, 1e-6 * std::abs(fwd));
      ++interior_checked;
    }
  }
  ASSERT_GT(ratio_asym.size(), 10u);
  EXPECT_GT(median(ratio_asym), 10.0);
  EXPECT_GT(interior_checked, 100);
}

TEST_F(MotifBehaviour, BipolarSweepsGiveNegativeCurrentAtNegativeBias) {
  const Waveform w = Waveform::bipolar(1.5, 501, 1.0);
  const auto c = ground_truth_iv(*film_, 40, 40, w);
  for (std::size_t i = 0; i < w.size(); ++i) {
    // Above 0.3 V the faradaic current (≥ pA) exceeds the 0.3 pA displacement current C·dV/dt,
    // which has the sign of dV/dt (so near 0 V on a falling branch the total can be negative).
    if (w.bias_v[i] < -0.3) {
      EXPECT_LT(c.current_a[i], 0.0) << i;
    }
    if (w.bias_v[i] > 0.3) {
      EXPECT_GT(c.current_a[i], 0.0) << i;
    }
  }
}
