// Campaigns on the digital twin and on a replayed real dataset, built by make_microscope as
// `sdm run` builds them: every strategy end to end, and resume equivalence through
// fast_forward (the rebuilt twin replays the recorded commands, so instrument clock, drift,
// ionic states and noise streams continue exactly where the stopped run left them).
#include <gtest/gtest.h>

#include <algorithm>
#include <set>

#include "bench/microscope_setup.hpp"
#include "bench/scenario.hpp"
#include "core/error.hpp"
#include "engine/acquisition/strategy_config.hpp"
#include "engine/campaign/campaign.hpp"
#include "engine/campaign/campaign_file.hpp"
#include "sdm_test_support.hpp"
#include "sim/twin.hpp"

namespace C = sdm::engine::campaign;
using sdm::test::TempDir;

namespace {

const char* kTiny = R"(
[scenario]
name = "tiny"
[film]
size_px = 64
scan_size_m = 1.0e-6
asymmetric_fraction = 0.2
[instrument]
perturbation_per_c = 2.0e8
tip_wear_ohm_per_c = 1.0e15
[campaign]
budget = 14
initial_points = 5
patch_px = 8
stride_px = 4
sweep_points = 61
sweep_rate_v_per_s = 5.0
seed = 11
[dkl]
steps = 12
hidden = [16, 8]
[backend]
journal = "off"
)";

C::CampaignSpec spec_for(const sdm::bench::Scenario& sc, const std::string& strategy, const std::filesystem::path& dir) {
  C::CampaignSpec s;
  s.campaign = sc.campaign;
  s.strategy.name = s.strategy.label = strategy;
  s.strategy.forest_trees = 50;
  s.dkl = sc.dkl;
  s.seed = sc.campaign.seed;
  s.directory = dir;
  s.scenario_text = sc.text;
  return s;
}

}  // namespace

TEST(CampaignTwin, EveryStrategyRunsEndToEndOnTheTwin) {
  TempDir t;
  const auto sc = sdm::bench::parse_scenario(kTiny, "tiny.toml");
  for (const std::string& name : sdm::engine::acquisition::strategy_names()) {
    auto setup = sdm::bench::make_microscope(sc, sc.campaign.seed, t / name);
    ASSERT_TRUE(setup.twin);
    const auto o = C::run_campaign(spec_for(sc, name, t / name), *setup.microscope);
    EXPECT_EQ(o.end, C::CampaignEnd::completed) << name << ": " << o.message;
    ASSERT_EQ(o.steps.size(), 14u) << name;
    EXPECT_EQ(o.grid.size(), 15u * 15u);
    std::set<int> seen;
    for (const auto& r : o.steps) {
      EXPECT_TRUE(seen.insert(r.candidate).second) << name << ": candidate " << r.candidate << " measured twice";
      EXPECT_EQ(r.curve.size(), 61u);
      EXPECT_GE(r.x_requested_m, 0.0);
      EXPECT_LE(r.x_requested_m, 1.0e-6);
    }
    // The twin's own clock agrees with what the campaign recorded.
    EXPECT_DOUBLE_EQ(o.steps.back().instrument_clock_s, setup.twin->clock_s()) << name;
    const auto f = C::read_campaign_file(o.file);
    EXPECT_EQ(f.backend, "twin");
    EXPECT_EQ(f.signal_unit, "A");
    EXPECT_EQ(f.steps.size(), 14u);
  }
}

TEST(CampaignTwin, ResumeOnARebuiltTwinEqualsTheUninterruptedCampaign) {
  TempDir t;
  const auto sc = sdm::bench::parse_scenario(kTiny, "tiny.toml");
  for (const std::string name : {"dn_dkl", "random"}) {
    auto whole_setup = sdm::bench::make_microscope(sc, 11, t / (name + "-whole"));
    const auto whole = C::run_campaign(spec_for(sc, name, t / (name + "-whole")), *whole_setup.microscope);
    ASSERT_EQ(whole.end, C::CampaignEnd::completed) << whole.message;

    const auto dir = t / (name + "-split");
    {
      auto setup = sdm::bench::make_microscope(sc, 11, dir);
      std::atomic<bool> stop{false};
      const auto first = C::run_campaign(
          spec_for(sc, name, dir), *setup.microscope, [&](const C::Progress& p) { if (p.step == 8) stop = true; }, &stop);
      ASSERT_EQ(first.end, C::CampaignEnd::interrupted);
    }  // the first twin is gone, as after a crash
    const C::CampaignData recorded = C::read_campaign_journal(C::journal_path(dir));
    auto setup = sdm::bench::make_microscope(sc, 11, dir);
    sdm::bench::fast_forward(setup, recorded);
    const auto rest = C::resume_campaign(dir, *setup.microscope);
    ASSERT_EQ(rest.end, C::CampaignEnd::completed) << rest.message;
    ASSERT_EQ(rest.steps.size(), whole.steps.size());
    for (size_t i = 0; i < whole.steps.size(); ++i) {
      EXPECT_EQ(rest.steps[i].candidate, whole.steps[i].candidate) << name << " step " << i;
      EXPECT_EQ(rest.steps[i].curve.current_a, whole.steps[i].curve.current_a) << name << " step " << i;
      EXPECT_EQ(rest.steps[i].instrument_clock_s, whole.steps[i].instrument_clock_s) << name << " step " << i;
    }
    EXPECT_EQ(setup.twin->clock_s(), whole_setup.twin->clock_s());
  }
}

