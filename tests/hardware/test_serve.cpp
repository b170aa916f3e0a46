// `sdm serve` as a separate process (the built binary, SDM_BINARY): it prints where it
// listens, logs requests with --verbose, stops cleanly on SIGTERM/SIGINT, refuses an
// exposed bind without a token, and — the kill-the-server test — a client whose server is
// killed mid-sequence gets `disconnected` promptly with the endpoint named, and carries on
// once a server is back on the same endpoint.
#include <gtest/gtest.h>

#include <chrono>
#include <iostream>
#include <thread>

#include "hardware/remote/remote_backend.hpp"
#include "hardware/replay/dataset.hpp"
#include "hardware/twin/twin_backend.hpp"
#include "sim/film_config.hpp"
#include "hardware_test_support.hpp"
#include "sdm_test_support.hpp"

using namespace sdm;
using namespace sdm::hardware;
using Clock = std::chrono::steady_clock;

namespace {

std::vector<std::string> serve_args(const std::string& bind, std::vector<std::string> extra = {}) {
  std::vector<std::string> a = {SDM_BINARY, "serve", "--dataset", sdm::test::beps_path().string(), "--bind", bind};
  a.insert(a.end(), extra.begin(), extra.end());
  return a;
}

/// Starts sdm serve and returns the endpoint it reports ("" if it did not come up).
std::string start(sdm::test::Child& c) {
  const auto line = c.wait_for_line("listening on", 20.0);
  return line ? sdm::test::endpoint_in(*line) : std::string();
}

}  // namespace

TEST(Serve, KilledServerGivesDisconnectedThenTheCampaignContinues) {
  const std::string raw = sdm::test::read_bytes(sdm::test::beps_path());
  auto expected = [&](int ix, int iy, int k) { return sdm::test::le_f64(raw, 9112 + 8 * (std::size_t(ix) * 50 * 64 + std::size_t(iy) * 64 + k)); };
  const double dx = 2e-6 / 49;

  auto server = std::make_unique<sdm::test::Child>(serve_args("tcp://127.0.0.1:*"));
  ASSERT_TRUE(server->started());
  const std::string ep = start(*server);
  ASSERT_FALSE(ep.empty()) << server->output();

  remote::RemoteOptions o;
  o.endpoint = ep;
  o.timeout_s = 5;
  o.connect_timeout_s = 1.0;
  Microscope scope(std::make_unique<remote::RemoteBackend>(o));
  // A short campaign: three points.
  const int pts[][2] = {{1, 2}, {10, 20}, {30, 40}, {45, 5}, {7, 7}};
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(scope.move_to(pts[i][0] * dx, pts[i][1] * dx).ok());
    auto iv = scope.iv_sweep(core::Waveform::triangle());
    ASSERT_TRUE(iv.ok()) << iv.status.message;
    EXPECT_EQ(iv.value.current_a[5], expected(pts[i][0], pts[i][1], 5));
  }
  // Kill it mid-campaign, no goodbye.
  server->signal(SIGKILL);
  ASSERT_TRUE(server->wait(10).has_value());
  const auto t0 = Clock::now();
  auto lost = scope.iv_sweep(core::Waveform::triangle());
  const double waited = std::chrono::duration<double>(Clock::now() - t0).count();
  EXPECT_TRUE(lost.status.code == StatusCode::disconnected || lost.status.code == StatusCode::timeout) << to_string(lost.status.code);
  EXPECT_LT(waited, 3.0) << "the client must give up promptly";
  EXPECT_NE(lost.status.message.find(ep), std::string::npos) << lost.status.message;
  EXPECT_TRUE(lost.value.current_a.empty());
  std::cout << "after the kill, in " << waited << " s: " << to_string(lost.status.code) << ": " << lost.status.message << "\n";

  // Restart on the same endpoint; the same client continues where it stopped.
  server = std::make_unique<sdm::test::Child>(serve_args(ep));
  ASSERT_EQ(start(*server), ep) << server->output();
  for (int i = 3; i < 5; ++i) {
    auto m = scope.move_to(pts[i][0] * dx, pts[i][1] * dx);
    ASSERT_TRUE(m.ok()) << m.status.message;
    auto iv = scope.iv_sweep(core::Waveform::triangle());
    ASSERT_TRUE(iv.ok()) << iv.status.message;
    EXPECT_EQ(iv.value.current_a[63], expected(pts[i][0], pts[i][1], 63));
  }
}

