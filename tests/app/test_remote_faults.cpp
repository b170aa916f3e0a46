// Fault suite of the remote protocol, loopback only and bounded in time: whole campaigns
// (engine::campaign) driving an instrument over the sdm protocol — `sdm serve`'s Server
// in-process, or the Python bridge with its fake vendor — while the instrument misbehaves:
//   - a vendor slower than the client's timeout: every spot is swept exactly once (the
//     request key makes the re-asked sweep an answer from the server's memory);
//   - a current-limit trip: never retried, the campaign stops with safety_trip; a deliberate
//     resume measures the spot again (new key), and only then;
//   - permanent refusals (wrong token, off-range move): never retried, the campaign stops
//     with refused.
// The figures (sweeps on the instrument vs. measurements recorded) are printed.
#include <gtest/gtest.h>

#include <cstdlib>
#include <iostream>
#include <thread>

#include "engine/campaign/campaign_file.hpp"
#include "engine/campaign_test_support.hpp"
#include "hardware/decorators.hpp"
#include "hardware/hardware_test_support.hpp"
#include "hardware/remote/remote_backend.hpp"
#include "sdm_test_support.hpp"

namespace C = sdm::engine::campaign;
namespace H = sdm::hardware;
using sdm::test::TempDir;

namespace {

/// Counts the calls that reach the instrument (on the server side), with optional faults.
class Instrument : public H::MicroscopeBackend {
 public:
  H::SurveyImage survey(const H::SurveySpec& s) override { return fake.survey(s); }
  H::Position move_to(double x, double y) override {
    ++moves;
    if (refuse_x_above_m && x > *refuse_x_above_m)
      throw H::CallError(H::StatusCode::refused, "position x = " + std::to_string(x) + " m is off the scan range");
    return fake.move_to(x, y);
  }
  sdm::core::IvCurve iv_sweep(const sdm::core::Waveform& w) override {
    ++sweeps;
    if (sweep_delay_s > 0) std::this_thread::sleep_for(std::chrono::duration<double>(sweep_delay_s));
    if (sweeps <= trips) throw H::CallError(H::StatusCode::tripped, "safety: current limit tripped at sweep " + std::to_string(sweeps));
    return fake.iv_sweep(w);
  }
  H::MicroscopeStatus status() override { return fake.status(); }
  H::Capabilities capabilities() override { return fake.capabilities(); }

  sdm::test::FakeInstrument fake;
  double sweep_delay_s = 0;
  int trips = 0;  ///< the first `trips` sweeps trip the current limit
  std::optional<double> refuse_x_above_m;
  std::atomic<int> sweeps{0}, moves{0};
};

std::unique_ptr<H::remote::RemoteBackend> client(const std::string& endpoint, double timeout_s = 5.0, const std::string& token = "") {
  H::remote::RemoteOptions o;
  o.endpoint = endpoint;
  o.timeout_s = timeout_s;
  o.token = token;
  return std::make_unique<H::remote::RemoteBackend>(o);
}

}  // namespace

TEST(RemoteFaults, VendorSlowerThanTheTimeoutSweepsEachSpotOnce) {
  // Each sweep takes 0.9 s on the instrument; the client waits timeout_s + the programme's
  // 0.4 s = 0.5 s, so every sweep's first reply is lost and the request is asked again.
  TempDir t;
  Instrument inst;
  inst.sweep_delay_s = 0.9;
  sdm::test::ServerThread server(std::make_unique<sdm::test::Borrowed>(inst), sdm::test::loopback_any_port());
  auto backend = client(server.endpoint(), 0.1);
  auto* remote = backend.get();
  H::Microscope scope(std::move(backend));
  auto spec = sdm::test::small_spec("random", t / "slow", 6);
  spec.campaign.retries = 2;
  const auto o = C::run_campaign(spec, scope);
  server.stop();
  std::cout << "slow vendor: " << inst.sweeps << " sweeps on the instrument for " << o.steps.size() << " recorded measurements ("
            << server.server().replies_replayed() << " repeats answered from memory, " << remote->socket_resets()
            << " client socket resets); end " << C::to_string(o.end) << "\n";
  EXPECT_EQ(o.end, C::CampaignEnd::completed) << o.message;
  EXPECT_EQ(o.steps.size(), 6u);
  EXPECT_EQ(inst.sweeps, static_cast<int>(o.steps.size())) << "a lost reply must not become a second sweep";
  EXPECT_GE(server.server().replies_replayed(), 6u) << "every re-asked sweep is answered from memory";
  EXPECT_EQ(inst.fake.sweeps, inst.sweeps.load());
}

