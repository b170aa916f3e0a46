// The structure–property analysis end to end on a small synthetic film (three motif regions,
// each with its own patch texture and I–V shape): metrics against the known truth, the figures
// written, and the HDF5 output read back through the HDF5 C API.
#include <gtest/gtest.h>
#include <hdf5/serial/hdf5.h>

#include <cmath>
#include <fstream>
#include <random>
#include <set>

#include "bench/analysis/report.hpp"
#include "core/error.hpp"
#include "core/waveform.hpp"
#include "engine/analysis/structure_property.hpp"
#include "sdm_test_support.hpp"

using namespace sdm::engine::analysis;

namespace {

constexpr int kSide = 16, kImage = 64, kStride = 4;

// Motif of a survey pixel: left third grains (bumps), middle third boundaries (dark lines), right
// third a fine checkerboard texture.
int motif_at(int x) { return x < 22 ? 0 : (x < 43 ? 1 : 2); }

double height(int x, int y) {
  switch (motif_at(x)) {
    case 0: {
      const double dx = std::fmod(x + 64.0, 11.0) - 5.5, dy = std::fmod(y + 64.0, 11.0) - 5.5;
      return 0.1 + 0.8 * std::exp(-(dx * dx + dy * dy) / 12.0);
    }
    case 1: {
      const double d = std::fmod(x + 0.6 * y, 9.0) - 4.5;
      return 0.8 - 0.6 * std::exp(-d * d / 2.0);
    }
    default:
      return ((x / 2 + y / 2) % 2) ? 0.85 : 0.15;
  }
}

sdm::core::IvCurve curve(int motif, double scale, double noise_a, std::mt19937_64& rng) {
  const auto w = sdm::core::Waveform::triangle(1.5, 251, 1.0);
  std::normal_distribution<double> g(0.0, 1.0);
  sdm::core::IvCurve c;
  c.time_s = w.time_s;
  c.bias_v = w.bias_v;
  for (std::size_t j = 0; j < w.size(); ++j) {
    const double V = w.bias_v[j];
    const bool up = j <= 125;
    double I = 0;
    if (motif == 0) I = 0.2e-9 * V;
    if (motif == 1) I = up ? 0.12e-9 * V * V : 0.12e-9 * (V * V + 0.8 * V * (1.5 - V));
    if (motif == 2) I = 0.4e-9 * (std::exp(V / 0.3) - 1) / (std::exp(5.0) - 1);
    c.current_a.push_back(scale * I + noise_a * g(rng));
  }
  return c;
}

struct Film {
  AnalysisInputs inputs;
  AnalysisConfig config;
};

Film make_film() {
  Film f;
  auto& in = f.inputs;
  std::mt19937_64 rng(4);
  std::normal_distribution<double> g(0.0, 1.0);
  in.patch_side = kSide;
  in.image_nx = in.image_ny = kImage;
  for (int y = 0; y < kImage; ++y)
    for (int x = 0; x < kImage; ++x) in.survey.push_back(height(x, y) + 0.02 * g(rng));
  std::vector<std::vector<float>> rows;
  for (int cy = kSide / 2; cy <= kImage - kSide / 2; cy += kStride)
    for (int cx = kSide / 2; cx <= kImage - kSide / 2; cx += kStride) {
      std::vector<float> p;
      for (int y = cy - kSide / 2; y < cy + kSide / 2; ++y)
        for (int x = cx - kSide / 2; x < cx + kSide / 2; ++x) p.push_back(static_cast<float>(in.survey[y * kImage + x]));
      rows.push_back(p);
      in.candidate_ix_px.push_back(cx);
      in.candidate_iy_px.push_back(cy);
      in.true_labels.push_back(motif_at(cx));
    }
  in.label_names = {"grain", "boundary", "texture"};
  in.candidate_patches.resize(static_cast<Eigen::Index>(rows.size()), kSide * kSide);
  for (std::size_t i = 0; i < rows.size(); ++i)
    for (int j = 0; j < kSide * kSide; ++j) in.candidate_patches(static_cast<Eigen::Index>(i), j) = rows[i][j];
  const int m = static_cast<int>(rows.size());
  std::vector<int> order(m);
  for (int i = 0; i < m; ++i) order[i] = i;
  std::shuffle(order.begin(), order.end(), rng);
  for (int i = 0; i < 45; ++i) {
    in.measured.push_back(order[i]);
    in.measured_curves.push_back(curve(in.true_labels[order[i]], 1.0 + 0.05 * g(rng), 0.004e-9, rng));
  }
  for (int i = 0; i < m; ++i) {
    in.truth_candidates.push_back(i);
    in.true_curves.push_back(curve(in.true_labels[i], 1.0, 0.0, rng));
  }
  auto& c = f.config;
  c.vae.hidden = 32;
  c.vae.epochs = 300;
  c.vae.learning_rate = 1e-3;
  c.vae.threads = 1;
  c.vae.max_clusters = 5;
  c.seed = 3;
  return f;
}

struct Analysed {
  Film film = make_film();
  AnalysisResult result = analyze_structure_property(film.inputs, film.config);
};
Analysed& analysed() {
  static Analysed a;
  return a;
}

std::pair<int, int> png_size(const std::filesystem::path& p) {
  std::ifstream f(p, std::ios::binary);
  std::vector<unsigned char> b(24);
  f.read(reinterpret_cast<char*>(b.data()), 24);
  const unsigned char sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
  for (int i = 0; i < 8; ++i)
    if (b[i] != sig[i]) return {0, 0};
  auto be32 = [&](int o) { return (b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3]; };
  return {be32(16), be32(20)};  // IHDR width, height
}

// A dataset read back as doubles, with its shape.
std::vector<double> read(hid_t file, const std::string& path, std::vector<hsize_t>* dims = nullptr) {
  const hid_t ds = H5Dopen2(file, path.c_str(), H5P_DEFAULT);
  EXPECT_GE(ds, 0) << path;
  if (ds < 0) return {};
  const hid_t space = H5Dget_space(ds);
  const int rank = H5Sget_simple_extent_ndims(space);
  std::vector<hsize_t> d(rank);
  H5Sget_simple_extent_dims(space, d.data(), nullptr);
  hsize_t n = 1;
  for (auto x : d) n *= x;
  std::vector<double> v(n);
  H5Dread(ds, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, v.data());
  H5Sclose(space);
  H5Dclose(ds);
  if (dims) *dims = d;
  return v;
}

double read_attr(hid_t loc, const std::string& name) {
  const hid_t a = H5Aopen(loc, name.c_str(), H5P_DEFAULT);
  double v = NAN;
  H5Aread(a, H5T_NATIVE_DOUBLE, &v);
  H5Aclose(a);
  return v;
}

}  // namespace

