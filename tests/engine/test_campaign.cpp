// The campaign loop on a synthetic instrument: records, campaign file and journal, budgets,
// stop/resume equivalence, checkpoints lost or lagging, a torn journal, a corrupt HDF5 file,
// and failing instruments (retry policy, clean stop, record intact, resume).
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <set>

#include "campaign_test_support.hpp"
#include "core/error.hpp"
#include "engine/campaign/campaign.hpp"
#include "engine/campaign/campaign_file.hpp"
#include "engine/campaign/checkpoint.hpp"
#include "engine/campaign/spec_json.hpp"
#include "engine/campaign/step_journal.hpp"
#include "engine/patches/candidate_grid.hpp"
#include "sdm_test_support.hpp"

namespace C = sdm::engine::campaign;
using sdm::test::FakeInstrument;
using sdm::test::FlakyBackend;
using sdm::test::TempDir;

namespace {

C::CampaignOutcome run_fake(const C::CampaignSpec& spec, int stop_after = -1) {
  FakeInstrument fake;
  auto scope = sdm::test::microscope_on(fake);
  std::atomic<bool> stop{false};
  return C::run_campaign(
      spec, scope, [&](const C::Progress& p) { if (p.step == stop_after) stop = true; }, &stop);
}

void expect_same_steps(const std::vector<C::StepRecord>& a, const std::vector<C::StepRecord>& b) {
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].candidate, b[i].candidate) << "step " << i;
    EXPECT_EQ(a[i].phase, b[i].phase) << "step " << i;
    EXPECT_EQ(a[i].curve.current_a, b[i].curve.current_a) << "step " << i;
    EXPECT_EQ(a[i].curve.bias_v, b[i].curve.bias_v) << "step " << i;
    EXPECT_EQ(a[i].x_requested_m, b[i].x_requested_m) << "step " << i;
    if (std::isnan(a[i].score)) {
      EXPECT_TRUE(std::isnan(b[i].score)) << "step " << i;
    } else {
      EXPECT_EQ(a[i].score, b[i].score) << "step " << i;
    }
  }
}

std::string slurp(const std::filesystem::path& p) {
  std::ifstream f(p, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
}

}  // namespace

TEST(Journal, Crc32MatchesTheStandardCheckValue) {
  // The CRC-32/IEEE check value of "123456789" is 0xCBF43926 (as zlib's crc32 gives).
  EXPECT_EQ(C::crc32("123456789", 9), 0xCBF43926u);
  EXPECT_EQ(C::crc32("", 0), 0u);
}

TEST(Journal, KeepsIntactFramesAndDropsATornOrCorruptTail) {
  TempDir t;
  const auto file = t / "j";
  {
    auto j = C::StepJournal::create(file);
    j.append(C::JournalKind::header, {{"a", 1}});
    j.append(C::JournalKind::step, {{"b", std::vector<double>{1.5, -2.0}}});
    EXPECT_THROW(C::StepJournal::create(file), sdm::Error);  // never overwrites
  }
  const std::string whole = slurp(file);
  auto c = C::read_journal(file);
  ASSERT_EQ(c.frames.size(), 2u);
  EXPECT_EQ(c.valid_bytes, whole.size());
  EXPECT_EQ(c.frames[1].payload["b"][1].get<double>(), -2.0);

  // A frame cut anywhere in its header or payload is dropped; the first frame survives.
  const auto first = C::read_journal(file).frames.size();
  ASSERT_EQ(first, 2u);
  for (size_t cut = whole.size() - 1; cut + 30 > whole.size(); --cut) {
    sdm::test::write_text(file, whole.substr(0, cut));
    auto torn = C::read_journal(file);
    EXPECT_EQ(torn.frames.size(), 1u) << "cut at " << cut;
    EXPECT_LT(torn.valid_bytes, cut + 1);
  }
  // A flipped payload byte fails the CRC.
  std::string bad = whole;
  bad[bad.size() - 2] ^= 0x40;
  sdm::test::write_text(file, bad);
  EXPECT_EQ(C::read_journal(file).frames.size(), 1u);

  // Reopening cuts the torn tail before appending.
  sdm::test::write_text(file, whole + "SDMJ\x02");
  auto again = C::read_journal(file);
  EXPECT_EQ(again.frames.size(), 2u);
  {
    auto j = C::StepJournal::open(file, again.valid_bytes);
    j.append(C::JournalKind::end, {{"status", "completed"}, {"message", ""}});
  }
  EXPECT_EQ(C::read_journal(file).frames.size(), 3u);
}

