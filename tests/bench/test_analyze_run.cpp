// bench::prepare_run_analysis / read_run_campaign on a recorded twin campaign: the ground truth
// is only used when the rebuilt twin reproduces the recorded survey; steps with broken curves
// are left out and named; the truth subset is seeded and excludes measured candidates; the
// journal wins over a campaign.h5 that lags behind it.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <set>

#include "bench/analyze_run.hpp"
#include "core/error.hpp"
#include "engine/campaign/campaign.hpp"
#include "engine/campaign/campaign_file.hpp"
#include "sdm_test_support.hpp"

namespace fs = std::filesystem;
namespace C = sdm::engine::campaign;
using sdm::bench::AnalyzeRunOptions;
using sdm::bench::prepare_run_analysis;
using sdm::test::run_sdm;
using sdm::test::TempDir;
using sdm::test::write_text;

namespace {

struct Recorded {
  TempDir dir;
  fs::path run;
  C::CampaignData data;
  Recorded() {
    write_text(dir / "tiny.toml",
               "[scenario]\nname = \"tiny\"\n[film]\nsize_px = 64\nscan_size_m = 1.0e-6\n"
               "[campaign]\nbudget = 15\ninitial_points = 5\npatch_px = 8\nstride_px = 4\nsweep_points = 61\n"
               "sweep_rate_v_per_s = 5.0\nseed = 7\n[[strategy]]\nname = \"random\"\n");
    const auto r = run_sdm("run '" + (dir / "tiny.toml").string() + "' --results '" + (dir / "runs").string() + "'");
    EXPECT_EQ(r.exit_code, 0) << r.output;
    for (const auto& e : fs::directory_iterator(dir / "runs" / "tiny")) run = e.path();
    data = C::read_campaign_file(run / "campaign.h5");
  }
};
const Recorded& recorded() {
  static Recorded r;
  return r;
}

}  // namespace

TEST(AnalyzeRun, TwinTruthOnlyWhenTheRebuiltTwinReproducesTheSurvey) {
  const auto& rec = recorded();
  AnalyzeRunOptions o;
  const auto good = prepare_run_analysis(rec.data, o, "test");
  EXPECT_EQ(good.truth, "twin") << good.truth_note;
  EXPECT_EQ(good.inputs.true_labels.size(), rec.data.grid.size());
  EXPECT_EQ(good.inputs.label_names.size(), 4u);
  EXPECT_EQ(good.inputs.measured.size(), 15u);
  EXPECT_EQ(good.inputs.truth_candidates.size(), rec.data.grid.size() - 15);

  C::CampaignData changed = rec.data;  // one survey pixel off: not this twin's record
  changed.survey.channels.front().data[10] += 1e-12;
  const auto bad = prepare_run_analysis(changed, o, "test");
  EXPECT_EQ(bad.truth, "none");
  EXPECT_TRUE(bad.inputs.true_labels.empty());
  EXPECT_TRUE(bad.inputs.truth_candidates.empty());
  EXPECT_NE(bad.truth_note.find("does not reproduce the recorded survey"), std::string::npos) << bad.truth_note;
  ASSERT_FALSE(bad.warnings.empty());

  C::CampaignData other_seed = rec.data;  // the same scenario under another seed is another film
  other_seed.spec["seed"] = 8;
  EXPECT_EQ(prepare_run_analysis(other_seed, o, "test").truth, "none");

  o.ground_truth = false;
  const auto off = prepare_run_analysis(rec.data, o, "test");
  EXPECT_EQ(off.truth, "none");
  EXPECT_TRUE(off.inputs.true_labels.empty());

  C::CampaignData remote = rec.data;
  remote.backend = "remote:tcp://somewhere:5555";
  const auto rr = prepare_run_analysis(remote, AnalyzeRunOptions{}, "test");
  EXPECT_EQ(rr.truth, "none");
  EXPECT_NE(rr.truth_note.find("figures only"), std::string::npos) << rr.truth_note;
}

TEST(AnalyzeRun, BrokenCurvesAreLeftOutAndNamed) {
  C::CampaignData d = recorded().data;
  d.steps[3].curve.current_a[7] = std::nan("");
  d.steps[9].curve.current_a.resize(1);
  d.steps[9].curve.bias_v.resize(1);
  const auto p = prepare_run_analysis(d, AnalyzeRunOptions{}, "test");
  EXPECT_EQ(p.excluded_steps, (std::vector<int>{3, 9}));
  ASSERT_EQ(p.inputs.measured.size(), 13u);
  EXPECT_EQ(p.inputs.measured[3], d.steps[4].candidate);
  ASSERT_GE(p.warnings.size(), 2u);
  EXPECT_NE(p.warnings[0].find("step 3"), std::string::npos) << p.warnings[0];

  C::CampaignData one = recorded().data;
  one.steps.resize(2);
  one.steps[1].curve.current_a[0] = INFINITY;
  try {
    prepare_run_analysis(one, AnalyzeRunOptions{}, "run/campaign.h5");
    ADD_FAILURE() << "one usable pair accepted";
  } catch (const sdm::Error& e) {
    EXPECT_NE(std::string(e.what()).find("run/campaign.h5: 1 usable"), std::string::npos) << e.what();
  }
}

