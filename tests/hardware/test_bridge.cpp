// The Python bridge (hardware/bridges/sdm_bridge.py) speaks the same protocol: it is
// started with the fake vendor class (hardware/bridges/fake_vendor.py, closed-form
// values) and driven by sdm's own RemoteBackend; bad requests get error replies from
// it too. Skipped, saying why, when no python3 with zmq and numpy is installed.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <zmq.hpp>
#include <zmq_addon.hpp>

#include "hardware/remote/remote_backend.hpp"
#include "hardware_test_support.hpp"

using namespace sdm;
using namespace sdm::hardware;
using nlohmann::json;

namespace {

class Bridge : public ::testing::Test {
 protected:
  void SetUp() override {
    python_ = sdm::test::python_with_zmq();
    if (python_.empty()) GTEST_SKIP() << "no python3 with the zmq and numpy modules (Debian: python3-zmq python3-numpy); set SDM_PYTHON to one";
  }
  std::unique_ptr<sdm::test::Child> start(std::vector<std::string> extra = {}) {
    std::vector<std::string> a = {python_, std::string(SDM_SOURCE_DIR) + "/hardware/bridges/sdm_bridge.py", "--bind", "tcp://127.0.0.1:*",
                                  "--vendor", "fake_vendor:FakeInstrument"};
    a.insert(a.end(), extra.begin(), extra.end());
    auto c = std::make_unique<sdm::test::Child>(a);
    const auto line = c->wait_for_line("listening on", 20.0);
    endpoint_ = line ? sdm::test::endpoint_in(*line) : "";
    return c;
  }
  remote::RemoteOptions options() const {
    remote::RemoteOptions o;
    o.endpoint = endpoint_;
    o.timeout_s = 5;
    return o;
  }
  std::string python_, endpoint_;
};

json raw(const std::string& ep, const std::vector<std::string>& frames) {
  zmq::context_t ctx(1);
  zmq::socket_t s(ctx, zmq::socket_type::req);
  s.set(zmq::sockopt::linger, 0);
  s.connect(ep);
  std::vector<zmq::message_t> m;
  for (const auto& f : frames) m.emplace_back(f.data(), f.size());
  zmq::send_multipart(s, m);
  zmq::pollitem_t item{s.handle(), 0, ZMQ_POLLIN, 0};
  zmq::poll(&item, 1, std::chrono::milliseconds(5000));
  if (!(item.revents & ZMQ_POLLIN)) return nullptr;
  std::vector<zmq::message_t> r;
  (void)zmq::recv_multipart(s, std::back_inserter(r));
  return json::parse(r.at(0).to_string_view());
}

}  // namespace

TEST_F(Bridge, DrivenBySdmsClientWithClosedFormValues) {
  auto bridge = start();
  ASSERT_FALSE(endpoint_.empty()) << bridge->output();
  Microscope scope(std::make_unique<remote::RemoteBackend>(options()));

  auto caps = scope.capabilities();
  ASSERT_TRUE(caps.ok()) << caps.status.message;
  EXPECT_DOUBLE_EQ(caps.value.x_max_m, 10e-6);
  EXPECT_DOUBLE_EQ(caps.value.max_bias_v, 5.0);
  EXPECT_EQ(caps.value.channels, (std::vector<std::string>{"topography", "current"}));
  EXPECT_NE(caps.value.backend.find("fake vendor"), std::string::npos);

  auto m = scope.move_to(5e-6, 2e-6);
  ASSERT_TRUE(m.ok()) << m.status.message;
  EXPECT_DOUBLE_EQ(m.value.x_m, 5e-6);
  const core::Waveform w = core::Waveform::triangle(1.5, 251, 1.0);
  auto iv = scope.iv_sweep(w);
  ASSERT_TRUE(iv.ok()) << iv.status.message;
  ASSERT_EQ(iv.value.size(), 251u);
  const double g = 1e-9 * (1 + 5e-6 / 10e-6);  // I = G(x)·V
  for (std::size_t i = 0; i < 251; ++i) {
    EXPECT_EQ(iv.value.bias_v[i], w.bias_v[i]);
    EXPECT_EQ(iv.value.time_s[i], w.time_s[i]);
    EXPECT_DOUBLE_EQ(iv.value.current_a[i], g * w.bias_v[i]);
  }
  auto st = scope.status();
  ASSERT_TRUE(st.ok());
  EXPECT_DOUBLE_EQ(st.value.position.y_m, 2e-6);
  EXPECT_DOUBLE_EQ(st.value.instrument_clock_s, w.duration_s());

  SurveySpec spec;
  spec.channels = {"topography", "current"};
  spec.nx = 20;
  spec.ny = 10;
  auto s = scope.survey(spec);
  ASSERT_TRUE(s.ok()) << s.status.message;
  EXPECT_EQ(s.value.axes.nx, 20);
  EXPECT_DOUBLE_EQ(s.value.axes.dx_m, 10e-6 / 19);
  EXPECT_EQ(s.value.channels[0].unit, "m");
  for (int iy = 0; iy < 10; ++iy)
    for (int ix = 0; ix < 20; ++ix) {
      EXPECT_DOUBLE_EQ(s.value.channels[0].data[std::size_t(iy) * 20 + ix], 1e-9 * ix + 2e-9 * iy);
      EXPECT_DOUBLE_EQ(s.value.channels[1].data[std::size_t(iy) * 20 + ix], 1e-12 * (ix + iy));
    }

  // Vendor failures keep their status codes.
  auto off = scope.move_to(20e-6, 0);
  EXPECT_EQ(off.status.code, StatusCode::refused);
  EXPECT_NE(off.status.message.find("outside the 10 um scan range"), std::string::npos) << off.status.message;
  spec.channels = {"fail"};
  EXPECT_EQ(scope.survey(spec).status.code, StatusCode::disconnected);
  core::Waveform backwards{{0, 1, 0.5}, {0, 1, 0}};
  EXPECT_EQ(scope.iv_sweep(backwards).status.code, StatusCode::refused);
  EXPECT_TRUE(scope.status().ok());
}

