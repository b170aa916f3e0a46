// sdm regress: re-run a scenario and compare every metric, at every budget, per strategy (seed
// means) with a committed baseline; non-zero exit when any leaves its tolerance. Under mpirun
// the campaigns are spread over the ranks (as `sdm bench`) and rank 0 compares.
#include <CLI/CLI.hpp>
#include <filesystem>
#include <iostream>

#include "app/bench_signals.hpp"
#include "app/commands.hpp"
#include "bench/distributed/mpi_bench.hpp"
#include "bench/distributed/mpi_context.hpp"
#include "bench/regress.hpp"
#include "bench/runner.hpp"
#include "bench/scenario.hpp"
#include "core/error.hpp"
#include "core/run_directory.hpp"

namespace sdm::app {

namespace {
struct RegressArgs {
  std::string scenario;
  std::string baseline;
  std::string results = "results/runs";
  int workers = 0;
  bool update = false;
  bool quiet = false;
  std::string regime = "auto";
};

// After the run: compare with (or rewrite) the baseline; returns the exit status.
int judge(const RegressArgs& a, const bench::Scenario& sc, const bench::Baseline& old, bool have, const bench::BenchResult& r) {
  if (r.interrupted) return kInterrupted;
  if (!r.summary.failures.empty()) {
    std::cerr << "sdm regress: " << r.summary.failures.size() << " campaign(s) failed:\n";
    for (const auto& f : r.summary.failures) std::cerr << "  " << f << "\n";
    return kFailed;
  }
  std::vector<std::string> driven;
  for (const auto& st : sc.strategies)
    if (bench::model_driven_strategy(st.name)) driven.push_back(st.label);
  const nlohmann::json platform = bench::current_platform();
  bench::Baseline cur = bench::baseline_from_summary(r.summary, have ? old.tolerances : bench::default_tolerances(), driven);
  cur.platform = platform;
  bool same = have && bench::same_platform(old, platform);
  if (a.regime == "same") same = true;
  if (a.regime == "other") same = false;
  if (a.update) {
    cur.about = have ? old.about : "Regression baseline of " + a.scenario + "; see results/baselines/README.md";
    cur.written = core::Manifest::now_utc_iso8601();
    cur.build = core::build_info();
    if (have) {
      const bench::RegressionReport diff = bench::compare_to_baseline(old, cur, same);
      std::cout << bench::format_regression(diff);
    }
    bench::write_baseline(a.baseline, cur);
    std::cout << "sdm regress: baseline " << a.baseline << " written from " << r.run_dir.string() << "\n";
    return kOk;
  }
  const bench::RegressionReport rep = bench::compare_to_baseline(old, cur, same);
  std::cout << bench::format_regression(rep) << "run folder: " << r.run_dir.string() << "\n";
  return rep.passed() ? kOk : kFailed;
}

int run_regress(const RegressArgs& a) {
  // Every rank (under mpirun) checks the same files, so all refuse bad input alike.
  const bench::Scenario sc = bench::load_scenario(a.scenario);
  bench::Baseline old;
  const bool have = std::filesystem::exists(a.baseline);
  if (have) old = bench::read_baseline(a.baseline);  // a malformed baseline is an error even with --update
  else if (!a.update)
    throw Error(a.baseline + ": no such baseline; create it deliberately with `sdm regress " + a.scenario + " --baseline " +
                a.baseline + " --update`");
  if (have && old.scenario != sc.name)
    throw Error(a.baseline + " is the baseline of scenario '" + old.scenario + "', not of '" + sc.name + "' (" + a.scenario + ")");
  bench::BenchOptions o;
  o.results_root = a.results;
  o.workers = a.workers;
  o.log = a.quiet ? nullptr : &std::cout;
  o.command = "regress";
  if (!bench::distributed::built_with_mpi() && bench::distributed::launched_ranks() > 1)
    throw Error("this sdm was built without MPI (SDM_WITH_MPI off), so under mpirun every rank would run the whole "
                "scenario; start sdm regress without mpirun");
  auto& mpi = bench::distributed::MpiContext::instance();
  if (mpi.active()) {
    // The campaigns spread over the ranks as in `mpirun sdm bench`; rank 0 judges the result.
    StopOnInterrupt stop;
    o.stop = &stop.flag();
    const auto out = bench::distributed::run_bench_on_ranks(
        a.scenario, o, mpi, [&](const bench::BenchResult& r) { return judge(a, sc, old, have, r); });
    return out.bad_input ? int(kBadInput) : out.exit_code;
  }
  bench::check_bench_inputs(sc, o);
  StopOnInterrupt stop;
  o.stop = &stop.flag();
  return judge(a, sc, old, have, bench::run_bench(sc, o));
}
}  // namespace

void add_regress_command(CLI::App& root, Action& action) {
  auto* cmd = root.add_subcommand(
      "regress",
      "Re-run a scenario (as sdm bench) and compare each metric at each budget per strategy (mean over seeds) with a "
      "baseline JSON, each within its tolerance. Prints what moved, by how much and the tolerance; exits 1 on a "
      "regression. --update rewrites the baseline's values deliberately (tolerances kept).");
  auto args = std::make_shared<RegressArgs>();
  cmd->add_option("scenario", args->scenario, "Scenario .toml file")->required();
  cmd->add_option("--baseline", args->baseline, "Baseline JSON (e.g. results/baselines/ci.json)")->required();
  cmd->add_option("--results", args->results, "Results root for the run (default results/runs)");
  cmd->add_option("--workers", args->workers, "Campaigns run at once (default 0: the core count; under mpirun, per rank, default 1)");
  cmd->add_flag("--update", args->update, "Rewrite the baseline from this run");
  cmd->add_option("--tolerances", args->regime,
                  "Tolerance regime: auto (same platform as the baseline: rounding-level; else path-divergence "
                  "tolerances for model-driven strategies), same, other")
      ->check(CLI::IsMember({"auto", "same", "other"}));
  cmd->add_flag("--quiet", args->quiet, "No progress lines");
  cmd->callback([&action, args] { action = [args] { return run_regress(*args); }; });
}

}  // namespace sdm::app
