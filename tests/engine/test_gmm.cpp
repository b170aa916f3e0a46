// Gaussian mixtures (EM + BIC), kNN accuracy and the im2spec error metrics against closed
// forms, hand-worked examples and data drawn from known distributions.
#include <gtest/gtest.h>

#include <Eigen/Cholesky>
#include <algorithm>
#include <cmath>
#include <map>
#include <random>
#include <set>

#include "core/error.hpp"
#include "engine/analysis/gmm.hpp"
#include "engine/analysis/metrics.hpp"

using namespace sdm::engine::analysis;

namespace {

struct Blob {
  Eigen::Vector2d mean;
  Eigen::Matrix2d cov;
  int count;
};

Eigen::MatrixXd draw(const std::vector<Blob>& blobs, std::uint64_t seed, std::vector<int>* labels = nullptr) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> g(0.0, 1.0);
  int n = 0;
  for (const auto& b : blobs) n += b.count;
  Eigen::MatrixXd x(n, 2);
  int row = 0;
  for (std::size_t k = 0; k < blobs.size(); ++k) {
    const Eigen::Matrix2d L = blobs[k].cov.llt().matrixL();
    for (int i = 0; i < blobs[k].count; ++i, ++row) {
      x.row(row) = (blobs[k].mean + L * Eigen::Vector2d(g(rng), g(rng))).transpose();
      if (labels) labels->push_back(static_cast<int>(k));
    }
  }
  return x;
}

Eigen::Matrix2d cov(double sx, double sy, double rho) {
  Eigen::Matrix2d c;
  c << sx * sx, rho * sx * sy, rho * sx * sy, sy * sy;
  return c;
}

}  // namespace

TEST(Gmm, OneComponentIsTheMaximumLikelihoodGaussian) {
  const Eigen::MatrixXd x = draw({{{1.0, -2.0}, cov(1.5, 0.5, 0.6), 400}}, 1);
  const auto g = fit_gmm(x, 1, {}, 3);
  // MLE: the sample mean and the biased sample covariance (2×2 closed forms written out).
  const double n = static_cast<double>(x.rows());
  const double mx = x.col(0).sum() / n, my = x.col(1).sum() / n;
  double sxx = 0, syy = 0, sxy = 0;
  for (int i = 0; i < x.rows(); ++i) {
    sxx += (x(i, 0) - mx) * (x(i, 0) - mx) / n;
    syy += (x(i, 1) - my) * (x(i, 1) - my) / n;
    sxy += (x(i, 0) - mx) * (x(i, 1) - my) / n;
  }
  EXPECT_NEAR(g.means(0, 0), mx, 1e-9);
  EXPECT_NEAR(g.means(0, 1), my, 1e-9);
  EXPECT_NEAR(g.covariances[0](0, 0), sxx, 1e-5 * sxx);
  EXPECT_NEAR(g.covariances[0](1, 1), syy, 1e-5 * syy);
  EXPECT_NEAR(g.covariances[0](0, 1), sxy, 1e-5 * std::abs(sxy));
  // log L by the bivariate normal density with det and inverse of the 2×2 matrix by hand.
  const double det = sxx * syy - sxy * sxy;
  double ll = 0;
  for (int i = 0; i < x.rows(); ++i) {
    const double dx = x(i, 0) - mx, dy = x(i, 1) - my;
    const double q = (syy * dx * dx - 2 * sxy * dx * dy + sxx * dy * dy) / det;
    ll += -std::log(2 * M_PI) - 0.5 * std::log(det) - 0.5 * q;
  }
  EXPECT_NEAR(g.log_likelihood, ll, 1e-4 * std::abs(ll));
  EXPECT_EQ(g.free_parameters(), 5);
  EXPECT_NEAR(g.bic(400), -2 * g.log_likelihood + 5 * std::log(400.0), 1e-9);
}