TEST(RemoteFaults, CurrentLimitTripIsNotRetriedAndADeliberateResumeMeasuresAgain) {
  TempDir t;
  Instrument inst;
  inst.trips = 1;  // the first sweep trips
  sdm::test::ServerThread server(std::make_unique<sdm::test::Borrowed>(inst), sdm::test::loopback_any_port());
  const auto dir = t / "trip";
  auto spec = sdm::test::small_spec("random", dir, 6);
  spec.campaign.retries = 2;
  {
    H::Microscope scope(client(server.endpoint()));
    const auto o = C::run_campaign(spec, scope);
    std::cout << "current-limit trip: " << inst.sweeps << " sweep(s) at the tripping spot; end " << C::to_string(o.end) << ": " << o.message
              << "\n";
    EXPECT_EQ(o.end, C::CampaignEnd::safety_trip) << o.message;
    EXPECT_EQ(inst.sweeps, 1) << "a tripped sweep is never repeated";
    EXPECT_TRUE(o.steps.empty());
    EXPECT_NE(o.message.find("current limit tripped"), std::string::npos) << o.message;
    EXPECT_NE(o.message.find("safety trip at measurement 0"), std::string::npos) << o.message;
    EXPECT_NE(o.message.find("not retried"), std::string::npos) << o.message;
    EXPECT_EQ(C::read_campaign_file(dir / "campaign.h5").status, "safety_trip");
  }
  {
    // The operator checked the tip and resumes: the same server (which still remembers the
    // trip) measures the spot again, once, because the resumed step has a new key.
    H::Microscope scope(client(server.endpoint()));
    const auto o = C::resume_campaign(dir, scope);
    EXPECT_EQ(o.end, C::CampaignEnd::completed) << o.message;
    EXPECT_EQ(o.steps.size(), 6u);
    EXPECT_EQ(inst.sweeps, 1 + 6);
  }
}

TEST(RemoteFaults, WrongTokenIsRefusedOnceNotRetried) {
  TempDir t;
  Instrument inst;
  auto so = sdm::test::loopback_any_port();
  so.token = "the-right-one";
  sdm::test::ServerThread server(std::make_unique<sdm::test::Borrowed>(inst), so);
  H::Microscope scope(client(server.endpoint(), 5.0, "a-wrong-one"));
  auto spec = sdm::test::small_spec("random", t / "token", 6);
  spec.campaign.retries = 2;
  const auto o = C::run_campaign(spec, scope);
  server.stop();
  std::cout << "wrong token: " << server.server().requests_handled() << " requests reached the server; end " << C::to_string(o.end) << "\n";
  EXPECT_EQ(o.end, C::CampaignEnd::refused) << o.message;
  EXPECT_NE(o.message.find("wrong token"), std::string::npos) << o.message;
  // capabilities once, survey once: neither is retried.
  EXPECT_EQ(server.server().requests_handled(), 2u);
  EXPECT_EQ(inst.fake.surveys, 0);
}

TEST(RemoteFaults, OffRangeMoveIsRefusedOnceNotRetried) {
  TempDir t;
  Instrument inst;
  inst.refuse_x_above_m = 0.25 * inst.fake.size_m();  // most candidates lie beyond
  sdm::test::ServerThread server(std::make_unique<sdm::test::Borrowed>(inst), sdm::test::loopback_any_port());
  H::Microscope scope(client(server.endpoint()));
  auto spec = sdm::test::small_spec("random", t / "range", 16);
  spec.campaign.retries = 2;
  const auto o = C::run_campaign(spec, scope);
  std::cout << "off-range move: " << inst.moves << " move requests for " << o.steps.size() << " recorded measurements; end "
            << C::to_string(o.end) << "\n";
  EXPECT_EQ(o.end, C::CampaignEnd::refused) << o.message;
  EXPECT_LT(o.steps.size(), 16u);
  EXPECT_EQ(inst.moves, static_cast<int>(o.steps.size()) + 1) << "the refused move is asked once";
  EXPECT_NE(o.message.find("off the scan range"), std::string::npos) << o.message;
  EXPECT_NE(o.message.find("refused measurement " + std::to_string(o.steps.size())), std::string::npos) << o.message;
}

