// The dual VAE end to end on synthetic structure–property data: three patch textures, each
// paired with its own I–V curve shape. Checks separation of the groups in the joint latent,
// cross-modal prediction, the latent tie, determinism, save/load and input validation.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "engine/analysis/metrics.hpp"
#include "engine/vae/dual_vae.hpp"
#include "sdm_test_support.hpp"

using sdm::engine::vae::DualVae;
using sdm::engine::vae::RowMatrixF;
using sdm::engine::vae::VaeConfig;

namespace {

constexpr int kSide = 16;
constexpr int kPoints = 251;

struct Synthetic {
  RowMatrixF patches;
  Eigen::MatrixXd curves;  // amperes on a 0 → 1.5 → 0 V triangle
  std::vector<int> group;
};

double bias_at(int j) { return j <= 125 ? 1.5 * j / 125.0 : 1.5 * (250 - j) / 125.0; }

// Group 0: a bright bump (grain) with an ohmic, hysteresis-free curve. Group 1: a dark line
// (boundary) at a random angle with a hysteretic loop. Group 2: a fine checkerboard with an
// exponential onset. Random offsets, amplitudes and noise within each group.
Synthetic make_synthetic(int per_group, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> noise(0.0, 1.0);
  std::uniform_real_distribution<double> u(0.0, 1.0);
  Synthetic s;
  const int n = 3 * per_group;
  s.patches.resize(n, kSide * kSide);
  s.curves.resize(n, kPoints);
  for (int i = 0; i < n; ++i) {
    const int g = i % 3;
    s.group.push_back(g);
    const double ox = 2 * (u(rng) - 0.5) * 2, oy = 2 * (u(rng) - 0.5) * 2, angle = u(rng) * M_PI, phase = u(rng) * 4;
    for (int r = 0; r < kSide; ++r)
      for (int c = 0; c < kSide; ++c) {
        const double x = c - 7.5 - ox, y = r - 7.5 - oy;
        double v = 0;
        if (g == 0) v = 0.1 + 0.8 * std::exp(-(x * x + y * y) / (2 * 16.0));
        if (g == 1) {
          const double dist = x * std::cos(angle) + y * std::sin(angle);
          v = 0.8 - 0.6 * std::exp(-dist * dist / (2 * 1.5 * 1.5));
        }
        if (g == 2) v = 0.5 + 0.35 * ((static_cast<int>(std::floor((c + phase) / 2)) + r / 2) % 2 ? 1 : -1);
        s.patches(i, r * kSide + c) = static_cast<float>(v + 0.03 * noise(rng));
      }
    const double scale = 1.0 + 0.1 * noise(rng);
    for (int j = 0; j < kPoints; ++j) {
      const double V = bias_at(j);
      const bool up = j <= 125;
      double I = 0;
      if (g == 0) I = 0.2e-9 * V;
      if (g == 1) I = up ? 0.12e-9 * V * V : 0.12e-9 * (V * V + 0.8 * V * (1.5 - V));
      if (g == 2) I = 0.4e-9 * (std::exp(V / 0.3) - 1) / (std::exp(5.0) - 1);
      s.curves(i, j) = scale * I + 0.004e-9 * noise(rng);
    }
  }
  return s;
}

VaeConfig small_config() {
  VaeConfig c;
  c.hidden = 64;
  c.epochs = 400;
  c.learning_rate = 1e-3;
  c.threads = 1;
  return c;
}

double group_rmse(const Eigen::RowVectorXd& curve, const Eigen::RowVectorXd& reference) {
  return std::sqrt((curve - reference).squaredNorm() / static_cast<double>(curve.size()));
}

// Trained once, shared by the tests that only read it.
struct Trained {
  Synthetic data = make_synthetic(20, 11);
  DualVae model{small_config(), kSide, 7};
  sdm::engine::vae::TrainingReport report = model.fit(data.patches, data.curves);
};
Trained& trained() {
  static Trained t;
  return t;
}

}  // namespace