TEST(Gmm, EmRecoversWellSeparatedComponents) {
  std::vector<int> truth;
  const Eigen::MatrixXd x = draw({{{0, 0}, cov(1.0, 0.5, 0.3), 200},
                                  {{10, 0}, cov(0.6, 1.2, -0.5), 300},
                                  {{4, 9}, cov(0.8, 0.8, 0.0), 500}},
                                 2, &truth);
  const auto g = fit_gmm(x, 3, {}, 4);
  ASSERT_EQ(g.components(), 3);
  EXPECT_TRUE(g.converged);
  // Match fitted components to the true ones by nearest mean.
  const std::vector<Eigen::Vector2d> means = {{0, 0}, {10, 0}, {4, 9}};
  const std::vector<double> weights = {0.2, 0.3, 0.5};
  std::set<int> used;
  for (int t = 0; t < 3; ++t) {
    int best = 0;
    for (int k = 1; k < 3; ++k)
      if ((g.means.row(k).transpose() - means[t]).norm() < (g.means.row(best).transpose() - means[t]).norm()) best = k;
    used.insert(best);
    EXPECT_LT((g.means.row(best).transpose() - means[t]).norm(), 0.2) << "component " << t;
    EXPECT_NEAR(g.weights(best), weights[t], 0.01);
  }
  EXPECT_EQ(used.size(), 3u);
  // Hard assignments reproduce the generating labels up to a permutation.
  const auto labels = g.predict(x);
  std::map<std::pair<int, int>, int> pairs;
  for (std::size_t i = 0; i < labels.size(); ++i) ++pairs[{truth[i], labels[i]}];
  int agree = 0;
  for (int t = 0; t < 3; ++t) {
    int best = 0;
    for (int k = 0; k < 3; ++k) best = std::max(best, pairs[{t, k}]);
    agree += best;
  }
  EXPECT_GE(agree, 995);
  const auto r = g.responsibilities(x);
  for (int i = 0; i < r.rows(); ++i) ASSERT_NEAR(r.row(i).sum(), 1.0, 1e-12);
}

TEST(Gmm, BicChoosesTheNumberOfBlobs) {
  for (int blobs = 1; blobs <= 4; ++blobs) {
    std::vector<Blob> spec;
    const std::vector<Eigen::Vector2d> centres = {{0, 0}, {12, 1}, {5, 11}, {-8, 9}};
    for (int b = 0; b < blobs; ++b) spec.push_back({centres[b], cov(1.0 + 0.2 * b, 0.8, 0.2 * b - 0.3), 120});
    const Eigen::MatrixXd x = draw(spec, 10 + blobs);
    const auto s = select_gmm_bic(x, 8, {}, 5);
    EXPECT_EQ(s.best_k, blobs);
    ASSERT_EQ(s.ks.size(), 8u);
    EXPECT_EQ(*std::min_element(s.bic.begin(), s.bic.end()), s.bic[blobs - 1]);
  }
}

TEST(Gmm, SelectionCapsComponentsBySampleSizeAndIsDeterministic) {
  const Eigen::MatrixXd x = draw({{{0, 0}, cov(1, 1, 0), 7}}, 3);
  const auto s = select_gmm_bic(x, 8, {}, 1);
  EXPECT_EQ(s.ks.size(), 2u);  // ⌊7 / (2 + 1)⌋ = 2
  const auto a = fit_gmm(x, 2, {}, 9), b = fit_gmm(x, 2, {}, 9);
  EXPECT_EQ(a.means, b.means);
  EXPECT_EQ(a.log_likelihood, b.log_likelihood);
  EXPECT_THROW(fit_gmm(x, 8, {}, 1), sdm::Error);
  EXPECT_THROW(fit_gmm(x, 0, {}, 1), sdm::Error);
  Eigen::MatrixXd bad = x;
  bad(0, 0) = NAN;
  EXPECT_THROW(select_gmm_bic(bad, 3, {}, 1), sdm::Error);
}

TEST(Gmm, NearestRowsOrdersByDistance) {
  Eigen::MatrixXd x(4, 2);
  x << 0, 0, 3, 0, 1, 1, 10, 10;
  EXPECT_EQ(nearest_rows(x, Eigen::Vector2d(2.6, 0), {0, 1, 2, 3}, 2), (std::vector<int>{1, 2}));
  EXPECT_EQ(nearest_rows(x, Eigen::Vector2d(0, 0), {1, 3}, 5), (std::vector<int>{1, 3}));
}

