// sdm bench: every strategy of a scenario × its seeds on the twin (or a replayed recording),
// metrics against ground truth, tables, plots and a self-contained HTML report. Also the
// cluster forms (docs/cluster.md): under mpirun the campaigns are spread over the ranks;
// --shard K/N runs one shard of them; --merge combines shard folders into one report.
#include <CLI/CLI.hpp>
#include <atomic>
#include <csignal>
#include <iostream>
#include <unistd.h>

#include "app/bench_signals.hpp"
#include "app/commands.hpp"
#include "bench/distributed/merge.hpp"
#include "bench/distributed/mpi_bench.hpp"
#include "bench/distributed/mpi_context.hpp"
#include "bench/runner.hpp"
#include "bench/scenario.hpp"
#include "core/error.hpp"

namespace sdm::app {

namespace {
struct BenchArgs {
  std::string scenario;
  std::string results = "results/runs";
  std::string resume;
  std::string run_dir;
  std::string shard;
  std::vector<std::string> merge;
  int workers = 0;
  bool quiet = false;
};

int exit_code_of(const bench::BenchResult& r) {
  if (r.interrupted) return kInterrupted;
  if (r.failed > 0 || !r.summary.failures.empty()) return kFailed;
  return kOk;
}

std::string resume_command(const BenchArgs& a, const bench::BenchResult& r) {
  return "sdm bench " + a.scenario + (a.shard.empty() ? "" : " --shard " + a.shard) + " --resume " + r.run_dir.string();
}

// What a single process (or rank 0) says at the end; returns the exit status.
int report_end(const BenchArgs& a, const bench::BenchResult& r) {
  const int code = exit_code_of(r);
  if (r.interrupted) {
    std::cerr << "sdm bench: interrupted; complete the run with: " << resume_command(a, r) << "\n";
    return code;
  }
  if (a.quiet) std::cout << (r.shard_run ? r.run_dir.string() : r.report.string()) << "\n";
  if (code == kFailed) {
    const std::size_t n = r.failed > 0 ? std::size_t(r.failed) : r.summary.failures.size();
    std::cerr << "sdm bench: " << n << " campaign(s) " << (r.shard_run ? "of this shard " : "")
              << "have no metrics (listed " << (r.shard_run ? "above" : "in the report") << "); rerun with: " << resume_command(a, r)
              << "\n";
  }
  return code;
}

int run_merge(const BenchArgs& a) {
  if (!a.resume.empty() || !a.shard.empty() || a.workers != 0)
    throw Error("--merge takes run folders (and optionally the scenario file, --results, --run-dir); --resume, --shard "
                "and --workers do not apply");
  if (bench::distributed::MpiContext::instance().active())
    throw Error("--merge runs in one process; start it without mpirun");
  bench::distributed::MergeOptions o;
  for (const std::string& d : a.merge) o.sources.push_back(d);
  o.scenario_file = a.scenario;
  o.results_root = a.results;
  o.run_dir = a.run_dir;
  o.log = a.quiet ? nullptr : &std::cout;
  const bench::BenchResult r = bench::distributed::merge_runs(o);
  if (a.quiet) std::cout << r.report.string() << "\n";
  if (r.failed > 0) {
    std::cerr << "sdm bench --merge: " << r.failed << " of " << r.jobs
              << " campaign(s) missing (listed above and in the report); run them and merge again\n";
    return kFailed;
  }
  return kOk;
}

int run_bench_command(const BenchArgs& a) {
  if (!a.merge.empty()) return run_merge(a);
  if (a.scenario.empty()) throw Error("sdm bench needs a scenario file (or --merge <run folders...>)");
  bench::BenchOptions o;
  o.results_root = a.results;
  o.resume = a.resume;
  o.run_dir = a.run_dir;
  o.workers = a.workers;
  if (!a.shard.empty()) o.shard = bench::distributed::Shard::parse(a.shard);
  o.log = a.quiet ? nullptr : &std::cout;

  if (!bench::distributed::built_with_mpi() && bench::distributed::launched_ranks() > 1)
    throw Error("this sdm was built without MPI (SDM_WITH_MPI off), so under mpirun every rank would run the whole "
                "benchmark; rebuild with OpenMPI installed, or use --shard K/N");
  auto& mpi = bench::distributed::MpiContext::instance();
  if (mpi.active()) {
    StopOnInterrupt stop;
    o.stop = &stop.flag();
    const auto out = bench::distributed::run_bench_on_ranks(a.scenario, o, mpi, exit_code_of);
    if (out.bad_input) return kBadInput;  // rank 0 says why
    if (out.result) return report_end(a, *out.result);
    return out.exit_code;
  }

  // Everything that can be wrong with the input is checked before anything is written.
  const bench::Scenario sc = bench::load_scenario(a.scenario);
  bench::check_bench_inputs(sc, o);
  StopOnInterrupt stop;
  o.stop = &stop.flag();
  return report_end(a, bench::run_bench(sc, o));
}
}  // namespace

void add_bench_command(CLI::App& root, Action& action) {
  auto* cmd = root.add_subcommand(
      "bench",
      "Run every [[strategy]] of a scenario over its seeds (campaigns in parallel), score them against the twin's ground "
      "truth and write summary.csv, summary.md, plots and a self-contained report.html into a new run folder. Prints "
      "the report's path at the end. Ctrl-C stops cleanly; --resume completes a run. On a cluster (docs/cluster.md): "
      "under mpirun the campaigns are spread over the ranks; --shard K/N runs one shard and --merge combines them.");
  auto args = std::make_shared<BenchArgs>();
  cmd->add_option("scenario", args->scenario, "Scenario .toml file (with --merge: optional, checked against the folders)");
  cmd->add_option("--results", args->results, "Results root (default results/runs)");
  cmd->add_option("--workers", args->workers,
                  "Campaigns run at once (default 0: the core count; under mpirun, per rank, default 1)");
  cmd->add_option("--resume", args->resume, "Complete an interrupted run folder of this scenario (only missing campaigns run)");
  cmd->add_option("--run-dir", args->run_dir,
                  "Use this run folder: created if absent or empty, completed if it holds a run of this scenario "
                  "(shards may share one). With --merge: the merged folder");
  cmd->add_option("--shard", args->shard,
                  "Run only shard K of N (1-based, 1 <= K <= N: campaign j belongs to shard j mod N + 1); no summary, "
                  "--merge writes it. Slurm: --array=1-N and --shard ${SLURM_ARRAY_TASK_ID}/N");
  cmd->add_option("--merge", args->merge,
                  "Combine these run folders (shards of one scenario) into one summary and report; one folder: in place")
      ->expected(1, -1);
  cmd->add_flag("--quiet", args->quiet, "No progress lines; print only the report path (a shard: its run folder)");
  cmd->callback([&action, args] { action = [args] { return run_bench_command(*args); }; });
}

}  // namespace sdm::app