namespace {
// The BCE per row of the best predictor that ignores the latents: every pixel (or curve point)
// predicted by its mean over the rows, after the default global min–max scaling. A VAE that
// uses its latent must reconstruct better than this.
double latent_free_bce(const Eigen::MatrixXd& x) {
  const double lo = x.minCoeff(), hi = x.maxCoeff();
  const Eigen::MatrixXd u = (x.array() - lo) / (hi - lo);
  const Eigen::RowVectorXd mean = u.colwise().mean();
  double total = 0;
  for (Eigen::Index i = 0; i < u.rows(); ++i)
    for (Eigen::Index j = 0; j < u.cols(); ++j) {
      const double q = std::clamp(mean(j), 1e-7, 1 - 1e-7), p = u(i, j);
      total += -p * std::log(q) - (1 - p) * std::log(1 - q);
    }
  return total / static_cast<double>(u.rows());
}
}  // namespace

TEST(DualVae, TrainingBeatsTheLatentFreePredictorAndReportsEveryTerm) {
  const auto& r = trained().report;
  ASSERT_EQ(r.history.size(), 400u);
  EXPECT_EQ(r.pairs, 60);
  const auto& first = r.history.front();
  const auto& after = r.final_at_means;
  EXPECT_LT(after.recon_image, latent_free_bce(trained().data.patches.cast<double>()));
  EXPECT_LT(after.recon_curve, latent_free_bce(trained().data.curves));
  EXPECT_LT(after.recon_image, first.recon_image);
  EXPECT_LT(after.recon_curve, first.recon_curve);
  for (const auto& h : r.history) {
    ASSERT_TRUE(std::isfinite(h.total));
    EXPECT_GE(h.kl_image, 0.0);
    EXPECT_GE(h.kl_curve, 0.0);
    EXPECT_GE(h.similarity, 0.0);
  }
  EXPECT_EQ(r.tie_matrix.rows(), 2);
  EXPECT_TRUE(trained().model.trained());
}

TEST(DualVae, JointLatentSeparatesTheGroups) {
  auto& t = trained();
  const auto z = t.model.encode_patches(t.data.patches).mean;
  const auto zc = t.model.curves_to_joint(t.data.curves);
  ASSERT_EQ(z.rows(), 60);
  ASSERT_EQ(z.cols(), 2);
  const double chance = sdm::engine::analysis::majority_fraction(t.data.group);
  EXPECT_NEAR(chance, 1.0 / 3.0, 1e-12);
  EXPECT_GT(sdm::engine::analysis::knn_accuracy(z, t.data.group, 5), 0.85);
  EXPECT_GT(sdm::engine::analysis::knn_accuracy(zc, t.data.group, 5), 0.85);
}

TEST(DualVae, Im2specPredictsTheCurveShapeOfUnseenPatches) {
  auto& t = trained();
  const Synthetic fresh = make_synthetic(10, 99);  // patches the model never saw
  const Eigen::MatrixXd pred = t.model.im2spec(fresh.patches);
  ASSERT_EQ(pred.rows(), 30);
  ASSERT_EQ(pred.cols(), kPoints);
  // Each group's mean true curve; a prediction should be nearest to its own group's.
  Eigen::MatrixXd mean = Eigen::MatrixXd::Zero(3, kPoints);
  for (int i = 0; i < 30; ++i) mean.row(fresh.group[i]) += fresh.curves.row(i) / 10.0;
  int right = 0;
  for (int i = 0; i < 30; ++i) {
    int best = 0;
    for (int g = 1; g < 3; ++g)
      if (group_rmse(pred.row(i), mean.row(g)) < group_rmse(pred.row(i), mean.row(best))) best = g;
    right += best == fresh.group[i];
  }
  EXPECT_GE(right, 26);  // ≥ 87 %, chance 33 %
  // Predictions are in amperes, inside the span of the training currents (sigmoid × global min–max).
  EXPECT_GE(pred.minCoeff(), t.data.curves.minCoeff());
  EXPECT_LE(pred.maxCoeff(), t.data.curves.maxCoeff());
}