TEST(Knn, LeaveOneOutAccuracyOnAHandWorkedExample) {
  // On a line: 0, 1, 2 (label 0), 10, 11, 12 (label 1) and 6.2 (label 0).
  Eigen::MatrixXd x(7, 1);
  x << 0, 1, 2, 10, 11, 12, 6.2;
  const std::vector<int> y = {0, 0, 0, 1, 1, 1, 0};
  // k = 1: 6.2's nearest other point is 10 (3.8 < 4.2): wrong; the rest are right.
  EXPECT_NEAR(knn_accuracy(x, y, 1), 6.0 / 7.0, 1e-12);
  // k = 2: 6.2 sees 10 and 2, one vote each; the tie goes to the nearer (10, label 1): wrong.
  EXPECT_NEAR(knn_accuracy(x, y, 2), 6.0 / 7.0, 1e-12);
  // k = 3: 6.2 sees 10, 2, 11 → label 1: wrong; 10 sees 11, 12, 6.2 → 1: right.
  EXPECT_NEAR(knn_accuracy(x, y, 3), 6.0 / 7.0, 1e-12);
  // k = 7 is capped at n − 1 = 6: everyone sees all the others; label counts decide.
  // Label-0 points see 3 zeros and 3 ones → tie → nearest neighbour's label (0): right, except
  // 6.2 (its nearest is 10). Label-1 points see 4 zeros and 2 ones → wrong.
  EXPECT_NEAR(knn_accuracy(x, y, 7), 3.0 / 7.0, 1e-12);
  EXPECT_NEAR(majority_fraction(y), 4.0 / 7.0, 1e-12);
  // Balanced: k = 1 gets 3 of the 4 label-0 points and all 3 label-1 points: (3/4 + 1) / 2.
  const auto pred = knn_predict_loo(x, y, 1);
  EXPECT_EQ(pred, (std::vector<int>{0, 0, 0, 1, 1, 1, 1}));
  EXPECT_NEAR(balanced_accuracy(y, pred), 0.875, 1e-12);
  EXPECT_THROW(balanced_accuracy(y, {0}), sdm::Error);
  EXPECT_THROW(knn_accuracy(x, {0, 1}, 1), sdm::Error);
  EXPECT_THROW(knn_accuracy(x, y, 0), sdm::Error);
}

TEST(Metrics, KnnPredictsQueriesFromAReferenceSet) {
  Eigen::MatrixXd ref(5, 1), q(4, 1);
  ref << 0, 1, 2, 10, 11;
  q << 0.4, 9, 6.2, 5.9;
  const std::vector<int> y = {0, 0, 0, 1, 1};
  // k = 1: 6.2 is 3.8 from 10 and 4.2 from 2; 5.9 is 3.9 from 2 and 4.1 from 10.
  EXPECT_EQ(knn_predict(ref, y, q, 1), (std::vector<int>{0, 1, 1, 0}));
  // k = 2: 6.2 and 5.9 each see one 0 and one 1; the tie goes to the nearer one.
  EXPECT_EQ(knn_predict(ref, y, q, 2), (std::vector<int>{0, 1, 1, 0}));
  // k = 3: 6.2 sees 10, 2, 11 → 1; 5.9 sees 2, 10 and then 1 (4.9 away, 11 is 5.1) → 0.
  EXPECT_EQ(knn_predict(ref, y, q, 3), (std::vector<int>{0, 1, 1, 0}));
  // k = 4: 5.9 sees 2, 10, 1, 11: two each, the tie goes to the nearest (2) → 0; 6.2 sees 10, 2,
  // 11, 1: two each, nearest 10 → 1.
  EXPECT_EQ(knn_predict(ref, y, q, 4), (std::vector<int>{0, 1, 1, 0}));
  // k = 9 is capped at the 5 reference points: three 0s outvote two 1s everywhere.
  EXPECT_EQ(knn_predict(ref, y, q, 9), (std::vector<int>{0, 0, 0, 0}));
  // No point is left out: a query equal to a reference point is classified by it at k = 1.
  EXPECT_EQ(knn_predict(ref, y, ref, 1), y);
  EXPECT_THROW(knn_predict(ref, {0, 1}, q, 1), sdm::Error);
  EXPECT_THROW(knn_predict(ref, y, q, 0), sdm::Error);
  EXPECT_THROW(knn_predict(ref, y, Eigen::MatrixXd::Zero(2, 2), 1), sdm::Error);
  EXPECT_THROW(knn_predict(Eigen::MatrixXd(0, 1), {}, q, 1), sdm::Error);
}

TEST(Metrics, RSquaredAndNormalisedRmse) {
  EXPECT_DOUBLE_EQ(r_squared({1, 2, 3}, {1, 2, 3}), 1.0);
  EXPECT_NEAR(r_squared({1, 2, 3}, {2, 2, 2}), 0.0, 1e-15);
  // SS_res = 0.25 + 0 + 1 = 1.25, SS_tot = 2 → R² = 0.375.
  EXPECT_NEAR(r_squared({1, 2, 3}, {1.5, 2, 2}), 0.375, 1e-15);
  EXPECT_TRUE(std::isnan(r_squared({2, 2}, {1, 3})));
  EXPECT_THROW(r_squared({1}, {1, 2}), sdm::Error);
  Eigen::MatrixXd t(2, 2), p(2, 2);
  t << 0, 2, 4, 1;
  p << 1, 2, 4, 0;
  // RMSE = sqrt((1 + 0 + 0 + 1) / 4) = 0.7071, span 4.
  EXPECT_NEAR(normalised_rmse(t, p), std::sqrt(0.5) / 4.0, 1e-15);
  EXPECT_THROW(normalised_rmse(t, p.leftCols(1)), sdm::Error);
}
