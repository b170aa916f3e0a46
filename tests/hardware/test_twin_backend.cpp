// The twin behind the Microscope interface: channels and axes of the survey, clamping and
// the instrument clock, limits refused with a status, and the shared Twin giving the same
// ground truth the benchmark reads.
#include <gtest/gtest.h>

#include <cmath>

#include "hardware/microscope.hpp"
#include "hardware/twin/twin_backend.hpp"

using namespace sdm;
using hardware::Microscope;
using hardware::StatusCode;
using hardware::SurveySpec;

namespace {

sim::FilmConfig film() {
  sim::FilmConfig c;
  c.size_px = 96;
  c.scan_size_m = 1.5e-6;
  return c;
}

sim::InstrumentConfig quiet() {
  sim::InstrumentConfig i;
  i.noise_rms_a = 0;
  i.flicker_rms_a = 0;
  i.drift_speed_m_per_s = 0;
  i.drift_walk_m_per_sqrt_s = 0;
  i.adc_bits = 32;
  i.bandwidth_hz = 1e7;
  return i;
}

}  // namespace

TEST(TwinBackend, CapabilitiesDescribeTheField) {
  auto backend = hardware::twin::make_twin_backend(film(), sim::InstrumentConfig{}, 1);
  const auto c = backend->capabilities();
  EXPECT_EQ(c.backend, "twin");
  EXPECT_EQ(c.x_min_m, 0);
  EXPECT_DOUBLE_EQ(c.x_max_m, 1.5e-6);
  EXPECT_DOUBLE_EQ(c.y_max_m, 1.5e-6);
  EXPECT_EQ(c.max_bias_v, sim::InstrumentConfig{}.max_bias_v);
  EXPECT_EQ(c.max_current_a, sim::InstrumentConfig{}.saturation_a);
  EXPECT_EQ(c.max_sweep_rate_v_per_s, sim::InstrumentConfig{}.max_sweep_rate_v_per_s);
  EXPECT_EQ(c.channels, (std::vector<std::string>{"topography", "current"}));
}

TEST(TwinBackend, NativeSurveyHasTheFilmsAxesAndMaps) {
  auto backend = hardware::twin::make_twin_backend(film(), quiet(), 2);
  Microscope scope(std::move(backend));
  SurveySpec spec;
  spec.channels = {"current", "topography"};
  const auto r = scope.survey(spec);
  ASSERT_TRUE(r.ok()) << r.status.message;
  const auto& img = r.value;
  const auto& twin = dynamic_cast<hardware::twin::TwinBackend&>(scope.backend()).twin();
  EXPECT_EQ(img.axes.nx, 96);
  EXPECT_EQ(img.axes.ny, 96);
  EXPECT_DOUBLE_EQ(img.axes.dx_m, twin.film().pixel_m);
  EXPECT_DOUBLE_EQ(img.axes.x0_m, twin.film().pixel_m / 2);  // pixel centres, as sim::Film
  EXPECT_DOUBLE_EQ(img.axes.y0_m, twin.film().pixel_m / 2);
  ASSERT_EQ(img.channels.size(), 2u);
  EXPECT_EQ(img.channels[0].name, "current");  // in the order requested
  EXPECT_EQ(img.channels[0].unit, "A");
  EXPECT_EQ(img.channels[1].unit, "m");
  const auto* topo = img.find("topography");
  ASSERT_NE(topo, nullptr);
  EXPECT_EQ(topo->data, twin.film().measured_height_m);
  const auto truth = sim::ground_truth_current_map(twin.film(), twin.instrument().survey_bias_v);
  const auto* cur = img.find("current");
  for (std::size_t i = 0; i < truth.size(); i += 7) ASSERT_NEAR(cur->data[i], truth[i], 1e-6 * std::abs(truth[i]) + 1e-17);
}

TEST(TwinBackend, ResampledSurveyAndRefusals) {
  Microscope scope(hardware::twin::make_twin_backend(film(), quiet(), 3));
  SurveySpec spec;
  spec.nx = 64;
  spec.ny = 32;
  const auto r = scope.survey(spec);
  ASSERT_TRUE(r.ok()) << r.status.message;
  EXPECT_EQ(r.value.axes.nx, 64);
  EXPECT_EQ(r.value.axes.ny, 32);
  EXPECT_DOUBLE_EQ(r.value.axes.dx_m, 1.5e-6 / 64);
  EXPECT_DOUBLE_EQ(r.value.axes.y0_m, 1.5e-6 / 64);
  EXPECT_EQ(r.value.find("topography")->data.size(), 64u * 32);
  spec.channels = {"phase"};
  const auto bad = scope.survey(spec);
  EXPECT_EQ(bad.status.code, StatusCode::refused);
  EXPECT_NE(bad.status.message.find("phase"), std::string::npos) << bad.status.message;
  spec.channels = {"topography"};
  spec.nx = 0;
  EXPECT_EQ(scope.survey(spec).status.code, StatusCode::refused);
}

