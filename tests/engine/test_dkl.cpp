// Deep kernel learning: fits held-out data of known nonlinear functions, lowers the exact
// NLL, multi-target heads, determinism, warm start vs refit, save/load resume, edge cases.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "core/error.hpp"
#include "engine/gp/dkl.hpp"
#include "sdm_test_support.hpp"

namespace gp = sdm::engine::gp;

namespace {

double r_squared(const Eigen::VectorXd& truth, const Eigen::VectorXd& pred) {
  const double ss_res = (truth - pred).squaredNorm();
  const double ss_tot = (truth.array() - truth.mean()).square().sum();
  return 1.0 - ss_res / ss_tot;
}

// 1-D toy: y = sin(2x) + 0.3 x on [-3, 3] with N(0, 0.05^2) noise on the training targets.
struct Toy {
  gp::RowMatrixF x_train, x_test;
  Eigen::MatrixXd y_train, y_test;
};

Toy make_toy(int n_train, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> u(-3, 3);
  std::normal_distribution<double> noise(0, 0.05);
  auto f = [](double x) { return std::sin(2 * x) + 0.3 * x; };
  Toy t;
  t.x_train.resize(n_train, 1);
  t.y_train.resize(n_train, 1);
  for (int i = 0; i < n_train; ++i) {
    const double x = u(rng);
    t.x_train(i, 0) = static_cast<float>(x);
    t.y_train(i, 0) = f(x) + noise(rng);
  }
  const int n_test = 200;
  t.x_test.resize(n_test, 1);
  t.y_test.resize(n_test, 1);
  for (int i = 0; i < n_test; ++i) {
    const double x = -2.9 + 5.8 * (i + 0.5) / n_test;  // held-out grid, no training point on it
    t.x_test(i, 0) = static_cast<float>(x);
    t.y_test(i, 0) = f(x);
  }
  return t;
}

gp::DklConfig refit_config(int steps) {
  gp::DklConfig c;
  c.steps = steps;
  c.warm_start = false;
  c.early_stop_patience = 0;
  return c;
}

// Square "patches" (side x side) whose texture is set by a hidden scalar t: stripes of
// frequency 1 + 2t at angle 3t, plus pixel noise. Target: cos(3t) + t^2 (nonlinear in t).
void make_patches(int n, int side, std::uint64_t seed, gp::RowMatrixF& x, Eigen::MatrixXd& y) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> u(0, 1);
  std::normal_distribution<double> noise(0, 0.05);
  x.resize(n, side * side);
  y.resize(n, 1);
  for (int i = 0; i < n; ++i) {
    const double t = u(rng);
    const double freq = 1 + 2 * t, ang = 3 * t;
    for (int r = 0; r < side; ++r)
      for (int c = 0; c < side; ++c) {
        const double s = (std::cos(ang) * c + std::sin(ang) * r) / side;
        x(i, r * side + c) = static_cast<float>(std::sin(2 * M_PI * freq * s) + noise(rng));
      }
    y(i, 0) = std::cos(3 * t) + t * t;
  }
}

}  // namespace

TEST(Dkl, FitsNonlinear1dToyOnHeldOutPoints) {
  const Toy toy = make_toy(120, 1);
  gp::Dkl dkl(refit_config(600), 1, 1, 42);
  const gp::FitReport rep = dkl.fit(toy.x_train, toy.y_train);
  EXPECT_EQ(rep.steps_run, 600);
  EXPECT_LT(rep.final_loss, rep.initial_loss);
  const gp::Prediction p = dkl.predict(toy.x_test);
  const double r2 = r_squared(toy.y_test.col(0), p.mean.col(0));
  EXPECT_GE(r2, 0.95) << "R^2 = " << r2;
  EXPECT_GE(p.variance.minCoeff(), 0.0);
  ASSERT_EQ(p.noise_variance.size(), 1);
  EXPECT_GT(p.noise_variance(0), 0.0);
  EXPECT_TRUE(rep.hyperparameters.contains("heads"));
  EXPECT_EQ(rep.hyperparameters["heads"].size(), 1u);
  // The learned observation noise is of the order of the true 0.05^2 = 2.5e-3 (a loose,
  // order-of-magnitude check: the extractor can also absorb structure).
  EXPECT_LT(p.noise_variance(0), 2.5e-2);
}