TEST(StructurePropertyAnalysis, SeparatesTheMotifsAndPredictsUnmeasuredCurves) {
  const auto& r = analysed().result;
  const auto& m = r.metrics;
  const int candidates = static_cast<int>(analysed().film.inputs.candidate_patches.rows());
  EXPECT_EQ(r.candidate_latent.rows(), candidates);
  EXPECT_EQ(m.knn_k, 5);
  EXPECT_GT(m.knn_accuracy_measured, m.knn_chance_measured + 0.3);
  EXPECT_GT(m.knn_accuracy_candidates, m.knn_chance_candidates + 0.3);
  EXPECT_EQ(m.knn_candidates_used, candidates);
  EXPECT_EQ(m.im2spec_evaluated, candidates - 45);  // every unmeasured candidate has a true curve
  // im2spec beats the latent-free prediction (the mean measured curve everywhere) on the
  // unmeasured pixels, by the same normalised RMSE.
  const auto& in = analysed().film.inputs;
  const std::set<int> measured(in.measured.begin(), in.measured.end());
  Eigen::RowVectorXd mean_curve = Eigen::RowVectorXd::Zero(251);
  for (const auto& c : in.measured_curves)
    for (int j = 0; j < 251; ++j) mean_curve(j) += c.current_a[j] / 45.0;
  double se = 0, lo = 1e300, hi = -1e300;
  int count = 0;
  for (std::size_t i = 0; i < in.truth_candidates.size(); ++i) {
    if (measured.count(in.truth_candidates[i])) continue;
    for (int j = 0; j < 251; ++j) {
      const double t = in.true_curves[i].current_a[j];
      se += (mean_curve(j) - t) * (mean_curve(j) - t);
      lo = std::min(lo, t), hi = std::max(hi, t);
      ++count;
    }
  }
  const double baseline = std::sqrt(se / count) / (hi - lo);
  EXPECT_LT(m.im2spec_nrmse, baseline) << "latent-free baseline " << baseline;
  // R² of the map scalarizer, recomputed from the reported pairs.
  double mean_t = 0;
  for (double t : r.truth_scalar) mean_t += t / static_cast<double>(r.truth_scalar.size());
  double ss_res = 0, ss_tot = 0;
  for (std::size_t i = 0; i < r.truth_scalar.size(); ++i) {
    ss_res += (r.truth_scalar[i] - r.truth_predicted_scalar[i]) * (r.truth_scalar[i] - r.truth_predicted_scalar[i]);
    ss_tot += (r.truth_scalar[i] - mean_t) * (r.truth_scalar[i] - mean_t);
  }
  EXPECT_NEAR(m.im2spec_r2, 1 - ss_res / ss_tot, 1e-9);
  // Clusters: BIC picked a size within 1..5 and every measured pair and candidate has one.
  EXPECT_GE(r.mixture.best_k, 1);
  EXPECT_LE(r.mixture.best_k, 5);
  EXPECT_EQ(static_cast<int>(r.clusters.size()), r.mixture.best_k);
  int pairs = 0, cands = 0;
  for (const auto& c : r.clusters) pairs += static_cast<int>(c.members.size()), cands += c.candidates;
  EXPECT_EQ(pairs, 45);
  EXPECT_EQ(cands, candidates);
  EXPECT_EQ(r.manifold.grid, 10);
  EXPECT_EQ(r.predicted_curves.cols(), 251);
  EXPECT_EQ(r.scalarizer_names.size(), 5u);
  EXPECT_EQ(r.scalarizer_names[r.map_scalarizer], "loop_area");
}

