// sdm bench and sdm regress end to end on a tiny twin scenario: bad input refused before
// anything is written, the run folder's layout and printed report path, metrics independent
// of the number of parallel campaigns, resume after a lost campaign and after Ctrl-C, a failing
// campaign reported while the others finish, and regress passing/failing against a baseline.
#include <gtest/gtest.h>

#include <fstream>
#include <regex>
#include <sstream>

#include <nlohmann/json.hpp>

#include "bench/regress.hpp"
#include "bench/runner.hpp"
#include "bench/scenario.hpp"
#include "bench_test_support.hpp"

namespace fs = std::filesystem;
using sdm::test::read_text;
using sdm::test::stable_metrics;
using sdm::test::run_sdm;

namespace {

// Two strategies × 2 seeds on a 48 px film: a few seconds in all.
const std::string kTiny = sdm::test::tiny_bench_scenario("tiny", 2,
    "[[strategy]]\nname = \"random\"\n"
    "[[strategy]]\nname = \"lhs\"\nlabel = \"lhs design\"\n");

fs::path printed_report(const std::string& output) {
  std::smatch m;
  const std::regex re("report: (\\S+report\\.html)\\s*$");
  EXPECT_TRUE(std::regex_search(output, m, re)) << output;
  return m.size() > 1 ? fs::path(m[1].str()) : fs::path();
}

}  // namespace

TEST(CmdBench, BadScenarioExits2AndWritesNothing) {
  sdm::test::TempDir dir;
  sdm::test::write_text(dir / "bad.toml", "[film]\nsize_px = \"big\"\n");
  auto r = run_sdm("bench '" + (dir / "bad.toml").string() + "' --results '" + (dir / "out").string() + "'");
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("bad.toml"), std::string::npos) << r.output;
  EXPECT_FALSE(fs::exists(dir / "out"));
  sdm::test::write_text(dir / "typo.toml", std::string(kTiny) + "[backend]\nkind = \"twin\"\nnosuchkey = 1\n");
  r = run_sdm("bench '" + (dir / "typo.toml").string() + "' --results '" + (dir / "out").string() + "'");
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("nosuchkey"), std::string::npos) << r.output;
  EXPECT_FALSE(fs::exists(dir / "out"));
  r = run_sdm("bench '" + (dir / "missing.toml").string() + "' --results '" + (dir / "out").string() + "'");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.output.find("missing.toml"), std::string::npos);
  EXPECT_FALSE(fs::exists(dir / "out"));
}

TEST(CmdBench, UnwritableResultsFolderFailsBeforeWork) {
  sdm::test::TempDir dir;
  sdm::test::write_text(dir / "tiny.toml", kTiny);
  sdm::test::write_text(dir / "a_file", "not a folder");
  const auto r = run_sdm("bench '" + (dir / "tiny.toml").string() + "' --results '" + (dir / "a_file" / "runs").string() + "'");
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("a_file"), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find("start "), std::string::npos) << "no campaign may start: " << r.output;
}

TEST(CmdBench, RunFolderReportAndWorkerIndependence) {
  sdm::test::TempDir dir;
  sdm::test::write_text(dir / "tiny.toml", kTiny);
  const auto r1 = run_sdm("bench '" + (dir / "tiny.toml").string() + "' --results '" + (dir / "w1").string() + "' --workers 1");
  ASSERT_EQ(r1.exit_code, 0) << r1.output;
  const fs::path report = printed_report(r1.output);
  ASSERT_TRUE(fs::exists(report)) << report;
  const fs::path run = report.parent_path();
  for (const char* f : {"summary.csv", "summary.md", "comparisons.csv", "manifest.json", "scenario.toml", "paths.png",
                        "latency.png", "discovery.png", "metric_target_coverage.png", "metric_model_rmse.png"})
    EXPECT_TRUE(fs::exists(run / f)) << f;
  for (const char* c : {"random-seed3", "random-seed4", "lhs_design-seed3", "lhs_design-seed4"}) {
    EXPECT_TRUE(fs::exists(run / "campaigns" / c / "campaign.h5")) << c;
    EXPECT_TRUE(fs::exists(run / "campaigns" / c / "metrics.json")) << c;
  }
  const nlohmann::json man = nlohmann::json::parse(read_text(run / "manifest.json"));
  EXPECT_EQ(man.at("status"), "ok");
  const std::string html = read_text(report);
  EXPECT_NE(html.find("data:image/png;base64,"), std::string::npos);
  EXPECT_NE(html.find("lhs design"), std::string::npos);
  const std::string csv = read_text(run / "summary.csv");
  EXPECT_NE(csv.find("\nrandom,target_coverage,,12,2,"), std::string::npos) << csv;
  EXPECT_NE(csv.find("\nlhs design,motif_classes,,6,2,"), std::string::npos) << csv;

  // The same run with two campaigns at a time gives identical metrics.
  const auto r2 = run_sdm("bench '" + (dir / "tiny.toml").string() + "' --results '" + (dir / "w2").string() + "' --workers 2");
  ASSERT_EQ(r2.exit_code, 0) << r2.output;
  const fs::path run2 = printed_report(r2.output).parent_path();
  for (const char* c : {"random-seed3", "random-seed4", "lhs_design-seed3", "lhs_design-seed4"})
    EXPECT_EQ(stable_metrics(run / "campaigns" / c / "metrics.json"), stable_metrics(run2 / "campaigns" / c / "metrics.json"))
        << c;

  // Resume redoes only what is missing, with the same result.
  const nlohmann::json before = stable_metrics(run / "campaigns" / "random-seed4" / "metrics.json");
  fs::remove(run / "campaigns" / "random-seed4" / "metrics.json");
  const auto r3 = run_sdm("bench '" + (dir / "tiny.toml").string() + "' --resume '" + run.string() + "'");
  ASSERT_EQ(r3.exit_code, 0) << r3.output;
  EXPECT_NE(r3.output.find("(3 already done)"), std::string::npos) << r3.output;
  EXPECT_NE(r3.output.find("start random seed 4"), std::string::npos);
  EXPECT_EQ(r3.output.find("start random seed 3"), std::string::npos);
  EXPECT_EQ(stable_metrics(run / "campaigns" / "random-seed4" / "metrics.json"), before);
  EXPECT_EQ(printed_report(r3.output), report);

  // Resuming with another scenario text is refused.
  sdm::test::write_text(dir / "other.toml", std::string(kTiny) + "# changed\n");
  const auto r4 = run_sdm("bench '" + (dir / "other.toml").string() + "' --resume '" + run.string() + "'");
  EXPECT_EQ(r4.exit_code, 2) << r4.output;
  EXPECT_NE(r4.output.find("different scenario"), std::string::npos) << r4.output;
}

