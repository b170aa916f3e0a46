#pragma once
// `sdm bench`: every [[strategy]] of a scenario × its seeds, as independent campaigns.
//
// One campaign = one job, identified by (strategy label, seed) and owning the folder
//   <run>/campaigns/<label>-seed<seed>/   campaign.h5 (the loop's record), journal, metrics.json
// so jobs can run in any order, on any worker (threads here; MPI ranks later) and a re-run
// with --resume does only the jobs whose metrics.json is missing. Seeds are campaign.seed,
// campaign.seed + 1, ...; the same seed gives every strategy the same film and instrument
// noise (a paired comparison).
//
// Beyond one machine (docs/cluster.md): a shard (BenchOptions::shard, `--shard K/N`) runs only
// jobs j with j mod N == K − 1 and writes no summary; bench/distributed/merge.hpp combines shard
// folders. Under mpirun, bench/distributed/mpi_bench.hpp hands the jobs to ranks. Both build on
// open_run (folder, manifest, jobs to do), run_jobs (a thread pool) and finish_run below.
//
// Parallelism: up to `workers` campaigns at once (default: the core count). Each campaign runs
// its torch / OpenBLAS / OpenMP work on one thread, whatever the worker count, so the metrics
// of a seed do not depend on the parallelism (1 or N workers give identical metrics.json).
// Ground truth is computed once per film (seed) and shared by that seed's campaigns.
//
// Failures: a campaign that throws is reported (failed.txt in its folder, listed in the report)
// and the others still finish. A stop request (Ctrl-C) lets running campaigns checkpoint and
// return; nothing is summarised and the run folder can be completed with --resume.
//
// After the jobs: summary.csv, comparisons.csv, summary.md, the PNG plots and report.html in
// the run folder (bench/summary.hpp, bench/plots.hpp, bench/report.hpp).
#include <atomic>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "bench/distributed/shard.hpp"
#include "bench/metrics.hpp"
#include "bench/scenario.hpp"
#include "bench/summary.hpp"
#include "core/run_directory.hpp"

