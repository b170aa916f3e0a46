// The remote protocol: bit-exact round trips, a server that answers every bad request
// with an error and carries on, a client that rejects bad replies, tokens, and the
// lazy-pirate recovery (timeouts, no server, server gone and back). Every server binds
// tcp://127.0.0.1:* and reports its port, so these tests run in parallel.
#include <gtest/gtest.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <thread>
#include <zmq.hpp>
#include <zmq_addon.hpp>

#include "core/error.hpp"
#include "hardware/decorators.hpp"
#include "hardware/remote/protocol.hpp"
#include "hardware/remote/remote_backend.hpp"
#include "hardware_test_support.hpp"

using namespace sdm;
using namespace sdm::hardware;
using nlohmann::json;
using Clock = std::chrono::steady_clock;

namespace {

double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

remote::RemoteOptions client_for(const std::string& endpoint) {
  remote::RemoteOptions o;
  o.endpoint = endpoint;
  o.timeout_s = 5;
  o.connect_timeout_s = 2;
  return o;
}

std::unique_ptr<MicroscopeBackend> replay_backend(int nx = 8, int ny = 6, int points = 251, int channels = 4) {
  return std::make_unique<replay::ReplayBackend>(sdm::test::synthetic_dataset(nx, ny, points, channels));
}

/// Sends raw frames on a fresh REQ and returns the reply's header, or null on no reply.
json raw_request(zmq::context_t& ctx, const std::string& endpoint, std::vector<std::string> frames, double wait_s = 3.0) {
  zmq::socket_t s(ctx, zmq::socket_type::req);
  s.set(zmq::sockopt::linger, 0);
  s.connect(endpoint);
  std::vector<zmq::message_t> msgs;
  for (const std::string& f : frames) msgs.emplace_back(f.data(), f.size());
  zmq::send_multipart(s, msgs);
  zmq::pollitem_t item{s.handle(), 0, ZMQ_POLLIN, 0};
  zmq::poll(&item, 1, std::chrono::milliseconds(long(wait_s * 1000)));
  if (!(item.revents & ZMQ_POLLIN)) return nullptr;
  std::vector<zmq::message_t> reply;
  (void)zmq::recv_multipart(s, std::back_inserter(reply));
  return json::parse(reply.at(0).to_string_view());
}

std::string header(json h) { return h.dump(); }

json status_request(json id = 1) { return {{"sdm_protocol", 1}, {"type", "request"}, {"id", id}, {"op", "status"}}; }

}  // namespace

TEST(Remote, RoundTripIsBitExact) {
  auto data = sdm::test::synthetic_dataset(8, 6, 251, 4);
  sdm::test::ServerThread srv(std::make_unique<replay::ReplayBackend>(data), sdm::test::loopback_any_port());
  ASSERT_EQ(srv.endpoint().rfind("tcp://127.0.0.1:", 0), 0u) << srv.endpoint();
  remote::RemoteBackend client(client_for(srv.endpoint()));
  replay::ReplayBackend local(data);
  EXPECT_NE(client.hello().find("replay:synthetic"), std::string::npos) << client.hello();

  SurveySpec spec;
  spec.channels = {"topography", "ch1", "ch2", "ch3"};
  const SurveyImage a = client.survey(spec), b = local.survey(spec);
  ASSERT_EQ(a.channels.size(), 4u);
  for (std::size_t c = 0; c < 4; ++c) {
    EXPECT_EQ(a.channels[c].name, b.channels[c].name);
    EXPECT_EQ(a.channels[c].unit, b.channels[c].unit);
    EXPECT_EQ(a.channels[c].data, b.channels[c].data);  // exact: float64 frames, not text
  }
  EXPECT_EQ(a.axes.dx_m, b.axes.dx_m);

  const Position p = client.move_to(3.2e-8, 4.9e-8);
  EXPECT_EQ(p.x_m, local.move_to(3.2e-8, 4.9e-8).x_m);
  const core::Waveform w = core::Waveform::triangle();
  const core::IvCurve ca = client.iv_sweep(w), cb = local.iv_sweep(w);
  EXPECT_EQ(ca.current_a, cb.current_a);
  EXPECT_EQ(ca.bias_v, cb.bias_v);
  EXPECT_EQ(ca.time_s, cb.time_s);
  EXPECT_DOUBLE_EQ(ca.current_a[0], 3 + 100.0 * 5);  // pixel (3, 5), first point

  const Capabilities cc = client.capabilities(), lc = local.capabilities();
  EXPECT_EQ(cc.backend, "remote:" + srv.endpoint() + " (" + lc.backend + ")");
  EXPECT_EQ(cc.x_max_m, lc.x_max_m);
  EXPECT_EQ(cc.channels, lc.channels);
  EXPECT_EQ(cc.native_waveform.bias_v, lc.native_waveform.bias_v);
  EXPECT_EQ(cc.signal_unit, "A");
  const MicroscopeStatus st = client.status();
  EXPECT_EQ(st.position.x_m, p.x_m);
  EXPECT_TRUE(st.connected);

  // Backend refusals travel with their code and message.
  Microscope scope(std::make_unique<remote::RemoteBackend>(client_for(srv.endpoint())));
  auto off = scope.move_to(1.0, 1.0);
  EXPECT_EQ(off.status.code, StatusCode::refused);
  EXPECT_NE(off.status.message.find("off the recorded grid"), std::string::npos) << off.status.message;
  EXPECT_NE(off.status.message.find(srv.endpoint()), std::string::npos) << off.status.message;
}

