// The simulated instrument: amplifier noise / saturation / quantisation / low-pass against
// their definitions, drift against the configured velocity and random-walk strength, tip
// wear and sample perturbation against the charge passed, the instrument clock against the
// configured time costs, and bit-identical replays.
#include <gtest/gtest.h>

#include <cmath>

#include "core/error.hpp"
#include "sim/amplifier.hpp"
#include "sim/drift.hpp"
#include "sim/twin.hpp"

using namespace sdm::sim;
using sdm::core::Waveform;

namespace {

FilmConfig small_film() {
  FilmConfig c;
  c.size_px = 96;
  c.scan_size_m = 1.5e-6;
  return c;
}

InstrumentConfig quiet() {  // every non-ideality off
  InstrumentConfig i;
  i.noise_rms_a = 0;
  i.flicker_rms_a = 0;
  i.bandwidth_hz = 1e7;
  i.adc_bits = 32;
  i.drift_speed_m_per_s = 0;
  i.drift_walk_m_per_sqrt_s = 0;
  return i;
}

double trapezoid_abs(const sdm::core::IvCurve& c, double cap_f) {  // ∫|I_dc| dt, I_dc = I − C dV/dt
  double q = 0, prev = 0;
  for (std::size_t i = 0; i < c.size(); ++i) {
    const std::size_t a = i ? i - 1 : 0, b = i ? i : 1;
    const double dc = c.current_a[i] - cap_f * (c.bias_v[b] - c.bias_v[a]) / (c.time_s[b] - c.time_s[a]);
    if (i) q += 0.5 * (std::abs(dc) + std::abs(prev)) * (c.time_s[i] - c.time_s[i - 1]);
    prev = dc;
  }
  return q;
}

}  // namespace

// Residual of measured − noiseless over 10 sweeps (2510 samples): the sample RMS has a
// standard error of 1/√(2·2510) = 1.4 %; tolerance 6 %. Quantisation adds LSB²/12 ≈ 0.4 % of
// the variance at 16 bits over ±10 nA.
TEST(Twin, WhiteNoiseRmsIsAsConfigured) {
  InstrumentConfig inst = quiet();
  inst.noise_rms_a = 2e-12;
  inst.adc_bits = 16;
  Twin twin(small_film(), inst, 3);
  const Waveform w = Waveform::triangle();
  double s = 0, s2 = 0;
  int n = 0;
  for (int k = 0; k < 10; ++k) {
    const Landing l = twin.move_to((0.05 + 0.09 * k) * 1.5e-6, (0.1 + 0.08 * k) * 1.5e-6);
    const auto meas = twin.iv_sweep(w);
    const auto truth = ground_truth_iv(twin.film(), l.ix, l.iy, w);
    for (std::size_t i = 0; i < w.size(); ++i) {
      const double d = meas.current_a[i] - truth.current_a[i];
      s += d, s2 += d * d, ++n;
    }
  }
  const double mean = s / n, rms = std::sqrt(s2 / n - mean * mean);
  EXPECT_NEAR(rms, 2e-12, 0.06 * 2e-12);
  EXPECT_LT(std::abs(mean), 4 * 2e-12 / std::sqrt(double(n)));
}

// 1/f noise: readings 10⁴ s apart are independent (longest correlation time 1000 s), so their
// RMS estimates flicker_rms (2000 readings: standard error 1.6 %, tolerance 6 %).
TEST(Twin, FlickerNoiseRmsIsAsConfigured) {
  InstrumentConfig inst = quiet();
  inst.flicker_rms_a = 1e-12;
  Amplifier amp(inst, 5);
  double s2 = 0;
  const int n = 2000;
  for (int k = 0; k < n; ++k) {
    const double v = amp.measure_dc(1e4 * k, 0.0);
    s2 += v * v;
  }
  EXPECT_NEAR(std::sqrt(s2 / n), 1e-12, 0.06e-12);
  // Readings 1 µs apart are almost fully correlated (all 7 terms have tau ≥ 1 ms).
  const double a = amp.measure_dc(1e8, 0.0), b = amp.measure_dc(1e8 + 1e-6, 0.0);
  EXPECT_NEAR(a, b, 0.1e-12);
}

