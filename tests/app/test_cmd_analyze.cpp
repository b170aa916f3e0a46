// sdm analyze on real `sdm run` folders: a tiny twin campaign (figures, analysis.h5 read with the
// HDF5 C API, motif labels against an independently rebuilt film, the record byte for byte
// unchanged, a second analysis replacing the first), a replay of the real BEPS file (truth =
// the recorded spectra), the journal fallback, Ctrl-C, and every bad-input case (exit 2,
// nothing written).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <hdf5/serial/hdf5.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <thread>

#include "bench/scenario.hpp"
#include "engine/acquisition/scalarizer.hpp"
#include "engine/campaign/campaign_file.hpp"
#include "hardware/backend_factory.hpp"
#include "hardware/replay/dataset.hpp"
#include "app/background_sdm.hpp"
#include "sdm_test_support.hpp"
#include "sim/film.hpp"


namespace fs = std::filesystem;
namespace C = sdm::engine::campaign;
using sdm::test::run_sdm;
using sdm::test::TempDir;
using sdm::test::write_text;

namespace {

// 64 px film, 8 px patches on a stride-4 grid: (64 − 8)/4 + 1 = 15 per side, 225 candidates.
constexpr int kTwinCandidates = 15 * 15;
constexpr int kTwinBudget = 20;
const std::string kTwinScenario =
    "[scenario]\nname = \"tiny\"\n[film]\nsize_px = 64\nscan_size_m = 1.0e-6\n"
    "[campaign]\nbudget = 20\ninitial_points = 5\npatch_px = 8\nstride_px = 4\nsweep_points = 61\n"
    "sweep_rate_v_per_s = 5.0\nseed = 4\n[vae]\nepochs = 20\nhidden = 64\n[[strategy]]\nname = \"random\"\n";

// The real BEPS grid is 50 × 50: 8 px patches, stride 2 ⇒ (50 − 8)/2 + 1 = 22 per side, 484 candidates.
constexpr int kReplayCandidates = 22 * 22;
constexpr int kReplayBudget = 12;
std::string replay_scenario() {
  return "[scenario]\nname = \"tiny\"\n[backend]\nkind = \"replay\"\npath = \"" + std::string(SDM_SHARED_DATA_DIR) +
         "/BEPS_PTO_50x50.h5\"\nformat = \"nsid\"\nimage_channel = \"mean\"\nmax_bias_v = 10.0\n"
         "[campaign]\nbudget = 12\ninitial_points = 6\npatch_px = 8\nstride_px = 2\nseed = 2\n"
         "[vae]\nepochs = 20\nhidden = 64\n[[strategy]]\nname = \"random\"\n";
}

const std::vector<std::string> kFigures = {"latent_scalarizers.png", "manifold_image.png", "manifold_curves.png",
                                           "structure_property_map.png", "cluster_gallery.png", "training_loss.png"};

fs::path only_run(const fs::path& root) {
  std::vector<fs::path> runs;
  for (const auto& e : fs::directory_iterator(root / "tiny")) runs.push_back(e.path());
  EXPECT_EQ(runs.size(), 1u);
  return runs.empty() ? fs::path() : runs[0];
}

std::string slurp(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
}

/// Every file of a folder tree (relative path → bytes), skipping `skip` (a sub-folder name).
std::map<std::string, std::string> snapshot(const fs::path& dir, const std::string& skip = "analysis") {
  std::map<std::string, std::string> m;
  for (auto it = fs::recursive_directory_iterator(dir); it != fs::recursive_directory_iterator(); ++it) {
    const std::string rel = fs::relative(it->path(), dir).string();
    if (rel == skip && it->is_directory()) {
      it.disable_recursion_pending();
      continue;
    }
    if (it->is_regular_file()) m[rel] = slurp(it->path());
  }
  return m;
}

/// Entries of a folder whose name starts with '.', i.e. staging leftovers.
std::vector<std::string> hidden_entries(const fs::path& dir) {
  std::vector<std::string> v;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.path().filename().string().front() == '.') v.push_back(e.path().filename().string());
  return v;
}

