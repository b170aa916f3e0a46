// sdm run: one campaign of a scenario (one strategy, one seed) into a fresh run folder, or
// the continuation of a stopped one (--resume). Ctrl-C / SIGTERM stop it cleanly after the
// step in flight (a second Ctrl-C kills at once); exit status 4 means "stopped, resumable".
#include <CLI/CLI.hpp>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>

#include "app/commands.hpp"
#include "bench/microscope_setup.hpp"
#include "bench/scenario.hpp"
#include "core/error.hpp"
#include "core/run_directory.hpp"
#include "engine/campaign/campaign.hpp"
#include "engine/campaign/campaign_file.hpp"
#include "engine/campaign/spec_json.hpp"
#include "engine/campaign/step_journal.hpp"

namespace sdm::app {

namespace {

namespace C = engine::campaign;

struct RunArgs {
  std::string scenario;
  std::string strategy;
  std::string results = "results/runs";
  std::string resume;
  std::int64_t seed = -1;
  int progress_every = 10;
  std::int64_t truncate_journal_at = -1;
};

std::atomic<bool> g_stop{false};
static_assert(std::atomic<bool>::is_always_lock_free, "the stop flag is set from a signal handler");

extern "C" void on_stop_signal(int) {
  g_stop.store(true);
  static const char msg[] = "\nsdm run: stopping after the measurement in flight (press Ctrl-C again to kill)\n";
  [[maybe_unused]] ssize_t n = ::write(STDERR_FILENO, msg, sizeof msg - 1);
}

/// SIGINT/SIGTERM set the stop flag once; SA_RESETHAND makes a second one fatal as usual.
class StopSignals {
 public:
  StopSignals() {
    g_stop.store(false);
    struct sigaction sa {};
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESETHAND;
    sigaction(SIGINT, &sa, &old_int_);
    sigaction(SIGTERM, &sa, &old_term_);
  }
  ~StopSignals() {
    sigaction(SIGINT, &old_int_, nullptr);
    sigaction(SIGTERM, &old_term_, nullptr);
  }

 private:
  struct sigaction old_int_ {}, old_term_ {};
};

std::string hms(double s) {
  if (!(s >= 0) || s > 1e7) return "--";
  const long t = static_cast<long>(s + 0.5);
  char buf[32];
  if (t >= 3600) std::snprintf(buf, sizeof buf, "%ldh%02ldm%02lds", t / 3600, (t / 60) % 60, t % 60);
  else if (t >= 60) std::snprintf(buf, sizeof buf, "%ldm%02lds", t / 60, t % 60);
  else std::snprintf(buf, sizeof buf, "%lds", t);
  return buf;
}

/// On a terminal: one line rewritten in place. Otherwise a plain line every `every` steps or
/// 30 s, and at the last step.
class ProgressPrinter {
 public:
  explicit ProgressPrinter(int every) : tty_(::isatty(STDERR_FILENO) == 1), every_(std::max(1, every)) {}
  ~ProgressPrinter() { done(); }
  void operator()(const C::Progress& p) {
    const auto now = std::chrono::steady_clock::now();
    std::ostringstream line;
    line << "step " << p.step << "/" << p.budget << "  elapsed " << hms(p.elapsed_s) << "  ETA " << hms(p.eta_s)
         << "  decision " << std::fixed;
    line.precision(3);
    line << p.decision_latency_s << " s  instrument clock ";
    line.precision(1);
    line << p.instrument_clock_s << " s";
    if (tty_) {
      std::cerr << "\r\033[K" << line.str() << std::flush;
      open_line_ = true;
    } else if (p.step % every_ == 0 || p.step == p.budget || now - last_ >= std::chrono::seconds(30)) {
      std::cerr << line.str() << "\n" << std::flush;
      last_ = now;
    }
  }
  void done() {
    if (open_line_) std::cerr << "\n" << std::flush;
    open_line_ = false;
  }