TEST(TwinBackend, MovesClampAndEveryCallCostsInstrumentTime) {
  sim::InstrumentConfig inst = quiet();
  inst.move_speed_m_per_s = 1e-6;
  inst.settle_time_s = 0.5;
  Microscope scope(hardware::twin::make_twin_backend(film(), inst, 4));
  const auto s0 = scope.status();
  ASSERT_TRUE(s0.ok());
  EXPECT_EQ(s0.value.instrument_clock_s, 0.0);
  const auto m = scope.move_to(2e-6, 0.75e-6);  // beyond x_max: clamped
  ASSERT_TRUE(m.ok());
  EXPECT_DOUBLE_EQ(m.value.x_m, 1.5e-6);
  EXPECT_DOUBLE_EQ(m.value.y_m, 0.75e-6);
  const auto s1 = scope.status();
  EXPECT_NEAR(s1.value.instrument_clock_s, 0.75 + 0.5, 1e-12);  // from the centre: 0.75 µm at 1 µm/s + settle
  EXPECT_DOUBLE_EQ(s1.value.position.x_m, 1.5e-6);
  const auto iv = scope.iv_sweep(core::Waveform::triangle());
  ASSERT_TRUE(iv.ok()) << iv.status.message;
  EXPECT_EQ(iv.value.size(), 251u);
  EXPECT_NEAR(scope.status().value.instrument_clock_s, 1.25 + 3.0, 1e-9);
}

TEST(TwinBackend, SweepsBeyondTheLimitsAreRefused) {
  Microscope scope(hardware::twin::make_twin_backend(film(), sim::InstrumentConfig{}, 5));
  const auto r = scope.iv_sweep(core::Waveform::triangle(20.0, 51, 1.0));
  EXPECT_EQ(r.status.code, StatusCode::refused);
  EXPECT_NE(r.status.message.find("max_bias_v"), std::string::npos) << r.status.message;
  core::Waveform broken;
  broken.time_s = {0, 0};
  broken.bias_v = {0, 1};
  EXPECT_EQ(scope.iv_sweep(broken).status.code, StatusCode::refused);
  EXPECT_EQ(scope.move_to(std::nan(""), 0).status.code, StatusCode::refused);
}

TEST(TwinBackend, SharedTwinGivesTheBenchmarksGroundTruth) {
  auto twin = std::make_shared<sim::Twin>(film(), quiet(), 6);
  Microscope scope(std::make_unique<hardware::twin::TwinBackend>(twin));
  ASSERT_TRUE(scope.move_to(0.4e-6, 0.9e-6).ok());
  const auto iv = scope.iv_sweep(core::Waveform::triangle());
  ASSERT_TRUE(iv.ok());
  const sim::Landing& l = twin->last_landing();
  const auto truth = sim::ground_truth_iv(twin->film(), l.ix, l.iy, core::Waveform::triangle());
  for (std::size_t i = 0; i < truth.size(); ++i)
    EXPECT_NEAR(iv.value.current_a[i], truth.current_a[i], 1e-6 * std::abs(truth.current_a[i]) + 1e-17);
  // The film seed of campaign seed s is s + film.seed.
  const sim::Film direct = sim::generate_film(film(), 6 + film().seed);
  EXPECT_EQ(direct.true_height_m, twin->film().true_height_m);
}

TEST(TwinBackend, DriftIsHiddenUnlessAskedFor) {
  sim::InstrumentConfig inst = quiet();
  inst.drift_speed_m_per_s = 1e-9;
  auto hidden = hardware::twin::make_twin_backend(film(), inst, 7);
  hardware::twin::TwinBackendOptions opt;
  opt.report_true_position = true;
  auto shown = hardware::twin::make_twin_backend(film(), inst, 7, opt);
  hidden->twin().wait(100);
  shown->twin().wait(100);
  const auto a = hidden->move_to(0.5e-6, 0.5e-6), b = shown->move_to(0.5e-6, 0.5e-6);
  EXPECT_DOUBLE_EQ(a.x_m, 0.5e-6);
  EXPECT_NEAR(std::hypot(b.x_m - 0.5e-6, b.y_m - 0.5e-6), 1e-9 * shown->twin().clock_s(), 1e-15);
}