/// A valid PNG: signature, IHDR first with a plausible size, IEND last.
void expect_png(const fs::path& p) {
  const std::string b = slurp(p);
  ASSERT_GT(b.size(), 57u) << p;
  EXPECT_EQ(b.substr(0, 8), std::string("\x89PNG\r\n\x1a\n", 8)) << p;
  EXPECT_EQ(b.substr(12, 4), "IHDR") << p;
  auto be32 = [&](std::size_t o) {
    return (static_cast<unsigned>(static_cast<unsigned char>(b[o])) << 24) | (static_cast<unsigned char>(b[o + 1]) << 16) |
           (static_cast<unsigned char>(b[o + 2]) << 8) | static_cast<unsigned char>(b[o + 3]);
  };
  EXPECT_GE(be32(16), 200u) << p;
  EXPECT_GE(be32(20), 200u) << p;
  EXPECT_EQ(b.substr(b.size() - 8, 4), "IEND") << p;
}

nlohmann::json read_json(const fs::path& p) {
  std::ifstream f(p);
  return nlohmann::json::parse(f);
}

struct H5 {
  hid_t id;
  explicit H5(const fs::path& p) : id(H5Fopen(p.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT)) {}
  ~H5() {
    if (id >= 0) H5Fclose(id);
  }
  std::vector<hsize_t> dims(const std::string& path) const {
    const hid_t ds = H5Dopen2(id, path.c_str(), H5P_DEFAULT);
    if (ds < 0) return {};
    const hid_t sp = H5Dget_space(ds);
    std::vector<hsize_t> d(static_cast<std::size_t>(H5Sget_simple_extent_ndims(sp)));
    H5Sget_simple_extent_dims(sp, d.data(), nullptr);
    H5Sclose(sp);
    H5Dclose(ds);
    return d;
  }
  std::vector<double> doubles(const std::string& path) const {
    std::size_t n = 1;
    for (auto d : dims(path)) n *= d;
    std::vector<double> v(n);
    const hid_t ds = H5Dopen2(id, path.c_str(), H5P_DEFAULT);
    if (ds < 0) return {};
    H5Dread(ds, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, v.data());
    H5Dclose(ds);
    return v;
  }
  std::vector<int> ints(const std::string& path) const {
    std::size_t n = 1;
    for (auto d : dims(path)) n *= d;
    std::vector<int> v(n);
    const hid_t ds = H5Dopen2(id, path.c_str(), H5P_DEFAULT);
    if (ds < 0) return {};
    H5Dread(ds, H5T_NATIVE_INT, H5S_ALL, H5S_ALL, H5P_DEFAULT, v.data());
    H5Dclose(ds);
    return v;
  }
  double attr(const std::string& object, const std::string& name) const {
    double v = std::nan("");
    const hid_t a = H5Aopen_by_name(id, object.c_str(), name.c_str(), H5P_DEFAULT, H5P_DEFAULT);
    if (a < 0) return v;
    H5Aread(a, H5T_NATIVE_DOUBLE, &v);
    H5Aclose(a);
    return v;
  }
};

/// The two recorded campaigns every test starts from (made once per test binary).
struct Campaigns {
  TempDir dir;
  fs::path twin, replay;
  Campaigns() {
    write_text(dir / "twin.toml", kTwinScenario);
    write_text(dir / "replay.toml", replay_scenario());
    auto r = run_sdm("run '" + (dir / "twin.toml").string() + "' --results '" + (dir / "twin").string() + "'");
    EXPECT_EQ(r.exit_code, 0) << r.output;
    twin = only_run(dir / "twin");
    r = run_sdm("run '" + (dir / "replay.toml").string() + "' --results '" + (dir / "replay").string() + "'");
    EXPECT_EQ(r.exit_code, 0) << r.output;
    replay = only_run(dir / "replay");
  }
  /// A fresh copy of a run folder, for tests that analyse or damage it.
  fs::path copy(const fs::path& run, const std::string& name) const {
    const fs::path to = dir / name;
    fs::remove_all(to);
    fs::copy(run, to, fs::copy_options::recursive);
    return to;
  }
};
Campaigns& campaigns() {
  static Campaigns c;
  return c;
}

}  // namespace

