// Isolation Forest against closed forms (c(n), path lengths on tiny sets worked out by hand)
// and against the qualitative guarantees the paper relies on; spectral novelty on I–V curves.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>

#include "core/error.hpp"
#include "engine/novelty/isolation_forest.hpp"
#include "engine/novelty/spectral_novelty.hpp"

using namespace sdm::engine::novelty;

namespace {
constexpr double kGamma = 0.57721566490153286;

Eigen::MatrixXd column(std::initializer_list<double> v) {
  Eigen::MatrixXd m(static_cast<Eigen::Index>(v.size()), 1);
  Eigen::Index i = 0;
  for (double x : v) m(i++, 0) = x;
  return m;
}

sdm::core::IvCurve curve_of(const std::vector<double>& current) {
  sdm::core::IvCurve c;
  for (size_t k = 0; k < current.size(); ++k) {
    c.time_s.push_back(static_cast<double>(k));
    c.bias_v.push_back(0.01 * static_cast<double>(k));
    c.current_a.push_back(current[k]);
  }
  return c;
}
}  // namespace

TEST(AveragePathLength, ClosedForms) {
  EXPECT_EQ(average_path_length(0), 0.0);
  EXPECT_EQ(average_path_length(1), 0.0);
  EXPECT_EQ(average_path_length(2), 1.0);
  EXPECT_NEAR(average_path_length(3), 2 * (std::log(2.0) + kGamma) - 4.0 / 3.0, 1e-15);
  EXPECT_NEAR(average_path_length(256), 2 * (std::log(255.0) + kGamma) - 2.0 * 255.0 / 256.0, 1e-13);
  EXPECT_NEAR(average_path_length(256), 10.244770920, 1e-8);  // 2(ln 255 + γ) − 255/128, evaluated by hand
  // Exact harmonic numbers: H(1) = 1, H(2) = 3/2, H(9) = 7129/2520.
  EXPECT_NEAR(average_path_length_exact(2), 2 * 1.0 - 1.0, 1e-15);
  EXPECT_NEAR(average_path_length_exact(3), 2 * 1.5 - 4.0 / 3.0, 1e-15);
  EXPECT_NEAR(average_path_length_exact(10), 2 * 7129.0 / 2520.0 - 1.8, 1e-14);
  // H(n−1) − ln(n−1) − γ ≈ 1/(2(n−1)): the two agree to ~1/(n−1) for large n.
  const int n = 100001;
  EXPECT_NEAR(average_path_length_exact(n) - average_path_length(n), 1.0 / (n - 1), 1e-9);
}

TEST(IsolationForest, PathLengthsOnThreePointsMatchHandCalculation) {
  // Samples 0, 1, 10; ψ = 3, depth limit ⌈log2 3⌉ = 2. The root threshold t ~ U[0, 10):
  // t < 1 (p = 0.1) isolates 0 at depth 1, else 10 at depth 1; the remaining pair always
  // splits at depth 2. So E[h(0)] = 0.1·1 + 0.9·2 = 1.9, E[h(1)] = 2, E[h(10)] = 0.1·2 + 0.9·1 = 1.1.
  IsolationForestConfig cfg;
  cfg.trees = 40000;
  cfg.subsample = 256;
  IsolationForest f(cfg);
  std::mt19937_64 rng(1);
  const auto X = column({0.0, 1.0, 10.0});
  f.fit(X, rng);
  EXPECT_EQ(f.subsample_size(), 3);
  EXPECT_EQ(f.max_depth(), 2);
  const Eigen::VectorXd h = f.mean_path_length(X);
  EXPECT_NEAR(h[0], 1.9, 0.01);  // Monte Carlo sd ≈ √(0.09/40000) = 0.0015
  EXPECT_EQ(h[1], 2.0);
  EXPECT_NEAR(h[2], 1.1, 0.01);
  const Eigen::VectorXd s = f.anomaly_score(X);
  const double c3 = 2 * (std::log(2.0) + kGamma) - 4.0 / 3.0;
  for (int i = 0; i < 3; ++i) EXPECT_NEAR(s[i], std::exp2(-h[i] / c3), 1e-15);
  EXPECT_GT(s[2], s[0]);
  EXPECT_GT(s[0], s[1]);

  // A constant second feature is never split on: the same trees, hence the same numbers.
  Eigen::MatrixXd X2(3, 2);
  X2 << 0.0, 5.0, 1.0, 5.0, 10.0, 5.0;
  IsolationForest f2(cfg);
  std::mt19937_64 rng2(2);
  f2.fit(X2, rng2);
  const Eigen::VectorXd h2 = f2.mean_path_length(X2);
  EXPECT_NEAR(h2[0], 1.9, 0.01);
  EXPECT_EQ(h2[1], 2.0);
  EXPECT_NEAR(h2[2], 1.1, 0.01);
}

