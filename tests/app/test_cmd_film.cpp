// sdm film: writes the maps of a small scenario into a fresh run folder and prints it;
// bad input (missing or invalid scenario, unwritable results folder, bad --bias) exits 2
// with a message and writes nothing.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "sdm_test_support.hpp"

namespace fs = std::filesystem;
using sdm::test::run_sdm;
using sdm::test::TempDir;
using sdm::test::write_text;

namespace {
std::string head(const fs::path& p, std::size_t n) {
  std::ifstream f(p, std::ios::binary);
  std::string s(n, '\0');
  f.read(s.data(), long(n));
  return s;
}
const char* kSmall = "[scenario]\nname = \"tiny\"\n[film]\nsize_px = 64\nscan_size_m = 1.2e-6\n[campaign]\nseed = 5\n";
}  // namespace

TEST(CmdFilm, WritesEveryMapIntoAFreshRunFolder) {
  TempDir dir;
  write_text(dir / "tiny.toml", kSmall);
  const auto r = run_sdm("film '" + (dir / "tiny.toml").string() + "' --results '" + (dir / "runs").string() + "'");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  std::string printed = r.output;
  while (!printed.empty() && printed.back() == '\n') printed.pop_back();
  const fs::path run(printed.substr(printed.rfind('\n') + 1));  // the folder is the last line, after the table
  EXPECT_NE(printed.find("| loop_area | 200 |"), std::string::npos) << r.output;
  ASSERT_TRUE(fs::is_directory(run)) << r.output;
  EXPECT_EQ(run.parent_path(), dir / "runs" / "tiny-film");
  for (const char* png : {"topography.png", "true_topography.png", "motifs.png", "current.png", "hysteresis_area.png", "iv_examples.png"})
    EXPECT_EQ(head(run / png, 8), std::string("\x89PNG\r\n\x1a\n", 8)) << png;
  EXPECT_EQ(head(run / "film.h5", 8), std::string("\x89HDF\r\n\x1a\n", 8));
  EXPECT_NE(sdm::test::read_text(run / "learnability.md").find("| onset_voltage |"), std::string::npos);
  EXPECT_NE(sdm::test::read_text(run / "learnability.csv").find("loop_area,"), std::string::npos);
  std::ifstream mf(run / "manifest.json");
  const auto m = nlohmann::json::parse(mf);
  EXPECT_EQ(m["status"], "ok");
  EXPECT_EQ(m["command"], "film");
  EXPECT_EQ(m["seed"], 5);  // campaign.seed + film.seed (0)
  EXPECT_EQ(m["extra"]["size_px"], 64);
  EXPECT_EQ(m["extra"]["learnability"]["rows"].size(), 5u * 2);  // 5 scalarizers × (200, all): 625 candidates, pool 500
  // A second run never reuses the folder.
  const auto r2 = run_sdm("film '" + (dir / "tiny.toml").string() + "' --results '" + (dir / "runs").string() + "'");
  ASSERT_EQ(r2.exit_code, 0) << r2.output;
  EXPECT_NE(r2.output, r.output);
}

TEST(CmdFilm, BadInputExits2AndWritesNothing) {
  TempDir dir;
  const std::string runs = (dir / "runs").string();
  auto nothing_written = [&] { return !fs::exists(dir / "runs"); };
  auto r = run_sdm("film /nonexistent/x.toml --results '" + runs + "'");
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("not found"), std::string::npos) << r.output;
  EXPECT_TRUE(nothing_written());

  write_text(dir / "bad.toml", "[film]\ngrain_mean_m = -1\n");
  r = run_sdm("film '" + (dir / "bad.toml").string() + "' --results '" + runs + "'");
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("grain_mean_m"), std::string::npos) << r.output;
  EXPECT_TRUE(nothing_written());

  write_text(dir / "tiny.toml", kSmall);
  r = run_sdm("film '" + (dir / "tiny.toml").string() + "' --bias 99 --results '" + runs + "'");
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("--bias"), std::string::npos) << r.output;
  EXPECT_TRUE(nothing_written());

  write_text(dir / "a_file", "x");
  r = run_sdm("film '" + (dir / "tiny.toml").string() + "' --results '" + (dir / "a_file" / "runs").string() + "'");
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("a_file"), std::string::npos) << r.output;
}
