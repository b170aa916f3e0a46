#pragma once
// `mpirun -np N sdm bench scenario.toml`: one run's campaigns handed out to MPI ranks.
//
// Rank 0 loads the scenario, opens the run folder exactly as a single process would (open_run:
// new folder, --run-dir, --resume, --shard) and broadcasts the folder and the scenario text; the
// other ranks parse that text, so every rank plans the same jobs. Rank 0 then keeps the queue
// (costly strategies first) and hands out one job per request — dynamic balancing, since
// campaigns differ in cost — while `workers` threads on every rank, rank 0's included, run
// them; each campaign on one compute thread, so the metrics equal a single-process run's.
// When every rank has said goodbye, rank 0 reads every job's metrics.json and writes the same
// outputs as a single-process run (finish_run); its exit status is every rank's.
//
// Why messages and not claim files: rank 0 alone decides, so no job runs twice and nothing
// depends on how a cluster file system implements O_EXCL or caches directory entries; it also
// knows what is in flight, so a rank stopped on its own (SIGTERM) hands its job back to be run
// by another. The run folder must be on a file system every rank sees (campaign folders are
// written by the rank that runs them); should rank 0 not see a finished job's metrics.json
// (e.g. a stale NFS cache), it writes the copy the rank sent along with its result.
//
// Wire protocol (JSON text; tags 11 to rank 0, 12 to a worker):
//   worker → 0  {"type":"request"} | {"type":"result","job":j,"status":"completed|failed|stopped|returned",
//                "error":..., "metrics":{...}} | {"type":"bye"}
//   0 → worker  {"type":"job","job":j,"label":..,"seed":..} | {"type":"none"} | {"type":"stop"}
// A job that ends "stopped" (interrupted on that rank) or "returned" (handed out, never started)
// goes back to the queue with its folder emptied, unless the whole run is stopping.
//
// Failures: a rank that dies takes the MPI job with it (OpenMPI's default). Every campaign
// finished by then has its metrics.json; the ones in flight are redone by running the same
// command with --resume <run folder> (or --run-dir): only the missing ones run.
#include <filesystem>
#include <functional>
#include <optional>

#include "bench/distributed/mpi_context.hpp"
#include "bench/runner.hpp"

namespace sdm::bench::distributed {

struct RankOutcome {
  std::optional<BenchResult> result;  ///< rank 0: the run's result
  bool bad_input = false;             ///< rank 0 refused the input (it threw sdm::Error; the others return this)
  int exit_code = 0;                  ///< exit_code_of(result) computed on rank 0, on every rank
};

/// Every rank calls this with the same arguments (see the file comment). `options.workers`
/// is campaigns per rank (0: 1). Rank 0 throws sdm::Error for bad input, after telling the other
/// ranks, which return with bad_input set. An unexpected error after the start ends the job
/// (MPI_Abort) rather than leave ranks waiting for each other.
RankOutcome run_bench_on_ranks(const std::filesystem::path& scenario_file, const BenchOptions& options, MpiContext& mpi,
                               const std::function<int(const BenchResult&)>& exit_code_of);

}  // namespace sdm::bench::distributed