TEST(Campaign, RecordsEveryStepInTheFileAndTheJournal) {
  TempDir t;
  const auto spec = sdm::test::small_spec("random", t / "run");
  const C::CampaignOutcome o = run_fake(spec);
  EXPECT_EQ(o.end, C::CampaignEnd::completed) << o.message;
  ASSERT_EQ(o.steps.size(), 16u);
  EXPECT_EQ(o.grid.size(), 81u);  // (40 − 8)/4 + 1 = 9 per side
  EXPECT_EQ(o.file, t / "run" / "campaign.h5");

  const C::CampaignData f = C::read_campaign_file(o.file);
  const C::CampaignData j = C::read_campaign_journal(t / "run" / "steps.journal");
  for (const C::CampaignData* d : {&f, &j}) {
    EXPECT_EQ(d->status, "completed");
    EXPECT_EQ(d->backend, "fake");
    EXPECT_EQ(d->survey_channel, "topography");
    EXPECT_EQ(d->grid.ix_px, o.grid.ix_px);
    EXPECT_EQ(d->grid.iy_px, o.grid.iy_px);
    ASSERT_EQ(d->survey.channels.size(), 2u);  // every channel the backend offers
    EXPECT_EQ(d->survey.channels[1].name, "current");
    EXPECT_EQ(d->survey.channels[0].data, o.survey.channels[0].data);
    EXPECT_EQ(d->survey.axes.dx_m, 25e-9);
    EXPECT_EQ(d->waveform.bias_v.size(), 41u);
    EXPECT_EQ(d->spec["strategy"]["name"], "random");
    EXPECT_EQ(d->spec["seed"], 5);
    expect_same_steps(d->steps, o.steps);
    for (size_t i = 0; i < o.steps.size(); ++i) {
      EXPECT_EQ(d->steps[i].curve.time_s, o.steps[i].curve.time_s);
      EXPECT_EQ(d->steps[i].instrument_clock_s, o.steps[i].instrument_clock_s);
      EXPECT_EQ(d->steps[i].model_json, o.steps[i].model_json);
      EXPECT_EQ(d->steps[i].x_reached_m, o.steps[i].x_reached_m);
    }
  }
  // Per-step facts, checked against the grid and the fake's clock independently.
  std::set<int> seen;
  for (size_t i = 0; i < o.steps.size(); ++i) {
    const C::StepRecord& r = o.steps[i];
    EXPECT_EQ(r.step, int(i));
    EXPECT_EQ(r.phase, i < 5 ? "initial" : "strategy");
    EXPECT_TRUE(seen.insert(r.candidate).second) << "candidate " << r.candidate << " measured twice";
    EXPECT_EQ(r.ix_px, o.grid.ix_px[size_t(r.candidate)]);
    EXPECT_DOUBLE_EQ(r.x_requested_m, (r.ix_px + 0.5) * 25e-9);
    EXPECT_DOUBLE_EQ(r.y_requested_m, (r.iy_px + 0.5) * 25e-9);
    EXPECT_EQ(r.x_reached_m, r.x_requested_m);
    // 10 s survey, then per step a 1 s move and a 0 → 1 → 0 V sweep at 10 V/s (0.2 s).
    EXPECT_NEAR(r.instrument_clock_s, 10 + (i + 1) * 1.2, 1e-9);
    EXPECT_GE(r.decision_latency_s, 0.0);
    if (i) {
      EXPECT_GE(r.wall_clock_s, o.steps[i - 1].wall_clock_s);
    }
  }
  // A second campaign into the same folder is refused.
  EXPECT_THROW(run_fake(spec), sdm::Error);
}

TEST(Campaign, SameSeedSameCampaignOtherSeedAnother) {
  TempDir t;
  for (const char* s : {"random", "lhs", "structural_novelty"}) {
    const auto a = run_fake(sdm::test::small_spec(s, t / (std::string(s) + "a")));
    const auto b = run_fake(sdm::test::small_spec(s, t / (std::string(s) + "b")));
    const auto c = run_fake(sdm::test::small_spec(s, t / (std::string(s) + "c"), 16, 6));
    expect_same_steps(a.steps, b.steps);
    EXPECT_NE(sdm::test::candidates_of(a.steps), sdm::test::candidates_of(c.steps)) << s;
  }
}

