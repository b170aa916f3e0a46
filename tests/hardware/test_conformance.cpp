// One conformance suite, run unchanged against every backend the engine may be given:
// what any Microscope must do for a campaign to work (ranges, channels, a move lands where
// asked, a valid sweep comes back well formed, bad requests are refused, not crashed on).
// Backends: twin (the sim/ film and instrument), remote serving a twin, replay (real BEPS
// NSID file; NumPy fixture), remote serving a replay (in-process servers: the code
// `sdm serve` runs), remote serving a twin from the `sdm serve` binary itself, and remote to
// the Python bridge with its fake vendor.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>

#include "hardware/backend_factory.hpp"
#include "hardware/remote/remote_backend.hpp"
#include "hardware/replay/dataset.hpp"
#include "hardware/replay/replay_backend.hpp"
#include "hardware/twin/twin_backend.hpp"
#include "hardware_test_support.hpp"

using namespace sdm;
using namespace sdm::hardware;

namespace {

/// Whatever must stay alive while a backend is in use (a server thread, a child process).
struct Rig {
  std::unique_ptr<Microscope> scope;
  std::unique_ptr<sdm::test::ServerThread> server;
  std::unique_ptr<sdm::test::Child> child;
  std::string skip;   ///< non-empty: why this backend cannot run here (a missing optional tool)
  std::string error;  ///< non-empty: the backend should have come up and did not
};

std::unique_ptr<MicroscopeBackend> beps_replay() {
  BackendConfig c;
  c.kind = "replay";
  c.path = sdm::test::beps_path().string();
  return make_backend(c);
}

/// A small film keeps the twin's set-up fast; everything else is the shipped default.
std::unique_ptr<MicroscopeBackend> small_twin() {
  sim::FilmConfig film;
  film.size_px = 64;
  film.scan_size_m = 1.0e-6;
  film.grain_mean_m = 0.25e-6;
  return twin::make_twin_backend(film, sim::InstrumentConfig{}, 7);
}

remote::RemoteOptions remote_to(const std::string& ep) {
  remote::RemoteOptions o;
  o.endpoint = ep;
  o.timeout_s = 10;
  return o;
}

struct BackendCase {
  std::string name;
  std::function<Rig()> make;
};

const std::vector<BackendCase>& cases() {
  static const std::vector<BackendCase> all = {
      {"twin", [] {
         Rig r;
         r.scope = std::make_unique<Microscope>(small_twin());
         return r;
       }},
      {"remote_served_twin", [] {
         Rig r;
         r.server = std::make_unique<sdm::test::ServerThread>(small_twin(), sdm::test::loopback_any_port());
         r.scope = std::make_unique<Microscope>(std::make_unique<remote::RemoteBackend>(remote_to(r.server->endpoint())));
         return r;
       }},
      {"remote_sdm_serve_twin", [] {
         Rig r;
         r.child = std::make_unique<sdm::test::Child>(std::vector<std::string>{
             SDM_BINARY, "serve", "--backend", "twin", "--scenario", std::string(SDM_SOURCE_DIR) + "/scenarios/ci.toml", "--bind", "tcp://127.0.0.1:*"});
         const auto line = r.child->wait_for_line("listening on", 60.0);
         if (!line) {
           r.error = "sdm serve --backend twin did not start: " + r.child->output();
           return r;
         }
         r.scope = std::make_unique<Microscope>(std::make_unique<remote::RemoteBackend>(remote_to(sdm::test::endpoint_in(*line))));
         return r;
       }},
      {"replay", [] {
         Rig r;
         r.scope = std::make_unique<Microscope>(beps_replay());
         return r;
       }},
      {"replay_npz", [] {
         BackendConfig c;
         c.kind = "replay";
         c.path = std::string(SDM_SOURCE_DIR) + "/tests/hardware/data/small_compressed.npz";
         c.image_channel = "height";
         Rig r;
         r.scope = std::make_unique<Microscope>(make_backend(c));
         return r;
       }},
      {"remote_served_replay", [] {
         Rig r;
         r.server = std::make_unique<sdm::test::ServerThread>(beps_replay(), sdm::test::loopback_any_port());
         r.scope = std::make_unique<Microscope>(std::make_unique<remote::RemoteBackend>(remote_to(r.server->endpoint())));
         return r;
       }},
      {"remote_python_bridge", [] {
         Rig r;
         const std::string py = sdm::test::python_with_zmq();
         if (py.empty()) {
           r.skip = "no python3 with zmq and numpy for the bridge";
           return r;
         }
         r.child = std::make_unique<sdm::test::Child>(std::vector<std::string>{
             py, std::string(SDM_SOURCE_DIR) + "/hardware/bridges/sdm_bridge.py", "--bind", "tcp://127.0.0.1:*", "--vendor", "fake_vendor:FakeInstrument"});
         const auto line = r.child->wait_for_line("listening on", 20.0);
         if (!line) {
           r.error = "the bridge did not start: " + r.child->output();
           return r;
         }
         r.scope = std::make_unique<Microscope>(std::make_unique<remote::RemoteBackend>(remote_to(sdm::test::endpoint_in(*line))));
         return r;
       }},
  };
  return all;
}

class Conformance : public ::testing::TestWithParam<std::size_t> {
 protected:
  void SetUp() override {
    rig_ = cases()[GetParam()].make();
    if (!rig_.skip.empty()) GTEST_SKIP() << rig_.skip;
    ASSERT_TRUE(rig_.error.empty()) << rig_.error;
    auto c = scope().capabilities();
    ASSERT_TRUE(c.ok()) << c.status.message;
    caps_ = c.value;
    auto s = scope().survey(SurveySpec{});
    ASSERT_TRUE(s.ok()) << s.status.message;
    pitch_m_ = std::max(s.value.axes.dx_m, s.value.axes.dy_m);
  }
  Microscope& scope() { return *rig_.scope; }
  /// Where a move may land: within half a survey pixel (grids snap) or 1% of the range (drift).
  double tol() const { return std::max(0.51 * pitch_m_, 0.01 * std::max(caps_.x_max_m - caps_.x_min_m, caps_.y_max_m - caps_.y_min_m)); }
  core::Waveform sweep() const { return core::Waveform::triangle(std::min(1.5, 0.9 * caps_.max_bias_v), 251, std::min(1.0, 0.9 * caps_.max_sweep_rate_v_per_s)); }
  Rig rig_;
  Capabilities caps_;
  double pitch_m_ = 0;
};

std::string name_of(const ::testing::TestParamInfo<std::size_t>& i) { return cases()[i.param].name; }

}  // namespace

