#include "bench/distributed/mpi_bench.hpp"

#include <chrono>
#include <condition_variable>
#include <deque>
#include <iostream>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include <nlohmann/json.hpp>
#include <sched.h>

#include "bench/scenario.hpp"
#include "core/error.hpp"

namespace fs = std::filesystem;
using nlohmann::json;

namespace sdm::bench::distributed {

namespace {

constexpr int kToRoot = 11;
constexpr int kToWorker = 12;
constexpr auto kIdle = std::chrono::milliseconds(10);  // pause between polls when nothing arrived

const char* status_name(JobOutcome::Status s) {
  switch (s) {
    case JobOutcome::Status::completed: return "completed";
    case JobOutcome::Status::failed: return "failed";
    case JobOutcome::Status::stopped: return "stopped";
  }
  return "failed";
}

// mpirun pins each rank to one core by default (OpenMPI, up to 2 ranks): several campaigns
// per rank would then share that core.
void warn_if_pinned(int per_rank, int rank, std::ostream* log) {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (!log || per_rank <= 1 || ::sched_getaffinity(0, sizeof set, &set) != 0) return;
  const int cores = CPU_COUNT(&set);
  if (cores < per_rank)
    *log << "rank " << rank << ": warning: bound to " << cores << " core(s) but running " << per_rank
         << " campaigns at a time; start mpirun with --bind-to none (or --map-by slot:PE=" << per_rank << ")" << std::endl;
}

// ---------------------------------------------------------------------------------------------
// Rank 0: open the run, keep the queue, run `workers` campaigns itself, summarise.

RankOutcome run_root(const fs::path& scenario_file, const BenchOptions& o, MpiContext& mpi,
                     const std::function<int(const BenchResult&)>& exit_code_of) {
  ProgressLog log(o.log);
  Scenario sc;
  RunPlan p;
  const int per_rank = o.workers > 0 ? o.workers : 1;
  try {
    if (!mpi.threads_allowed())
      throw Error("this MPI library does not grant MPI_THREAD_FUNNELED, which sdm bench needs to run campaigns beside "
                  "its message loop");
    sc = load_scenario(scenario_file);
    p = open_run(sc, o);
  } catch (const std::exception& e) {
    mpi.broadcast(json{{"error", e.what()}}.dump());
    throw;
  }
  mpi.broadcast(json{{"run_dir", p.run_dir.string()},
                     {"scenario_text", sc.text},
                     {"scenario_path", sc.path.string()},
                     {"workers", per_rank}}
                    .dump());
  try {
    log.line(plan_line(sc, p, o) + ", on " + std::to_string(mpi.size()) + " MPI ranks x " + std::to_string(per_rank) +
        " at a time");
    log.line("run folder: " + p.run_dir.string());
    warn_if_pinned(per_rank, 0, o.log);

    std::mutex mutex;
    std::deque<std::size_t> queue(p.todo.begin(), p.todo.end());
    std::map<std::size_t, int> in_flight;  // job → rank
    bool stopping = false;
    RunTally t;
    t.workers = mpi.size() * per_rank;
    t.how = std::to_string(mpi.size()) + " MPI ranks x " + std::to_string(per_rank) + " campaign" + (per_rank > 1 ? "s" : "");
    int finished = 0;

    // Called under `mutex`.
    auto record = [&](const JobOutcome& out, int rank, bool returned) {
      in_flight.erase(out.job);
      const Job& job = p.all.at(out.job);
      const std::string what = job.label + " seed " + std::to_string(job.seed);
      const std::string where = " (rank " + std::to_string(rank) + ")";
      if (out.status == JobOutcome::Status::completed) {
        if (!load_job_metrics(job)) {
          if (!out.metrics) throw Error("rank " + std::to_string(rank) + " finished " + what + " but sent no metrics");
          log.line("warning: " + (job.directory / "metrics.json").string() + " written by rank " + std::to_string(rank) +
              " is not visible from rank 0 (is the run folder on a file system every rank shares?); writing the copy it sent");
          std::error_code ec;
          fs::create_directories(job.directory, ec);
          core::write_file_atomically(job.directory / "metrics.json", out.metrics->to_json().dump(1) + "\n");
        }
        ++finished;
        ++t.ran;
        const CampaignMetrics& m = *out.metrics;
        log.line("[" + std::to_string(finished + p.reused) + "/" + std::to_string(p.owned) + "] " + what + ": " +
            std::to_string(m.measurements) + " measurements (" + m.end + "), campaign " + format_seconds(m.wall_s) + " + metrics " +
            format_seconds(m.metrics_wall_s) + where);
      } else if (out.status == JobOutcome::Status::failed) {
        ++t.failed;
        log.line("FAILED " + what + where + ": " + out.error);
      } else if (!stopping) {
        // That rank was stopped on its own: the job goes back for another rank, from its start.
        std::error_code ec;
        fs::remove_all(job.directory, ec);
        queue.push_front(out.job);
        log.line((returned ? "returned " : "stopped ") + what + where + ", back in the queue");
      } else {
        log.line("stopped " + what + where);
      }
    };
    auto take = [&](int rank) -> std::optional<std::size_t> {
      if (stopping || queue.empty()) return std::nullopt;
      const std::size_t j = queue.front();
      queue.pop_front();
      in_flight[j] = rank;
      return j;
    };

    // Rank 0's own campaigns, beside this message loop (which is the only thread calling MPI).
    std::atomic<bool> local_done{false};
    std::exception_ptr local_error;
    std::thread local([&] {
      try {
        run_jobs(sc, p.all, per_rank,
                 [&] {
                   std::lock_guard<std::mutex> lock(mutex);
                   return take(0);
                 },
                 [&](const JobOutcome& out) {
                   std::lock_guard<std::mutex> lock(mutex);
                   record(out, 0, false);
                 },
                 o.stop, o.log, "rank 0: ");
      } catch (...) {
        local_error = std::current_exception();
      }
      local_done = true;
    });

    std::set<int> gone;
    for (;;) {
      if (o.stop && o.stop->load()) {
        bool tell = false;
        {
          std::lock_guard<std::mutex> lock(mutex);
          tell = !stopping;
          stopping = true;
        }
        if (tell)
          for (int r = 1; r < mpi.size(); ++r)
            if (!gone.count(r)) mpi.send(r, kToWorker, json{{"type", "stop"}}.dump());
      }
      bool any = false;
      while (auto msg = mpi.poll(kToRoot)) {
        any = true;
        const json m = json::parse(msg->text);
        const std::string type = m.at("type");
        if (type == "request") {
          std::optional<std::size_t> j;
          {
            std::lock_guard<std::mutex> lock(mutex);
            j = take(msg->source);
          }
          json reply = {{"type", "none"}};
          if (j) reply = {{"type", "job"}, {"job", *j}, {"label", p.all[*j].label}, {"seed", p.all[*j].seed}};
          mpi.send(msg->source, kToWorker, reply.dump());
        } else if (type == "result") {
          JobOutcome out;
          out.job = m.at("job").get<std::size_t>();
          const std::string st = m.at("status");
          out.status = st == "completed" ? JobOutcome::Status::completed
                       : st == "failed"  ? JobOutcome::Status::failed
                                         : JobOutcome::Status::stopped;
          out.error = m.value("error", "");
          if (m.contains("metrics")) out.metrics = CampaignMetrics::from_json(m.at("metrics"));
          std::lock_guard<std::mutex> lock(mutex);
          record(out, msg->source, st == "returned");
        } else if (type == "bye") {
          gone.insert(msg->source);
        } else {
          throw Error("unexpected message from rank " + std::to_string(msg->source) + ": " + msg->text);
        }
      }
      if (local_done && local_error) std::rethrow_exception(local_error);
      if (int(gone.size()) == mpi.size() - 1 && local_done) break;
      if (!any) std::this_thread::sleep_for(kIdle);
    }
    local.join();
    t.interrupted = stopping || !queue.empty();
    if (!queue.empty() && !stopping)
      log.line(std::to_string(queue.size()) + " campaign(s) handed back by stopped ranks were not run");
    RankOutcome out;
    out.result = finish_run(sc, p, o, t);
    out.exit_code = exit_code_of(*out.result);
    mpi.broadcast(std::to_string(out.exit_code));
    return out;
  } catch (const std::exception& e) {
    std::cerr << "sdm bench (rank 0): failed: " << e.what() << std::endl;
    mpi.abort(1);
  }
}

// ---------------------------------------------------------------------------------------------
// Other ranks: ask for jobs, run them on `workers` threads, report, say goodbye.

RankOutcome run_worker(const BenchOptions& o, MpiContext& mpi) {
  RankOutcome out;
  const json setup = json::parse(mpi.broadcast(""));
  if (setup.contains("error")) {
    out.bad_input = true;
    return out;
  }
  try {
    const Scenario sc = parse_scenario(setup.at("scenario_text").get<std::string>(), setup.at("scenario_path").get<std::string>());
    const std::vector<Job> all = plan_jobs(sc, setup.at("run_dir").get<std::string>());
    const int per_rank = setup.at("workers").get<int>();
    const std::string who = "rank " + std::to_string(mpi.rank()) + ": ";
    warn_if_pinned(per_rank, mpi.rank(), o.log);

    // Shared with the campaign threads, under `mutex`.
    std::mutex mutex;
    std::condition_variable cv;
    std::deque<std::size_t> inbox;      // jobs received, not yet taken by a thread
    std::deque<JobOutcome> outbox;      // results not yet sent
    std::deque<std::size_t> unstarted;  // jobs received after this rank stopped: handed back
    int wanting = 0;                    // threads waiting for a job
    int asked = 0;                      // requests sent, not yet answered
    bool no_more = false, pool_done = false;
    std::exception_ptr pool_error;
    std::atomic<bool> stop{false};

    std::thread pool([&] {
      try {
        run_jobs(sc, all, per_rank,
                 [&]() -> std::optional<std::size_t> {
                   std::unique_lock<std::mutex> lock(mutex);
                   ++wanting;
                   cv.wait(lock, [&] { return !inbox.empty() || no_more || stop.load(); });
                   --wanting;
                   if (inbox.empty() || stop) return std::nullopt;
                   const std::size_t j = inbox.front();
                   inbox.pop_front();
                   return j;
                 },
                 [&](const JobOutcome& r) {
                   std::lock_guard<std::mutex> lock(mutex);
                   outbox.push_back(r);
                 },
                 &stop, o.log, who);
      } catch (...) {
        pool_error = std::current_exception();
      }
      std::lock_guard<std::mutex> lock(mutex);
      pool_done = true;
    });

    auto send_result = [&](std::size_t job, const std::string& status, const std::string& error,
                           const std::optional<CampaignMetrics>& metrics) {
      json m = {{"type", "result"}, {"job", job}, {"status", status}, {"error", error}};
      if (metrics) m["metrics"] = metrics->to_json();
      mpi.send(0, kToRoot, m.dump());
    };
    for (;;) {
      if (o.stop && o.stop->load() && !stop) {
        stop = true;
        cv.notify_all();
      }
      std::deque<JobOutcome> results;
      std::deque<std::size_t> back;
      int need = 0;
      bool finished = false;
      {
        std::lock_guard<std::mutex> lock(mutex);
        if (pool_error) std::rethrow_exception(pool_error);
        if (stop)  // jobs no thread will take any more
          while (!inbox.empty()) unstarted.push_back(inbox.front()), inbox.pop_front();
        results.swap(outbox);
        back.swap(unstarted);
        need = (no_more || stop) ? 0 : std::max(0, wanting - asked - int(inbox.size()));
        asked += need;
        finished = pool_done && asked == 0;
      }
      for (const JobOutcome& r : results) send_result(r.job, status_name(r.status), r.error, r.metrics);
      for (std::size_t j : back) send_result(j, "returned", "", std::nullopt);
      for (int k = 0; k < need; ++k) mpi.send(0, kToRoot, json{{"type", "request"}}.dump());
      if (finished) break;  // every result is sent and every request answered
      bool any = !results.empty() || !back.empty() || need > 0;
      while (auto msg = mpi.poll(kToWorker)) {
        any = true;
        const json m = json::parse(msg->text);
        const std::string type = m.at("type");
        std::lock_guard<std::mutex> lock(mutex);
        if (type == "job") {
          --asked;
          const std::size_t j = m.at("job").get<std::size_t>();
          if (j >= all.size() || all[j].label != m.at("label").get<std::string>() ||
              all[j].seed != m.at("seed").get<std::uint64_t>())
            throw Error("rank 0 sent job " + std::to_string(j) + " (" + m.at("label").get<std::string>() +
                        "), which this rank planned differently");
          if (stop || pool_done) unstarted.push_back(j);
          else inbox.push_back(j);
        } else if (type == "none") {
          --asked;
          no_more = true;
        } else if (type == "stop") {
          stop = true;
        } else {
          throw Error("unexpected message from rank 0: " + msg->text);
        }
        cv.notify_all();
      }
      if (!any) std::this_thread::sleep_for(kIdle);
    }
    pool.join();
    mpi.send(0, kToRoot, json{{"type", "bye"}}.dump());
    out.exit_code = std::stoi(mpi.broadcast(""));
    return out;
  } catch (const std::exception& e) {
    std::cerr << "sdm bench (rank " << mpi.rank() << "): failed: " << e.what() << std::endl;
    mpi.abort(1);
  }
}

}  // namespace

RankOutcome run_bench_on_ranks(const fs::path& scenario_file, const BenchOptions& options, MpiContext& mpi,
                               const std::function<int(const BenchResult&)>& exit_code_of) {
  return mpi.rank() == 0 ? run_root(scenario_file, options, mpi, exit_code_of) : run_worker(options, mpi);
}

}  // namespace sdm::bench::distributed