TEST(CmdBench, CtrlCStopsCleanlyAndResumeCompletes) {
  sdm::test::TempDir dir;
  // Longer campaigns so the interrupt lands mid-run.
  std::string text = kTiny;
  text = std::regex_replace(text, std::regex("budget = 12"), "budget = 300");
  text = std::regex_replace(text, std::regex("model_error_every = 6"), "model_error_every = 100");
  text = std::regex_replace(text, std::regex("seeds = 2"), "seeds = 3");
  text = std::regex_replace(text, std::regex("stride_px = 4"), "stride_px = 1");
  sdm::test::write_text(dir / "long.toml", text);
  const std::string cmd = "'" + std::string(SDM_BINARY) + "' bench '" + (dir / "long.toml").string() + "' --results '" +
                          (dir / "out").string() + "' --workers 2 > '" + (dir / "log").string() + "' 2>&1 & p=$!; " +
                          "for i in $(seq 200); do grep -q '^  ' '" + (dir / "log").string() +
                          "' && break; sleep 0.05; done; kill -INT $p; wait $p; echo \"rc=$?\"";
  const auto r = sdm::test::run_command(cmd);
  const std::string log = read_text(dir / "log");
  ASSERT_NE(r.output.find("rc=4"), std::string::npos) << r.output << log;
  EXPECT_NE(log.find("--resume"), std::string::npos) << log;
  fs::path run;
  for (const auto& e : fs::directory_iterator(dir / "out" / "tiny")) run = e.path();
  const nlohmann::json man = nlohmann::json::parse(read_text(run / "manifest.json"));
  EXPECT_EQ(man.at("status"), "interrupted");
  EXPECT_FALSE(fs::exists(run / "report.html"));
  const auto r2 = run_sdm("bench '" + (dir / "long.toml").string() + "' --resume '" + run.string() + "' --workers 2");
  ASSERT_EQ(r2.exit_code, 0) << r2.output;
  EXPECT_TRUE(fs::exists(run / "report.html"));
  int done = 0;
  for (const auto& e : fs::directory_iterator(run / "campaigns")) done += fs::exists(e.path() / "metrics.json");
  EXPECT_EQ(done, 6);
}

TEST(CmdBench, FailingCampaignIsReportedOthersFinish) {
  sdm::test::TempDir dir;
  sdm::bench::Scenario sc = sdm::bench::parse_scenario(kTiny, (dir / "tiny.toml").string());
  sc.strategies[1].name = "no_such_strategy";  // past the file checks: fails when its campaigns start
  sdm::bench::BenchOptions o;
  o.results_root = dir / "out";
  o.workers = 2;
  const sdm::bench::BenchResult r = sdm::bench::run_bench(sc, o);
  EXPECT_EQ(r.failed, 2);
  EXPECT_EQ(r.campaigns.size(), 2u);
  ASSERT_EQ(r.summary.failures.size(), 2u);
  EXPECT_NE(r.summary.failures[0].find("no_such_strategy"), std::string::npos) << r.summary.failures[0];
  EXPECT_TRUE(fs::exists(r.report));
  EXPECT_NE(read_text(r.report).find("Campaigns without metrics"), std::string::npos);
  EXPECT_TRUE(fs::exists(r.run_dir / "campaigns" / "lhs_design-seed3" / "failed.txt"));
}

TEST(CmdRegress, PassesAgainstItsOwnBaselineAndFailsOnAMovedValue) {
  sdm::test::TempDir dir;
  sdm::test::write_text(dir / "tiny.toml", kTiny);
  const std::string base = (dir / "base.json").string();
  const std::string common = "'" + (dir / "tiny.toml").string() + "' --baseline '" + base + "' --results '" + (dir / "out").string() + "' --quiet";
  auto r = run_sdm("regress " + common);
  EXPECT_EQ(r.exit_code, 2) << r.output;  // no baseline yet, and no --update
  r = run_sdm("regress " + common + " --update");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  ASSERT_TRUE(fs::exists(base));
  r = run_sdm("regress " + common);
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("PASSED"), std::string::npos) << r.output;
  // Move one value far beyond its tolerance: the check fails and names it.
  sdm::bench::Baseline b = sdm::bench::read_baseline(base);
  b.values.at("random").at("target_coverage").at(12).mean += 0.3;
  sdm::bench::write_baseline(base, b);
  r = run_sdm("regress " + common);
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("target_coverage"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("REGRESSED"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("FAILED"), std::string::npos) << r.output;
}
