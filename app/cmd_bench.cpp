// sdm bench: every strategy of a scenario × its seeds on the twin (or a replayed recording),
// metrics against ground truth, tables, plots and a self-contained HTML report.
#include <CLI/CLI.hpp>
#include <atomic>
#include <csignal>
#include <iostream>
#include <unistd.h>

#include "app/bench_signals.hpp"
#include "app/commands.hpp"
#include "bench/runner.hpp"
#include "bench/scenario.hpp"

namespace sdm::app {

namespace {
struct BenchArgs {
  std::string scenario;
  std::string results = "results/runs";
  std::string resume;
  int workers = 0;
  bool quiet = false;
};

int run_bench_command(const BenchArgs& a) {
  // Everything that can be wrong with the input is checked before anything is written.
  const bench::Scenario sc = bench::load_scenario(a.scenario);
  bench::BenchOptions o;
  o.results_root = a.results;
  o.resume = a.resume;
  o.workers = a.workers;
  o.log = a.quiet ? nullptr : &std::cout;
  bench::check_bench_inputs(sc, o);
  StopOnInterrupt stop;
  o.stop = &stop.flag();
  const bench::BenchResult r = bench::run_bench(sc, o);
  if (r.interrupted) {
    std::cerr << "sdm bench: interrupted; complete the run with: sdm bench " << a.scenario << " --resume " << r.run_dir.string()
              << "\n";
    return kInterrupted;
  }
  if (a.quiet) std::cout << r.report.string() << "\n";
  if (!r.summary.failures.empty()) {
    std::cerr << "sdm bench: " << r.summary.failures.size() << " campaign(s) failed (listed in the report); rerun with --resume "
              << r.run_dir.string() << " to retry them\n";
    return kFailed;
  }
  return kOk;
}
}  // namespace

void add_bench_command(CLI::App& root, Action& action) {
  auto* cmd = root.add_subcommand(
      "bench",
      "Run every [[strategy]] of a scenario over its seeds (campaigns in parallel), score them against the twin's ground "
      "truth and write summary.csv, summary.md, plots and a self-contained report.html into a new run folder. Prints "
      "the report's path at the end. Ctrl-C stops cleanly; --resume completes a run.");
  auto args = std::make_shared<BenchArgs>();
  cmd->add_option("scenario", args->scenario, "Scenario .toml file")->required();
  cmd->add_option("--results", args->results, "Results root (default results/runs)");
  cmd->add_option("--workers", args->workers, "Campaigns run at once (default 0: the core count)");
  cmd->add_option("--resume", args->resume, "Complete an interrupted run folder of this scenario (only missing campaigns run)");
  cmd->add_flag("--quiet", args->quiet, "No progress lines; print only the report path");
  cmd->callback([&action, args] { action = [args] { return run_bench_command(*args); }; });
}

}  // namespace sdm::app
