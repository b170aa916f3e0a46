// sdm bench beyond one process, end to end, against one serial run of the same scenario (the
// independent reference: one process, one campaign at a time):
//   - mpirun -np 2 gives every campaign's metrics and the summary tables of the serial run, and
//     both ranks ran campaigns;
//   - --shard K/N runs exactly the campaigns j with j mod N == K − 1; shards in separate folders
//     merged, and shards started together on one shared --run-dir merged in place, equal serial;
//   - --merge refuses other scenario texts, a folder given twice, duplicates (and says when the
//     copies conflict), and lists missing campaigns with their shard;
//   - a shard killed with SIGKILL mid-campaign leaves a folder that is not taken as complete; the
//     same command again runs exactly the missing campaigns and the merge equals serial;
//   - an MPI job whose ranks are killed with SIGKILL mid-run: re-running with --run-dir
//     completes the set;
//   - sdm regress under mpirun: rank 0 judges, a single process reproduces its baseline.
// The MPI cases run only in builds with MPI (SDM_MPIEXEC).
#include <gtest/gtest.h>

#include <fstream>
#include <memory>
#include <regex>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>

#include "bench_test_support.hpp"

namespace fs = std::filesystem;
using sdm::test::run_command;
using sdm::test::read_text;
using sdm::test::stable_metrics;
using sdm::test::run_sdm;

namespace {

// Three strategies (one trains a DKL at every step) × 3 seeds on a 48 px film: 9 campaigns,
// a few seconds serially.
const std::string kScenario = sdm::test::tiny_bench_scenario("cluster", 3,
    "[[strategy]]\nname = \"random\"\n"
    "[[strategy]]\nname = \"dn_dkl\"\n"
    "[[strategy]]\nname = \"lhs\"\nlabel = \"lhs design\"\n");

// Campaign folders in plan order (strategy-major, then seed): job j is kJobs[j].
const std::vector<std::string> kJobs = {"random-seed3", "random-seed4", "random-seed5", "dn_dkl-seed3", "dn_dkl-seed4",
                                        "dn_dkl-seed5", "lhs_design-seed3", "lhs_design-seed4", "lhs_design-seed5"};

std::string q(const fs::path& p) { return "'" + p.string() + "'"; }

// A summary table without its decision-latency rows (wall-clock measurements of this machine).
std::string stable_table(const fs::path& file) {
  std::istringstream in(read_text(file));
  std::string line, out;
  while (std::getline(in, line))
    if (line.find("decision_latency") == std::string::npos) out += line + "\n";
  return out;
}

// The serial reference, run once for the whole file.
class Cluster : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new sdm::test::TempDir();
    sdm::test::write_text(*dir_ / "cluster.toml", kScenario);
    const auto r = run_sdm("bench " + q(scenario()) + " --run-dir " + q(*dir_ / "serial") + " --workers 1 --quiet");
    serial_ok_ = r.exit_code == 0;
    if (!serial_ok_) std::cerr << r.output;
  }
  static void TearDownTestSuite() {
    delete dir_;
    dir_ = nullptr;
  }
  void SetUp() override { ASSERT_TRUE(serial_ok_) << "the serial reference run failed"; }

  static fs::path scenario() { return *dir_ / "cluster.toml"; }
  static fs::path serial() { return *dir_ / "serial"; }

  // Every campaign's metrics and the summary tables equal the serial run's.
  static void expect_equals_serial(const fs::path& run) {
    for (const std::string& c : kJobs) {
      ASSERT_TRUE(fs::exists(run / "campaigns" / c / "metrics.json")) << run << " " << c;
      EXPECT_EQ(stable_metrics(run / "campaigns" / c / "metrics.json"), stable_metrics(serial() / "campaigns" / c / "metrics.json"))
          << run << " " << c;
    }
    for (const char* t : {"summary.csv", "comparisons.csv"}) {
      ASSERT_TRUE(fs::exists(run / t)) << run << " " << t;
      EXPECT_EQ(stable_table(run / t), stable_table(serial() / t)) << run << " " << t;
    }
    EXPECT_TRUE(fs::exists(run / "report.html")) << run;
  }

  static std::set<std::string> complete_campaigns(const fs::path& run) {
    std::set<std::string> s;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(run / "campaigns", ec))
      if (fs::exists(e.path() / "metrics.json")) s.insert(e.path().filename().string());
    return s;
  }

  static sdm::test::TempDir* dir_;
  static bool serial_ok_;
};
sdm::test::TempDir* Cluster::dir_ = nullptr;
bool Cluster::serial_ok_ = false;