TEST_P(Conformance, CapabilitiesDescribeAUsableInstrument) {
  EXPECT_FALSE(caps_.backend.empty());
  EXPECT_LT(caps_.x_min_m, caps_.x_max_m);
  EXPECT_LT(caps_.y_min_m, caps_.y_max_m);
  EXPECT_GT(caps_.max_bias_v, 0);
  EXPECT_GT(caps_.max_sweep_rate_v_per_s, 0);
  EXPECT_FALSE(caps_.channels.empty());
  EXPECT_FALSE(caps_.signal_name.empty());
  EXPECT_FALSE(caps_.signal_unit.empty());
  EXPECT_NE(std::find(caps_.channels.begin(), caps_.channels.end(), "topography"), caps_.channels.end()) << "the engine surveys \"topography\"";
  if (!caps_.native_waveform.bias_v.empty()) {
    EXPECT_NO_THROW(caps_.native_waveform.validate());
  }
  auto st = scope().status();
  ASSERT_TRUE(st.ok()) << st.status.message;
  EXPECT_TRUE(st.value.connected);
  EXPECT_TRUE(std::isfinite(st.value.position.x_m) && std::isfinite(st.value.position.y_m));
  EXPECT_GE(st.status.wall_s, 0);
}

TEST_P(Conformance, SurveyGivesEveryListedChannelOnAGridInsideTheRange) {
  auto s = scope().survey(SurveySpec{});
  ASSERT_TRUE(s.ok()) << s.status.message;
  ASSERT_EQ(s.value.channels.size(), 1u);
  EXPECT_EQ(s.value.channels[0].name, "topography");
  const ImageAxes& a = s.value.axes;
  ASSERT_GT(a.nx, 1);
  ASSERT_GT(a.ny, 1);
  EXPECT_GT(a.dx_m, 0);
  EXPECT_GT(a.dy_m, 0);
  EXPECT_GE(a.x0_m, caps_.x_min_m - a.dx_m);
  EXPECT_LE(a.x0_m + (a.nx - 1) * a.dx_m, caps_.x_max_m + a.dx_m);
  EXPECT_GE(a.y0_m, caps_.y_min_m - a.dy_m);
  EXPECT_LE(a.y0_m + (a.ny - 1) * a.dy_m, caps_.y_max_m + a.dy_m);
  SurveySpec all;
  all.channels = caps_.channels;
  auto s2 = scope().survey(all);
  ASSERT_TRUE(s2.ok()) << s2.status.message;
  ASSERT_EQ(s2.value.channels.size(), caps_.channels.size());
  for (std::size_t c = 0; c < caps_.channels.size(); ++c) {
    EXPECT_EQ(s2.value.channels[c].name, caps_.channels[c]);
    EXPECT_FALSE(s2.value.channels[c].unit.empty());
    ASSERT_EQ(s2.value.channels[c].data.size(), std::size_t(s2.value.axes.nx) * s2.value.axes.ny);
    for (double v : s2.value.channels[c].data) ASSERT_TRUE(std::isfinite(v)) << caps_.channels[c];
  }
  SurveySpec bad;
  bad.channels = {"no_such_channel"};
  auto b = scope().survey(bad);
  EXPECT_EQ(b.status.code, StatusCode::refused) << b.status.message;
  EXPECT_NE(b.status.message.find("no_such_channel"), std::string::npos) << b.status.message;
}