TEST(Remote, TwoClientsShareOneServer) {
  sdm::test::ServerThread srv(replay_backend(), sdm::test::loopback_any_port());
  remote::RemoteBackend a(client_for(srv.endpoint())), b(client_for(srv.endpoint()));
  for (int i = 0; i < 20; ++i) {
    a.move_to(1e-8 * (i % 8), 0);
    EXPECT_EQ(a.iv_sweep(core::Waveform::triangle()).current_a[0], double(i % 8));
    EXPECT_EQ(b.status().position.x_m, 1e-8 * (i % 8));  // one instrument, two views of it
  }
  EXPECT_EQ(srv.server().requests_handled(), 60u);
}

TEST(Remote, ServerAnswersEveryBadRequestWithAnErrorAndCarriesOn) {
  remote::ServerOptions o = sdm::test::loopback_any_port();
  o.max_request_bytes = 1 << 20;
  sdm::test::ServerThread srv(replay_backend(), o);
  zmq::context_t ctx(1);
  const std::string ep = srv.endpoint();

  json sweep = {{"sdm_protocol", 1}, {"type", "request"}, {"id", 7}, {"op", "iv_sweep"}, {"args", json::object()},
                {"arrays", {{{"name", "time_s"}, {"dtype", "<f8"}, {"shape", {251}}}, {{"name", "bias_v"}, {"dtype", "<f8"}, {"shape", {251}}}}}};
  const std::string full(251 * 8, '\0');
  json f4 = sweep;
  f4["arrays"][0]["dtype"] = "<f4";
  json bad_version = status_request();
  bad_version["sdm_protocol"] = 2;
  json no_version = status_request();
  no_version.erase("sdm_protocol");
  json no_id = status_request();
  no_id.erase("id");
  json unknown = status_request(9);
  unknown["op"] = "fly";
  json move_text = {{"sdm_protocol", 1}, {"type", "request"}, {"id", 3}, {"op", "move_to"}, {"args", {{"x_m", "left"}, {"y_m", 0}}}};
  json oversized = {{"sdm_protocol", 1}, {"type", "request"}, {"id", 4}, {"op", "status"}, {"arrays", {{{"name", "junk"}, {"dtype", "<f8"}, {"shape", {196608}}}}}};
  json reply_type = status_request(5);
  reply_type["type"] = "reply";

  struct Case {
    const char* what;
    std::vector<std::string> frames;
    std::string expect;
    json id;
  };
  const std::vector<Case> cases = {
      {"not JSON", {"{this is not json"}, "not valid JSON", nullptr},
      {"not an object", {"[1, 2, 3]"}, "JSON object", nullptr},
      {"no version", {header(no_version)}, "sdm_protocol", 1},
      {"wrong version", {header(bad_version)}, "protocol version 2 is not supported", 1},
      {"no id", {header(no_id)}, "\"id\"", nullptr},
      {"reply sent as request", {header(reply_type)}, "expected a request", 5},
      {"unknown op", {header(unknown)}, "unknown op \"fly\"", 9},
      {"declares 2 arrays, sends 1", {header(sweep), full}, "declares 2 arrays but 1", 7},
      {"truncated frame", {header(sweep), full, full.substr(0, 1000)}, "truncated or mismatched", 7},
      {"float32 array", {header(f4), std::string(251 * 4, '\0'), full}, "dtype must be \"<f8\"", 7},
      {"sweep without arrays", {header(json{{"sdm_protocol", 1}, {"type", "request"}, {"id", 8}, {"op", "iv_sweep"}})}, "needs arrays time_s and bias_v", 8},
      {"text where a number belongs", {header(move_text)}, "must be a number", 3},
      {"oversized", {header(oversized), std::string(196608 * 8, '\0')}, "exceeds the limit", 4},
  };
  for (const Case& c : cases) {
    const json r = raw_request(ctx, ep, c.frames);
    ASSERT_FALSE(r.is_null()) << c.what << ": no reply";
    EXPECT_EQ(r["sdm_protocol"], 1) << c.what;
    EXPECT_EQ(r["type"], "reply") << c.what;
    EXPECT_EQ(r["status"], "error") << c.what;
    EXPECT_EQ(r["id"], c.id) << c.what;
    EXPECT_NE(r["message"].get<std::string>().find(c.expect), std::string::npos) << c.what << ": " << r["message"];
  }
  // Beyond the hard frame cap ZeroMQ drops the connection instead (memory guard): no reply, no crash.
  EXPECT_TRUE(raw_request(ctx, ep, {header(oversized), std::string(3u << 20, '\0')}, 0.5).is_null());
  // Still serving.
  const json ok = raw_request(ctx, ep, {header(status_request(11))});
  EXPECT_EQ(ok["status"], "ok");
  EXPECT_EQ(ok["id"], 11);
  remote::RemoteBackend client(client_for(ep));
  EXPECT_NO_THROW(client.status());
}