TEST(IsolationForest, TwoPointsAndDuplicatesAreExact) {
  IsolationForest f;
  std::mt19937_64 rng(3);
  // Two distinct points: always split at the root, both leaves at depth 1 ⇒ s = 2^(−1/c(2)) = ½.
  f.fit(column({0.0, 1.0}), rng);
  EXPECT_EQ(f.max_depth(), 1);
  const auto s = f.anomaly_score(column({0.0, 1.0, 7.0}));
  EXPECT_EQ(s[0], 0.5);
  EXPECT_EQ(s[1], 0.5);
  EXPECT_EQ(s[2], 0.5);  // beyond the data: still one split away
  // Identical samples: the root is a leaf of size ψ, h = c(ψ), s = ½.
  f.fit(Eigen::MatrixXd::Constant(40, 3, 2.5), rng);
  EXPECT_EQ(f.subsample_size(), 40);
  const auto sd = f.anomaly_score(Eigen::MatrixXd::Constant(1, 3, 2.5));
  EXPECT_NEAR(sd[0], 0.5, 1e-14);  // mean of 100 equal path lengths: exact up to rounding
}

TEST(IsolationForest, ObviousOutlierScoresHighestAndDenseClusterLow) {
  std::mt19937_64 gen(4);
  std::normal_distribution<double> dense(0.0, 0.1), sparse(0.0, 1.0);
  const int d = 6;
  Eigen::MatrixXd X(201, d);
  for (int i = 0; i < 150; ++i)
    for (int k = 0; k < d; ++k) X(i, k) = dense(gen);  // dense cluster at 0
  for (int i = 150; i < 200; ++i)
    for (int k = 0; k < d; ++k) X(i, k) = 4.0 + sparse(gen);  // sparse cluster at 4
  for (int k = 0; k < d; ++k) X(200, k) = -6.0;           // the outlier
  IsolationForest f;
  std::mt19937_64 rng(5);
  f.fit(X, rng);
  EXPECT_EQ(f.subsample_size(), 201);
  EXPECT_EQ(f.max_depth(), 8);
  const Eigen::VectorXd s = f.anomaly_score(X);
  Eigen::Index top;
  s.maxCoeff(&top);
  EXPECT_EQ(top, 200);
  EXPECT_GT(s[200], 0.6);  // Liu et al.: s close to 1 for anomalies
  const double dense_mean = s.head(150).mean(), sparse_mean = s.segment(150, 50).mean();
  EXPECT_LT(dense_mean, 0.5);
  EXPECT_LT(dense_mean, sparse_mean);
  // Contamination 0.1: the outlier is above the threshold, most of the dense cluster below.
  EXPECT_GT(s[200], f.threshold());
  int dense_flagged = 0;
  for (int i = 0; i < 150; ++i) dense_flagged += s[i] > f.threshold();
  EXPECT_LT(dense_flagged, 8);
  int flagged = 0;
  for (int i = 0; i < 201; ++i) flagged += s[i] > f.threshold();
  EXPECT_NEAR(flagged, 20, 1);  // ⌊0.1·201⌋ above the 90th percentile
}

TEST(IsolationForest, DeterministicPerSeed) {
  std::mt19937_64 gen(6);
  std::uniform_real_distribution<double> u(0, 1);
  Eigen::MatrixXd X(300, 4);
  for (Eigen::Index i = 0; i < X.size(); ++i) X.data()[i] = u(gen);
  IsolationForest a, b, c;
  std::mt19937_64 r1(42), r2(42), r3(43);
  a.fit(X, r1);
  b.fit(X, r2);
  c.fit(X, r3);
  EXPECT_EQ(a.subsample_size(), 256);
  const auto sa = a.anomaly_score(X), sb = b.anomaly_score(X), sc = c.anomaly_score(X);
  EXPECT_TRUE((sa.array() == sb.array()).all());
  EXPECT_FALSE((sa.array() == sc.array()).all());
  EXPECT_EQ(a.threshold(), b.threshold());
}

