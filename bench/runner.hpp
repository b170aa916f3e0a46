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
#include <ostream>
#include <string>
#include <vector>

#include "bench/metrics.hpp"
#include "bench/scenario.hpp"
#include "bench/summary.hpp"

namespace sdm::bench {

struct BenchOptions {
  std::filesystem::path results_root = "results/runs";
  std::filesystem::path resume;          ///< an existing run folder of this scenario to complete ("" = new run)
  int workers = 0;                       ///< campaigns at once; 0 = the core count
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
  std::filesystem::path report;          ///< report.html ("" when interrupted)
  bool interrupted = false;
  int jobs = 0, ran = 0, reused = 0, failed = 0;
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

}  // namespace sdm::bench