TEST(Campaign, StoppedAndResumedEqualsUninterrupted) {
  TempDir t;
  for (const char* s : {"random", "raster", "lhs", "structural_novelty"}) {
    const std::string name(s);
    const auto whole = run_fake(sdm::test::small_spec(s, t / (name + "-whole")));
    FakeInstrument fake;  // one instrument across the stop: its clock carries on
    auto scope = sdm::test::microscope_on(fake);
    std::atomic<bool> stop{false};
    const auto dir = t / (name + "-split");
    const auto first = C::run_campaign(
        sdm::test::small_spec(s, dir), scope, [&](const C::Progress& p) { if (p.step == 7) stop = true; }, &stop);
    EXPECT_EQ(first.end, C::CampaignEnd::interrupted);
    EXPECT_EQ(first.steps.size(), 7u);
    EXPECT_NE(first.message.find("sdm run --resume " + dir.string()), std::string::npos) << first.message;
    EXPECT_EQ(C::read_campaign_file(dir / "campaign.h5").status, "interrupted");
    stop = false;
    const auto rest = C::resume_campaign(dir, scope, {}, &stop);
    EXPECT_EQ(rest.end, C::CampaignEnd::completed) << rest.message;
    EXPECT_EQ(rest.resumed_from, 7);
    expect_same_steps(rest.steps, whole.steps);
    for (size_t i = 0; i < whole.steps.size(); ++i) EXPECT_EQ(rest.steps[i].instrument_clock_s, whole.steps[i].instrument_clock_s);
    expect_same_steps(C::read_campaign_file(dir / "campaign.h5").steps, whole.steps);
    EXPECT_EQ(fake.sweeps, 16) << name << ": no location measured twice, none skipped";
    // Resuming a finished campaign measures nothing more.
    const auto again = C::resume_campaign(dir, scope);
    EXPECT_EQ(again.end, C::CampaignEnd::completed);
    EXPECT_EQ(again.steps.size(), 16u);
    EXPECT_EQ(fake.sweeps, 16);
  }
}

TEST(Campaign, ResumeRebuildsWhatACrashCanBreak) {
  TempDir t;
  const auto whole = run_fake(sdm::test::small_spec("structural_novelty", t / "whole"));
  const auto dir = t / "crash";
  run_fake(sdm::test::small_spec("structural_novelty", dir), 9);
  // A crash can leave: no checkpoint at all, a torn journal frame, an unreadable campaign.h5.
  std::filesystem::remove_all(dir / "checkpoint");
  {
    std::ofstream j(dir / "steps.journal", std::ios::binary | std::ios::app);
    j << "SDMJ\x02\x00\x00\x00\xff\x01";  // the start of a frame that was never finished
  }
  sdm::test::write_text(dir / "campaign.h5", "not an HDF5 file any more");
  EXPECT_THROW(C::read_campaign_file(dir / "campaign.h5"), sdm::Error);
  FakeInstrument fake;
  auto scope = sdm::test::microscope_on(fake);
  const auto rest = C::resume_campaign(dir, scope);
  EXPECT_EQ(rest.end, C::CampaignEnd::completed) << rest.message;
  expect_same_steps(rest.steps, whole.steps);
  expect_same_steps(C::read_campaign_file(dir / "campaign.h5").steps, whole.steps);
  EXPECT_EQ(C::read_campaign_journal(dir / "steps.journal").steps.size(), 16u);
}

TEST(Campaign, ACheckpointBehindTheRecordIsCaughtUpByReplayingDecisions) {
  // Killed between appending step k and writing its checkpoint: the checkpoint covers k − 1.
  TempDir t;
  const auto whole = run_fake(sdm::test::small_spec("lhs", t / "whole"));
  const auto dir = t / "lag";
  run_fake(sdm::test::small_spec("lhs", dir), 9);
  const auto ck = C::find_checkpoint(dir);
  ASSERT_TRUE(ck);
  EXPECT_EQ(ck->steps, 9);
  // Rewrite the pointer to claim 8 steps, as if the 9th checkpoint never happened.
  std::filesystem::rename(ck->folder, dir / "checkpoint" / "step_000008");
  sdm::test::write_text(dir / "checkpoint" / "current.json", R"({"steps": 8, "folder": "step_000008"})");
  FakeInstrument fake;
  auto scope = sdm::test::microscope_on(fake);
  const auto rest = C::resume_campaign(dir, scope);
  expect_same_steps(rest.steps, whole.steps);
}