TEST(Remote, ClientRejectsMalformedRepliesAndRecovers) {
  zmq::context_t ctx(1);
  zmq::socket_t rep(ctx, zmq::socket_type::rep);
  rep.set(zmq::sockopt::linger, 0);
  rep.bind("tcp://127.0.0.1:*");
  const std::string ep = rep.get(zmq::sockopt::last_endpoint);
  // The fake server answers each request with the next canned (bad) reply, then a good one.
  using Make = std::function<std::vector<std::string>(const json& req)>;
  auto good = [](const json& req, json change = json::object()) {
    json h = {{"sdm_protocol", 1}, {"type", "reply"}, {"id", req["id"]}, {"status", "ok"}, {"message", ""},
              {"result", {{"x_m", 1e-6}, {"y_m", 2e-6}, {"instrument_clock_s", 3.0}, {"connected", true}, {"state", "idle"}}}, {"arrays", json::array()}};
    h.update(change);
    return h;
  };
  const std::vector<std::pair<std::string, Make>> replies = {
      {"not valid JSON", [](const json&) { return std::vector<std::string>{"<html>"}; }},
      {"protocol version 3", [&](const json& r) { return std::vector<std::string>{good(r, {{"sdm_protocol", 3}}).dump()}; }},
      {"does not match", [&](const json& r) { return std::vector<std::string>{good(r, {{"id", r["id"].get<int>() + 100}}).dump()}; }},
      {"declares 1 arrays but 0", [&](const json& r) {
         return std::vector<std::string>{good(r, {{"arrays", {{{"name", "x"}, {"dtype", "<f8"}, {"shape", {2}}}}}}).dump()};
       }},
      {"unknown status code", [&](const json& r) { return std::vector<std::string>{good(r, {{"status", "fine"}}).dump()}; }},
      {"\"instrument_clock_s\"", [&](const json& r) {
         json h = good(r);
         h["result"].erase("instrument_clock_s");
         return std::vector<std::string>{h.dump()};
       }},
      {"", [&](const json& r) { return std::vector<std::string>{good(r).dump()}; }},
  };
  std::thread fake([&] {
    for (const auto& [_, make] : replies) {
      zmq::pollitem_t item{rep.handle(), 0, ZMQ_POLLIN, 0};
      zmq::poll(&item, 1, std::chrono::milliseconds(5000));
      if (!(item.revents & ZMQ_POLLIN)) return;
      std::vector<zmq::message_t> req;
      (void)zmq::recv_multipart(rep, std::back_inserter(req));
      std::vector<zmq::message_t> out;
      for (const std::string& f : make(json::parse(req[0].to_string_view()))) out.emplace_back(f.data(), f.size());
      zmq::send_multipart(rep, out);
    }
  });
  remote::RemoteOptions o = client_for(ep);
  o.retries = 0;
  Microscope scope(std::make_unique<remote::RemoteBackend>(o));
  for (std::size_t i = 0; i + 1 < replies.size(); ++i) {
    auto r = scope.status();
    EXPECT_EQ(r.status.code, StatusCode::error) << replies[i].first;
    EXPECT_NE(r.status.message.find(replies[i].first), std::string::npos) << r.status.message;
    EXPECT_NE(r.status.message.find(ep), std::string::npos) << r.status.message;
  }
  auto r = scope.status();
  EXPECT_TRUE(r.ok()) << r.status.message;
  EXPECT_DOUBLE_EQ(r.value.instrument_clock_s, 3.0);
  fake.join();
}