TEST(Twin, SaturationAndQuantisationAreAsConfigured) {
  InstrumentConfig inst = quiet();
  inst.saturation_a = 1e-9;
  inst.adc_bits = 8;
  Amplifier amp(inst, 1);
  const double lsb = 2e-9 / 256;
  EXPECT_DOUBLE_EQ(amp.lsb_a(), lsb);
  std::vector<double> t, in;
  for (int i = 0; i <= 100; ++i) t.push_back(i * 1e-3), in.push_back(-5e-9 + 1e-10 * i);
  const auto out = amp.measure(t, in);
  for (std::size_t i = 0; i < out.size(); ++i) {
    EXPECT_LE(std::abs(out[i]), 1e-9);
    EXPECT_NEAR(out[i] / lsb, std::round(out[i] / lsb), 1e-9);  // a whole number of LSBs
    if (std::abs(in[i]) > 1.01e-9) {
      EXPECT_EQ(std::abs(out[i]), 1e-9);
    } else {
      EXPECT_NEAR(out[i], in[i], 0.5 * lsb + 1e-15);
    }
  }
}

// First-order low-pass driven by a ramp of slope s from rest: y(t) = s·(t − tau·(1 − e^(−t/tau))).
TEST(Twin, LowPassFollowsTheFirstOrderResponseToARamp) {
  InstrumentConfig inst = quiet();
  inst.bandwidth_hz = 10.0;
  Amplifier amp(inst, 1);
  const double tau = 1 / (2 * M_PI * 10.0), s = 1e-9;
  std::vector<double> t, in;
  for (int i = 0; i <= 200; ++i) t.push_back(i * 1e-3), in.push_back(s * i * 1e-3);
  const auto out = amp.measure(t, in);
  for (int i : {10, 50, 200}) {
    const double ti = t[std::size_t(i)];
    EXPECT_NEAR(out[std::size_t(i)], s * (ti - tau * (1 - std::exp(-ti / tau))), 3e-18) << ti;  // LSB/2 = 2.3e−18 A
  }
}

TEST(Twin, ConstantDriftMovesTheLandingPointAtTheConfiguredSpeed) {
  InstrumentConfig inst = quiet();
  inst.drift_speed_m_per_s = 5e-9 / 60;  // 5 nm/min
  Twin twin(small_film(), inst, 4);
  twin.wait(600);
  const Landing l = twin.move_to(0.5e-6, 0.7e-6);
  const double moved = std::hypot(l.actual_m.x - l.commanded_m.x, l.actual_m.y - l.commanded_m.y);
  EXPECT_NEAR(moved, 5e-9 / 60 * l.time_s, 1e-20);
  EXPECT_GT(l.time_s, 600);
  EXPECT_NEAR(moved, 50e-9, 1e-9);  // 10 min at 5 nm/min
  EXPECT_DOUBLE_EQ(l.commanded_m.x, 0.5e-6);
}

// Random walk: per-axis increments over dt are N(0, walk²·dt). 4000 steps of 2 s: the sample
// standard deviation has a 1.1 % standard error; tolerance 5 %.
TEST(Twin, DriftRandomWalkHasTheConfiguredStrength) {
  const double walk = 0.3e-9;
  Drift d(0.0, walk, 9);
  double s2x = 0, s2y = 0;
  const int n = 4000;
  Vec2 prev = d.offset_m();
  for (int k = 1; k <= n; ++k) {
    d.advance_to(2.0 * k);
    const Vec2 o = d.offset_m();
    s2x += (o.x - prev.x) * (o.x - prev.x);
    s2y += (o.y - prev.y) * (o.y - prev.y);
    prev = o;
  }
  EXPECT_NEAR(std::sqrt(s2x / n), walk * std::sqrt(2.0), 0.05 * walk * std::sqrt(2.0));
  EXPECT_NEAR(std::sqrt(s2y / n), walk * std::sqrt(2.0), 0.05 * walk * std::sqrt(2.0));
}