TEST(DualVae, Spec2imAndManifoldHaveTheDocumentedShapes) {
  auto& t = trained();
  const RowMatrixF img = t.model.spec2im(t.data.curves.topRows(4));
  EXPECT_EQ(img.rows(), 4);
  EXPECT_EQ(img.cols(), kSide * kSide);
  EXPECT_GE(img.minCoeff(), t.data.patches.minCoeff());
  EXPECT_LE(img.maxCoeff(), t.data.patches.maxCoeff());
  const auto mf = t.model.manifold(10, -2.0, 2.0, -1.0, 3.0);
  ASSERT_EQ(mf.grid, 10);
  EXPECT_EQ(mf.patches.rows(), 100);
  EXPECT_EQ(mf.curves.rows(), 100);
  EXPECT_EQ(mf.curves.cols(), kPoints);
  EXPECT_DOUBLE_EQ(mf.z1.front(), -2.0);
  EXPECT_DOUBLE_EQ(mf.z1.back(), 2.0);
  EXPECT_DOUBLE_EQ(mf.z2.front(), 3.0);  // the top row has the largest z2
  EXPECT_DOUBLE_EQ(mf.z2.back(), -1.0);
  EXPECT_DOUBLE_EQ(mf.latent(1 * 10 + 3, 0), mf.z1[3]);
  EXPECT_DOUBLE_EQ(mf.latent(1 * 10 + 3, 1), mf.z2[1]);
  // The manifold's rows decode the same points as decode_patches / decode_curves.
  const RowMatrixF one = t.model.decode_patches(mf.latent.row(13));
  EXPECT_TRUE(one.row(0).isApprox(mf.patches.row(13)));
  const auto pose = t.model.encode_patches(t.data.patches.topRows(3));
  EXPECT_EQ(pose.pose_mean.cols(), 3);
  EXPECT_TRUE((pose.variance.array() > 0).all());
}

TEST(DualVae, EvaluateCombinesTheTermsWithBetaAndGamma) {
  VaeConfig c = small_config();
  c.epochs = 5;
  c.beta_kl = 0.5;
  c.gamma_similarity = 3.0;
  const Synthetic s = make_synthetic(4, 5);
  DualVae m(c, kSide, 1);
  const auto report = m.fit(s.patches, s.curves);
  const auto e = m.evaluate(s.patches, s.curves);
  EXPECT_NEAR(e.total, e.recon_image + e.recon_curve + 0.5 * (e.kl_image + e.kl_curve) + 3.0 * e.similarity, 1e-5 * e.total);
  EXPECT_NEAR(e.total, report.final_at_means.total, 1e-6 * e.total);
  // A patch has 256 pixels: its BCE is at least 256 × the entropy floor 0 and, untrained, near 256·ln 2.
  EXPECT_GT(e.recon_image, 0.0);
}

TEST(DualVae, TheTiePullsPairedLatentsTogether) {
  const Synthetic s = make_synthetic(12, 21);
  auto normalised_residual = [&](double gamma, Eigen::MatrixXd* tie) {
    VaeConfig c = small_config();
    c.epochs = 300;
    c.gamma_similarity = gamma;
    DualVae m(c, kSide, 3);
    m.fit(s.patches, s.curves);
    const auto z = m.encode_patches(s.patches).mean;
    const auto zc = m.curves_to_joint(s.curves);
    const Eigen::MatrixXd centred = z.rowwise() - z.colwise().mean();
    const double spread = std::sqrt(centred.squaredNorm() / static_cast<double>(z.rows()));
    if (tie) *tie = m.tie_matrix();
    return (z - zc).rowwise().norm().mean() / spread;
  };
  Eigen::MatrixXd tie_free, tie_tied;
  const double free = normalised_residual(0.0, &tie_free);
  const double tied = normalised_residual(10.0, &tie_tied);
  EXPECT_LT(tied, 0.5 * free) << "free " << free << ", tied " << tied;
  // Without the tie nothing reaches A: it stays the identity exactly; with it, A is learnt.
  EXPECT_TRUE(tie_free.isApprox(Eigen::MatrixXd::Identity(2, 2), 0.0));
  EXPECT_FALSE(tie_tied.isApprox(Eigen::MatrixXd::Identity(2, 2), 1e-3));
}