TEST(Remote, TokensAndLoopbackRules) {
  EXPECT_TRUE(remote::is_loopback_endpoint("tcp://127.0.0.1:5555"));
  EXPECT_TRUE(remote::is_loopback_endpoint("tcp://127.0.0.1:*"));
  EXPECT_TRUE(remote::is_loopback_endpoint("tcp://localhost:5555"));
  EXPECT_TRUE(remote::is_loopback_endpoint("tcp://[::1]:5555"));
  EXPECT_TRUE(remote::is_loopback_endpoint("ipc:///tmp/sdm.sock"));
  EXPECT_FALSE(remote::is_loopback_endpoint("tcp://*:5555"));
  EXPECT_FALSE(remote::is_loopback_endpoint("tcp://0.0.0.0:5555"));
  EXPECT_FALSE(remote::is_loopback_endpoint("tcp://192.168.1.20:5555"));
  EXPECT_FALSE(remote::is_loopback_endpoint("tcp://127.0.0.1.evil.com:5555"));
  EXPECT_FALSE(remote::is_loopback_endpoint("tcp://microscope-pc:5555"));

  remote::ServerOptions bad;
  bad.bind = "tcp://*:0";
  EXPECT_THROW(remote::Server(replay_backend(), bad), sdm::Error);
  remote::RemoteOptions far;
  far.endpoint = "tcp://10.0.0.7:5555";
  EXPECT_THROW(remote::RemoteBackend{far}, sdm::Error);
  far.token = "x";
  EXPECT_NO_THROW(remote::RemoteBackend{far});

  remote::ServerOptions o = sdm::test::loopback_any_port();
  o.token = "s3cret";
  sdm::test::ServerThread srv(replay_backend(), o);
  remote::RemoteOptions c = client_for(srv.endpoint());
  {
    Microscope scope(std::make_unique<remote::RemoteBackend>(c));
    auto r = scope.status();
    EXPECT_EQ(r.status.code, StatusCode::refused);
    EXPECT_NE(r.status.message.find("requires a token"), std::string::npos) << r.status.message;
  }
  c.token = "guess";
  {
    Microscope scope(std::make_unique<remote::RemoteBackend>(c));
    auto r = scope.status();
    EXPECT_EQ(r.status.code, StatusCode::refused);
    EXPECT_NE(r.status.message.find("wrong token"), std::string::npos) << r.status.message;
  }
  c.token = "s3cret";
  Microscope scope(std::make_unique<remote::RemoteBackend>(c));
  EXPECT_TRUE(scope.status().ok());
  EXPECT_TRUE(scope.iv_sweep(core::Waveform::triangle()).ok());
}