TEST(Serve, KilledDuringASweepGivesDisconnectedAtOnce) {
  // The scenario's [backend] latency_s makes each served call take 3 s: time to kill it mid-call.
  sdm::test::TempDir dir;
  sdm::test::write_text(dir / "slow.toml", "[backend]\nkind = \"replay\"\npath = \"" + sdm::test::beps_path().string() + "\"\nlatency_s = 3.0\n");
  sdm::test::Child server({SDM_BINARY, "serve", "--scenario", (dir / "slow.toml").string(), "--bind", "tcp://127.0.0.1:*"});
  const std::string ep = start(server);
  ASSERT_FALSE(ep.empty()) << server.output();
  remote::RemoteOptions o;
  o.endpoint = ep;
  o.timeout_s = 30;
  Microscope scope(std::make_unique<remote::RemoteBackend>(o));
  std::thread killer([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(700));
    server.signal(SIGKILL);
  });
  const auto t0 = Clock::now();
  auto r = scope.iv_sweep(core::Waveform::triangle());
  const double waited = std::chrono::duration<double>(Clock::now() - t0).count();
  killer.join();
  EXPECT_EQ(r.status.code, StatusCode::disconnected) << r.status.message;
  EXPECT_LT(waited, 2.5) << "must not wait for the 30 s timeout nor the 3 s call";
  EXPECT_NE(r.status.message.find("connection lost while waiting for the reply to iv_sweep"), std::string::npos) << r.status.message;
  EXPECT_NE(r.status.message.find(ep), std::string::npos) << r.status.message;
}

TEST(Serve, VerboseLogsRequestsAndSigtermStopsCleanly) {
  sdm::test::TempDir dir;
  sdm::test::Child server(serve_args("tcp://127.0.0.1:*", {"--verbose", "--journal", (dir / "j.log").string()}));
  const std::string ep = start(server);
  ASSERT_FALSE(ep.empty()) << server.output();
  EXPECT_NE(server.output().find("replay of"), std::string::npos) << server.output();
  EXPECT_NE(server.output().find("50x50 pixels x 64 points, Piezoresponse [a.u.]"), std::string::npos) << server.output();
  {
    remote::RemoteOptions o;
    o.endpoint = ep;
    remote::RemoteBackend client(o);
    client.capabilities();
    client.move_to(0, 0);
  }
  EXPECT_TRUE(server.wait_for_line("move_to", 5.0).has_value()) << server.output();
  server.signal(SIGTERM);
  const auto rc = server.wait(10);
  ASSERT_TRUE(rc.has_value()) << "did not stop on SIGTERM: " << server.output();
  EXPECT_EQ(*rc, 0) << server.output();
  EXPECT_NE(server.output().find("stopped (SIGTERM) after 2 requests"), std::string::npos) << server.output();
  EXPECT_NE(sdm::test::read_bytes(dir / "j.log").find("\"op\":\"move_to\""), std::string::npos);

  sdm::test::Child again(serve_args("tcp://127.0.0.1:*"));
  ASSERT_FALSE(start(again).empty());
  again.signal(SIGINT);
  const auto rc2 = again.wait(10);
  ASSERT_TRUE(rc2.has_value());
  EXPECT_EQ(*rc2, 0);
  EXPECT_NE(again.output().find("stopped (SIGINT)"), std::string::npos) << again.output();
}

