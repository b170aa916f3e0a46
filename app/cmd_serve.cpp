// sdm serve: serves a backend (replay, twin) over the sdm remote protocol, so campaigns
// can run against a separate process exactly as against a microscope PC.
#include <CLI/CLI.hpp>
#include <atomic>
#include <csignal>
#include <cstdlib>
#include <iostream>
#include <sstream>

#include "app/commands.hpp"
#include "bench/scenario.hpp"
#include "core/error.hpp"
#include "hardware/backend_factory.hpp"
#include "hardware/remote/protocol.hpp"
#include "hardware/remote/server.hpp"
#include "hardware/replay/dataset.hpp"
#include "hardware/replay/replay_backend.hpp"
#include "hardware/twin/twin_backend.hpp"
#include "sim/film_config.hpp"

namespace sdm::app {
namespace {

std::atomic<bool> g_stop{false};
std::atomic<int> g_signal{0};

extern "C" void on_signal(int sig) {
  g_signal.store(sig);
  g_stop.store(true);
}

struct ServeArgs {
  std::string backend;
  std::string bind = "tcp://127.0.0.1:5555";
  std::string scenario;
  std::string dataset;
  std::string token;
  std::string journal;
  bool verbose = false;
};

int run_serve(const ServeArgs& a) {
  hardware::BackendConfig cfg;
  bench::Scenario sc;
  const bool have_scenario = !a.scenario.empty();
  if (have_scenario) {
    sc = bench::load_scenario(a.scenario);
    cfg = sc.backend;
  }
  std::string kind = !a.backend.empty() ? a.backend : !a.dataset.empty() ? "replay" : have_scenario ? cfg.kind : std::string();
  if (kind.empty()) throw Error("sdm serve: say what to serve: --backend replay|twin (or --scenario with a [backend] kind)");
  if (kind == "remote") throw Error("sdm serve: --backend remote would serve a remote instrument; serve it where it runs (twin or replay here)");
  if (!a.dataset.empty()) {
    cfg.path = a.dataset;
    cfg.format = "auto";
  }
  if (!a.token.empty()) cfg.token = a.token;
  if (cfg.token.empty())
    if (const char* t = std::getenv("SDM_SERVE_TOKEN")) cfg.token = t;
  cfg.journal = a.journal.empty() ? "off" : a.journal;
  cfg.survey_path.clear();  // a served backend answers surveys itself

  std::unique_ptr<hardware::MicroscopeBackend> backend;
  std::string what;
  if (kind == "replay") {
    if (cfg.path.empty()) throw Error("sdm serve --backend replay: needs --dataset FILE or a --scenario whose [backend] has path = \"…\"");
    cfg.kind = "replay";
    auto replay = hardware::make_replay_backend(cfg);
    const auto data = replay->shared_dataset();
    what = "replay of " + data->source + " (" + std::to_string(data->nx()) + "x" + std::to_string(data->ny()) + " pixels x " +
           std::to_string(data->n_points()) + " points, " + data->signal_name + " [" + data->signal_unit + "])";
    backend = std::move(replay);
  } else if (kind == "twin") {
    // Built from the scenario's [film]/[instrument] and [campaign] seed (defaults without one).
    const std::uint64_t seed = sc.campaign.seed;
    backend = hardware::twin::make_twin_backend(sc.film, sc.instrument, seed);
    std::ostringstream d;
    d << "digital twin (film " << sc.film.size_px << "x" << sc.film.size_px << " px over " << sc.film.scan_size_m * 1e6
      << " um, campaign seed " << seed << ", film seed " << sim::film_seed(sc.film, seed)
      << (have_scenario ? ", from " + a.scenario : std::string(", default [film]/[instrument]")) << ")";
    what = d.str();
  } else {
    throw Error("sdm serve: --backend must be twin or replay, got \"" + kind + "\"");
  }
  backend = hardware::wrap_backend(std::move(backend), cfg, {});

  hardware::remote::ServerOptions so;
  so.bind = a.bind;
  so.token = cfg.token;
  so.server_name = "sdm serve 0.1.0";
  if (a.verbose) so.log = [](const std::string& line) { std::cout << "sdm serve: " << line << std::endl; };
  hardware::remote::Server server(std::move(backend), so);

  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = 0;  // no SA_RESTART: poll returns EINTR and the loop sees the flag
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);

  std::cout << "sdm serve: " << what << "\n"
            << "sdm serve: listening on " << server.endpoint() << " (sdm protocol " << hardware::remote::kProtocolVersion
            << (so.token.empty() ? ", no token" : ", token required") << "); Ctrl-C or SIGTERM stops" << std::endl;
  server.serve(g_stop, 0.1);
  const int sig = g_signal.load();
  std::cout << "sdm serve: stopped (" << (sig == SIGINT ? "SIGINT" : sig == SIGTERM ? "SIGTERM" : "signal") << ") after "
            << server.requests_handled() << " requests" << std::endl;
  return kOk;
}

}  // namespace

void add_serve_command(CLI::App& root, Action& action) {
  auto* cmd = root.add_subcommand("serve", "Serve a backend (replay, twin) over the sdm remote protocol (ZeroMQ; docs/protocol.md)");
  auto args = std::make_shared<ServeArgs>();
  cmd->add_option("--backend", args->backend, "What to serve: replay or twin (default: the scenario's [backend] kind)")
      ->check(CLI::IsMember({"replay", "twin"}));
  cmd->add_option("--bind", args->bind, "ZeroMQ endpoint; tcp://127.0.0.1:* picks a free port (printed). Non-loopback needs --token")
      ->capture_default_str();
  cmd->add_option("--scenario", args->scenario, "Scenario file: [backend] (replay path, limits, token), [film]/[instrument] for the twin");
  cmd->add_option("--dataset", args->dataset, "Replay this dataset file (.h5 NSID, .npz, .npy) instead of the scenario's");
  cmd->add_option("--token", args->token, "Shared secret clients must send (or env SDM_SERVE_TOKEN)");
  cmd->add_option("--journal", args->journal, "Append every command and reply to this file (JSON lines)");
  cmd->add_flag("--verbose,-v", args->verbose, "Log each request on stdout");
  cmd->callback([&action, args] { action = [args] { return run_serve(*args); }; });
}

}  // namespace sdm::app