TEST(Dkl, PatchInputsWithMlpAndCnnExtractors) {
  const int side = 8;
  gp::RowMatrixF x_train, x_test;
  Eigen::MatrixXd y_train, y_test;
  make_patches(150, side, 3, x_train, y_train);
  make_patches(200, side, 4, x_test, y_test);
  for (const char* extractor : {"mlp", "cnn"}) {
    gp::DklConfig c = refit_config(400);
    c.feature_extractor = extractor;
    gp::Dkl dkl(c, side * side, 1, 7, side);
    const gp::FitReport rep = dkl.fit(x_train, y_train);
    EXPECT_LT(rep.final_loss, rep.initial_loss) << extractor;
    const double r2 = r_squared(y_test.col(0), dkl.predict(x_test).mean.col(0));
    EXPECT_GE(r2, 0.9) << extractor << ": R^2 = " << r2;
    EXPECT_EQ(dkl.embed(x_test).cols(), 2);
  }
}

TEST(Dkl, MultiTargetHeadsShareTheExtractor) {
  Toy toy = make_toy(120, 2);
  Eigen::MatrixXd y_train(toy.y_train.rows(), 2), y_test(toy.y_test.rows(), 2);
  for (int i = 0; i < y_train.rows(); ++i) {
    const double x = toy.x_train(i, 0);
    y_train(i, 0) = toy.y_train(i, 0);
    y_train(i, 1) = 1e3 * (0.5 * x * x - 1.0);  // different units and scale
  }
  for (int i = 0; i < y_test.rows(); ++i) {
    const double x = toy.x_test(i, 0);
    y_test(i, 0) = toy.y_test(i, 0);
    y_test(i, 1) = 1e3 * (0.5 * x * x - 1.0);
  }
  gp::Dkl dkl(refit_config(600), 1, 2, 5);
  const gp::FitReport rep = dkl.fit(toy.x_train, y_train);
  const gp::Prediction p = dkl.predict(toy.x_test);
  ASSERT_EQ(p.mean.cols(), 2);
  ASSERT_EQ(p.noise_variance.size(), 2);
  EXPECT_GE(r_squared(y_test.col(0), p.mean.col(0)), 0.95);
  EXPECT_GE(r_squared(y_test.col(1), p.mean.col(1)), 0.95);
  EXPECT_EQ(rep.hyperparameters["heads"].size(), 2u);
  // Target units: the second head's output scale reflects its ~1e3 scale.
  EXPECT_GT(rep.hyperparameters["heads"][1]["output_scale"].get<double>(), 1e4);
}

TEST(Dkl, SameSeedIsBitIdenticalAndDifferentSeedDiffers) {
  const Toy toy = make_toy(60, 3);
  gp::DklConfig c;
  c.steps = 50;
  auto run = [&](std::uint64_t seed) {
    gp::Dkl dkl(c, 1, 1, seed);
    dkl.fit(toy.x_train, toy.y_train);
    return dkl.predict(toy.x_test);
  };
  const gp::Prediction a = run(1), b = run(1), d = run(2);
  EXPECT_TRUE(a.mean == b.mean);
  EXPECT_TRUE(a.variance == b.variance);
  EXPECT_FALSE(a.mean == d.mean);
}

TEST(Dkl, RefitDependsOnlyOnCurrentDataWhileWarmStartContinues) {
  const Toy first = make_toy(40, 4), second = make_toy(60, 5);
  {
    gp::DklConfig c = refit_config(80);
    gp::Dkl a(c, 1, 1, 9), b(c, 1, 1, 9);
    a.fit(first.x_train, first.y_train);
    a.fit(second.x_train, second.y_train);
    b.fit(second.x_train, second.y_train);
    EXPECT_TRUE(a.predict(second.x_test).mean == b.predict(second.x_test).mean);
  }
  {
    gp::DklConfig c;  // warm start, early stopping
    c.steps = 300;
    gp::Dkl a(c, 1, 1, 9);
    const gp::FitReport r1 = a.fit(first.x_train, first.y_train);
    const gp::FitReport r2 = a.fit(first.x_train, first.y_train);
    // The second fit starts where the first ended: same loss, and it plateaus quickly.
    EXPECT_NEAR(r2.initial_loss, r1.final_loss, 1e-9 * std::max(1.0, std::abs(r1.final_loss)));
    EXPECT_TRUE(r2.stopped_early);
    EXPECT_LT(r2.steps_run, c.steps);
    EXPECT_EQ(a.fits(), 2);
  }
}