TEST(CmdAnalyze, TwinCampaignFiguresHdf5AndGroundTruthWithTheRecordUntouched) {
  const fs::path run = campaigns().copy(campaigns().twin, "twin_a");
  const auto before = snapshot(run);
  ASSERT_TRUE(before.count("campaign.h5") && before.count("steps.journal") && before.count("manifest.json"));

  const auto r = run_sdm("analyze '" + run.string() + "'");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("motif separability"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("im2spec on"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find((run / "analysis").string()), std::string::npos) << "says where the figures are: " << r.output;

  const fs::path out = run / "analysis";
  for (const auto& f : kFigures) expect_png(out / f);
  expect_png(out / "latent_true_labels.png");  // twin only
  expect_png(out / "im2spec_truth.png");
  EXPECT_TRUE(fs::exists(out / "dual_vae.pt"));

  // analysis.h5 through the raw C API: shapes follow the campaign (candidates × latent).
  const C::CampaignData rec = C::read_campaign_file(run / "campaign.h5");
  ASSERT_EQ(rec.grid.size(), static_cast<size_t>(kTwinCandidates));
  ASSERT_EQ(rec.steps.size(), static_cast<size_t>(kTwinBudget));
  {
    H5 h(out / "analysis.h5");
    ASSERT_GE(h.id, 0);
    const std::vector<hsize_t> md = {kTwinCandidates, 2}, nd = {kTwinBudget, 2};
    EXPECT_EQ(h.dims("/analysis/candidates/latent"), md);
    EXPECT_EQ(h.dims("/analysis/candidates/latent_variance"), md);
    EXPECT_EQ(h.dims("/analysis/candidates/predicted_curves"), (std::vector<hsize_t>{kTwinCandidates, 251}));
    EXPECT_EQ(h.dims("/analysis/measured/latent"), nd);
    std::vector<int> cand;
    for (const auto& s : rec.steps) cand.push_back(s.candidate);
    EXPECT_EQ(h.ints("/analysis/measured/candidate"), cand) << "pairs in step order";
    EXPECT_EQ(h.ints("/analysis/candidates/ix_px"), rec.grid.ix_px);
    std::vector<int> steps(kTwinBudget);
    for (int i = 0; i < kTwinBudget; ++i) steps[static_cast<size_t>(i)] = i;
    EXPECT_EQ(h.ints("/run/measured_step"), steps);
    for (double v : h.doubles("/analysis/candidates/latent")) ASSERT_TRUE(std::isfinite(v));
    const double knn = h.attr("/analysis", "knn_accuracy_measured");
    EXPECT_GE(knn, 0.0);
    EXPECT_LE(knn, 1.0);
    EXPECT_TRUE(std::isfinite(h.attr("/analysis", "knn_balanced_candidates")));
    EXPECT_TRUE(std::isfinite(h.attr("/analysis", "im2spec_nrmse")));
    // Every unmeasured candidate is scored (225 − 20 < the default 2000 truth points).
    EXPECT_EQ(h.attr("/analysis", "im2spec_evaluated"), kTwinCandidates - kTwinBudget);
    EXPECT_EQ(h.dims("/analysis/truth/candidate"), (std::vector<hsize_t>{kTwinCandidates - kTwinBudget}));

    // Motif labels against the film rebuilt here, independently: survey 64 px = film 64 px, so
    // a candidate's centre pixel is the film pixel (the code goes through physical positions).
    const auto sc = sdm::bench::parse_scenario(kTwinScenario, (campaigns().dir / "twin.toml").string());
    const sdm::sim::Film film = sdm::sim::generate_film(sc.film, sdm::sim::film_seed(sc.film, 4));
    ASSERT_EQ(film.size_px, 64);
    const auto labels = h.ints("/run/true_label");
    ASSERT_EQ(labels.size(), static_cast<size_t>(kTwinCandidates));
    int differ = 0, non_interior = 0;
    for (int i = 0; i < kTwinCandidates; ++i) {
      differ += labels[i] != static_cast<int>(film.motif[film.index(rec.grid.ix_px[i], rec.grid.iy_px[i])]);
      non_interior += labels[i] != 0;
    }
    EXPECT_EQ(differ, 0);
    EXPECT_GT(non_interior, 0) << "a film with boundaries has candidates off the grain interiors";
    // The true loop area of one scored candidate, recomputed from the noiseless truth.
    const auto tc = h.ints("/analysis/truth/candidate");
    const auto ts = h.doubles("/analysis/truth/true_scalar");
    ASSERT_FALSE(tc.empty());
    const auto curve = sdm::sim::ground_truth_iv(film, rec.grid.ix_px[tc[0]], rec.grid.iy_px[tc[0]], rec.waveform);
    EXPECT_DOUBLE_EQ(ts[0], sdm::engine::acquisition::scalarize(curve, sdm::engine::acquisition::ScalarizerSpec{}));
  }
  const auto j = read_json(out / "analysis.json");
  EXPECT_EQ(j["format"], "sdm-analysis");
  EXPECT_EQ(j["truth"]["kind"], "twin");
  EXPECT_EQ(j["source"], "campaign.h5");
  EXPECT_EQ(j["options"]["epochs"], 20) << "the scenario's [vae] epochs";
  EXPECT_FALSE(j["analysis"]["knn_balanced_measured"].is_null());
  EXPECT_FALSE(j["analysis"]["im2spec_r2"].is_null());

  // The record: every file of the run byte for byte as before, nothing left beside the output.
  EXPECT_EQ(snapshot(run), before);
  EXPECT_TRUE(hidden_entries(run).empty());

  // A second analysis replaces the first (only the analysis folder changes).
  const auto r2 = run_sdm("analyze '" + run.string() + "' --epochs 3 --seed 11 --no-model");
  ASSERT_EQ(r2.exit_code, 0) << r2.output;
  const auto j2 = read_json(out / "analysis.json");
  EXPECT_EQ(j2["options"]["epochs"], 3);
  EXPECT_EQ(j2["options"]["seed"], 11);
  EXPECT_FALSE(fs::exists(out / "dual_vae.pt")) << "the folder is the new analysis, not a merge with the old";
  EXPECT_EQ(snapshot(run), before);
  EXPECT_TRUE(hidden_entries(run).empty());
  size_t folders = 0;
  for (const auto& e : fs::directory_iterator(run)) folders += e.is_directory();
  EXPECT_EQ(folders, 2u) << "checkpoint/ and analysis/ only";
}

TEST(CmdAnalyze, ReplayOfTheRealBepsFileUsesTheRecordedSpectraAsTruth) {
  const fs::path run = campaigns().replay;
  const auto before = snapshot(run);
  const fs::path out = campaigns().dir / "replay_out";
  const auto r = run_sdm("analyze '" + run.string() + "' --output '" + out.string() + "'");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("replay truth"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("Piezoresponse"), std::string::npos) << "the non-current signal is pointed out: " << r.output;
  for (const auto& f : kFigures) expect_png(out / f);
  expect_png(out / "im2spec_truth.png");
  EXPECT_FALSE(fs::exists(out / "latent_true_labels.png")) << "no motif labels on recorded data";
  EXPECT_FALSE(fs::exists(run / "analysis"));
  EXPECT_EQ(snapshot(run), before);

  const auto j = read_json(out / "analysis.json");
  EXPECT_EQ(j["truth"]["kind"], "replay");
  EXPECT_TRUE(j["analysis"]["knn_accuracy_measured"].is_null());
  EXPECT_EQ(j["analysis"]["im2spec_evaluated"], kReplayCandidates - kReplayBudget);

  // The truth is the dataset's own spectrum at each candidate: the loop area of the spectrum
  // read here from the file (native grid: candidate centre pixel = dataset pixel).
  const auto sc = sdm::bench::parse_scenario(replay_scenario(), (campaigns().dir / "replay.toml").string());
  const auto ds = sdm::hardware::load_replay_dataset(sc.backend);
  const C::CampaignData rec = C::read_campaign_file(run / "campaign.h5");
  ASSERT_EQ(rec.grid.size(), static_cast<size_t>(kReplayCandidates));
  H5 h(out / "analysis.h5");
  const auto tc = h.ints("/analysis/truth/candidate");
  const auto ts = h.doubles("/analysis/truth/true_scalar");
  ASSERT_EQ(tc.size(), static_cast<size_t>(kReplayCandidates - kReplayBudget));
  for (size_t k : {size_t(0), tc.size() / 2, tc.size() - 1}) {
    const int c = tc[k];
    sdm::core::IvCurve curve;
    curve.bias_v = ds->bias_v;
    const double* s = ds->spectrum(rec.grid.ix_px[c], rec.grid.iy_px[c]);
    curve.current_a.assign(s, s + ds->n_points());
    EXPECT_DOUBLE_EQ(ts[k], sdm::engine::acquisition::scalarize(curve, sdm::engine::acquisition::ScalarizerSpec{})) << c;
  }
  EXPECT_EQ(h.dims("/run/true_label"), (std::vector<hsize_t>{0}));
}

TEST(CmdAnalyze, CorruptCampaignFileFallsBackToTheJournalAndStaysAsItWas) {
  const fs::path run = campaigns().copy(campaigns().twin, "twin_corrupt");
  write_text(run / "campaign.h5", "this is not HDF5");
  const auto r = run_sdm("analyze '" + run.string() + "' --epochs 3");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("using steps.journal"), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find("still running"), std::string::npos) << "the journal records the end: " << r.output;
  EXPECT_EQ(slurp(run / "campaign.h5"), "this is not HDF5") << "the damaged file is left for `sdm run --resume` to rebuild";
  const auto j = read_json(run / "analysis" / "analysis.json");
  EXPECT_EQ(j["source"], "steps.journal");
  EXPECT_EQ(j["analysis"]["pairs"], kTwinBudget);
}