 private:
  bool tty_;
  int every_;
  bool open_line_ = false;
  std::chrono::steady_clock::time_point last_ = std::chrono::steady_clock::now();
};

int exit_status(const C::CampaignOutcome& o) {
  switch (o.end) {
    case C::CampaignEnd::completed:
    case C::CampaignEnd::time_budget: return kOk;
    case C::CampaignEnd::interrupted:
    case C::CampaignEnd::instrument_failure: return kInterrupted;
    case C::CampaignEnd::safety_trip:
    case C::CampaignEnd::refused: return kStopped;
  }
  return kFailed;
}

std::string manifest_status(const C::CampaignOutcome& o) {
  return o.end == C::CampaignEnd::completed || o.end == C::CampaignEnd::time_budget ? "ok" : C::to_string(o.end);
}

void report(const C::CampaignOutcome& o, const std::filesystem::path& dir) {
  std::cerr << "sdm run: " << C::to_string(o.end) << ": " << o.message << "\n";
  std::cout << dir.string() << "\n";
}

int run_new(const RunArgs& a) {
  bench::Scenario sc = bench::load_scenario(a.scenario);
  const engine::acquisition::StrategyConfig* strategy = &sc.strategies.front();
  if (!a.strategy.empty()) {
    strategy = nullptr;
    std::string labels;
    for (const auto& s : sc.strategies) {
      if (s.label == a.strategy) strategy = &s;
      labels += (labels.empty() ? "" : ", ") + s.label;
    }
    if (!strategy) throw Error("--strategy " + a.strategy + ": no [[strategy]] with that label in " + a.scenario + "; labels: " + labels);
  }
  const std::uint64_t seed = a.seed >= 0 ? static_cast<std::uint64_t>(a.seed) : sc.campaign.seed;
  core::check_writable(a.results);
  const std::filesystem::path dir = core::create_run_directory(a.results, sc.name);
  const core::RunFolderLock lock = core::RunFolderLock::acquire(dir);

  C::CampaignSpec spec;
  spec.campaign = sc.campaign;
  spec.strategy = *strategy;
  spec.dkl = sc.dkl;
  spec.seed = seed;
  spec.directory = dir;
  spec.scenario_text = sc.text;
  spec.scenario_path = std::filesystem::absolute(sc.path).lexically_normal().string();

  bench::MicroscopeSetup setup;
  try {
    setup = bench::make_microscope(sc, seed, dir);
  } catch (...) {  // a bad backend configuration or data file: leave nothing behind
    setup = {};
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
    throw;
  }
  core::Manifest manifest("run", sc.name, spec.scenario_path, sc.text, seed);
  manifest.extra()["strategy"] = C::config_to_json(*strategy);
  manifest.extra()["backend"] = sc.backend.kind;
  manifest.write(dir);  // status "running" until finish

  StopSignals signals;
  ProgressPrinter printer(a.progress_every);
  C::CampaignOutcome o;
  try {
    o = C::run_campaign(spec, *setup.microscope, [&](const C::Progress& p) { printer(p); }, &g_stop);
  } catch (const std::exception& e) {
    printer.done();
    manifest.finish(std::string("failed: ") + e.what());
    manifest.write(dir);
    throw;
  }
  printer.done();
  if (!std::filesystem::exists(C::journal_path(dir))) {  // never got past the survey: nothing to resume
    manifest.finish("failed: " + o.message);
    manifest.write(dir);
    std::cerr << "sdm run: " << o.message << "\n";
    return kFailed;
  }
  manifest.extra()["steps"] = o.steps.size();
  manifest.extra()["end"] = C::to_string(o.end);
  manifest.extra()["message"] = o.message;
  manifest.finish(manifest_status(o));
  manifest.write(dir);
  report(o, dir);
  return exit_status(o);
}

/// Adds a "resumes" entry to the run's manifest.json (creating a minimal one if it is gone).
void update_manifest(const std::filesystem::path& dir, const nlohmann::json& entry, const std::string* status) {
  nlohmann::json m = nlohmann::json::object();
  if (std::ifstream f(dir / "manifest.json"); f) {
    try {
      m = nlohmann::json::parse(f);
    } catch (const nlohmann::json::exception&) {
      m = nlohmann::json::object();
    }
  }
  if (status) {
    m["status"] = *status;
    m["end_time"] = core::Manifest::now_utc_iso8601();
    m["resumes"].back().merge_patch(entry);
  } else {
    m["resumes"].push_back(entry);
  }
  core::write_file_atomically(dir / "manifest.json", m.dump(2));
}

int run_resume(const RunArgs& a) {
  const std::filesystem::path dir = a.resume;
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec)) throw Error("--resume " + a.resume + ": not a folder");
  const core::RunFolderLock lock = core::RunFolderLock::acquire(dir);  // before anything is read or written
  if (a.truncate_journal_at >= 0) {
    const std::filesystem::path journal = C::journal_path(dir);
    if (!std::filesystem::exists(journal, ec)) throw Error(journal.string() + ": campaign journal not found");
    if (C::read_journal(journal).frames_after_damage.empty())
      throw Error("--truncate-journal-at: " + journal.string() +
                  " has no damaged frame before intact ones; it resumes without it (a torn last frame is cut off as usual)");
    C::truncate_journal_at(journal, static_cast<std::uint64_t>(a.truncate_journal_at));
    std::cerr << "sdm run: cut " << journal.string() << " after measurement " << a.truncate_journal_at
              << " (the rest is kept beside it as steps.journal.cut-*)\n";
  }
  const C::CampaignData recorded = C::read_campaign_journal(C::journal_path(dir));
  const C::CampaignSpec spec = C::spec_from_json(recorded.spec, C::journal_path(dir).string());
  if (spec.scenario_text.empty()) throw Error(C::journal_path(dir).string() + ": the campaign records no scenario text to rebuild its microscope from");
  const bench::Scenario sc =
      bench::parse_scenario(spec.scenario_text, spec.scenario_path.empty() ? (dir / "scenario.toml").string() : spec.scenario_path);