TEST(DualVae, TieMovesOnlyTheSideItNames) {
  // With the tie's gradient stopped on one side, that side trains exactly as without the tie
  // (γ = 0): same seed, same latent draws, the same gradients bit for bit.
  const Synthetic s = make_synthetic(4, 12);
  auto fitted = [&](double gamma, const std::string& moves) {
    VaeConfig c = small_config();
    c.epochs = 60;
    c.tie_warmup_fraction = 0.0;
    c.gamma_similarity = gamma;
    c.tie_moves = moves;
    DualVae m(c, kSide, 4);
    m.fit(s.patches, s.curves);
    return m;
  };
  const DualVae untied = fitted(0.0, "both"), both = fitted(10.0, "both"), curve = fitted(10.0, "curve"),
                image = fitted(10.0, "image");
  const auto z = [&](const DualVae& m) { return m.encode_patches(s.patches).mean; };
  const auto sl = [&](const DualVae& m) { return m.encode_curves(s.curves).mean; };
  const Eigen::MatrixXd identity = Eigen::MatrixXd::Identity(2, 2);
  EXPECT_EQ(z(curve), z(untied));      // "curve": the image VAE ignores the tie ...
  EXPECT_NE(sl(curve), sl(untied));    // ... while the spectral encoder and A follow it
  EXPECT_NE(curve.tie_matrix(), identity);
  EXPECT_EQ(sl(image), sl(untied));    // "image": the spectral VAE ignores the tie, A stays I ...
  EXPECT_EQ(image.tie_matrix(), identity);
  EXPECT_NE(z(image), z(untied));      // ... and the image encoder follows it
  EXPECT_NE(z(both), z(untied));       // "both" (the paper): every side moves
  EXPECT_NE(sl(both), sl(untied));
  EXPECT_NE(both.tie_matrix(), identity);
}

TEST(DualVae, SameSeedSameModelAndDifferentSeedDifferentModel) {
  VaeConfig c = small_config();
  c.epochs = 30;
  const Synthetic s = make_synthetic(4, 8);
  DualVae a(c, kSide, 42), b(c, kSide, 42), other(c, kSide, 43);
  const auto ra = a.fit(s.patches, s.curves), rb = b.fit(s.patches, s.curves), ro = other.fit(s.patches, s.curves);
  for (std::size_t e = 0; e < ra.history.size(); ++e) ASSERT_EQ(ra.history[e].total, rb.history[e].total) << "epoch " << e;
  EXPECT_EQ(a.encode_patches(s.patches).mean, b.encode_patches(s.patches).mean);
  EXPECT_NE(a.encode_patches(s.patches).mean, other.encode_patches(s.patches).mean);
  // Refitting restarts from the seeded weights: the same history again.
  const auto again = a.fit(s.patches, s.curves);
  EXPECT_EQ(again.history.back().total, ra.history.back().total);
}

TEST(DualVae, SaveThenLoadGivesIdenticalEncodingsAndPredictions) {
  VaeConfig c = small_config();
  c.epochs = 20;
  c.rotation_prior_rad = 0.7;
  c.tie_moves = "curve";
  const Synthetic s = make_synthetic(4, 9);
  DualVae m(c, kSide, 5);
  m.fit(s.patches, s.curves);
  sdm::test::TempDir dir;
  m.save(dir / "vae.pt");
  const DualVae back = DualVae::load(dir / "vae.pt");
  EXPECT_TRUE(back.trained());
  EXPECT_EQ(back.patch_side(), kSide);
  EXPECT_EQ(back.config().rotation_prior_rad, 0.7);
  EXPECT_EQ(back.config().tie_moves, "curve");
  const auto e1 = m.encode_patches(s.patches), e2 = back.encode_patches(s.patches);
  EXPECT_EQ(e1.mean, e2.mean);
  EXPECT_EQ(e1.variance, e2.variance);
  EXPECT_EQ(e1.pose_mean, e2.pose_mean);
  EXPECT_EQ(m.encode_curves(s.curves).mean, back.encode_curves(s.curves).mean);
  EXPECT_EQ(m.im2spec(s.patches), back.im2spec(s.patches));
  EXPECT_EQ(m.spec2im(s.curves), back.spec2im(s.curves));
  EXPECT_EQ(m.tie_matrix(), back.tie_matrix());
  EXPECT_EQ(m.evaluate(s.patches, s.curves).total, back.evaluate(s.patches, s.curves).total);
}

