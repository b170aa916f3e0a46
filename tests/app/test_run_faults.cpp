// Fault suite for the local run folder (issue 22, items 4–9): one writer per run folder, journal
// damage in the middle never silent, scenarios of any size that validates, a full disk, hostile
// input files, and "exit 2 writes nothing".
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "app/background_sdm.hpp"
#include "engine/campaign/campaign.hpp"
#include "engine/campaign/campaign_file.hpp"
#include "engine/campaign/step_journal.hpp"
#include "sdm_test_support.hpp"

namespace fs = std::filesystem;
namespace C = sdm::engine::campaign;
using sdm::test::read_text;
using sdm::test::run_sdm;
using sdm::test::TempDir;
using sdm::test::write_text;

namespace {

std::string scenario(const std::string& strategy, int budget, double latency_s, const std::string& extra = "") {
  return "[scenario]\nname = \"tiny\"\n[film]\nsize_px = 64\nscan_size_m = 1.0e-6\n"
         "[campaign]\nbudget = " + std::to_string(budget) + "\ninitial_points = 5\npatch_px = 8\nstride_px = 4\n"
         "sweep_points = 61\nsweep_rate_v_per_s = 5.0\nseed = 4\n" + extra +
         "[dkl]\nsteps = 12\nhidden = [16, 8]\n"
         "[backend]\nlatency_s = " + std::to_string(latency_s) + "\n"
         "[[strategy]]\nname = \"" + strategy + "\"\n";
}

std::string quoted(const fs::path& p) { return "'" + p.string() + "'"; }

std::vector<fs::path> runs_in(const fs::path& root) {
  std::vector<fs::path> runs;
  std::error_code ec;
  if (fs::is_directory(root / "tiny", ec))
    for (const auto& e : fs::directory_iterator(root / "tiny")) runs.push_back(e.path());
  return runs;
}

fs::path only_run(const fs::path& root) {
  const auto runs = runs_in(root);
  EXPECT_EQ(runs.size(), 1u);
  return runs.empty() ? fs::path() : runs[0];
}

size_t journal_steps(const fs::path& journal) {
  std::error_code ec;
  if (!fs::exists(journal, ec)) return 0;
  size_t n = 0;
  for (const auto& f : C::read_journal(journal).frames) n += f.kind == C::JournalKind::step;
  return n;
}

std::string host() {
  char h[256] = {0};
  ::gethostname(h, sizeof h - 1);
  return h;
}

void expect_same_steps(const C::CampaignData& a, const C::CampaignData& b) {
  ASSERT_EQ(a.steps.size(), b.steps.size());
  for (size_t i = 0; i < a.steps.size(); ++i) {
    EXPECT_EQ(a.steps[i].candidate, b.steps[i].candidate) << "step " << i;
    EXPECT_EQ(a.steps[i].curve.current_a, b.steps[i].curve.current_a) << "step " << i;
  }
}

}  // namespace

// Item 4: while a run (or a resume) writes a folder, a second `--resume` of it is refused with
// the holder's pid and host, and writes nothing; the campaign ends with one frame per measurement.
TEST(RunFaults, ASecondWriterOfARunFolderIsRefusedNamingTheHolder) {
  TempDir t;
  const int budget = 40;  // 0.1 s per instrument call: ≥ 12 s per campaign, so the holder is still at work when the second comes
  write_text(t / "tiny.toml", scenario("random", budget, 0.1));
  fs::path run;
  {
    sdm::test::BackgroundSdm a({"run", (t / "tiny.toml").string(), "--results", (t / "runs").string()}, t / "log_a");
    ASSERT_TRUE(sdm::test::wait_until(
        [&] { return (!runs_in(t / "runs").empty() && journal_steps(runs_in(t / "runs")[0] / "steps.journal") >= 2) || !a.running(); }, 120));
    run = only_run(t / "runs");
    const auto manifest_before = read_text(run / "manifest.json");
    ASSERT_TRUE(a.running()) << read_text(t / "log_a");
    const auto second = run_sdm("run --resume " + quoted(run));
    EXPECT_EQ(second.exit_code, 2) << second.output;
    EXPECT_NE(second.output.find("in use by another sdm process"), std::string::npos) << second.output;
    EXPECT_NE(second.output.find("pid " + std::to_string(a.pid()) + " on host " + host()), std::string::npos) << second.output;
    EXPECT_EQ(read_text(run / "manifest.json"), manifest_before) << "the refused process wrote the manifest";
    a.signal(SIGKILL);
    a.wait();
  }
  {
    // Two resumes of the killed run: the first continues, the second is refused.
    sdm::test::BackgroundSdm b({"run", "--resume", run.string()}, t / "log_b");
    ASSERT_TRUE(sdm::test::wait_until([&] { return read_text(t / "log_b").find("resuming") != std::string::npos || !b.running(); }, 120));
    ASSERT_TRUE(b.running()) << read_text(t / "log_b");
    const auto third = run_sdm("run --resume " + quoted(run));
    EXPECT_EQ(third.exit_code, 2) << third.output;
    EXPECT_NE(third.output.find("pid " + std::to_string(b.pid())), std::string::npos) << third.output;
    EXPECT_EQ(b.wait(), 0) << read_text(t / "log_b");
  }
  const C::JournalContents j = C::read_journal(run / "steps.journal");
  size_t steps = 0;
  for (const auto& f : j.frames) steps += f.kind == C::JournalKind::step;
  EXPECT_EQ(steps, size_t(budget)) << "one journal frame per measurement";
  EXPECT_EQ(j.valid_bytes, j.file_bytes);
  EXPECT_EQ(C::read_campaign_file(run / "campaign.h5").steps.size(), size_t(budget));
}

