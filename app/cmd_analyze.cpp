// sdm analyze: the dual-VAE structure–property analysis of a recorded campaign
// (bench/analyze_run.hpp). Progress on stderr (one line rewritten in place on a terminal),
// the summary on stdout. Exit status as every command (app/commands.hpp): 0 done, 2 bad input
// (sdm::Error: not a run folder, unreadable record, too few pairs, unusable output), 4
// interrupted. Ctrl-C / SIGTERM: while reading and fitting nothing has been written yet, so the
// process ends at once; once writing has begun (all of it in a hidden staging folder), it stops
// at the next step of the write (figures, analysis.h5, model, analysis.json) and removes the
// staging folder. Either way the output is untouched (the previous analysis, or none). A second
// Ctrl-C kills; what that leaves in the staging folder is removed by the next `sdm analyze`.
#include <CLI/CLI.hpp>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <csignal>
#include <cstdio>
#include <iostream>
#include <mutex>
#include <thread>

#include "app/commands.hpp"
#include "bench/analyze_run.hpp"

namespace sdm::app {

namespace {

struct AnalyzeArgs {
  std::string run_dir;
  std::string output;
  int epochs = -1;
  std::int64_t seed = -1;
  int threads = -1;
  int truth_points = 2000;
  bool no_truth = false;
  bool no_model = false;
};

std::atomic<bool> g_stop{false};
std::atomic<bool> g_writing{false};  // set before the first output file is created

extern "C" void on_analyze_signal(int) {
  if (!g_writing.load()) {  // nothing of ours is on disk: end now
    static const char msg[] = "\nsdm analyze: interrupted; nothing written\n";
    [[maybe_unused]] ssize_t n = ::write(STDERR_FILENO, msg, sizeof msg - 1);
    ::_exit(kInterrupted);
  }
  g_stop.store(true);
  static const char msg[] = "\nsdm analyze: stopping; removing the partial output (press Ctrl-C again to kill)\n";
  [[maybe_unused]] ssize_t n = ::write(STDERR_FILENO, msg, sizeof msg - 1);
}

class Signals {
 public:
  Signals() {
    g_stop.store(false);
    g_writing.store(false);
    struct sigaction sa {};
    sa.sa_handler = on_analyze_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESETHAND;
    sigaction(SIGINT, &sa, &old_int_);
    sigaction(SIGTERM, &sa, &old_term_);
  }
  ~Signals() {
    sigaction(SIGINT, &old_int_, nullptr);
    sigaction(SIGTERM, &old_term_, nullptr);
  }

 private:
  struct sigaction old_int_ {}, old_term_ {};
};

/// Phase lines; on a terminal the current one is rewritten with its elapsed time twice a second.
class PhasePrinter {
 public:
  PhasePrinter() : tty_(::isatty(STDERR_FILENO) == 1) {
    if (tty_) ticker_ = std::thread([this] { tick(); });
  }
  ~PhasePrinter() {
    {
      std::lock_guard<std::mutex> l(m_);
      quit_ = true;
    }
    cv_.notify_all();
    if (ticker_.joinable()) ticker_.join();
    if (tty_ && !text_.empty()) std::cerr << "\n" << std::flush;
  }
  void phase(const std::string& name, const std::string& detail) {
    std::lock_guard<std::mutex> l(m_);
    if (name == "done") return;
    if (tty_ && !text_.empty()) std::cerr << "\n";
    text_ = describe(name, detail);
    start_ = std::chrono::steady_clock::now();
    std::cerr << (tty_ ? "\r\033[K" : "") << text_ << (tty_ ? "" : "\n") << std::flush;
  }

 private:
  static std::string describe(const std::string& name, const std::string& detail) {
    if (name == "read") return "reading the campaign of " + detail;
    if (name == "prepare") return "candidate patches and ground truth (" + detail + ")";
    if (name == "fit") return "fitting the dual VAE and encoding (" + detail + ")";
    if (name == "write") return "writing " + detail;
    return name + " " + detail;
  }
  void tick() {
    std::unique_lock<std::mutex> l(m_);
    while (!cv_.wait_for(l, std::chrono::milliseconds(500), [this] { return quit_; })) {
      if (text_.empty()) continue;
      const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
      char buf[32];
      std::snprintf(buf, sizeof buf, "  %.0f s", s);
      std::cerr << "\r\033[K" << text_ << buf << std::flush;
    }
  }
  bool tty_;
  std::mutex m_;
  std::condition_variable cv_;
  bool quit_ = false;
  std::string text_;
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
  std::thread ticker_;
};

int analyze(const AnalyzeArgs& a) {
  bench::AnalyzeRunOptions o;
  o.output = a.output;
  o.epochs = a.epochs;
  o.seed = a.seed;
  o.threads = a.threads;
  o.truth_points = a.truth_points;
  o.ground_truth = !a.no_truth;
  o.save_model = !a.no_model;
  o.stop = &g_stop;
  Signals signals;
  bench::AnalyzeRunSummary s;
  {
    PhasePrinter printer;
    o.on_phase = [&](const std::string& phase, const std::string& detail) {
      if (phase == "write") g_writing.store(true);  // before anything is created
      printer.phase(phase, detail);
    };
    s = bench::analyze_run(a.run_dir, o);
  }
  for (const auto& w : s.warnings) std::cerr << "sdm analyze: note: " << w << "\n";
  if (s.interrupted) {
    std::cerr << "sdm analyze: interrupted; nothing written\n";
    return kInterrupted;
  }
  std::cout << bench::format_summary(s) << std::flush;
  return kOk;
}

}  // namespace

void add_analyze_command(CLI::App& root, Action& action) {
  auto* cmd = root.add_subcommand(
      "analyze",
      "Dual-VAE structure-property analysis of a recorded campaign: fits the image and spectrum VAEs on the measured "
      "(patch, curve) pairs, encodes every candidate patch, predicts curves at the unmeasured ones, clusters the joint "
      "latent and writes figures (PNG), analysis.h5, analysis.json and the model into <run dir>/analysis/ (replacing an "
      "earlier analysis there; the run's own files are only read). On a twin campaign the film is rebuilt for ground "
      "truth (motif separability, im2spec error); on a replay, the recorded spectra are the truth. Exit 2: bad input, "
      "nothing written; 4: interrupted, nothing written.");
  auto args = std::make_shared<AnalyzeArgs>();
  cmd->add_option("run_dir", args->run_dir, "Run folder written by `sdm run` (campaign.h5 and/or steps.journal)")->required();
  cmd->add_option("--output", args->output, "Output folder (default <run dir>/analysis); an earlier analysis there is replaced");
  cmd->add_option("--epochs", args->epochs, "Training epochs (default: the scenario's [vae] epochs)")->check(CLI::NonNegativeNumber);
  cmd->add_option("--seed", args->seed, "Seed of the model, mixtures and subsets (default: the campaign seed)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--threads", args->threads, "Threads of the VAE kernel (default: [vae] threads; 0: all cores, up to 8)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--truth-points", args->truth_points,
                  "Unmeasured candidates scored against ground truth for im2spec, a seeded subset (0: all; default 2000)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_flag("--no-truth", args->no_truth, "Skip ground truth even where the backend has it");
  cmd->add_flag("--no-model", args->no_model, "Do not save the trained model (dual_vae.pt)");
  cmd->callback([&action, args] { action = [args] { return analyze(*args); }; });
}

}  // namespace sdm::app