TEST(Remote, TimeoutResetsTheSocketAndTheNextCallWorks) {
  LatencyConfig lat;
  lat.status_s = 0.6;  // status hangs; everything else is instant
  sdm::test::ServerThread srv(std::make_unique<LatencyDecorator>(replay_backend(), lat), sdm::test::loopback_any_port());
  remote::RemoteOptions o = client_for(srv.endpoint());
  o.timeout_s = 0.2;
  o.retries = 0;
  auto client = std::make_unique<remote::RemoteBackend>(o);
  remote::RemoteBackend* raw = client.get();
  Microscope scope(std::move(client));
  ASSERT_TRUE(scope.capabilities().ok());
  const auto t0 = Clock::now();
  auto r = scope.status();
  EXPECT_EQ(r.status.code, StatusCode::timeout);
  EXPECT_LT(seconds_since(t0), 0.55);
  EXPECT_NE(r.status.message.find(srv.endpoint()), std::string::npos) << r.status.message;
  EXPECT_NE(r.status.message.find("no reply to status"), std::string::npos) << r.status.message;
  EXPECT_EQ(raw->socket_resets(), 1u);
  // The server is still busy with the stale request; once it is free, a fresh socket works
  // (a REQ that missed its reply would refuse to send: "lazy pirate").
  std::this_thread::sleep_for(std::chrono::milliseconds(600));
  auto m = scope.move_to(2e-8, 1e-8);
  EXPECT_TRUE(m.ok()) << m.status.message;
  auto iv = scope.iv_sweep(core::Waveform::triangle());
  ASSERT_TRUE(iv.ok()) << iv.status.message;
  EXPECT_DOUBLE_EQ(iv.value.current_a[0], 2 + 100.0 * 1);
}

TEST(Remote, NoServerIsDisconnectedPromptlyWithTheEndpoint) {
  std::string ep;
  {
    zmq::context_t ctx(1);
    zmq::socket_t s(ctx, zmq::socket_type::rep);
    s.set(zmq::sockopt::linger, 0);
    s.bind("tcp://127.0.0.1:*");
    ep = s.get(zmq::sockopt::last_endpoint);
  }  // closed: nothing listens there now
  remote::RemoteOptions o = client_for(ep);
  o.connect_timeout_s = 0.3;
  Microscope scope(std::make_unique<remote::RemoteBackend>(o));
  const auto t0 = Clock::now();
  auto r = scope.iv_sweep(core::Waveform::triangle());
  EXPECT_EQ(r.status.code, StatusCode::disconnected);
  EXPECT_LT(seconds_since(t0), 1.5);
  EXPECT_NE(r.status.message.find(ep), std::string::npos) << r.status.message;
  EXPECT_NE(r.status.message.find("no connection"), std::string::npos) << r.status.message;
  // Idempotent calls retry once on a fresh socket, then give the same verdict.
  auto s = scope.status();
  EXPECT_EQ(s.status.code, StatusCode::disconnected);
}

TEST(Remote, ServerGoneMidSequenceThenBack) {
  auto data = sdm::test::synthetic_dataset(8, 6, 251, 1);
  auto srv = std::make_unique<sdm::test::ServerThread>(std::make_unique<replay::ReplayBackend>(data), sdm::test::loopback_any_port());
  const std::string ep = srv->endpoint();
  remote::RemoteOptions o = client_for(ep);
  o.connect_timeout_s = 0.5;
  Microscope scope(std::make_unique<remote::RemoteBackend>(o));
  ASSERT_TRUE(scope.move_to(1e-8, 1e-8).ok());
  ASSERT_TRUE(scope.iv_sweep(core::Waveform::triangle()).ok());
  srv.reset();  // the server process goes away
  const auto t0 = Clock::now();
  auto r = scope.iv_sweep(core::Waveform::triangle());
  EXPECT_EQ(r.status.code, StatusCode::disconnected) << r.status.message;
  EXPECT_LT(seconds_since(t0), 2.0);
  EXPECT_NE(r.status.message.find(ep), std::string::npos) << r.status.message;
  // Back on the same endpoint: the client carries on (its own state is intact).
  remote::ServerOptions so;
  so.bind = ep;
  srv = std::make_unique<sdm::test::ServerThread>(std::make_unique<replay::ReplayBackend>(data), so);
  auto m = scope.move_to(4e-8, 2e-8);
  ASSERT_TRUE(m.ok()) << m.status.message;
  auto iv = scope.iv_sweep(core::Waveform::triangle());
  ASSERT_TRUE(iv.ok()) << iv.status.message;
  EXPECT_DOUBLE_EQ(iv.value.current_a[250], 4 + 100.0 * 2 + 0.01 * 250);
}