// A campaign recorded from a real instrument (remote backend): no ground truth, so the figures of
// the latent, the decoders, the map and the clusters, and no truth figures or metrics.
TEST(CmdAnalyze, ARemoteInstrumentCampaignGetsFiguresWithoutTruth) {
  const fs::path run = campaigns().copy(campaigns().twin, "remote");
  C::CampaignData d = C::read_campaign_file(run / "campaign.h5");
  d.backend = "remote:tcp://afm-lab:5555";
  { C::CampaignFileWriter w(run / "campaign.h5", d); }
  fs::remove(run / "steps.journal");  // the record is campaign.h5 alone
  const auto r = run_sdm("analyze '" + run.string() + "' --epochs 3");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("ground truth: none; backend 'remote:tcp://afm-lab:5555' has no ground truth"), std::string::npos)
      << r.output;
  EXPECT_EQ(r.output.find("motif separability"), std::string::npos) << r.output;
  const fs::path out = run / "analysis";
  for (const auto& f : kFigures) expect_png(out / f);
  EXPECT_FALSE(fs::exists(out / "latent_true_labels.png"));
  EXPECT_FALSE(fs::exists(out / "im2spec_truth.png"));
  const auto j = read_json(out / "analysis.json");
  EXPECT_EQ(j["truth"]["kind"], "none");
  EXPECT_EQ(j["backend"], "remote:tcp://afm-lab:5555");
  EXPECT_TRUE(j["analysis"]["im2spec_r2"].is_null());
  H5 h(out / "analysis.h5");
  EXPECT_EQ(h.dims("/analysis/candidates/latent"), (std::vector<hsize_t>{kTwinCandidates, 2}));
}