  update_manifest(dir, {{"started_utc", core::Manifest::now_utc_iso8601()}, {"from_step", recorded.steps.size()}}, nullptr);
  bench::MicroscopeSetup setup = bench::make_microscope(sc, spec.seed, dir);
  bench::fast_forward(setup, recorded);
  std::cerr << "sdm run: resuming " << dir.string() << " at measurement " << recorded.steps.size() << " of " << spec.campaign.budget
            << "\n";
  StopSignals signals;
  ProgressPrinter printer(a.progress_every);
  C::CampaignOutcome o;
  try {
    o = C::resume_campaign(dir, *setup.microscope, [&](const C::Progress& p) { printer(p); }, &g_stop);
  } catch (const std::exception& e) {
    printer.done();
    const std::string st = std::string("failed: ") + e.what();
    update_manifest(dir, {{"end", "failed"}}, &st);
    throw;
  }
  printer.done();
  const std::string st = manifest_status(o);
  update_manifest(dir, {{"end", C::to_string(o.end)}, {"steps", o.steps.size()}, {"message", o.message}}, &st);
  report(o, dir);
  return exit_status(o);
}

}  // namespace

void add_run_command(CLI::App& root, Action& action) {
  auto* cmd = root.add_subcommand(
      "run",
      "Run one campaign of a scenario on its backend (default: the digital twin) into a new run folder "
      "<results>/<scenario>/<timestamp>/ (campaign.h5, steps.journal, checkpoint/, manifest.json), or continue a "
      "stopped one with --resume. Exit status 4: stopped (Ctrl-C, instrument failure) and resumable; 5: stopped by a safety trip or a refusal "
      "(not retried; fix the cause, then --resume).");
  auto args = std::make_shared<RunArgs>();
  auto* scenario = cmd->add_option("scenario", args->scenario, "Scenario .toml file");
  cmd->add_option("--strategy", args->strategy, "Label of the [[strategy]] to run (default: the first)");
  cmd->add_option("--seed", args->seed, "Campaign seed (default: [campaign] seed)")->check(CLI::NonNegativeNumber);
  cmd->add_option("--results", args->results, "Results root (default results/runs)");
  cmd->add_option("--progress-every", args->progress_every, "Without a terminal: a progress line every N measurements (default 10)")
      ->check(CLI::PositiveNumber);
  auto* resume = cmd->add_option("--resume", args->resume, "Continue the campaign recorded in this run folder");
  resume->excludes(scenario);
  cmd->add_option("--truncate-journal-at", args->truncate_journal_at,
                  "With --resume, when the journal has a damaged frame before intact ones: keep its first N measurements "
                  "and continue from there (the cut-off part is kept beside it)")
      ->check(CLI::NonNegativeNumber)
      ->needs(resume);
  cmd->callback([&action, args, cmd] {
    if (args->resume.empty() && args->scenario.empty())
      throw CLI::RequiredError("sdm run needs a scenario file or --resume <run folder>");
    if (!args->resume.empty() && (cmd->count("--strategy") || cmd->count("--seed") || cmd->count("--results")))
      throw CLI::ValidationError("--resume", "--strategy, --seed and --results come from the recorded campaign; drop them");
    action = [args] { return args->resume.empty() ? run_new(*args) : run_resume(*args); };
  });
}

}  // namespace sdm::app