namespace sdm::bench {

struct BenchOptions {
  std::filesystem::path results_root = "results/runs";
  std::filesystem::path resume;          ///< an existing run folder of this scenario to complete ("" = new run)
  /// This run folder ("" = a new one under results_root): created when absent or empty, completed
  /// (as with resume) when it holds a run of the same scenario text. Shards may share one.
  std::filesystem::path run_dir;
  int workers = 0;                       ///< campaigns at once (per MPI rank); 0 = the core count
  distributed::Shard shard;              ///< run only this shard's jobs (1/1 = all of them)
  const std::atomic<bool>* stop = nullptr;
  std::ostream* log = nullptr;           ///< progress lines (nullptr: silent)
  std::string command = "bench";         ///< recorded in the manifest
};

/// One job of a run.
struct Job {
  std::size_t strategy = 0;  ///< index into Scenario::strategies
  std::uint64_t seed = 0;
  std::string label;
  std::filesystem::path directory;
};

struct BenchResult {
  std::filesystem::path run_dir;
  std::filesystem::path report;          ///< report.html ("" when interrupted or a shard run)
  bool interrupted = false;
  bool shard_run = false;                ///< only a shard ran: no summary (sdm bench --merge writes it)
  int jobs = 0;                          ///< jobs of the scenario
  int owned = 0;                         ///< of those, this invocation's shard (= jobs when not sharded)
  int ran = 0, reused = 0, failed = 0;
  double wall_s = 0;
  Summary summary;
  std::vector<CampaignMetrics> campaigns;
};

/// The jobs of a scenario in a run folder (strategy-major, then seed).
std::vector<Job> plan_jobs(const Scenario& scenario, const std::filesystem::path& run_dir);

/// Checks everything that can be checked before any work (throws sdm::Error naming the problem):
/// the results folder is writable (or the resume folder exists, holds this scenario and is writable).
void check_bench_inputs(const Scenario& scenario, const BenchOptions& options);

/// Runs (or completes) the benchmark. Throws sdm::Error for bad input before writing anything.
BenchResult run_bench(const Scenario& scenario, const BenchOptions& options);

/// An opened run folder and the work of this invocation.
struct RunPlan {
  std::filesystem::path run_dir;
  bool created = false;              ///< this invocation created the folder
  std::vector<Job> all;              ///< every job of the scenario, in plan order
  std::vector<std::size_t> todo;     ///< indices into `all` to run now: this shard's jobs without metrics,
                                     ///< costly strategies first; their folders have been emptied
  int owned = 0, reused = 0;         ///< jobs of this shard; of those, complete already
  std::optional<core::Manifest> manifest;
  double start_s = 0;                ///< steady-clock seconds at opening (for wall times)
};

/// Checks the inputs (check_bench_inputs), creates or joins the run folder (scenario.toml,
/// manifest.json; a shard also shards/shard-K-of-N.json) and selects the jobs to run. A job is
/// complete when its folder holds a metrics.json that parses and names its strategy and seed:
/// metrics.json is written last and atomically, so a folder left by a killed process never
/// counts as complete, and is emptied here before its job runs again.
RunPlan open_run(const Scenario& scenario, const BenchOptions& options);

/// How one job ended.
struct JobOutcome {
  enum class Status { completed, failed, stopped };
  std::size_t job = 0;               ///< index into RunPlan::all
  Status status = Status::failed;
  std::string error;                 ///< failed/stopped: why
  std::optional<CampaignMetrics> metrics;  ///< completed: what went into metrics.json
};

/// Runs jobs on `workers` threads sharing one ground-truth cache; every thread runs its campaign
/// on one compute thread (so metrics do not depend on workers, ranks or order). Each thread takes
/// `next()` until it returns nullopt or `stop` is set and reports every job to `done`; `next` and
/// `done` are called under one lock. A job that throws (not stopped) leaves failed.txt.
void run_jobs(const Scenario& scenario, const std::vector<Job>& all, int workers,
              const std::function<std::optional<std::size_t>()>& next, const std::function<void(const JobOutcome&)>& done,
              const std::atomic<bool>* stop, std::ostream* log, const std::string& who = "");

/// "sdm bench: <name>: S strategies x N seeds = J campaigns[, shard K/N has n][ (r already done)]".
std::string plan_line(const Scenario& scenario, const RunPlan& plan, const BenchOptions& options);

/// What the jobs of an invocation did.
struct RunTally {
  int ran = 0, failed = 0;
  bool interrupted = false;
  int workers = 1;                   ///< parallel campaigns (all ranks together)
  std::string how;                   ///< e.g. "4 threads", "2 MPI ranks x 1 thread", for the report
};

/// After the jobs: interrupted → manifest "interrupted" and a resume hint; a shard run → its
/// record in shards/ (no summary); otherwise summary, plots, report and the final manifest.
BenchResult finish_run(const Scenario& scenario, RunPlan& plan, const BenchOptions& options, const RunTally& tally);

/// Reads the metrics.json of `all` in their folders, summarises them (jobs without metrics are
/// listed as failures with `why_missing(job)`, by default the first line of failed.txt or
/// "no metrics") and writes the outputs into `run_dir`. `facts` head the report's list of facts.
/// Fills r.campaigns, r.summary and r.report.
void summarise_run(const Scenario& scenario, const std::filesystem::path& run_dir, const std::vector<Job>& all,
                   const std::vector<std::string>& facts, BenchResult& r,
                   const std::function<std::string(const Job&)>& why_missing = {});

/// The metrics of a job's folder when it is complete (see open_run), else nullopt.
std::optional<CampaignMetrics> load_job_metrics(const Job& job);

/// Runs one job into job.directory and returns its metrics (also written to metrics.json).
/// `truth_cache` may be shared between jobs of one run (nullptr: computed privately).
class TruthCache;
CampaignMetrics run_job(const Scenario& scenario, const Job& job, TruthCache* truth_cache,
                        const std::atomic<bool>* stop, std::ostream* log);

/// Writes summary.csv, comparisons.csv, summary.md, plots and report.html for the campaigns of
/// `run_dir`; returns report.html's path.
std::filesystem::path write_outputs(const Scenario& scenario, const std::filesystem::path& run_dir, Summary& summary,
                                    const std::vector<CampaignMetrics>& campaigns, const std::vector<std::string>& facts);

/// Loads every job's metrics.json that exists and parses (others are left out).
std::vector<CampaignMetrics> load_campaign_metrics(const std::vector<Job>& jobs);

/// Limits torch, OpenMP and OpenBLAS in the calling thread to one thread.
void use_one_compute_thread();

/// Progress lines written by several worker threads: one lock per line, so lines never
/// interleave. A null stream makes it silent.
class ProgressLog {
 public:
  explicit ProgressLog(std::ostream* out) : out_(out) {}
  void line(const std::string& text);

 private:
  std::ostream* out_;
  std::mutex mutex_;
};

/// A duration for progress lines: "12.3 s" below 100 s, "123 s" from there on.
std::string format_seconds(double s);

}  // namespace sdm::bench