// [vae] epochs = 0 is a valid setting (an untrained model, e.g. a baseline): every figure is
// still written, the loss figure saying there was no training.
TEST(CmdAnalyze, ZeroEpochsStillWritesEveryFigure) {
  TempDir t;
  const auto r = run_sdm("analyze '" + campaigns().twin.string() + "' --epochs 0 --no-model --output '" + (t / "a").string() + "'");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  for (const auto& f : kFigures) expect_png(t / "a" / f);
  EXPECT_EQ(read_json(t / "a" / "analysis.json")["options"]["epochs"], 0);
}

// Same record and seed: bit-identical latents, predictions and figures; another seed differs.
TEST(CmdAnalyze, SameSeedSameAnalysisBitForBit) {
  TempDir t;
  const std::string run = "analyze '" + campaigns().twin.string() + "' --epochs 5 --no-model --output '";
  for (const auto& [dir, seed] : std::vector<std::pair<std::string, int>>{{"a", 5}, {"b", 5}, {"c", 6}}) {
    const auto r = run_sdm(run + (t / dir).string() + "' --seed " + std::to_string(seed));
    ASSERT_EQ(r.exit_code, 0) << r.output;
  }
  H5 a(t / "a" / "analysis.h5"), b(t / "b" / "analysis.h5"), c(t / "c" / "analysis.h5");
  for (const char* d : {"/analysis/candidates/latent", "/analysis/candidates/predicted_curves", "/analysis/measured/latent",
                        "/analysis/manifold/curves", "/analysis/training/total"}) {
    const auto va = a.doubles(d);
    ASSERT_FALSE(va.empty()) << d;
    EXPECT_EQ(va, b.doubles(d)) << d;
  }
  EXPECT_NE(a.doubles("/analysis/candidates/latent"), c.doubles("/analysis/candidates/latent"));
  for (const auto& f : kFigures) {
    if (f == "training_loss.png") continue;  // its title shows the training wall time
    EXPECT_EQ(slurp(t / "a" / f), slurp(t / "b" / f)) << f;
  }
}