// ------------------------------------------------------------------ the Python bridge

namespace {

class BridgeFaults : public ::testing::Test {
 protected:
  void SetUp() override {
    python_ = sdm::test::python_with_zmq();
    if (python_.empty()) GTEST_SKIP() << "no python3 with the zmq and numpy modules (Debian: python3-zmq python3-numpy)";
  }
  /// Starts the bridge with the fake vendor; `env` is set for the child only.
  std::unique_ptr<sdm::test::Child> start(const std::vector<std::pair<std::string, std::string>>& env) {
    for (const auto& [k, v] : env) ::setenv(k.c_str(), v.c_str(), 1);
    auto c = std::make_unique<sdm::test::Child>(std::vector<std::string>{
        python_, std::string(SDM_SOURCE_DIR) + "/hardware/bridges/sdm_bridge.py", "--bind", "tcp://127.0.0.1:*", "--vendor",
        "fake_vendor:FakeInstrument"});
    for (const auto& [k, v] : env) ::unsetenv(k.c_str());
    const auto line = c->wait_for_line("listening on", 20.0);
    endpoint_ = line ? sdm::test::endpoint_in(*line) : "";
    return c;
  }
  /// Sweeps the fake vendor ran, from its status ("idle, N sweeps").
  int vendor_sweeps() {
    H::Microscope scope(client(endpoint_));
    const auto st = scope.status();
    if (!st.ok()) return -1;
    return std::atoi(st.value.state.substr(st.value.state.find(',') + 1).c_str());
  }
  /// A campaign on the fake vendor's 64 × 48 px, 10 µm survey.
  C::CampaignSpec spec(const std::filesystem::path& dir, int budget) const {
    auto s = sdm::test::small_spec("random", dir, budget);
    s.campaign.stride_px = 8;
    s.campaign.retries = 2;
    return s;
  }
  std::string python_, endpoint_;
};

}  // namespace

TEST_F(BridgeFaults, VendorSlowerThanTheTimeoutSweepsEachSpotOnce) {
  auto bridge = start({{"SDM_FAKE_SWEEP_DELAY_S", "0.9"}});
  ASSERT_FALSE(endpoint_.empty()) << bridge->output();
  TempDir t;
  H::Microscope scope(client(endpoint_, 0.1));
  const auto o = C::run_campaign(spec(t / "slow", 5), scope);
  const int sweeps = vendor_sweeps();
  std::cout << "bridge, slow vendor: " << sweeps << " sweeps by the vendor for " << o.steps.size() << " recorded measurements; end "
            << C::to_string(o.end) << "\n";
  EXPECT_EQ(o.end, C::CampaignEnd::completed) << o.message;
  EXPECT_EQ(o.steps.size(), 5u);
  EXPECT_EQ(sweeps, static_cast<int>(o.steps.size())) << bridge->output();
}

TEST_F(BridgeFaults, CurrentComplianceTripIsNotRetried) {
  auto bridge = start({{"SDM_FAKE_TRIP_ABOVE_A", "1e-12"}});
  ASSERT_FALSE(endpoint_.empty()) << bridge->output();
  TempDir t;
  H::Microscope scope(client(endpoint_));
  const auto o = C::run_campaign(spec(t / "trip", 5), scope);
  const int sweeps = vendor_sweeps();
  std::cout << "bridge, compliance trip: " << sweeps << " sweep(s); end " << C::to_string(o.end) << ": " << o.message << "\n";
  EXPECT_EQ(o.end, C::CampaignEnd::safety_trip) << o.message;
  EXPECT_EQ(sweeps, 1);
  EXPECT_NE(o.message.find("current compliance tripped"), std::string::npos) << o.message;
}