TEST(Twin, InstrumentClockChargesEveryMoveSweepAndSurvey) {
  InstrumentConfig inst = quiet();
  inst.move_speed_m_per_s = 1e-6;
  inst.settle_time_s = 0.25;
  inst.survey_line_time_s = 0.5;
  Twin twin(small_film(), inst, 1);
  EXPECT_EQ(twin.clock_s(), 0.0);
  const Vec2 start = twin.position_m();  // field centre
  twin.move_to(start.x + 0.3e-6, start.y + 0.4e-6);  // 0.5 µm away
  EXPECT_NEAR(twin.clock_s(), 0.5 + 0.25, 1e-12);
  const Waveform w = Waveform::triangle(1.5, 251, 1.0);
  twin.iv_sweep(w);
  EXPECT_NEAR(twin.clock_s(), 0.75 + w.duration_s(), 1e-12);
  EXPECT_NEAR(w.duration_s(), 3.0, 1e-9);
  const double before = twin.clock_s();
  const SurveyData s = twin.survey(0, 0);
  EXPECT_NEAR(twin.clock_s() - before, 96 * 0.5, 1e-9);
  EXPECT_NEAR(s.duration_s, 48, 1e-9);
  // Clamping: a move beyond the field stops at its edge.
  const Landing l = twin.move_to(5e-6, -1e-6);
  EXPECT_EQ(l.commanded_m.x, 1.5e-6);
  EXPECT_EQ(l.commanded_m.y, 0.0);
}

// Tip wear: R_s grows by tip_wear_ohm_per_c × the charge passed, measured here independently
// from the noiseless curve as ∫|I − C dV/dt| dt.
TEST(Twin, TipWearRaisesSeriesResistanceByTheChargePassed) {
  InstrumentConfig inst = quiet();
  inst.tip_wear_ohm_per_c = 1e18;
  Twin twin(small_film(), inst, 2);
  const double r0 = twin.series_resistance_ohm();
  EXPECT_EQ(r0, small_film().series_resistance_ohm);
  twin.move_to(0.3e-6, 0.3e-6);
  twin.iv_sweep(Waveform::triangle());
  const double q = trapezoid_abs(twin.last_true_sweep().curve, twin.film().config.capacitance_f);
  EXPECT_GT(q, 1e-11);
  EXPECT_NEAR(twin.series_resistance_ohm() - r0, 1e18 * q, 1e-9 * 1e18 * q);
  EXPECT_NEAR(twin.tip_charge_c(), q, 1e-9 * q);
  // A worn tip passes less current at a fresh spot than the ground truth (unworn) predicts.
  const Landing l = twin.move_to(1.0e-6, 1.1e-6);
  const auto worn = twin.iv_sweep(Waveform::triangle());
  const auto fresh = ground_truth_iv(twin.film(), l.ix, l.iy, Waveform::triangle());
  EXPECT_LT(worn.current_a[125], fresh.current_a[125]);
}

// Sample perturbation: a sweep leaves x at the spot; measuring again at once differs, after
// ≫ tau0 at 0 V the spot is back at rest (same curve); a dose with perturbation_per_c > 0
// scales the spot's conductance by 1 + k·dose.
TEST(Twin, SweepsPerturbTheSpotAndTheSpotRelaxes) {
  InstrumentConfig inst = quiet();
  Twin twin(small_film(), inst, 6);
  const Landing l = twin.move_to(0.62e-6, 0.41e-6);
  const Waveform w = Waveform::triangle();
  const auto first = twin.iv_sweep(w);
  const double x_left = twin.last_true_sweep().final_ion_state;
  const auto second = twin.iv_sweep(w);
  double max_diff = 0;
  for (std::size_t i = 0; i < w.size(); ++i) max_diff = std::max(max_diff, std::abs(second.current_a[i] - first.current_a[i]));
  EXPECT_GT(max_diff, 1e-12);  // ≫ nothing: the instrument here is noiseless
  EXPECT_NEAR(twin.last_true_sweep().ion_state[0], x_left, 1e-12);  // started where the first left off
  const LocalParams p = twin.film().params(l.ix, l.iy);
  twin.wait(30 * p.ion_tau_s);
  const auto third = twin.iv_sweep(w);
  for (std::size_t i = 0; i < w.size(); ++i) EXPECT_NEAR(third.current_a[i], first.current_a[i], 1e-9 * std::abs(first.current_a[i]) + 1e-17);

  InstrumentConfig pert = quiet();
  pert.perturbation_per_c = 1e9;
  Twin t2(small_film(), pert, 6);
  const Landing l2 = t2.move_to(0.62e-6, 0.41e-6);
  t2.iv_sweep(w);
  const double dose = t2.last_true_sweep().charge_c;
  EXPECT_NEAR(t2.dose_at(l2.ix, l2.iy), dose, 1e-12 * dose);
  EXPECT_NEAR(t2.effective_params(l2.ix, l2.iy).conductance_factor / t2.film().params(l2.ix, l2.iy).conductance_factor,
              1 + 1e9 * dose, 1e-9);
  // Pixels under the 20 nm contact share the dose; one 100 nm away does not.
  EXPECT_GT(t2.dose_at(l2.ix + 1, l2.iy), 0.0);
  EXPECT_EQ(t2.dose_at(l2.ix + 7, l2.iy), 0.0);
}