std::set<std::string> shard_jobs(int k, int n) {
  std::set<std::string> s;
  for (int j = 0; j < int(kJobs.size()); ++j)
    if (j % n == k - 1) s.insert(kJobs[std::size_t(j)]);
  return s;
}

#ifdef SDM_MPIEXEC
// mpirun as root (CI) needs these; they change nothing for other users.
std::string mpirun(int ranks) {
  return "OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 '" SDM_MPIEXEC "' -np " + std::to_string(ranks) +
         " --oversubscribe '" + std::string(SDM_BINARY) + "' ";
}
#endif

}  // namespace

TEST_F(Cluster, MpiTwoRanksGiveTheSerialMetrics) {
#ifndef SDM_MPIEXEC
  GTEST_SKIP() << "built without MPI";
#else
  sdm::test::TempDir dir;
  const auto r = run_command(mpirun(2) + "bench " + q(scenario()) + " --run-dir " + q(dir / "run"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  expect_equals_serial(dir / "run");
  EXPECT_NE(r.output.find("on 2 MPI ranks"), std::string::npos) << r.output;
  // Dynamic hand-out: both ranks ran campaigns (rank 0 beside its message loop).
  EXPECT_NE(r.output.find("(rank 0)"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("(rank 1)"), std::string::npos) << r.output;
  EXPECT_EQ(nlohmann::json::parse(read_text(dir / "run" / "manifest.json")).at("status"), "ok");
#endif
}

TEST_F(Cluster, MpiRegressJudgesOnRankZero) {
#ifndef SDM_MPIEXEC
  GTEST_SKIP() << "built without MPI";
#else
  sdm::test::TempDir dir;
  const std::string base = q(dir / "base.json");
  const std::string common = q(scenario()) + " --baseline " + base + " --results " + q(dir / "out") + " --quiet";
  auto r = run_command(mpirun(2) + "regress " + common + " --update");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  // A single process reproduces the baseline the two ranks wrote...
  r = run_sdm("regress " + common + " --workers 1");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("PASSED"), std::string::npos) << r.output;
  // ... and the ranks' exit status is rank 0's verdict on a moved value.
  nlohmann::json b = nlohmann::json::parse(read_text(dir / "base.json"));
  double& v = b["values"]["random"]["target_coverage"]["12"]["mean"].get_ref<double&>();
  v += 0.3;
  sdm::test::write_text(dir / "base.json", b.dump(1));
  r = run_command(mpirun(2) + "regress " + common);
  EXPECT_NE(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("REGRESSED"), std::string::npos) << r.output;
#endif
}

TEST_F(Cluster, ShardsInSeparateFoldersMergeToTheSerialRun) {
  sdm::test::TempDir dir;
  for (int k = 1; k <= 2; ++k) {
    const fs::path f = dir / ("shard" + std::to_string(k));
    const auto r = run_sdm("bench " + q(scenario()) + " --shard " + std::to_string(k) + "/2 --run-dir " + q(f) + " --workers 1");
    ASSERT_EQ(r.exit_code, 0) << r.output;
    EXPECT_EQ(complete_campaigns(f), shard_jobs(k, 2)) << "shard " << k;
    EXPECT_FALSE(fs::exists(f / "summary.csv")) << "a shard alone writes no summary";
    const nlohmann::json rec = nlohmann::json::parse(read_text(f / "shards" / ("shard-" + std::to_string(k) + "-of-2.json")));
    EXPECT_EQ(rec.at("status"), "ok");
    EXPECT_EQ(rec.at("owned"), int(shard_jobs(k, 2).size()));
  }
  const auto m = run_sdm("bench --merge " + q(dir / "shard1") + " " + q(dir / "shard2") + " --run-dir " + q(dir / "merged"));
  ASSERT_EQ(m.exit_code, 0) << m.output;
  EXPECT_NE(m.output.find("9 of 9 campaigns found in 2 folder(s)"), std::string::npos) << m.output;
  expect_equals_serial(dir / "merged");
  const nlohmann::json man = nlohmann::json::parse(read_text(dir / "merged" / "manifest.json"));
  EXPECT_EQ(man.at("status"), "ok");
  EXPECT_EQ(man.at("extra").at("merged_from").size(), 2u);
  EXPECT_EQ(man.at("scenario").at("text"), kScenario);
}

TEST_F(Cluster, ShardsStartedTogetherOnOneFolderMergeInPlace) {
  sdm::test::TempDir dir;
  // Three shards at once on a folder none has created yet (as a Slurm array does); one names
  // it with a trailing slash.
  const fs::path run = dir / "shared";
  std::string cmd;
  for (int k = 1; k <= 3; ++k)
    cmd += "'" + std::string(SDM_BINARY) + "' bench " + q(scenario()) + " --shard " + std::to_string(k) + "/3 --run-dir " +
           q(k == 2 ? run.string() + "/" : run.string()) +
           " --workers 1 --quiet > " + q(dir / ("log" + std::to_string(k))) + " 2>&1 & ";
  cmd += "wait; echo done";
  run_command(cmd);
  for (int k = 1; k <= 3; ++k) {
    const nlohmann::json rec = nlohmann::json::parse(read_text(run / "shards" / ("shard-" + std::to_string(k) + "-of-3.json")));
    EXPECT_EQ(rec.at("status"), "ok") << read_text(dir / ("log" + std::to_string(k)));
  }
  EXPECT_EQ(complete_campaigns(run).size(), kJobs.size());
  const auto m = run_sdm("bench --merge " + q(run));
  ASSERT_EQ(m.exit_code, 0) << m.output;
  expect_equals_serial(run);
}

TEST_F(Cluster, MergeRefusesMixedScenariosRepeatsAndDuplicates) {
  sdm::test::TempDir dir;
  const auto s1 = run_sdm("bench " + q(scenario()) + " --shard 1/3 --run-dir " + q(dir / "s1") + " --workers 1 --quiet");
  ASSERT_EQ(s1.exit_code, 0) << s1.output;

  // Another scenario text.
  sdm::test::write_text(dir / "other.toml", std::string(kScenario) + "# changed\n");
  const auto o = run_sdm("bench " + q(dir / "other.toml") + " --shard 2/3 --run-dir " + q(dir / "o2") + " --workers 1 --quiet");
  ASSERT_EQ(o.exit_code, 0) << o.output;
  auto r = run_sdm("bench --merge " + q(dir / "s1") + " " + q(dir / "o2") + " --run-dir " + q(dir / "m1"));
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("different scenario texts"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("line 33"), std::string::npos) << "names the first differing line: " << r.output;
  EXPECT_FALSE(fs::exists(dir / "m1")) << "nothing written on refusal";
  // ... and a scenario file that is not the folders' text.
  r = run_sdm("bench " + q(dir / "other.toml") + " --merge " + q(dir / "s1"));
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("not the scenario text"), std::string::npos) << r.output;

  // The same folder twice.
  r = run_sdm("bench --merge " + q(dir / "s1") + " " + q(dir / "s1" / "." ) + " --run-dir " + q(dir / "m2"));
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("given twice"), std::string::npos) << r.output;

  // A campaign complete in two folders: identical copies, then conflicting ones.
  r = run_sdm("bench --merge " + q(dir / "s1") + " " + q(serial()) + " --run-dir " + q(dir / "m3"));
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("3 campaign(s) are complete in more than one folder"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("random seed 3: complete in"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("(identical metrics)"), std::string::npos) << r.output;
  EXPECT_FALSE(fs::exists(dir / "m3"));
  nlohmann::json m = nlohmann::json::parse(read_text(dir / "s1" / "campaigns" / "random-seed3" / "metrics.json"));
  m["scalars"]["diversity_final_x"] = 1.0;  // a value the serial copy does not have
  sdm::test::write_text(dir / "s1" / "campaigns" / "random-seed3" / "metrics.json", m.dump());
  r = run_sdm("bench --merge " + q(dir / "s1") + " " + q(serial()) + " --run-dir " + q(dir / "m4"));
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("random seed 3: complete in"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("CONFLICT"), std::string::npos) << r.output;
}

TEST_F(Cluster, MissingCampaignsAreListedAndTheShardRerunFillsExactlyThem) {
  sdm::test::TempDir dir;
  for (int k = 1; k <= 2; ++k) {
    const auto r = run_sdm("bench " + q(scenario()) + " --shard " + std::to_string(k) + "/2 --run-dir " +
                           q(dir / ("s" + std::to_string(k))) + " --workers 1 --quiet");
    ASSERT_EQ(r.exit_code, 0) << r.output;
  }
  // Shard 2 (jobs 1, 3, 5, 7) loses two campaigns: one folder gone, one cut short as a killed
  // process leaves it (campaign files, no metrics.json).
  fs::remove_all(dir / "s2" / "campaigns" / "random-seed4");
  fs::remove(dir / "s2" / "campaigns" / "dn_dkl-seed5" / "metrics.json");
  ASSERT_TRUE(fs::exists(dir / "s2" / "campaigns" / "dn_dkl-seed5" / "campaign.h5"));

  auto r = run_sdm("bench --merge " + q(dir / "s1") + " " + q(dir / "s2") + " --run-dir " + q(dir / "partial"));
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("missing: random seed 4 (shard 2/2, not run)"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("missing: dn_dkl seed 5 (shard 2/2, unfinished in"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("--shard 2/2 --resume"), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find("note: shard"), std::string::npos) << "both shards ended: " << r.output;
  EXPECT_NE(r.output.find("2 of 9 campaign(s) missing"), std::string::npos) << r.output;
  EXPECT_NE(read_text(dir / "partial" / "report.html").find("dn_dkl seed 5"), std::string::npos);
  EXPECT_NE(nlohmann::json::parse(read_text(dir / "partial" / "manifest.json")).at("status").get<std::string>().find("incomplete"),
            std::string::npos);

  // Re-running shard 2 runs just those two; then the merge is the serial run.
  r = run_sdm("bench " + q(scenario()) + " --shard 2/2 --run-dir " + q(dir / "s2") + " --workers 1");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("shard 2/2 has 4 (2 already done)"), std::string::npos) << r.output;
  std::set<std::string> started;
  const std::regex start_re("start (\\S+( design)?) seed (\\d+)");
  for (auto it = std::sregex_iterator(r.output.begin(), r.output.end(), start_re); it != std::sregex_iterator(); ++it)
    started.insert((*it)[1].str() + " " + (*it)[3].str());
  EXPECT_EQ(started, (std::set<std::string>{"random 4", "dn_dkl 5"})) << r.output;
  r = run_sdm("bench --merge " + q(dir / "s1") + " " + q(dir / "s2") + " --run-dir " + q(dir / "merged"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  expect_equals_serial(dir / "merged");
  // The incomplete merged folder is itself a run folder: --resume fills it in too.
  r = run_sdm("bench " + q(scenario()) + " --resume " + q(dir / "partial") + " --workers 1");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("(7 already done)"), std::string::npos) << r.output;
  expect_equals_serial(dir / "partial");
}

TEST_F(Cluster, AKilledShardRerunCompletesTheSet) {
  sdm::test::TempDir dir;
  const fs::path run = dir / "run", log = dir / "log";
  // Shard 1/2 (5 campaigns), killed with SIGKILL while its second campaign runs.
  const std::string cmd = "'" + std::string(SDM_BINARY) + "' bench " + q(scenario()) + " --shard 1/2 --run-dir " + q(run) +
                          " --workers 1 > " + q(log) + " 2>&1 & p=$!; for i in $(seq 600); do grep -q '^\\[1/' " + q(log) +
                          " && break; sleep 0.02; done; kill -KILL $p; wait $p; echo \"rc=$?\"";
  const auto k = run_command(cmd);
  ASSERT_NE(k.output.find("rc=137"), std::string::npos) << k.output << read_text(log);
  const std::set<std::string> done = complete_campaigns(run);
  EXPECT_GE(done.size(), 1u);
  EXPECT_LT(done.size(), shard_jobs(1, 2).size()) << read_text(log);
  // A campaign folder without metrics.json is left behind, and is not counted as done.
  int partial = 0;
  for (const auto& e : fs::directory_iterator(run / "campaigns")) partial += !fs::exists(e.path() / "metrics.json");
  EXPECT_GE(partial, 1) << read_text(log);
  // Merging now names what is missing and that the shard never recorded its end.
  const auto early = run_sdm("bench --merge " + q(run) + " --run-dir " + q(dir / "early"));
  EXPECT_EQ(early.exit_code, 1) << early.output;
  EXPECT_NE(early.output.find("unfinished in"), std::string::npos) << early.output;
  EXPECT_NE(early.output.find("note: shard 1/2 in " + run.string() + " last recorded \"running\""), std::string::npos)
      << early.output;

  const auto r1 = run_sdm("bench " + q(scenario()) + " --shard 1/2 --run-dir " + q(run) + " --workers 1");
  ASSERT_EQ(r1.exit_code, 0) << r1.output;
  EXPECT_NE(r1.output.find("(" + std::to_string(done.size()) + " already done)"), std::string::npos) << r1.output;
  EXPECT_EQ(complete_campaigns(run), shard_jobs(1, 2));
  const auto r2 = run_sdm("bench " + q(scenario()) + " --shard 2/2 --run-dir " + q(run) + " --workers 1 --quiet");
  ASSERT_EQ(r2.exit_code, 0) << r2.output;
  const auto m = run_sdm("bench --merge " + q(run));
  ASSERT_EQ(m.exit_code, 0) << m.output;
  expect_equals_serial(run);
}

TEST_F(Cluster, AKilledMpiRankRerunCompletesTheSet) {
#ifndef SDM_MPIEXEC
  GTEST_SKIP() << "built without MPI";
#else
  sdm::test::TempDir dir;
  const fs::path run = dir / "run", log = dir / "log";
  // SIGKILL rank 1 as soon as the first campaign has written its metrics.json, then rank 0:
  // the job ends with a dead rank, as OpenMPI ends it after one. Killing rank 0 as well keeps
  // the test independent of OpenMPI's teardown, which on a loaded machine took over a second,
  // long enough for rank 0 to run every remaining campaign (tens of milliseconds each) and
  // leave nothing to recover (SIGSTOP does not hold it: the teardown sends SIGCONT). Both pids
  // are found first, so that the kills follow the first finished campaign within milliseconds.
  const std::string find_ranks =
      "r0=; r1=; for i in $(seq 2000); do for c in $(pgrep -P $m); do "
      "e=$(tr '\\0' '\\n' < /proc/$c/environ 2>/dev/null); "
      "echo \"$e\" | grep -q '^OMPI_COMM_WORLD_RANK=0$' && r0=$c; "
      "echo \"$e\" | grep -q '^OMPI_COMM_WORLD_RANK=1$' && r1=$c; "
      "done; [ -n \"$r0\" ] && [ -n \"$r1\" ] && break; sleep 0.005; done; ";
  const std::string cmd = mpirun(2) + "bench " + q(scenario()) + " --run-dir " + q(run) + " > " + q(log) +
                          " 2>&1 & m=$!; " + find_ranks + "for i in $(seq 6000); do "
                          "ls " + q(run) + "/campaigns/*/metrics.json > /dev/null 2>&1 && break; sleep 0.005; done; "
                          "[ -n \"$r1\" ] && kill -KILL $r1; [ -n \"$r0\" ] && kill -KILL $r0; wait $m; echo \"rc=$?\"";
  const auto k = run_command(cmd);
  ASSERT_EQ(k.output.find("rc=0"), std::string::npos) << "the job should have ended with the rank: " << k.output << read_text(log);
  EXPECT_LT(complete_campaigns(run).size(), kJobs.size()) << read_text(log);
  const auto r = run_command(mpirun(2) + "bench " + q(scenario()) + " --run-dir " + q(run));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("already done"), std::string::npos) << r.output;
  expect_equals_serial(run);
#endif
}

TEST_F(Cluster, BadClusterArgumentsAreRefusedBeforeWork) {
  sdm::test::TempDir dir;
  auto r = run_sdm("bench " + q(scenario()) + " --shard 0/2 --results " + q(dir / "out"));
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("1 <= K <= N"), std::string::npos) << r.output;
  r = run_sdm("bench " + q(scenario()) + " --shard 3/2 --results " + q(dir / "out"));
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_FALSE(fs::exists(dir / "out"));
  // A run folder of another scenario, or one that is not a run folder at all.
  sdm::test::write_text(dir / "other.toml", std::string(kScenario) + "# changed\n");
  r = run_sdm("bench " + q(dir / "other.toml") + " --run-dir " + q(serial()));
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("different scenario text"), std::string::npos) << r.output;
  fs::create_directories(dir / "stuff");
  sdm::test::write_text(dir / "stuff" / "notes.txt", "mine");
  r = run_sdm("bench " + q(scenario()) + " --run-dir " + q(dir / "stuff"));
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("neither empty nor an sdm bench run folder"), std::string::npos) << r.output;
  r = run_sdm("bench " + q(scenario()) + " --run-dir " + q(dir / "a") + " --resume " + q(serial()));
  EXPECT_EQ(r.exit_code, 2) << r.output;
  r = run_sdm("bench --merge " + q(serial()) + " --shard 1/2");
  EXPECT_EQ(r.exit_code, 2) << r.output;
  r = run_sdm("bench --merge " + q(dir / "nowhere"));
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("no such run folder"), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find("start "), std::string::npos);
}