// A growing campaign with warm starts: every fit keeps its best state, so no fit ends with
// a higher full-batch loss than it started with (Adam alone does not guarantee this).
TEST(Dkl, WarmStartedFitsNeverEndWorseThanTheyStart) {
  gp::RowMatrixF x_all;
  Eigen::MatrixXd y_all;
  make_patches(80, 8, 13, x_all, y_all);
  gp::DklConfig c;  // defaults: warm start, 100 steps, early stopping
  gp::Dkl dkl(c, 64, 1, 21);
  for (int n = 10; n <= 80; n += 5) {
    const gp::FitReport rep = dkl.fit(x_all.topRows(n), y_all.topRows(n));
    EXPECT_LE(rep.final_loss, rep.initial_loss + 1e-9) << "n = " << n;
    EXPECT_LE(rep.best_step, rep.steps_run);
  }
}

TEST(Dkl, SaveLoadGivesIdenticalPredictionsAndResumesBitIdentically) {
  sdm::test::TempDir dir;
  const Toy first = make_toy(50, 6), second = make_toy(70, 7);
  gp::DklConfig c;
  c.steps = 60;
  gp::Dkl a(c, 1, 1, 11);
  a.fit(first.x_train, first.y_train);
  const auto file = dir / "dkl.pt";
  a.save(file);

  gp::Dkl b(c, 1, 1, 999);  // the seed comes from the file
  b.load(file);
  EXPECT_TRUE(b.trained());
  EXPECT_EQ(b.fits(), 1);
  const gp::Prediction pa = a.predict(first.x_test), pb = b.predict(first.x_test);
  EXPECT_TRUE(pa.mean == pb.mean);
  EXPECT_TRUE(pa.variance == pb.variance);
  EXPECT_TRUE(pa.noise_variance == pb.noise_variance);
  EXPECT_EQ(a.hyperparameters().dump(), b.hyperparameters().dump());

  // Continuing the campaign from the file equals never having stopped.
  const gp::FitReport ra = a.fit(second.x_train, second.y_train);
  const gp::FitReport rb = b.fit(second.x_train, second.y_train);
  EXPECT_EQ(ra.steps_run, rb.steps_run);
  EXPECT_EQ(ra.final_loss, rb.final_loss);
  EXPECT_TRUE(a.predict(second.x_test).mean == b.predict(second.x_test).mean);

  // An untrained model round-trips too, and architecture mismatches are refused by name.
  gp::Dkl fresh(c, 1, 1, 3);
  fresh.save(dir / "fresh.pt");
  gp::Dkl fresh2(c, 1, 1, 4);
  fresh2.load(dir / "fresh.pt");
  EXPECT_FALSE(fresh2.trained());
  gp::DklConfig other = c;
  other.hidden = {32};
  gp::Dkl mismatch(other, 1, 1, 11);
  try {
    mismatch.load(file);
    ADD_FAILURE() << "expected sdm::Error";
  } catch (const sdm::Error& e) {
    EXPECT_NE(std::string(e.what()).find("hidden"), std::string::npos) << e.what();
  }
  EXPECT_THROW(mismatch.load(dir / "missing.pt"), sdm::Error);
}

// Stochastic subsets per step (for large n): still fits, still deterministic, and the
// final posterior conditions on every point.
TEST(Dkl, TrainSubsetFitsAndIsDeterministic) {
  const Toy toy = make_toy(200, 12);
  gp::DklConfig c = refit_config(600);
  c.train_subset = 64;
  gp::Dkl a(c, 1, 1, 3), b(c, 1, 1, 3);
  const gp::FitReport ra = a.fit(toy.x_train, toy.y_train);
  b.fit(toy.x_train, toy.y_train);
  EXPECT_EQ(ra.batch_size, 64);
  EXPECT_EQ(ra.n_points, 200);
  const gp::Prediction pa = a.predict(toy.x_test);
  EXPECT_TRUE(pa.mean == b.predict(toy.x_test).mean);
  EXPECT_GE(r_squared(toy.y_test.col(0), pa.mean.col(0)), 0.95);
  gp::DklConfig full = refit_config(1);
  gp::Dkl f(full, 1, 1, 3);
  EXPECT_EQ(f.fit(toy.x_train, toy.y_train).batch_size, 200);
  c.train_subset = 1;
  EXPECT_THROW(gp::Dkl(c, 1, 1, 3), sdm::Error);
}