TEST(IsolationForest, Errors) {
  IsolationForestConfig bad;
  bad.contamination = 0.6;
  EXPECT_THROW(IsolationForest{bad}, sdm::Error);
  bad = {};
  bad.trees = 0;
  EXPECT_THROW(IsolationForest{bad}, sdm::Error);
  IsolationForest f;
  std::mt19937_64 rng(7);
  EXPECT_THROW(f.fit(column({1.0}), rng), sdm::Error);
  EXPECT_THROW(f.anomaly_score(column({1.0})), sdm::Error);  // before fit
  EXPECT_THROW(f.fit(column({1.0, NAN}), rng), sdm::Error);
  f.fit(column({1.0, 2.0}), rng);
  EXPECT_THROW(f.anomaly_score(Eigen::MatrixXd::Zero(1, 2)), sdm::Error);
}

TEST(SpectralNovelty, FeaturesNormalisedAsDocumented) {
  const std::vector<sdm::core::IvCurve> curves = {curve_of({0.0, 1e-9, 2e-9}), curve_of({-1e-9, 0.0, 3e-9})};
  // Set: one min (−1 nA) and max (3 nA) over everything.
  const Eigen::MatrixXd S = curve_features(curves, CurveNormalisation::set);
  EXPECT_NEAR(S(0, 0), 0.25, 1e-15);
  EXPECT_NEAR(S(0, 2), 0.75, 1e-15);
  EXPECT_NEAR(S(1, 0), 0.0, 1e-15);
  EXPECT_NEAR(S(1, 2), 1.0, 1e-15);
  // Curve: each to its own [0, 1].
  const Eigen::MatrixXd C = curve_features(curves, CurveNormalisation::curve);
  EXPECT_NEAR(C(0, 1), 0.5, 1e-15);
  EXPECT_NEAR(C(1, 1), 0.25, 1e-15);
  EXPECT_EQ(curve_features({curve_of({5, 5, 5})}, CurveNormalisation::curve).cwiseAbs().maxCoeff(), 0.0);
  // Mismatched lengths and non-finite currents are named.
  try {
    curve_features({curve_of({1, 2, 3}), curve_of({1, 2})}, CurveNormalisation::set);
    FAIL();
  } catch (const sdm::Error& e) {
    EXPECT_NE(std::string(e.what()).find("curve 1 has 2 samples"), std::string::npos);
  }
  EXPECT_THROW(curve_features({curve_of({1, NAN, 3})}, CurveNormalisation::set), sdm::Error);
}

TEST(SpectralNovelty, OutlierCurveIsMostNovelAndScoresSpanUnitInterval) {
  // 60 ohmic curves with slightly varying conductance and one with a sharp onset.
  std::mt19937_64 gen(8);
  std::normal_distribution<double> g(1e-10, 5e-12);
  std::vector<sdm::core::IvCurve> curves;
  for (int i = 0; i < 60; ++i) {
    const double gi = g(gen);
    std::vector<double> c(251);
    for (int k = 0; k < 251; ++k) c[k] = gi * (k <= 125 ? k : 250 - k) * 0.012;
    curves.push_back(curve_of(c));
  }
  std::vector<double> odd(251);
  for (int k = 0; k < 251; ++k) {
    const double v = (k <= 125 ? k : 250 - k) * 0.012;
    odd[k] = v > 1.0 ? 5e-10 * (v - 1.0) / 0.5 : 0.0;
  }
  curves.insert(curves.begin() + 17, curve_of(odd));
  SpectralNoveltyConfig cfg;
  const auto s = spectral_novelty(curves, cfg, 123);
  ASSERT_EQ(s.size(), 61u);
  EXPECT_EQ(std::max_element(s.begin(), s.end()) - s.begin(), 17);
  EXPECT_EQ(*std::max_element(s.begin(), s.end()), 1.0);
  EXPECT_EQ(*std::min_element(s.begin(), s.end()), 0.0);
  // Determinism: same seed, same scores; the contamination does not change them (it only
  // sets the outlier threshold).
  EXPECT_EQ(spectral_novelty(curves, cfg, 123), s);
  SpectralNoveltyConfig other = cfg;
  other.forest.contamination = 0.3;
  EXPECT_EQ(spectral_novelty(curves, other, 123), s);
  // Per-curve normalisation also singles out the shape outlier.
  other = cfg;
  other.normalisation = CurveNormalisation::curve;
  const auto sc = spectral_novelty(curves, other, 123);
  EXPECT_EQ(std::max_element(sc.begin(), sc.end()) - sc.begin(), 17);
  // Too few curves: nothing to compare with.
  EXPECT_EQ(spectral_novelty({curves[0]}, cfg, 1), std::vector<double>{0.0});
  EXPECT_TRUE(spectral_novelty({}, cfg, 1).empty());
}
