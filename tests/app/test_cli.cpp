// The sdm executable: validate accepts every shipped scenario, rejects bad ones with
// exit status 2, and help exists for every subcommand.
#include <gtest/gtest.h>

#include <filesystem>

#include "sdm_test_support.hpp"

namespace fs = std::filesystem;
using sdm::test::run_sdm;

TEST(Cli, ValidateAcceptsEveryShippedScenario) {
  int n = 0;
  for (const auto& e : fs::directory_iterator(fs::path(SDM_SOURCE_DIR) / "scenarios")) {
    if (e.path().extension() != ".toml") continue;
    const auto r = run_sdm("validate '" + e.path().string() + "'");
    EXPECT_EQ(r.exit_code, 0) << e.path() << ": " << r.output;
    ++n;
  }
  EXPECT_GE(n, 6);
}

TEST(Cli, ValidateRejectsBadFileWithStatus2AndMessage) {
  sdm::test::TempDir dir;
  sdm::test::write_text(dir / "bad.toml", "[campaign]\nbudget = -3\n");
  const auto r = run_sdm("validate '" + (dir / "bad.toml").string() + "'");
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("'budget'"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("out of range"), std::string::npos) << r.output;
}

TEST(Cli, ValidateMissingFileExits2) {
  const auto r = run_sdm("validate /nonexistent/x.toml");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.output.find("not found"), std::string::npos) << r.output;
}

TEST(Cli, EverySubcommandHasHelp) {
  for (const char* c : {"film", "run", "bench", "analyze", "regress", "serve", "validate"}) {
    const auto r = run_sdm(std::string(c) + " --help");
    EXPECT_EQ(r.exit_code, 0) << c << ": " << r.output;
    EXPECT_NE(r.output.find("Usage"), std::string::npos) << c << ": " << r.output;
  }
}

TEST(Cli, UnknownSubcommandIsABadInput) {
  const auto r = run_sdm("frobnicate");
  EXPECT_EQ(r.exit_code, 2) << r.output;
}