TEST(DualVae, OtherArchitecturesTrain) {
  const Synthetic s = make_synthetic(3, 4);
  for (int variant = 0; variant < 2; ++variant) {
    VaeConfig c = small_config();
    c.epochs = 10;
    c.hidden = 16;
    if (variant == 0) c.coordinate_invariance = false;  // dense image decoder
    if (variant == 1) c.spatial_decoder_layers = 2;      // generic (unfused) spatial decoder
    DualVae m(c, kSide, 2);
    const auto r = m.fit(s.patches, s.curves);
    EXPECT_LT(r.history.back().total, r.history.front().total) << "variant " << variant;
    const auto e = m.encode_patches(s.patches);
    EXPECT_EQ(e.pose_mean.cols(), variant == 0 ? 0 : 3);
    EXPECT_EQ(m.reconstruct_patches(s.patches).cols(), kSide * kSide);
    EXPECT_EQ(m.reconstruct_curves(s.curves).cols(), kPoints);
  }
}

TEST(DualVae, CurvesOfAnotherLengthAreResampled) {
  Eigen::MatrixXd rows(1, 5);
  rows << 1, 4, 7, 10, 13;
  const Eigen::MatrixXd r = sdm::engine::vae::resample_rows(rows, 9);
  for (int j = 0; j < 9; ++j) EXPECT_NEAR(r(0, j), 1 + 1.5 * j, 1e-12);
  VaeConfig c = small_config();
  c.epochs = 3;
  c.curve_points = 40;
  const Synthetic s = make_synthetic(2, 3);
  DualVae m(c, kSide, 1);
  m.fit(s.patches, s.curves);  // 251-point curves into a 40-point VAE
  EXPECT_EQ(m.im2spec(s.patches).cols(), 40);
}

namespace {
template <class F>
void expect_error(F&& f, const std::string& fragment) {
  try {
    f();
    ADD_FAILURE() << "no sdm::Error; expected one mentioning \"" << fragment << "\"";
  } catch (const sdm::Error& e) {
    EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();
  }
}
}  // namespace

TEST(DualVae, RejectsBadInputsClearly) {
  const Synthetic s = make_synthetic(2, 1);
  VaeConfig c = small_config();
  c.epochs = 1;
  DualVae m(c, kSide, 1);
  expect_error([&] { m.fit(s.patches, s.curves.topRows(5)); }, "6 patches but 5 curves");
  expect_error([&] { m.fit(s.patches.leftCols(100), s.curves); }, "expected patch_side² = 256");
  expect_error([&] { m.fit(s.patches.topRows(1), s.curves.topRows(1)); }, "at least 2 pairs");
  RowMatrixF nan_patches = s.patches;
  nan_patches(2, 7) = std::nanf("");
  expect_error([&] { m.fit(nan_patches, s.curves); }, "row 2, column 7 is not finite");
  Eigen::MatrixXd inf_curves = s.curves;
  inf_curves(1, 3) = INFINITY;
  expect_error([&] { m.fit(s.patches, inf_curves); }, "curves: row 1, column 3 is not finite");
  expect_error([&] { m.fit(s.patches, s.curves.leftCols(1)); }, "need at least 2");
  expect_error([&] { m.encode_patches(RowMatrixF(0, 256)); }, "empty");
  expect_error([&] { m.decode_curves(Eigen::MatrixXd::Zero(3, 5)); }, "expected latent_dim = 2");
  expect_error([&] { m.manifold(1, 0, 1, 0, 1); }, "grid must be >= 2");
  expect_error([&] { DualVae(c, 1, 1); }, "patch_side must be >= 2");
  VaeConfig bad = c;
  bad.patch_scaling = "log";
  expect_error([&] { DualVae(bad, kSide, 1); }, "patch_scaling");
  bad = c;
  bad.tie_moves = "neither";
  expect_error([&] { DualVae(bad, kSide, 1); }, "tie_moves");
  VaeConfig none = c;
  none.curve_scaling = "none";
  DualVae raw(none, kSide, 1);
  expect_error([&] { raw.fit(s.patches, s.curves * 1e10); }, "scaling \"none\" needs them in [0, 1]");
  sdm::test::TempDir dir;
  expect_error([&] { DualVae::load(dir / "missing.pt"); }, "does not exist");
  sdm::test::write_text(dir / "junk.pt", "not a model");
  expect_error([&] { DualVae::load(dir / "junk.pt"); }, "junk.pt");
}
