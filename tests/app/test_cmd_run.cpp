// sdm run: a campaign into a fresh run folder; bad input exits 2; a real SIGKILL mid-campaign
// (several times) and `sdm run --resume` end with exactly the campaign an uninterrupted run
// records; Ctrl-C stops cleanly with exit 4 and the resume hint; an instrument that never
// answers ends the run without a record.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <random>
#include <thread>

#include "engine/campaign/campaign.hpp"
#include "engine/campaign/campaign_file.hpp"
#include "engine/campaign/step_journal.hpp"
#include "app/background_sdm.hpp"
#include "sdm_test_support.hpp"


namespace fs = std::filesystem;
namespace C = sdm::engine::campaign;
using sdm::test::run_sdm;
using sdm::test::TempDir;
using sdm::test::write_text;

namespace {

// 20 ms injected before every instrument call: a step takes ≥ 60 ms, so a kill lands mid-campaign.
std::string scenario(const std::string& strategy, int budget, double latency_s) {
  return "[scenario]\nname = \"tiny\"\n[film]\nsize_px = 64\nscan_size_m = 1.0e-6\n"
         "[campaign]\nbudget = " + std::to_string(budget) + "\ninitial_points = 5\npatch_px = 8\nstride_px = 4\n"
         "sweep_points = 61\nsweep_rate_v_per_s = 5.0\nseed = 4\n"
         "[dkl]\nsteps = 12\nhidden = [16, 8]\n"
         "[backend]\nlatency_s = " + std::to_string(latency_s) + "\n"
         "[[strategy]]\nname = \"" + strategy + "\"\n[[strategy]]\nname = \"random\"\nlabel = \"rnd\"\n";
}

fs::path only_run(const fs::path& root) {
  std::vector<fs::path> runs;
  for (const auto& e : fs::directory_iterator(root / "tiny")) runs.push_back(e.path());
  EXPECT_EQ(runs.size(), 1u);
  return runs.empty() ? fs::path() : runs[0];
}

std::string trimmed(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
  const auto nl = s.rfind('\n');
  return nl == std::string::npos ? s : s.substr(nl + 1);
}

/// Measurements in a run's journal right now (0 while it does not exist yet).
size_t journal_steps(const fs::path& run_root) {
  std::error_code ec;
  if (!fs::exists(run_root / "tiny", ec)) return 0;
  for (const auto& e : fs::directory_iterator(run_root / "tiny", ec)) {
    const fs::path j = e.path() / "steps.journal";
    if (!fs::exists(j, ec)) return 0;
    size_t n = 0;
    for (const auto& f : C::read_journal(j).frames) n += f.kind == C::JournalKind::step;
    return n;
  }
  return 0;
}

void expect_same_campaign(const C::CampaignData& a, const C::CampaignData& b) {
  ASSERT_EQ(a.steps.size(), b.steps.size());
  for (size_t i = 0; i < a.steps.size(); ++i) {
    EXPECT_EQ(a.steps[i].candidate, b.steps[i].candidate) << "step " << i;
    EXPECT_EQ(a.steps[i].curve.current_a, b.steps[i].curve.current_a) << "step " << i;
    EXPECT_EQ(a.steps[i].instrument_clock_s, b.steps[i].instrument_clock_s) << "step " << i;
  }
}

}  // namespace

TEST(CmdRun, RunsOneCampaignIntoAFreshRunFolder) {
  TempDir t;
  write_text(t / "tiny.toml", scenario("structural_novelty", 12, 0));
  const auto r = run_sdm("run '" + (t / "tiny.toml").string() + "' --results '" + (t / "runs").string() + "' --seed 9");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const fs::path run = only_run(t / "runs");
  EXPECT_EQ(trimmed(r.output), run.string());  // the run folder is the last line on stdout
  const C::CampaignData d = C::read_campaign_file(run / "campaign.h5");
  EXPECT_EQ(d.status, "completed");
  EXPECT_EQ(d.steps.size(), 12u);
  EXPECT_EQ(d.spec["seed"], 9);
  EXPECT_EQ(d.spec["strategy"]["name"], "structural_novelty");
  EXPECT_TRUE(fs::exists(run / "journal.log"));  // the hardware command journal
  std::ifstream mf(run / "manifest.json");
  const auto m = nlohmann::json::parse(mf);
  EXPECT_EQ(m["status"], "ok");
  EXPECT_EQ(m["command"], "run");
  EXPECT_EQ(m["seed"], 9);
  EXPECT_NE(r.output.find("step 10/12"), std::string::npos) << "a progress line every 10 steps off a terminal: " << r.output;

  // --strategy picks a [[strategy]] by label.
  const auto r2 = run_sdm("run '" + (t / "tiny.toml").string() + "' --results '" + (t / "runs2").string() + "' --strategy rnd");
  ASSERT_EQ(r2.exit_code, 0) << r2.output;
  EXPECT_EQ(C::read_campaign_file(only_run(t / "runs2") / "campaign.h5").spec["strategy"]["name"], "random");
}