TEST(StructurePropertyAnalysis, WritesEveryFigure) {
  sdm::test::TempDir dir;
  const auto files = sdm::bench::analysis::write_analysis_figures(analysed().film.inputs, analysed().result, dir.path());
  const std::set<std::string> expected = {"latent_scalarizers.png", "manifold_image.png", "manifold_curves.png",
                                          "structure_property_map.png", "cluster_gallery.png", "training_loss.png",
                                          "latent_true_labels.png", "im2spec_truth.png"};
  std::set<std::string> got;
  for (const auto& f : files) {
    got.insert(f.filename().string());
    const auto [w, h] = png_size(f);
    EXPECT_GT(w, 300) << f;
    EXPECT_GT(h, 300) << f;
  }
  EXPECT_EQ(got, expected);
  if (const char* keep = std::getenv("SDM_KEEP_ANALYSIS_FIGURES"))  // for looking at them
    for (const auto& f : files) std::filesystem::copy_file(f, std::filesystem::path(keep) / f.filename(),
                                                          std::filesystem::copy_options::overwrite_existing);
}

TEST(StructurePropertyAnalysis, Hdf5HoldsTheLatentsAndPredictionsAndKeepsOtherGroups) {
  const auto& [film, r] = analysed();
  sdm::test::TempDir dir;
  const auto path = dir / "run.h5";
  {  // a run file that already holds something else
    const hid_t f = H5Fcreate(path.c_str(), H5F_ACC_EXCL, H5P_DEFAULT, H5P_DEFAULT);
    H5Gclose(H5Gcreate2(f, "campaign", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
    H5Fclose(f);
  }
  sdm::bench::analysis::write_analysis_h5(path, film.inputs, r, film.config);
  sdm::bench::analysis::write_analysis_h5(path, film.inputs, r, film.config);  // replaces its own group
  const hid_t f = H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  ASSERT_GE(f, 0);
  EXPECT_GT(H5Lexists(f, "campaign", H5P_DEFAULT), 0);
  std::vector<hsize_t> dims;
  const auto latent = read(f, "analysis/candidates/latent", &dims);
  ASSERT_EQ(dims, (std::vector<hsize_t>{static_cast<hsize_t>(r.candidate_latent.rows()), 2}));
  EXPECT_EQ(latent[2 * 7 + 1], r.candidate_latent(7, 1));  // row-major
  const auto curves = read(f, "analysis/candidates/predicted_curves", &dims);
  ASSERT_EQ(dims[1], 251u);
  EXPECT_FLOAT_EQ(static_cast<float>(curves[251 * 3 + 100]), r.predicted_curves(3, 100));
  const auto measured = read(f, "analysis/measured/candidate", &dims);
  ASSERT_EQ(dims[0], 45u);
  EXPECT_EQ(static_cast<int>(measured[10]), film.inputs.measured[10]);
  read(f, "analysis/manifold/patches", &dims);
  EXPECT_EQ(dims, (std::vector<hsize_t>{100, 256}));
  read(f, "analysis/clusters/covariances", &dims);
  EXPECT_EQ(dims, (std::vector<hsize_t>{static_cast<hsize_t>(r.mixture.best_k), 2, 2}));
  read(f, "analysis/training/total", &dims);
  EXPECT_EQ(dims[0], 300u);
  const hid_t g = H5Gopen2(f, "analysis", H5P_DEFAULT);
  EXPECT_EQ(read_attr(g, "im2spec_r2"), r.metrics.im2spec_r2);
  EXPECT_EQ(read_attr(g, "best_k"), r.mixture.best_k);
  H5Gclose(g);
  H5Fclose(f);
  const auto summary = sdm::bench::analysis::analysis_summary(r);
  EXPECT_EQ(summary.at("pairs"), 45);
  EXPECT_EQ(summary.at("im2spec_r2").get<double>(), r.metrics.im2spec_r2);
}

TEST(StructurePropertyAnalysis, RejectsInconsistentInputs) {
  auto expect_error = [](const AnalysisInputs& in, const std::string& fragment) {
    try {
      analyze_structure_property(in, analysed().film.config);
      ADD_FAILURE() << "no sdm::Error for " << fragment;
    } catch (const sdm::Error& e) {
      EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();
    }
  };
  const AnalysisInputs good = analysed().film.inputs;
  AnalysisInputs a = good;
  a.measured_curves.pop_back();
  expect_error(a, "45 measured candidates but 44 measured curves");
  a = good;
  a.measured[3] = 100000;
  expect_error(a, "measured[3] = 100000 is not a candidate index");
  a = good;
  a.true_labels.pop_back();
  expect_error(a, "true_labels has");
  a = good;
  a.measured_curves[2].current_a.resize(10);
  expect_error(a, "measured curve 2 has 251 biases but 10 currents");
  a = good;
  a.candidate_ix_px.pop_back();
  expect_error(a, "candidate positions");
  a = good;
  a.measured.resize(1);
  a.measured_curves.resize(1);
  expect_error(a, "at least 2 measured pairs");
}

#include "bench/scenario.hpp"

TEST(VaeConfigSection, ReadsEveryKeyAndRejectsOutOfRangeValues) {
  const auto sc = sdm::bench::parse_scenario(R"([vae]
epochs = 50
hidden = 64
gamma_similarity = 3.5
tie_warmup_fraction = 0.0
tie_moves = "curve"
spatial_decoder_layers = 2
curve_points = 128
patch_scaling = "per_patch_minmax"
curve_scaling = "none"
threads = 1
manifold_grid = 8
max_clusters = 4
cluster_representatives = 3
)",
                                             "inline.toml");
  EXPECT_EQ(sc.vae.epochs, 50);
  EXPECT_EQ(sc.vae.hidden, 64);
  EXPECT_EQ(sc.vae.gamma_similarity, 3.5);
  EXPECT_EQ(sc.vae.tie_warmup_fraction, 0.0);
  EXPECT_EQ(sc.vae.tie_moves, "curve");
  EXPECT_EQ(sc.vae.spatial_decoder_layers, 2);
  EXPECT_EQ(sc.vae.curve_points, 128);
  EXPECT_EQ(sc.vae.patch_scaling, "per_patch_minmax");
  EXPECT_EQ(sc.vae.curve_scaling, "none");
  EXPECT_EQ(sc.vae.manifold_grid, 8);
  EXPECT_EQ(sc.vae.max_clusters, 4);
  EXPECT_EQ(sc.vae.cluster_representatives, 3);
  for (const char* bad : {"[vae]\ntie_warmup_fraction = 1.5\n", "[vae]\nshift_prior = 0.0\n", "[vae]\ncurve_scaling = \"log\"\n",
                          "[vae]\nspatial_decoder_layers = 0\n", "[vae]\nno_such_key = 1\n"}) {
    try {
      sdm::bench::parse_scenario(bad, "inline.toml");
      ADD_FAILURE() << "accepted: " << bad;
    } catch (const sdm::Error& e) {
      EXPECT_NE(std::string(e.what()).find("vae"), std::string::npos) << e.what();
    }
  }
}

TEST(StructurePropertyAnalysis, CurvesAreDrawnInTheSignalsOwnUnit) {
  using sdm::bench::analysis::FigureLabels;
  using sdm::bench::analysis::signal_scale;
  const FigureLabels current;  // the twin's current in A: the prefix that puts the largest |I| in [0.1, 100)
  EXPECT_EQ(signal_scale(current, 6e-10).unit, "nA");
  EXPECT_DOUBLE_EQ(signal_scale(current, 6e-10).factor, 1e9);
  EXPECT_EQ(signal_scale(current, 1e-10).unit, "nA");   // 0.1 nA, not 100 pA
  EXPECT_EQ(signal_scale(current, 9.9e-11).unit, "pA");  // 99 pA
  EXPECT_EQ(signal_scale(current, 2e-11).unit, "pA");
  EXPECT_EQ(signal_scale(current, 5e-8).unit, "nA");     // 50 nA
  EXPECT_EQ(signal_scale(current, 2e-6).unit, "uA");
  EXPECT_EQ(signal_scale(current, 0.5).unit, "A");
  EXPECT_EQ(signal_scale(current, 1e-20).unit, "fA");    // clamped at the smallest prefix
  EXPECT_EQ(signal_scale(current, 0.0).unit, "nA");      // nothing to go by
  FigureLabels pfm;  // a replay of piezoresponse loops: drawn as recorded
  pfm.signal_name = "Piezoresponse";
  pfm.signal_unit = "a.u.";
  EXPECT_EQ(signal_scale(pfm, 0.08).unit, "a.u.");
  EXPECT_DOUBLE_EQ(signal_scale(pfm, 0.08).factor, 1.0);
}