TEST(Campaign, FailingInstrumentStopsCleanlyWithTheRecordIntactAndResumes) {
  TempDir t;
  const auto whole = run_fake(sdm::test::small_spec("random", t / "whole"));
  const auto dir = t / "faulty";
  auto spec = sdm::test::small_spec("random", dir);
  spec.campaign.retries = 2;
  auto fake = std::make_shared<FakeInstrument>();
  FlakyBackend flaky(fake, FlakyBackend::from(7));  // sweeps 7, 8, 9, ... time out
  auto scope = sdm::test::microscope_on(flaky);
  const auto o = C::run_campaign(spec, scope);
  EXPECT_EQ(o.end, C::CampaignEnd::instrument_failure);
  EXPECT_EQ(o.steps.size(), 6u);
  EXPECT_EQ(flaky.calls, 6 + 3) << "the 7th sweep is tried 1 + retries times";
  EXPECT_NE(o.message.find("iv_sweep failed after 3 attempts"), std::string::npos) << o.message;
  EXPECT_NE(o.message.find("timeout"), std::string::npos) << o.message;
  EXPECT_NE(o.message.find("sdm run --resume " + dir.string()), std::string::npos) << o.message;
  const auto file = C::read_campaign_file(dir / "campaign.h5");
  EXPECT_EQ(file.status, "instrument_failure");
  EXPECT_EQ(file.message, o.message);
  expect_same_steps(file.steps, std::vector<C::StepRecord>(whole.steps.begin(), whole.steps.begin() + 6));

  // The instrument is back: resume finishes the same campaign.
  auto healthy = sdm::test::microscope_on(*fake);
  const auto rest = C::resume_campaign(dir, healthy);
  EXPECT_EQ(rest.end, C::CampaignEnd::completed) << rest.message;
  expect_same_steps(rest.steps, whole.steps);
}

TEST(Campaign, TransientFailuresAreRetriedPerPolicy) {
  TempDir t;
  {
    auto spec = sdm::test::small_spec("random", t / "two", 8);
    spec.campaign.retries = 2;
    FlakyBackend flaky(std::make_shared<FakeInstrument>(), {3, 4}, sdm::hardware::StatusCode::disconnected);
    auto scope = sdm::test::microscope_on(flaky);
    const auto o = C::run_campaign(spec, scope);
    EXPECT_EQ(o.end, C::CampaignEnd::completed) << o.message;
    EXPECT_EQ(o.steps.size(), 8u);
    EXPECT_EQ(flaky.calls, 10);
  }
  {
    auto spec = sdm::test::small_spec("random", t / "one", 8);
    spec.campaign.retries = 1;
    FlakyBackend flaky(std::make_shared<FakeInstrument>(), {3, 4}, sdm::hardware::StatusCode::disconnected);
    auto scope = sdm::test::microscope_on(flaky);
    const auto o = C::run_campaign(spec, scope);
    EXPECT_EQ(o.end, C::CampaignEnd::instrument_failure);
    EXPECT_EQ(o.steps.size(), 2u);
    EXPECT_NE(o.message.find("disconnected"), std::string::npos) << o.message;
  }
}

TEST(Campaign, StopsAtTheInstrumentTimeBudget) {
  TempDir t;
  auto spec = sdm::test::small_spec("random", t / "tb", 40);
  spec.campaign.time_budget_s = 20.0;  // 10 s survey + 1.2 s per step: the 9th step crosses 20 s
  const auto o = run_fake(spec);
  EXPECT_EQ(o.end, C::CampaignEnd::time_budget);
  ASSERT_EQ(o.steps.size(), 9u);
  EXPECT_GE(o.steps.back().instrument_clock_s, 20.0);
  EXPECT_LT(o.steps[7].instrument_clock_s, 20.0);
  EXPECT_EQ(C::read_campaign_file(o.file).status, "time_budget");
  FakeInstrument fake;
  auto scope = sdm::test::microscope_on(fake);
  EXPECT_EQ(C::resume_campaign(t / "tb", scope).end, C::CampaignEnd::time_budget);
  EXPECT_EQ(fake.sweeps, 0);
}

TEST(Campaign, ABudgetBeyondTheGridEndsWhenEveryCandidateIsMeasured) {
  TempDir t;
  auto spec = sdm::test::small_spec("random", t / "all", 100);
  const auto o = run_fake(spec);
  EXPECT_EQ(o.end, C::CampaignEnd::completed);
  EXPECT_EQ(o.steps.size(), 81u);
  const std::vector<int> c = sdm::test::candidates_of(o.steps);
  const std::set<int> s(c.begin(), c.end());
  EXPECT_EQ(s.size(), 81u);
}