TEST(CampaignTwin, WithoutFastForwardTheResumedTwinWouldMeasureDifferently) {
  // The control for the test above: the twin's state matters, so fast_forward is needed.
  TempDir t;
  const auto sc = sdm::bench::parse_scenario(kTiny, "tiny.toml");
  auto whole_setup = sdm::bench::make_microscope(sc, 11, t / "whole");
  const auto whole = C::run_campaign(spec_for(sc, "random", t / "whole"), *whole_setup.microscope);
  const auto dir = t / "split";
  {
    auto setup = sdm::bench::make_microscope(sc, 11, dir);
    std::atomic<bool> stop{false};
    C::run_campaign(spec_for(sc, "random", dir), *setup.microscope, [&](const C::Progress& p) { if (p.step == 8) stop = true; }, &stop);
  }
  auto fresh = sdm::bench::make_microscope(sc, 11, dir);
  const auto rest = C::resume_campaign(dir, *fresh.microscope);
  int differing = 0;
  for (size_t i = 8; i < whole.steps.size(); ++i) differing += rest.steps[i].curve.current_a != whole.steps[i].curve.current_a;
  EXPECT_EQ(differing, int(whole.steps.size()) - 8);
  EXPECT_LT(rest.steps.back().instrument_clock_s, whole.steps.back().instrument_clock_s);

  // A twin built from another seed cannot be fast-forwarded onto this record.
  auto other = sdm::bench::make_microscope(sc, 12, dir);
  EXPECT_THROW(sdm::bench::fast_forward(other, C::read_campaign_journal(C::journal_path(dir))), sdm::Error);
}

TEST(CampaignReplay, RunsOnTheRecordedBepsGridWithItsNativeWaveformAndResumes) {
  TempDir t;
  const std::string text = std::string(R"(
[scenario]
name = "beps"
[backend]
kind = "replay"
path = ")") + SDM_SHARED_DATA_DIR + R"(/BEPS_PTO_50x50.h5"
format = "nsid"
journal = "off"
[campaign]
budget = 12
initial_points = 4
patch_px = 8
stride_px = 3
seed = 2
)";
  const auto sc = sdm::bench::parse_scenario(text, (t / "beps.toml").string());
  auto setup = sdm::bench::make_microscope(sc, 2, t / "whole");
  ASSERT_TRUE(setup.dataset);
  const auto whole = C::run_campaign(spec_for(sc, "structural_novelty", t / "whole"), *setup.microscope);
  ASSERT_EQ(whole.end, C::CampaignEnd::completed) << whole.message;
  const auto f = C::read_campaign_file(whole.file);
  EXPECT_EQ(f.backend.rfind("replay", 0), 0u) << f.backend;
  EXPECT_EQ(f.signal_name, "Piezoresponse");
  EXPECT_EQ(f.waveform.bias_v.size(), 64u);  // the recorded programme, adopted
  EXPECT_EQ(whole.steps[0].curve.bias_v, f.waveform.bias_v);

  const auto dir = t / "split";
  {
    auto s1 = sdm::bench::make_microscope(sc, 2, dir);
    std::atomic<bool> stop{false};
    C::run_campaign(spec_for(sc, "structural_novelty", dir), *s1.microscope,
                    [&](const C::Progress& p) { if (p.step == 6) stop = true; }, &stop);
  }
  auto s2 = sdm::bench::make_microscope(sc, 2, dir);
  sdm::bench::fast_forward(s2, C::read_campaign_journal(C::journal_path(dir)));
  const auto rest = C::resume_campaign(dir, *s2.microscope);
  ASSERT_EQ(rest.steps.size(), whole.steps.size());
  for (size_t i = 0; i < whole.steps.size(); ++i) {
    EXPECT_EQ(rest.steps[i].candidate, whole.steps[i].candidate);
    EXPECT_EQ(rest.steps[i].curve.current_a, whole.steps[i].curve.current_a);
    EXPECT_EQ(rest.steps[i].instrument_clock_s, whole.steps[i].instrument_clock_s);
  }
}