TEST_P(Conformance, MovesLandWhereAskedAndOffRangeIsRefusedOrClamped) {
  const double x = caps_.x_min_m + 0.37 * (caps_.x_max_m - caps_.x_min_m), y = caps_.y_min_m + 0.61 * (caps_.y_max_m - caps_.y_min_m);
  auto m = scope().move_to(x, y);
  ASSERT_TRUE(m.ok()) << m.status.message;
  EXPECT_NEAR(m.value.x_m, x, tol());
  EXPECT_NEAR(m.value.y_m, y, tol());
  auto st = scope().status();
  ASSERT_TRUE(st.ok());
  EXPECT_NEAR(st.value.position.x_m, m.value.x_m, tol());
  EXPECT_NEAR(st.value.position.y_m, m.value.y_m, tol());
  auto off = scope().move_to(caps_.x_max_m + 10 * (caps_.x_max_m - caps_.x_min_m), y);
  if (off.ok()) {
    EXPECT_LE(off.value.x_m, caps_.x_max_m + tol()) << "accepted off-range moves must be clamped into the range";
  } else {
    EXPECT_EQ(off.status.code, StatusCode::refused) << off.status.message;
  }
}

TEST_P(Conformance, ValidSweepsComeBackWellFormedInvalidOnesAreRefused) {
  ASSERT_TRUE(scope().move_to(0.5 * (caps_.x_min_m + caps_.x_max_m), 0.5 * (caps_.y_min_m + caps_.y_max_m)).ok());
  const double clock0 = scope().status().value.instrument_clock_s;
  auto iv = scope().iv_sweep(sweep());
  ASSERT_TRUE(iv.ok()) << iv.status.message;
  const core::IvCurve& c = iv.value;
  ASSERT_GE(c.size(), 2u);
  EXPECT_EQ(c.time_s.size(), c.size());
  EXPECT_EQ(c.bias_v.size(), c.size());
  for (std::size_t i = 0; i < c.size(); ++i) {
    ASSERT_TRUE(std::isfinite(c.time_s[i]) && std::isfinite(c.bias_v[i]) && std::isfinite(c.current_a[i])) << i;
    if (i) {
      ASSERT_GT(c.time_s[i], c.time_s[i - 1]) << i;
    }
    ASSERT_LE(std::abs(c.bias_v[i]), caps_.max_bias_v * (1 + 1e-12)) << i;
  }
  EXPECT_GE(scope().status().value.instrument_clock_s, clock0);
  auto again = scope().iv_sweep(sweep());
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again.value.size(), c.size());

  core::Waveform backwards{{0.0, 1.0, 0.5}, {0.0, 0.1, 0.0}};
  auto r = scope().iv_sweep(backwards);
  EXPECT_EQ(r.status.code, StatusCode::refused) << r.status.message;
  core::Waveform mismatched{{0.0, 1.0, 2.0}, {0.0, 0.1}};
  EXPECT_EQ(scope().iv_sweep(mismatched).status.code, StatusCode::refused);
  // Still usable after the refusals.
  EXPECT_TRUE(scope().iv_sweep(sweep()).ok());
}

INSTANTIATE_TEST_SUITE_P(Backends, Conformance, ::testing::Range<std::size_t>(0, cases().size()), name_of);
