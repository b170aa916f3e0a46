// Scalarizers against closed forms on curves whose branches are known analytically.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>

#include "core/error.hpp"
#include "core/waveform.hpp"
#include "engine/acquisition/scalarizer.hpp"

using sdm::core::IvCurve;
using sdm::core::Waveform;
using sdm::engine::acquisition::scalarize;
using sdm::engine::acquisition::ScalarizerSpec;

namespace {
// Samples a waveform with I = up(V) while the bias rises and down(V) while it falls.
IvCurve two_branch_curve(const Waveform& w, const std::function<double(double)>& up, const std::function<double(double)>& down) {
  IvCurve c;
  c.time_s = w.time_s;
  c.bias_v = w.bias_v;
  for (std::size_t i = 0; i < w.size(); ++i) {
    // A turning point belongs to the leg that reaches it.
    const bool rising = i == 0 ? w.bias_v[1] > w.bias_v[0] : w.bias_v[i] > w.bias_v[i - 1];
    c.current_a.push_back(rising ? up(w.bias_v[i]) : down(w.bias_v[i]));
  }
  return c;
}
}  // namespace

TEST(Scalarizer, LoopAreaOfBranchesMeetingAtTheEndsMatchesTheIntegral) {
  // I_up = V², I_down = V on 0 → 1 V → 0 (both meet at 0 and 1): ∫0^1 (V − V²) dV = 1/6.
  // Piecewise-linear integration on a 0.01 V grid errs by at most (b − a)·h²/12·max|ΔI''| = 1.7e-5.
  const Waveform w = Waveform::triangle(1.0, 201, 1.0);
  const IvCurve c = two_branch_curve(w, [](double v) { return v * v; }, [](double v) { return v; });
  EXPECT_NEAR(scalarize(c, ScalarizerSpec::from_name("loop_area")), 1.0 / 6.0, 1.7e-5);
}

TEST(Scalarizer, LoopAreaWithoutHysteresisIsZero) {
  const Waveform w = Waveform::triangle(1.5, 251, 1.0);
  const IvCurve c = two_branch_curve(w, [](double v) { return 1e-9 * v * v; }, [](double v) { return 1e-9 * v * v; });
  EXPECT_NEAR(scalarize(c, ScalarizerSpec::from_name("loop_area")), 0.0, 1e-24);
}

TEST(Scalarizer, LoopAreaIntegratesCrossingBranchesByAbsoluteValue) {
  // ΔI = V(1 − V)(V − ½) changes sign at 0.5 V: ∫0^1 |ΔI| dV = 1/32, while the signed integral is 0.
  const Waveform w = Waveform::triangle(1.0, 201, 1.0);
  const IvCurve c = two_branch_curve(w, [](double v) { return v + v * (1 - v) * (v - 0.5); }, [](double v) { return v; });
  EXPECT_NEAR(scalarize(c, ScalarizerSpec::from_name("loop_area")), 1.0 / 32.0, 2e-5);
}

TEST(Scalarizer, BipolarLoopAreaCoversBothPolarities) {
  // Up-going points cover −1..1 V (the 0 → 1 and −1 → 0 legs), down-going 1 → −1.
  // I_up = V, I_down = V³ meet at −1, 0, 1: ∫−1^1 |V − V³| dV = 1/2.
  const Waveform w = Waveform::bipolar(1.0, 801, 1.0);
  const IvCurve c = two_branch_curve(w, [](double v) { return v; }, [](double v) { return v * v * v; });
  EXPECT_NEAR(scalarize(c, ScalarizerSpec::from_name("loop_area")), 0.5, 1e-4);
}

TEST(Scalarizer, CurrentAtBiasMaxCurrentAndOnOffRatio) {
  const Waveform w = Waveform::triangle(1.5, 251, 1.0);
  const double g1 = 4e-10, g2 = 1e-10;
  const IvCurve c = two_branch_curve(w, [&](double v) { return g1 * v; }, [&](double v) { return g2 * v; });
  EXPECT_NEAR(scalarize(c, ScalarizerSpec::from_name("current_at_bias", 1.0)), 0.5 * (g1 + g2), 1e-20);
  EXPECT_NEAR(scalarize(c, ScalarizerSpec::from_name("max_current")), g1 * 1.5, 1e-20);
  EXPECT_NEAR(scalarize(c, ScalarizerSpec::from_name("on_off_ratio", 1.0)), g1 / g2, 1e-9);
}

TEST(Scalarizer, OnsetVoltageIsWhereTheForwardCurrentFirstReachesTheThreshold) {
  // I = 1e-10 A/V · V reaches 10 pA at exactly 0.1 V on the rising branch.
  const Waveform w = Waveform::triangle(1.5, 251, 1.0);
  const IvCurve c = two_branch_curve(w, [](double v) { return 1e-10 * v; }, [](double v) { return 5e-10 * v; });
  EXPECT_NEAR(scalarize(c, ScalarizerSpec::from_name("onset_voltage", 1.0, 10e-12)), 0.1, 1e-12);
  // A curve that never conducts reports the sweep's maximum bias.
  const IvCurve off = two_branch_curve(w, [](double) { return 1e-13; }, [](double) { return 1e-13; });
  EXPECT_DOUBLE_EQ(scalarize(off, ScalarizerSpec::from_name("onset_voltage", 1.0, 10e-12)), 1.5);
}

TEST(Scalarizer, UnknownNameAndDegenerateCurvesAreRejectedClearly) {
  try {
    ScalarizerSpec::from_name("loop_aera");
    FAIL() << "no error";
  } catch (const sdm::Error& e) {
    EXPECT_NE(std::string(e.what()).find("loop_aera"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("onset_voltage"), std::string::npos);
  }
  IvCurve one;
  one.bias_v = {0.0};
  one.current_a = {0.0};
  one.time_s = {0.0};
  EXPECT_THROW(scalarize(one, ScalarizerSpec::from_name("max_current")), sdm::Error);
}