TEST(Serve, ScenarioTokenAndBadInput) {
  // The shipped replay scenario resolves its dataset relative to the scenario file.
  sdm::test::Child s({SDM_BINARY, "serve", "--scenario", std::string(SDM_SOURCE_DIR) + "/scenarios/replay_beps_pto.toml", "--bind", "tcp://127.0.0.1:*"});
  const std::string ep = start(s);
  ASSERT_FALSE(ep.empty()) << s.output();
  EXPECT_NE(s.output().find("BEPS_PTO_50x50.h5"), std::string::npos) << s.output();
  s.signal(SIGTERM);
  EXPECT_EQ(s.wait(10).value_or(-1), 0);

  // Exposed bind without a token: refused with a clear message, exit status 2.
  auto r = sdm::test::run_sdm("serve --dataset '" + sdm::test::beps_path().string() + "' --bind 'tcp://*:0'");
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("set a shared token"), std::string::npos) << r.output;
  // A token given: every request must carry it.
  sdm::test::Child t(serve_args("tcp://127.0.0.1:*", {"--token", "abc"}));
  const std::string tep = start(t);
  ASSERT_FALSE(tep.empty()) << t.output();
  EXPECT_NE(t.output().find("token required"), std::string::npos);
  remote::RemoteOptions o;
  o.endpoint = tep;
  Microscope no_token(std::make_unique<remote::RemoteBackend>(o));
  EXPECT_EQ(no_token.status().status.code, StatusCode::refused);
  o.token = "abc";
  Microscope with_token(std::make_unique<remote::RemoteBackend>(o));
  EXPECT_TRUE(with_token.status().ok());
  // Missing or corrupt dataset.
  r = sdm::test::run_sdm("serve --dataset /nonexistent/x.h5 --bind 'tcp://127.0.0.1:*'");
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("/nonexistent/x.h5"), std::string::npos) << r.output;
  r = sdm::test::run_sdm("serve --bind 'tcp://127.0.0.1:*'");
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("--backend"), std::string::npos) << r.output;
}

TEST(Serve, ServedTwinIsTheSameTwinAsInProcess) {
  // Same [film], [instrument] and seed, same call sequence ⇒ bit-identical answers through
  // `sdm serve --backend twin` as from the twin in this process: the network is transparent.
  const std::string film = "size_px = 48\nscan_size_m = 1.0e-6\ngrain_mean_m = 0.3e-6\n";
  sdm::test::TempDir dir;
  sdm::test::write_text(dir / "twin.toml", "[film]\n" + film + "[campaign]\nseed = 42\n");
  sdm::test::Child server({SDM_BINARY, "serve", "--backend", "twin", "--scenario", (dir / "twin.toml").string(), "--bind", "tcp://127.0.0.1:*"});
  const std::string ep = start(server);
  ASSERT_FALSE(ep.empty()) << server.output();
  EXPECT_NE(server.output().find("digital twin (film 48x48 px"), std::string::npos) << server.output();
  remote::RemoteOptions o;
  o.endpoint = ep;
  Microscope served(std::make_unique<remote::RemoteBackend>(o));
  Microscope local(twin::make_twin_backend(sim::parse_film_config(film), sim::InstrumentConfig{}, 42));

  SurveySpec spec;
  spec.channels = {"topography", "current"};
  auto a = served.survey(spec), b = local.survey(spec);
  ASSERT_TRUE(a.ok()) << a.status.message;
  ASSERT_TRUE(b.ok()) << b.status.message;
  EXPECT_EQ(a.value.channels[1].unit, "A");
  for (std::size_t c = 0; c < 2; ++c) EXPECT_EQ(a.value.channels[c].data, b.value.channels[c].data);
  for (const auto& [x, y] : {std::pair{0.2e-6, 0.3e-6}, std::pair{0.7e-6, 0.1e-6}}) {
    auto ma = served.move_to(x, y), mb = local.move_to(x, y);
    ASSERT_TRUE(ma.ok() && mb.ok());
    EXPECT_EQ(ma.value.x_m, mb.value.x_m);
    auto ia = served.iv_sweep(core::Waveform::triangle()), ib = local.iv_sweep(core::Waveform::triangle());
    ASSERT_TRUE(ia.ok()) << ia.status.message;
    ASSERT_TRUE(ib.ok()) << ib.status.message;
    EXPECT_EQ(ia.value.current_a, ib.value.current_a);
    EXPECT_EQ(ia.value.time_s, ib.value.time_s);
  }
  auto ca = served.capabilities();
  ASSERT_TRUE(ca.ok());
  EXPECT_EQ(ca.value.signal_name, "current");
  EXPECT_EQ(served.status().value.instrument_clock_s, local.status().value.instrument_clock_s);
}