TEST(AnalyzeRun, TruthSubsetIsSeededAndNeverMeasured) {
  const auto& rec = recorded();
  AnalyzeRunOptions o;
  o.truth_points = 40;
  const auto a = prepare_run_analysis(rec.data, o, "test");
  const auto b = prepare_run_analysis(rec.data, o, "test");
  o.seed = 99;
  const auto c = prepare_run_analysis(rec.data, o, "test");
  ASSERT_EQ(a.inputs.truth_candidates.size(), 40u);
  EXPECT_EQ(a.inputs.truth_candidates, b.inputs.truth_candidates);
  EXPECT_NE(a.inputs.truth_candidates, c.inputs.truth_candidates);
  const std::set<int> measured(a.inputs.measured.begin(), a.inputs.measured.end());
  const std::set<int> truth(a.inputs.truth_candidates.begin(), a.inputs.truth_candidates.end());
  EXPECT_EQ(truth.size(), 40u) << "no candidate twice";
  for (int t : truth) EXPECT_FALSE(measured.count(t)) << t;
  EXPECT_TRUE(std::is_sorted(a.inputs.truth_candidates.begin(), a.inputs.truth_candidates.end()));
}

TEST(AnalyzeRun, JournalWinsOverACampaignFileThatLagsBehindIt) {
  const auto& rec = recorded();
  TempDir t;
  fs::copy(rec.run, t / "run", fs::copy_options::recursive);
  C::CampaignData shorter = rec.data;
  shorter.steps.resize(10);
  {
    C::CampaignFileWriter w(C::campaign_file_path(t / "run"), shorter);  // as if it died 5 steps behind
  }
  fs::path source;
  std::string note;
  const C::CampaignData d = sdm::bench::read_run_campaign(t / "run", &source, &note);
  EXPECT_EQ(source.filename(), "steps.journal");
  EXPECT_EQ(d.steps.size(), 15u);
  EXPECT_NE(note.find("records 10 steps"), std::string::npos) << note;

  // A journal whose writer died mid-record (here the end-of-session record after the 15th step):
  // the torn tail is dropped, and named.
  const fs::path j = C::journal_path(t / "run");
  fs::resize_file(j, fs::file_size(j) - 10);
  fs::remove(C::campaign_file_path(t / "run"));
  const C::CampaignData torn = sdm::bench::read_run_campaign(t / "run", &source, &note);
  EXPECT_EQ(source.filename(), "steps.journal");
  EXPECT_EQ(torn.steps.size(), 15u);
  EXPECT_NE(note.find("campaign.h5 unusable"), std::string::npos) << note;
  EXPECT_NE(note.find("torn record (after 15 complete steps), ignored"), std::string::npos) << note;
  // Without its end record the campaign reads as still running (or crashed): the analysis says so.
  EXPECT_EQ(torn.status, "running");
  const auto pr = prepare_run_analysis(torn, AnalyzeRunOptions{}, "test");
  ASSERT_FALSE(pr.warnings.empty());
  EXPECT_NE(pr.warnings.front().find("analysing the 15 steps recorded so far"), std::string::npos) << pr.warnings.front();
  EXPECT_TRUE(prepare_run_analysis(rec.data, AnalyzeRunOptions{}, "test").warnings.empty()) << "a completed campaign: no note";

  { C::CampaignFileWriter w(C::campaign_file_path(t / "run"), shorter); }
  fs::remove(j);
  const C::CampaignData h = sdm::bench::read_run_campaign(t / "run", &source, &note);
  EXPECT_EQ(source.filename(), "campaign.h5");
  EXPECT_EQ(h.steps.size(), 10u);
  EXPECT_TRUE(note.empty());
}

namespace {
std::vector<std::string> hidden(const fs::path& dir) {
  std::vector<std::string> v;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.path().filename().string().front() == '.') v.push_back(e.path().filename().string());
  return v;
}
std::string slurp(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
}
}  // namespace

// A stop requested while the analysis is being written (what Ctrl-C does once the fit is over)
// removes the staging folder and leaves the output exactly as it was; a stop during the fit
// writes nothing at all.
TEST(AnalyzeRun, StopWhileWritingLeavesThePreviousAnalysisAsItWas) {
  TempDir t;
  fs::copy(recorded().run, t / "run", fs::copy_options::recursive);
  AnalyzeRunOptions o;
  o.epochs = 2;
  o.save_model = false;
  const auto first = sdm::bench::analyze_run(t / "run", o);
  ASSERT_FALSE(first.interrupted);
  const std::string json = slurp(t / "run" / "analysis" / "analysis.json");
  ASSERT_FALSE(json.empty());
  std::vector<std::string> before;
  for (const auto& e : fs::directory_iterator(t / "run" / "analysis")) before.push_back(e.path().filename().string());

  std::atomic<bool> stop{false};
  std::vector<std::string> phases;
  o.stop = &stop;
  o.seed = 5;  // a different analysis, had it been written
  o.on_phase = [&](const std::string& p, const std::string&) {
    phases.push_back(p);
    if (p == "write") stop = true;
  };
  const auto s = sdm::bench::analyze_run(t / "run", o);
  EXPECT_TRUE(s.interrupted);
  EXPECT_TRUE(s.files.empty());
  EXPECT_EQ(phases, (std::vector<std::string>{"read", "prepare", "fit", "write"}));
  EXPECT_EQ(slurp(t / "run" / "analysis" / "analysis.json"), json);
  std::vector<std::string> after;
  for (const auto& e : fs::directory_iterator(t / "run" / "analysis")) after.push_back(e.path().filename().string());
  std::sort(before.begin(), before.end());
  std::sort(after.begin(), after.end());
  EXPECT_EQ(after, before);
  EXPECT_TRUE(hidden(t / "run").empty()) << "the staging folder is gone";

  // Stopped during the fit: nothing is created, not even an output folder.
  stop = false;
  phases.clear();
  o.output = t / "elsewhere" / "analysis";
  o.on_phase = [&](const std::string& p, const std::string&) {
    phases.push_back(p);
    if (p == "fit") stop = true;
  };
  EXPECT_TRUE(sdm::bench::analyze_run(t / "run", o).interrupted);
  EXPECT_EQ(phases.back(), "fit");
  EXPECT_FALSE(fs::exists(t / "elsewhere"));
}