// Item 6: one flipped byte in a middle frame stops resume with exit 2 naming the frame and the
// measurements after it (nothing changed); --truncate-journal-at accepts the loss explicitly,
// keeps the cut-off bytes, and the campaign then completes exactly as an uninterrupted one.
TEST(RunFaults, ABitFlipMidJournalStopsResumeUntilTheLossIsAccepted) {
  TempDir t;
  const int budget = 12;
  write_text(t / "tiny.toml", scenario("random", budget, 0));
  ASSERT_EQ(run_sdm("run " + quoted(t / "tiny.toml") + " --results " + quoted(t / "whole")).exit_code, 0);
  const fs::path reference = only_run(t / "whole");
  // The same campaign, stopped after 7 of 12 measurements: the journal of a completed one minus
  // its end frame and last 5 steps is what a kill leaves.
  fs::copy(reference, t / "run", fs::copy_options::recursive);
  const fs::path run = t / "run", journal = run / "steps.journal";
  C::truncate_journal_at(journal, 7);  // (the tail goes to a .cut file: remove it, as a kill leaves none)
  for (const auto& e : fs::directory_iterator(run))
    if (e.path().filename().string().rfind("steps.journal.cut-", 0) == 0) fs::remove(e.path());
  fs::remove(run / "run.lock");
  // Flip one byte inside frame 4 (= measurement 3).
  std::string bytes = read_text(journal);
  std::size_t at = 0;
  for (int f = 0; f < 4; ++f) {
    std::uint64_t size = 0;
    for (int i = 0; i < 8; ++i) size |= std::uint64_t(static_cast<unsigned char>(bytes[at + 8 + std::size_t(i)])) << (8 * i);
    at += 20 + size;
  }
  bytes[at + 30] = static_cast<char>(bytes[at + 30] ^ 0x10);
  write_text(journal, bytes);
  const std::string damaged = read_text(journal);

  const auto r = run_sdm("run --resume " + quoted(run));
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("frame 4 "), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("3 measurements (steps 4–6)"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("--truncate-journal-at 3"), std::string::npos) << r.output;
  EXPECT_EQ(read_text(journal), damaged) << "a refused resume changed the journal";

  const auto too_far = run_sdm("run --resume " + quoted(run) + " --truncate-journal-at 5");
  EXPECT_EQ(too_far.exit_code, 2) << too_far.output;
  EXPECT_EQ(read_text(journal), damaged);

  const auto ok = run_sdm("run --resume " + quoted(run) + " --truncate-journal-at 3");
  ASSERT_EQ(ok.exit_code, 0) << ok.output;
  EXPECT_NE(ok.output.find("resuming " + run.string() + " at measurement 3"), std::string::npos) << ok.output;
  bool kept = false;
  for (const auto& e : fs::directory_iterator(run))
    if (e.path().filename().string().rfind("steps.journal.cut-", 0) == 0)
      kept = damaged.size() - std::stoul(e.path().filename().string().substr(18)) == fs::file_size(e.path());
  EXPECT_TRUE(kept) << "the cut-off part of the journal is kept beside it";
  expect_same_steps(C::read_campaign_file(run / "campaign.h5"), C::read_campaign_file(reference / "campaign.h5"));

  // An intact journal needs no truncation, and the option says so.
  const auto intact = run_sdm("run --resume " + quoted(reference) + " --truncate-journal-at 2");
  EXPECT_EQ(intact.exit_code, 2) << intact.output;
  EXPECT_NE(intact.output.find("no damaged frame"), std::string::npos) << intact.output;
}

// Item 7: a scenario over HDF5's 64 KiB compact-attribute limit validates and runs.
TEST(RunFaults, AScenarioLargerThan64KiBValidatesAndRuns) {
  TempDir t;
  std::string text = scenario("random", 6, 0);
  for (int i = 0; i < 1500; ++i) text += "# padding line " + std::to_string(i) + ": the scenario's notes can be long ......\n";
  ASSERT_GT(text.size(), 80000u);
  write_text(t / "big.toml", text);
  ASSERT_EQ(run_sdm("validate " + quoted(t / "big.toml")).exit_code, 0);
  const auto r = run_sdm("run " + quoted(t / "big.toml") + " --results " + quoted(t / "runs"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const C::CampaignData d = C::read_campaign_file(only_run(t / "runs") / "campaign.h5");
  EXPECT_EQ(d.spec["scenario_text"].get<std::string>(), text);
  EXPECT_EQ(d.steps.size(), 6u);
}