TEST_F(Bridge, RejectsBadRequestsAndStopsOnSigterm) {
  auto bridge = start({"--verbose"});
  ASSERT_FALSE(endpoint_.empty()) << bridge->output();
  const json sweep = {{"sdm_protocol", 1}, {"type", "request"}, {"id", 5}, {"op", "iv_sweep"},
                      {"arrays", {{{"name", "time_s"}, {"dtype", "<f8"}, {"shape", {3}}}, {{"name", "bias_v"}, {"dtype", "<f8"}, {"shape", {3}}}}}};
  json v2 = {{"sdm_protocol", 2}, {"type", "request"}, {"id", 6}, {"op", "status"}};
  json unknown = {{"sdm_protocol", 1}, {"type", "request"}, {"id", 7}, {"op", "fly"}};
  json big = {{"sdm_protocol", 1}, {"type", "request"}, {"id", 8}, {"op", "status"}, {"arrays", {{{"name", "x"}, {"dtype", "<f8"}, {"shape", {2200000}}}}}};
  struct Case {
    const char* what;
    std::vector<std::string> frames;
    std::string expect;
    json id;
  };
  const std::vector<Case> cases = {
      {"not JSON", {"\x01\x02garbage"}, "not valid JSON", nullptr},
      {"wrong version", {v2.dump()}, "protocol version 2 is not supported", 6},
      {"missing frame", {sweep.dump(), std::string(24, '\0')}, "declares 2 arrays but 1", 5},
      {"truncated frame", {sweep.dump(), std::string(24, '\0'), std::string(20, '\0')}, "truncated or mismatched", 5},
      {"unknown op", {unknown.dump()}, "unknown op \"fly\"", 7},
      {"oversized", {big.dump(), std::string(2200000 * 8, '\0')}, "exceeds the limit", 8},
  };
  for (const Case& c : cases) {
    const json r = raw(endpoint_, c.frames);
    ASSERT_FALSE(r.is_null()) << c.what << ": no reply\n" << bridge->output();
    EXPECT_EQ(r["sdm_protocol"], 1) << c.what;
    EXPECT_EQ(r["status"], "error") << c.what;
    EXPECT_EQ(r["id"], c.id) << c.what;
    EXPECT_NE(r["message"].get<std::string>().find(c.expect), std::string::npos) << c.what << ": " << r["message"];
  }
  remote::RemoteBackend client(options());
  EXPECT_NO_THROW(client.status());
  EXPECT_TRUE(bridge->wait_for_line("status", 5.0).has_value()) << bridge->output();
  bridge->signal(SIGTERM);
  const auto rc = bridge->wait(10);
  ASSERT_TRUE(rc.has_value()) << bridge->output();
  EXPECT_EQ(*rc, 0) << bridge->output();
  EXPECT_NE(bridge->output().find("stopped (SIGTERM)"), std::string::npos) << bridge->output();
}

TEST_F(Bridge, TokenRequiredOffLoopbackAndChecked) {
  // Exposed bind without a token: the bridge refuses to start.
  sdm::test::Child exposed({python_, std::string(SDM_SOURCE_DIR) + "/hardware/bridges/sdm_bridge.py", "--bind", "tcp://*:0"});
  const auto rc = exposed.wait(20);
  ASSERT_TRUE(rc.has_value());
  EXPECT_NE(*rc, 0);
  EXPECT_NE(exposed.output().find("set --token"), std::string::npos) << exposed.output();

  auto bridge = start({"--token", "t0k"});
  ASSERT_FALSE(endpoint_.empty()) << bridge->output();
  Microscope none(std::make_unique<remote::RemoteBackend>(options()));
  auto r = none.status();
  EXPECT_EQ(r.status.code, StatusCode::refused);
  EXPECT_NE(r.status.message.find("requires a token"), std::string::npos) << r.status.message;
  remote::RemoteOptions o = options();
  o.token = "t0k";
  Microscope ok(std::make_unique<remote::RemoteBackend>(o));
  EXPECT_TRUE(ok.status().ok());
}

TEST_F(Bridge, UnfilledVendorClassSaysWhatToFillIn) {
  std::vector<std::string> a = {python_, std::string(SDM_SOURCE_DIR) + "/hardware/bridges/sdm_bridge.py", "--bind", "tcp://127.0.0.1:*"};
  sdm::test::Child c(a);
  const auto line = c.wait_for_line("listening on", 20.0);
  ASSERT_TRUE(line.has_value()) << c.output();
  remote::RemoteOptions o;
  o.endpoint = sdm::test::endpoint_in(*line);
  Microscope scope(std::make_unique<remote::RemoteBackend>(o));
  auto r = scope.move_to(0, 0);
  EXPECT_EQ(r.status.code, StatusCode::error);
  EXPECT_NE(r.status.message.find("Instrument.move_tip: call the vendor's tip positioning here"), std::string::npos) << r.status.message;
}