TEST(Campaign, BadSetupIsAnErrorBeforeAnythingIsWritten) {
  TempDir t;
  auto spec = sdm::test::small_spec("random", t / "bad");
  spec.campaign.survey_channel = "phase";
  EXPECT_THROW(run_fake(spec), sdm::Error);
  EXPECT_FALSE(std::filesystem::exists(t / "bad" / "steps.journal"));
  spec.campaign.survey_channel = "topography";
  spec.campaign.sweep_max_bias_v = 12;  // the fake allows 10 V
  EXPECT_THROW(run_fake(spec), sdm::Error);
  spec.campaign.sweep_max_bias_v = 1;
  spec.strategy.name = "no_such_strategy";
  try {
    run_fake(spec);
    FAIL();
  } catch (const sdm::Error& e) {
    EXPECT_NE(std::string(e.what()).find("structural_novelty"), std::string::npos) << e.what();
  }
  EXPECT_FALSE(std::filesystem::exists(t / "bad" / "steps.journal"));
  EXPECT_THROW(C::resume_campaign(t / "nothing-here", *std::make_unique<sdm::hardware::Microscope>(std::make_unique<FakeInstrument>())),
               sdm::Error);
}

TEST(SpecJson, RoundTripsEveryFieldOfEveryConfig) {
  C::CampaignSpec s;
  auto& c = s.campaign;
  c.budget = 77, c.time_budget_s = 12.5, c.initial_points = 7, c.initial_design = "raster", c.patch_px = 12, c.stride_px = 3;
  c.survey_channel = "current", c.seed = 99, c.seeds = 4, c.sweep_shape = "bipolar", c.sweep_max_bias_v = 2.5;
  c.sweep_points = 101, c.sweep_rate_v_per_s = 3.5, c.retries = 5, c.retry_delay_s = 0.25;
  auto& a = s.strategy;
  a.name = "beacon", a.label = "b2", a.beta = 2.5, a.xi = 0.5, a.scalarizer = "onset_voltage", a.scalarizer_bias_v = -0.5;
  a.onset_current_a = 3e-11, a.contamination = 0.2, a.forest_trees = 33, a.forest_subsample = 64, a.ssim_window = "gaussian";
  a.ssim_window_px = 9, a.ssim_window_sigma = 2.0, a.spectral_normalisation = "curve", a.elite_fraction = 0.4;
  auto& d = s.dkl;
  d.feature_extractor = "cnn", d.hidden = {7, 5}, d.cnn_channels = {3}, d.latent_dim = 3, d.kernel = "rbf", d.ard = true;
  d.steps = 17, d.learning_rate = 0.002, d.warm_start = false, d.train_subset = 64, d.early_stop_patience = 4;
  d.early_stop_tolerance = 1e-3, d.min_noise_variance = 1e-3, d.input_normalisation = "per_feature", d.jitter = 1e-5;
  d.max_jitter = 0.5, d.predict_chunk = 999;
  s.seed = 1234567890123ull, s.scenario_text = "[x]\n", s.scenario_path = "/a/b.toml";
  const nlohmann::json j = C::spec_to_json(s);
  const C::CampaignSpec r = C::spec_from_json(nlohmann::json::parse(j.dump()), "test");
  EXPECT_EQ(C::spec_to_json(r), j);
  // Each value differs from its default, so the JSON holds every one of them.
  EXPECT_NE(C::config_to_json(r.campaign), C::config_to_json(C::CampaignConfig{}));
  for (const auto& [k, v] : j["campaign"].items()) EXPECT_NE(v, C::config_to_json(C::CampaignConfig{})[k]) << k;
  for (const auto& [k, v] : j["strategy"].items()) EXPECT_NE(v, C::config_to_json(sdm::engine::acquisition::StrategyConfig{})[k]) << k;
  for (const auto& [k, v] : j["dkl"].items()) EXPECT_NE(v, C::config_to_json(sdm::engine::gp::DklConfig{})[k]) << k;
  EXPECT_EQ(j["dkl"].size(), 17u);
  EXPECT_EQ(j["strategy"].size(), 15u);
  EXPECT_EQ(j["campaign"].size(), 15u);
  EXPECT_EQ(r.dkl.cnn_channels, std::vector<int>{3});
  EXPECT_EQ(r.seed, 1234567890123ull);
  EXPECT_THROW(C::spec_from_json(nlohmann::json::object(), "x"), sdm::Error);
}