TEST(Twin, SameSeedsAndCallsGiveBitIdenticalMeasurements) {
  InstrumentConfig inst;  // every default non-ideality on
  inst.tip_wear_ohm_per_c = 1e17;
  inst.perturbation_per_c = 1e8;
  auto run = [&](std::uint64_t seed) {
    Twin t(small_film(), inst, seed);
    std::vector<double> all = t.survey(0, 0).topography_m;
    const auto cur = t.survey(48, 48).current_a;
    all.insert(all.end(), cur.begin(), cur.end());
    for (int k = 0; k < 3; ++k) {
      const Landing l = t.move_to(0.2e-6 * (k + 1), 0.3e-6);
      all.push_back(l.actual_m.x);
      const auto c = t.iv_sweep(Waveform::bipolar(1.0, 101, 1.0));
      all.insert(all.end(), c.current_a.begin(), c.current_a.end());
    }
    all.push_back(t.clock_s());
    return all;
  };
  EXPECT_EQ(run(12), run(12));
  EXPECT_NE(run(12), run(13));
}

TEST(Twin, SurveyAtNativeResolutionWithoutDriftIsTheFilmsMeasuredMap) {
  Twin twin(small_film(), quiet(), 5);
  const SurveyData s = twin.survey(0, 0, true, true);
  EXPECT_EQ(s.nx, 96);
  EXPECT_EQ(s.topography_m, twin.film().measured_height_m);
  const auto truth = ground_truth_current_map(twin.film(), twin.instrument().survey_bias_v);
  for (std::size_t i = 0; i < truth.size(); ++i) ASSERT_NEAR(s.current_a[i], truth[i], 1e-6 * std::abs(truth[i]) + 3e-18);  // LSB/2 at 32 bits
  // A second survey draws fresh height noise.
  const SurveyData s2 = twin.survey(0, 0, true, false);
  EXPECT_NE(s2.topography_m, s.topography_m);
  EXPECT_TRUE(s2.current_a.empty());
  // Resampling: 48×48 samples at ((i + ½)·2p) fall between native pixels 2i and 2i+1.
  const SurveyData h = twin.survey(48, 48, false, true);
  EXPECT_NEAR(h.current_a[5 * 48 + 7], 0.25 * (truth[10 * 96 + 14] + truth[10 * 96 + 15] + truth[11 * 96 + 14] + truth[11 * 96 + 15]),
              1e-6 * std::abs(truth[10 * 96 + 14]) + 3e-18);
}

TEST(Twin, DriftShiftsTheSurveyImage) {
  InstrumentConfig inst = quiet();
  inst.drift_speed_m_per_s = 1e-9;  // 1 nm/s, fast, to shift by several pixels
  Twin twin(small_film(), inst, 8);
  twin.wait(100);  // 100 nm ≈ 6 pixels
  const SurveyData s = twin.survey(0, 0, true, false);
  EXPECT_NE(s.topography_m, twin.film().measured_height_m);
}

TEST(Twin, BadRequestsAreRejectedWithAClearMessage) {
  Twin twin(small_film(), quiet(), 1);
  try {
    twin.iv_sweep(Waveform::triangle(12.0, 11, 1.0));
    FAIL() << "12 V accepted";
  } catch (const sdm::Error& e) {
    EXPECT_NE(std::string(e.what()).find("max_bias_v"), std::string::npos) << e.what();
  }
  try {
    twin.iv_sweep(Waveform::triangle(1.0, 11, 100.0));
    FAIL() << "100 V/s accepted";
  } catch (const sdm::Error& e) {
    EXPECT_NE(std::string(e.what()).find("max_sweep_rate_v_per_s"), std::string::npos) << e.what();
  }
  EXPECT_THROW(twin.survey(0, 64), sdm::Error);
  EXPECT_THROW(twin.survey(1, 1), sdm::Error);
  EXPECT_THROW(twin.move_to(std::nan(""), 0), sdm::Error);
  EXPECT_THROW(twin.wait(-1), sdm::Error);
}