TEST(Dkl, ChunkedPredictionMatchesOneChunk) {
  const Toy toy = make_toy(60, 8);
  gp::DklConfig c;
  c.steps = 40;
  c.predict_chunk = 7;
  gp::Dkl a(c, 1, 1, 1);
  a.fit(toy.x_train, toy.y_train);
  c.predict_chunk = 4096;
  gp::Dkl b(c, 1, 1, 1);
  b.fit(toy.x_train, toy.y_train);
  const gp::Prediction pa = a.predict(toy.x_test), pb = b.predict(toy.x_test);
  // The extractor's float32 matrix products may round differently for different batch
  // sizes; the GP algebra itself is the same per candidate.
  EXPECT_LT((pa.mean - pb.mean).cwiseAbs().maxCoeff(), 1e-4);
  EXPECT_LT((pa.variance - pb.variance).cwiseAbs().maxCoeff(), 1e-4);
}

TEST(Dkl, DuplicateAndDegenerateInputsDoNotCrash) {
  gp::RowMatrixF x(30, 4);
  Eigen::MatrixXd y(30, 1);
  std::mt19937_64 rng(1);
  std::normal_distribution<float> g(0, 1);
  for (int i = 0; i < 10; ++i)
    for (int k = 0; k < 4; ++k) x(i, k) = g(rng);
  x.middleRows(10, 10) = x.topRows(10);  // duplicates
  x.bottomRows(10) = x.topRows(10);
  for (int i = 0; i < 30; ++i) y(i, 0) = x(i % 10, 0);
  gp::DklConfig c;
  c.steps = 100;
  gp::Dkl dkl(c, 4, 1, 2);
  gp::FitReport rep;
  ASSERT_NO_THROW(rep = dkl.fit(x, y));
  EXPECT_GE(rep.jitter, 0.0);
  EXPECT_TRUE(std::isfinite(rep.final_loss));
  const gp::Prediction p = dkl.predict(x);
  EXPECT_TRUE(p.mean.allFinite());
  EXPECT_TRUE(p.variance.allFinite());

  // Every input identical and constant targets: a rank-one kernel matrix.
  gp::RowMatrixF same = gp::RowMatrixF::Constant(12, 4, 0.5f);
  Eigen::MatrixXd flat = Eigen::MatrixXd::Constant(12, 1, 3.0);
  gp::Dkl d2(c, 4, 1, 3);
  ASSERT_NO_THROW(d2.fit(same, flat));
  const gp::Prediction p2 = d2.predict(same);
  EXPECT_TRUE(p2.mean.allFinite());
  EXPECT_NEAR(p2.mean(0, 0), 3.0, 1e-6);

  // A single point.
  gp::Dkl d3(c, 4, 1, 4);
  ASSERT_NO_THROW(d3.fit(x.topRows(1), y.topRows(1)));
  EXPECT_TRUE(d3.predict(x).mean.allFinite());
}

TEST(Dkl, BadUseThrowsSdmError) {
  gp::DklConfig c;
  gp::Dkl dkl(c, 3, 1, 1);
  EXPECT_THROW(dkl.predict(gp::RowMatrixF::Zero(2, 3)), sdm::Error);
  EXPECT_THROW(dkl.fit(gp::RowMatrixF::Zero(2, 4), Eigen::MatrixXd::Zero(2, 1)), sdm::Error);
  EXPECT_THROW(dkl.fit(gp::RowMatrixF::Zero(2, 3), Eigen::MatrixXd::Zero(3, 1)), sdm::Error);
  gp::RowMatrixF nan = gp::RowMatrixF::Zero(2, 3);
  nan(0, 0) = std::nanf("");
  EXPECT_THROW(dkl.fit(nan, Eigen::MatrixXd::Zero(2, 1)), sdm::Error);
  gp::DklConfig cnn = c;
  cnn.feature_extractor = "cnn";
  EXPECT_THROW(gp::Dkl(cnn, 256, 1, 1), sdm::Error);        // no image_side
  EXPECT_THROW(gp::Dkl(cnn, 256, 1, 1, 15), sdm::Error);    // 15^2 != 256
  cnn.cnn_channels = {4, 4, 4, 4, 4};
  EXPECT_THROW(gp::Dkl(cnn, 256, 1, 1, 16), sdm::Error);    // 16 / 2^5 < 1
  gp::DklConfig bad = c;
  bad.kernel = "laplace";
  EXPECT_THROW(gp::Dkl(bad, 3, 1, 1), sdm::Error);
}
