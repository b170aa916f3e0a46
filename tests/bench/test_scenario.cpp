// Scenario loading: defaults, overrides and every kind of bad input with its message.
#include <gtest/gtest.h>

#include "bench/scenario.hpp"
#include "core/error.hpp"
#include "sdm_test_support.hpp"

using sdm::bench::parse_scenario;

namespace {
std::string error_of(const std::string& text) {
  try {
    parse_scenario(text, "bad.toml");
  } catch (const sdm::Error& e) {
    return e.what();
  }
  return "";
}
}  // namespace

TEST(Scenario, EmptyFileKeepsInCodeDefaults) {
  const auto s = parse_scenario("", "scenarios/empty.toml");
  EXPECT_EQ(s.name, "empty");
  EXPECT_EQ(s.campaign.budget, sdm::engine::campaign::CampaignConfig{}.budget);
  EXPECT_DOUBLE_EQ(s.film.grain_mean_m, sdm::sim::FilmConfig{}.grain_mean_m);
  ASSERT_EQ(s.strategies.size(), 1u);
  EXPECT_EQ(s.strategies[0].name, "dn_dkl");
}

TEST(Scenario, FileOverridesOnlyWhatItNames) {
  const auto s = parse_scenario(R"(
[film]
grain_mean_m = 5e-7
[campaign]
budget = 42
[[strategy]]
name = "ucb"
beta = 4
[[strategy]]
name = "ucb"
label = "ucb_small_beta"
beta = 0.1
)",
                                "x.toml");
  EXPECT_DOUBLE_EQ(s.film.grain_mean_m, 5e-7);
  EXPECT_DOUBLE_EQ(s.film.grain_sigma_ln, sdm::sim::FilmConfig{}.grain_sigma_ln);
  EXPECT_EQ(s.campaign.budget, 42);
  ASSERT_EQ(s.strategies.size(), 2u);
  EXPECT_DOUBLE_EQ(s.strategies[0].beta, 4.0);
  EXPECT_EQ(s.strategies[1].label, "ucb_small_beta");
}

TEST(Scenario, MalformedTomlNamesFileLineAndColumn) {
  const std::string msg = error_of("[film]\nsize_px = 128\ngrain_mean_m = = 3\n");
  EXPECT_NE(msg.find("bad.toml:3:"), std::string::npos) << msg;
  EXPECT_NE(msg.find("malformed TOML"), std::string::npos) << msg;
}

TEST(Scenario, UnknownKeyNamesKeySectionAndValidKeys) {
  const std::string msg = error_of("[film]\ngrain_mean = 3e-7\n");
  EXPECT_NE(msg.find("bad.toml:2:1"), std::string::npos) << msg;
  EXPECT_NE(msg.find("[film]"), std::string::npos) << msg;
  EXPECT_NE(msg.find("'grain_mean'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("unknown key"), std::string::npos) << msg;
  EXPECT_NE(msg.find("grain_mean_m"), std::string::npos) << "valid keys listed: " << msg;
}

TEST(Scenario, UnknownSectionIsRejected) {
  const std::string msg = error_of("[flim]\nsize_px = 3\n");
  EXPECT_NE(msg.find("'flim'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("valid sections"), std::string::npos) << msg;
}

TEST(Scenario, WrongTypeNamesKeyValueAndExpectedType) {
  const std::string msg = error_of("[campaign]\nbudget = \"lots\"\n");
  EXPECT_NE(msg.find("'budget'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("\"lots\""), std::string::npos) << msg;
  EXPECT_NE(msg.find("expected an integer"), std::string::npos) << msg;
}

TEST(Scenario, OutOfRangeNamesKeyValueAndAllowedRange) {
  const std::string msg = error_of("[film]\nasymmetric_fraction = 1.5\n");
  EXPECT_NE(msg.find("'asymmetric_fraction'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("1.5"), std::string::npos) << msg;
  EXPECT_NE(msg.find("[0, 1]"), std::string::npos) << msg;
}

TEST(Scenario, BadEnumListsAllowedValues) {
  const std::string msg = error_of("[[strategy]]\nname = \"gready\"\n");
  EXPECT_NE(msg.find("\"gready\""), std::string::npos) << msg;
  EXPECT_NE(msg.find("dn_dkl"), std::string::npos) << msg;
  EXPECT_NE(msg.find("strategy[0]"), std::string::npos) << msg;
}

TEST(Scenario, StrategyWithoutNameIsRejected) {
  const std::string msg = error_of("[[strategy]]\nbeta = 1\n");
  EXPECT_NE(msg.find("missing required key 'name'"), std::string::npos) << msg;
}

TEST(Scenario, DuplicateStrategyLabelsAreRejected) {
  const std::string msg = error_of("[[strategy]]\nname = \"random\"\n[[strategy]]\nname = \"random\"\n");
  EXPECT_NE(msg.find("used by two strategies"), std::string::npos) << msg;
}

TEST(Scenario, CrossFieldConstraintInitialPointsWithinBudget) {
  const std::string msg = error_of("[campaign]\nbudget = 5\ninitial_points = 10\n");
  EXPECT_NE(msg.find("initial_points"), std::string::npos) << msg;
  EXPECT_NE(msg.find("exceeds budget"), std::string::npos) << msg;
}

TEST(Scenario, MissingFileSaysSo) {
  try {
    sdm::bench::load_scenario("/nonexistent/nothing.toml");
    FAIL() << "expected an error";
  } catch (const sdm::Error& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent/nothing.toml: scenario file not found"), std::string::npos) << e.what();
  }
}

TEST(Scenario, ReplayPathIsResolvedAgainstTheScenarioFolder) {
  sdm::test::TempDir dir;
  sdm::test::write_text(dir / "s.toml", "[backend]\nkind = \"replay\"\npath = \"data/x.h5\"\n");
  const auto s = sdm::bench::load_scenario(dir / "s.toml");
  EXPECT_EQ(s.backend.path, (dir.path() / "data/x.h5").string());
}

TEST(Scenario, ReplayWithoutPathIsRejected) {
  const std::string msg = error_of("[backend]\nkind = \"replay\"\n");
  EXPECT_NE(msg.find("needs 'path'"), std::string::npos) << msg;
}