TEST(CmdRun, BadInputExitsTwoWithAMessage) {
  TempDir t;
  write_text(t / "tiny.toml", scenario("random", 10, 0));
  const std::string s = "'" + (t / "tiny.toml").string() + "' --results '" + (t / "runs").string() + "'";
  auto r = run_sdm("run " + s + " --strategy nope");
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("labels: random, rnd"), std::string::npos) << r.output;
  r = run_sdm("run --resume '" + (t / "nothing").string() + "'");
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("not a folder"), std::string::npos) << r.output;
  fs::create_directories(t / "empty");
  r = run_sdm("run --resume '" + (t / "empty").string() + "'");
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("steps.journal"), std::string::npos) << r.output;
  r = run_sdm("run --resume '" + (t / "empty").string() + "' --seed 3");
  EXPECT_EQ(r.exit_code, 2) << r.output;
  write_text(t / "replay.toml", "[scenario]\nname = \"tiny\"\n[backend]\nkind = \"replay\"\npath = \"missing.h5\"\n");
  r = run_sdm("run '" + (t / "replay.toml").string() + "' --results '" + (t / "runs").string() + "'");
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("missing.h5"), std::string::npos) << r.output;
  EXPECT_TRUE(!fs::exists(t / "runs" / "tiny") || fs::is_empty(t / "runs" / "tiny")) << "no run folder left behind";
}

TEST(CmdRun, KilledRepeatedlyAndResumedEndsWithTheUninterruptedCampaign) {
  TempDir t;
  const int budget = 24;
  write_text(t / "tiny.toml", scenario("dn_dkl", budget, 0.02));
  const auto whole = run_sdm("run '" + (t / "tiny.toml").string() + "' --results '" + (t / "whole").string() + "'");
  ASSERT_EQ(whole.exit_code, 0) << whole.output;
  const C::CampaignData reference = C::read_campaign_file(only_run(t / "whole") / "campaign.h5");

  std::mt19937 rng(1);
  std::uniform_int_distribution<int> jitter_ms(0, 60);
  {
    sdm::test::BackgroundSdm b({"run", (t / "tiny.toml").string(), "--results", (t / "split").string()}, t / "log0");
    ASSERT_TRUE(sdm::test::wait_until([&] { return journal_steps(t / "split") >= 4 || !b.running(); }, 120)) << "no progress";
    std::this_thread::sleep_for(std::chrono::milliseconds(jitter_ms(rng)));  // land anywhere in a step
    b.signal(SIGKILL);
    EXPECT_EQ(b.wait(), 128 + SIGKILL);
  }
  const fs::path run = only_run(t / "split");
  for (int kill = 1; kill <= 2; ++kill) {  // killed again while resuming
    const size_t before = journal_steps(t / "split");
    ASSERT_LT(before, size_t(budget));
    sdm::test::BackgroundSdm b({"run", "--resume", run.string()}, t / ("log" + std::to_string(kill)));
    ASSERT_TRUE(sdm::test::wait_until([&] { return journal_steps(t / "split") >= before + 3 || !b.running(); }, 120));
    std::this_thread::sleep_for(std::chrono::milliseconds(jitter_ms(rng)));
    b.signal(SIGKILL);
    b.wait();
  }
  const auto rest = run_sdm("run --resume '" + run.string() + "'");
  ASSERT_EQ(rest.exit_code, 0) << rest.output;
  EXPECT_NE(rest.output.find("resuming"), std::string::npos) << rest.output;
  expect_same_campaign(C::read_campaign_file(run / "campaign.h5"), reference);
  std::ifstream mf(run / "manifest.json");
  const auto m = nlohmann::json::parse(mf);
  EXPECT_EQ(m["status"], "ok");
  EXPECT_EQ(m["resumes"].size(), 3u);
}

TEST(CmdRun, InterruptStopsCleanlyWithExitFourAndTheResumeHint) {
  TempDir t;
  write_text(t / "tiny.toml", scenario("random", 20, 0.02));
  const auto whole = run_sdm("run '" + (t / "tiny.toml").string() + "' --results '" + (t / "whole").string() + "'");
  ASSERT_EQ(whole.exit_code, 0) << whole.output;
  sdm::test::BackgroundSdm b({"run", (t / "tiny.toml").string(), "--results", (t / "split").string()}, t / "log");
  ASSERT_TRUE(sdm::test::wait_until([&] { return journal_steps(t / "split") >= 3 || !b.running(); }, 60));
  b.signal(SIGINT);
  EXPECT_EQ(b.wait(), 4);
  std::ifstream lf(t / "log");
  const std::string log((std::istreambuf_iterator<char>(lf)), std::istreambuf_iterator<char>());
  const fs::path run = only_run(t / "split");
  EXPECT_NE(log.find("sdm run --resume " + run.string()), std::string::npos) << log;
  const C::CampaignData stopped = C::read_campaign_file(run / "campaign.h5");
  EXPECT_EQ(stopped.status, "interrupted");
  EXPECT_LT(stopped.steps.size(), 20u);
  const auto rest = run_sdm("run --resume '" + run.string() + "'");
  ASSERT_EQ(rest.exit_code, 0) << rest.output;
  expect_same_campaign(C::read_campaign_file(run / "campaign.h5"), C::read_campaign_file(only_run(t / "whole") / "campaign.h5"));
}

TEST(CmdRun, AnInstrumentThatNeverAnswersEndsTheRunWithoutARecord) {
  TempDir t;
  write_text(t / "remote.toml",
             "[scenario]\nname = \"tiny\"\n[campaign]\nretries = 1\nretry_delay_s = 0.05\n"
             "[backend]\nkind = \"remote\"\nendpoint = \"tcp://127.0.0.1:1\"\ntimeout_s = 0.2\nsurvey_timeout_s = 0.2\n");
  const auto r = run_sdm("run '" + (t / "remote.toml").string() + "' --results '" + (t / "runs").string() + "'");
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("could not start"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("survey failed after 2 attempts"), std::string::npos) << r.output;
}
