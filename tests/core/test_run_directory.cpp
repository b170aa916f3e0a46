// Run folders: never overwritten, unwritable roots refused up front, manifest content.
#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>
#include <optional>
#include <nlohmann/json.hpp>

#include "core/error.hpp"
#include "core/run_directory.hpp"
#include "sdm_test_support.hpp"

namespace fs = std::filesystem;

TEST(RunDirectory, TwoRunsInTheSameSecondGetDistinctFolders) {
  sdm::test::TempDir dir;
  const fs::path a = sdm::core::create_run_directory(dir.path(), "demo");
  const fs::path b = sdm::core::create_run_directory(dir.path(), "demo");
  EXPECT_NE(a, b);
  EXPECT_TRUE(fs::is_directory(a));
  EXPECT_TRUE(fs::is_directory(b));
  EXPECT_EQ(a.parent_path(), dir.path() / "demo");
}

TEST(RunDirectory, UnwritableRootIsRefused) {
  if (::geteuid() == 0) {
    // root ignores permission bits: use a path under a regular file instead.
    sdm::test::TempDir dir;
    sdm::test::write_text(dir / "file", "x");
    EXPECT_THROW(sdm::core::check_writable(dir / "file" / "results"), sdm::Error);
    return;
  }
  sdm::test::TempDir dir;
  fs::permissions(dir.path(), fs::perms::owner_read | fs::perms::owner_exec);
  EXPECT_THROW(sdm::core::check_writable(dir / "results"), sdm::Error);
}

TEST(RunDirectory, ManifestRecordsProvenance) {
  sdm::test::TempDir dir;
  sdm::core::Manifest m("sdm run x.toml", "x", "x.toml", "[campaign]\nseed = 7\n", 7);
  m.finish("ok");
  m.write(dir.path());
  std::ifstream f(dir / "manifest.json");
  const auto j = nlohmann::json::parse(f);
  EXPECT_EQ(j["seed"], 7);
  EXPECT_EQ(j["scenario"]["text"], "[campaign]\nseed = 7\n");
  EXPECT_EQ(j["status"], "ok");
  EXPECT_FALSE(j["host"].get<std::string>().empty());
  EXPECT_FALSE(j["build"]["git_commit"].get<std::string>().empty());
  EXPECT_TRUE(j["build"]["libraries"].contains("libtorch"));
  EXPECT_LE(j["start_time"].get<std::string>(), j["end_time"].get<std::string>());
}

TEST(RunDirectory, OneLockHolderPerRunFolder) {
  sdm::test::TempDir dir;
  std::optional<sdm::core::RunFolderLock> held(sdm::core::RunFolderLock::acquire(dir.path()));
  try {
    sdm::core::RunFolderLock::acquire(dir.path());  // a second open file description conflicts, as another process's would
    ADD_FAILURE() << "a second lock of a held folder was granted";
  } catch (const sdm::Error& e) {
    EXPECT_NE(std::string(e.what()).find("pid " + std::to_string(::getpid()) + " on host "), std::string::npos) << e.what();
  }
  held.reset();
  EXPECT_NO_THROW(sdm::core::RunFolderLock::acquire(dir.path())) << "released when its holder ends";
}