TEST(CmdAnalyze, BadInputExitsTwoNamingTheFileAndWritesNothing) {
  const Campaigns& cs = campaigns();
  TempDir t;
  auto expect_bad = [](const sdm::test::CommandResult& r, const std::vector<std::string>& fragments) {
    EXPECT_EQ(r.exit_code, 2) << r.output;
    for (const auto& f : fragments) EXPECT_NE(r.output.find(f), std::string::npos) << "missing '" << f << "' in: " << r.output;
  };
  // Not a folder at all.
  expect_bad(run_sdm("analyze '" + (t / "nothing").string() + "'"), {(t / "nothing").string(), "not a folder"});
  // A folder that is not a run.
  fs::create_directories(t / "empty");
  expect_bad(run_sdm("analyze '" + (t / "empty").string() + "'"), {"not a run folder", "campaign.h5", "steps.journal"});
  EXPECT_TRUE(fs::is_empty(t / "empty"));
  // Both records unreadable: each named with what is wrong.
  fs::create_directories(t / "broken");
  write_text(t / "broken" / "campaign.h5", "garbage");
  write_text(t / "broken" / "steps.journal", "garbage");
  expect_bad(run_sdm("analyze '" + (t / "broken").string() + "'"),
             {(t / "broken" / "campaign.h5").string() + ": not a readable HDF5 file", (t / "broken" / "steps.journal").string()});
  EXPECT_FALSE(fs::exists(t / "broken" / "analysis"));
  // Too few measurements: a campaign of one.
  {
    std::string text = kTwinScenario;
    text.replace(text.find("budget = 20"), 11, "budget = 1");
    text.replace(text.find("initial_points = 5"), 18, "initial_points = 1");
    write_text(t / "one.toml", text);
  }
  const auto one = run_sdm("run '" + (t / "one.toml").string() + "' --results '" + (t / "runs").string() + "'");
  ASSERT_EQ(one.exit_code, 0) << one.output;
  const fs::path run1 = only_run(t / "runs");
  expect_bad(run_sdm("analyze '" + run1.string() + "'"), {"campaign.h5", "1 usable measured (patch, curve) pair", "at least 2"});
  EXPECT_FALSE(fs::exists(run1 / "analysis"));
  EXPECT_TRUE(hidden_entries(run1).empty());
  // An output that would overwrite something that is not an analysis.
  fs::create_directories(t / "mine");
  write_text(t / "mine" / "notes.txt", "keep");
  expect_bad(run_sdm("analyze '" + cs.twin.string() + "' --epochs 1 --output '" + (t / "mine").string() + "'"),
             {(t / "mine").string(), "refusing to replace"});
  EXPECT_EQ(slurp(t / "mine" / "notes.txt"), "keep");
  EXPECT_EQ(std::distance(fs::directory_iterator(t / "mine"), fs::directory_iterator()), 1);
  write_text(t / "file", "x");
  expect_bad(run_sdm("analyze '" + cs.twin.string() + "' --epochs 1 --output '" + (t / "file").string() + "'"),
             {"not a folder"});
  expect_bad(run_sdm("analyze '" + cs.twin.string() + "' --epochs 1 --output '" + cs.twin.string() + "'"), {"run folder itself"});
  // A bad option value.
  expect_bad(run_sdm("analyze '" + cs.twin.string() + "' --epochs -3"), {"--epochs"});
  EXPECT_FALSE(fs::exists(cs.twin / "analysis"));
}

TEST(CmdAnalyze, AnUnwritableOutputIsRefusedBeforeTheFit) {
  const Campaigns& cs = campaigns();
  TempDir t;
  auto expect_refused = [&](const fs::path& out, const std::vector<std::string>& fragments) {
    const auto r = run_sdm("analyze '" + cs.twin.string() + "' --output '" + out.string() + "'");
    EXPECT_EQ(r.exit_code, 2) << r.output;
    for (const auto& f : fragments) EXPECT_NE(r.output.find(f), std::string::npos) << "missing '" << f << "' in: " << r.output;
    EXPECT_EQ(r.output.find("fitting"), std::string::npos) << "found out only after the fit: " << r.output;
  };
  // Places nobody can create a folder in, root included (the probe creates one; permissions alone
  // would not stop root).
  expect_refused("/proc/sdm-analysis", {"output /proc/sdm-analysis", "cannot create a folder in /proc"});
  expect_refused("/proc/sdm/deeper/analysis", {"cannot create a folder in /proc"});
  // A path through a file.
  write_text(t / "file", "x");
  expect_refused(t / "file" / "analysis", {(t / "file").string() + " is a file, not a folder"});
  // A folder without write permission (only meaningful when not root).
  if (::geteuid() != 0) {
    fs::create_directories(t / "ro");
    fs::permissions(t / "ro", fs::perms::owner_read | fs::perms::owner_exec);
    expect_refused(t / "ro" / "analysis", {"cannot create a folder in " + (t / "ro").string()});
    fs::permissions(t / "ro", fs::perms::owner_all);
  }
  EXPECT_FALSE(fs::exists(cs.twin / "analysis"));
}

TEST(CmdAnalyze, LeftoversOfAKilledAnalysisAreRemovedAndALiveOnesAreKept) {
  const fs::path run = campaigns().copy(campaigns().twin, "twin_stale");
  // A pid that has surely ended: a shell that printed its own and exited.
  const auto sh = sdm::test::run_command("sh -c 'echo $$'");
  const long dead = std::stol(sh.output);
  const fs::path stale = run / (".analysis.partial-" + std::to_string(dead) + "-1f2e");
  const fs::path stale_old = run / (".analysis.old-" + std::to_string(dead) + "-1f2e");
  const fs::path live = run / (".analysis.partial-" + std::to_string(::getpid()) + "-abcd");  // this test is alive
  const fs::path other = run / ".unrelated";
  for (const auto& d : {stale, stale_old, live, other}) {
    fs::create_directories(d);
    write_text(d / "latent_scalarizers.png", "half");
  }
  const auto r = run_sdm("analyze '" + run.string() + "' --epochs 2 --no-model");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_FALSE(fs::exists(stale));
  EXPECT_FALSE(fs::exists(stale_old));
  EXPECT_TRUE(fs::exists(live)) << "another analysis may still be writing it";
  EXPECT_TRUE(fs::exists(other)) << "not ours";
  EXPECT_TRUE(fs::exists(run / "analysis" / "analysis.json"));
}

TEST(CmdAnalyze, CtrlCDuringTheFitStopsWithExitFourAndWritesNothing) {
  const fs::path run = campaigns().copy(campaigns().twin, "twin_int");
  const auto before = snapshot(run);
  TempDir t;
  sdm::test::BackgroundSdm b({"analyze", run.string(), "--epochs", "1000000"}, t / "log");
  ASSERT_TRUE(sdm::test::wait_until([&] { return slurp(t / "log").find("fitting") != std::string::npos || !b.running(); }, 60))
      << slurp(t / "log");
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  ASSERT_TRUE(b.running()) << slurp(t / "log");
  b.signal(SIGINT);
  EXPECT_EQ(b.wait(), 4) << slurp(t / "log");
  EXPECT_NE(slurp(t / "log").find("nothing written"), std::string::npos) << slurp(t / "log");
  EXPECT_FALSE(fs::exists(run / "analysis"));
  EXPECT_TRUE(hidden_entries(run).empty());
  EXPECT_EQ(snapshot(run), before);
}
