// The learnability table's maths against independent references: ridge against the normal
// equations with an unpenalised intercept and against brute-force leave-one-out refits; ridge
// (RidgeCV), kNN (KNeighborsRegressor) and R² against scikit-learn through /usr/bin/python3;
// the k choice against a brute-force leave-one-out written here; and the table on a small film.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <fstream>
#include <random>
#include <sstream>

#include "bench/learnability.hpp"
#include "core/error.hpp"
#include "sdm_test_support.hpp"

using namespace sdm::bench;

namespace {

LearnMatrix random_matrix(int n, int p, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> g(0.0, 1.0);
  LearnMatrix x(n, p);
  for (int i = 0; i < n; ++i)
    for (int j = 0; j < p; ++j) x(i, j) = g(rng);
  return x;
}

std::vector<double> linear_target(const LearnMatrix& x, std::uint64_t seed, double noise) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> g(0.0, 1.0);
  std::vector<double> y(std::size_t(x.rows()));
  for (Eigen::Index i = 0; i < x.rows(); ++i) {
    double s = 3.0;
    for (Eigen::Index j = 0; j < x.cols(); ++j) s += (0.5 + 0.3 * double(j % 4)) * x(i, j) * (j % 3 == 0 ? -1 : 1);
    y[std::size_t(i)] = s + std::sin(2 * x(i, 0)) + noise * g(rng);
  }
  return y;
}

/// Normal equations of min ‖y − b − Xw‖² + α‖w‖² on the design [1 X] (intercept unpenalised).
Eigen::VectorXd normal_equations(const LearnMatrix& x, const std::vector<double>& y, double alpha) {
  const Eigen::Index n = x.rows(), p = x.cols();
  Eigen::MatrixXd a(n, p + 1);
  a.col(0).setOnes();
  a.rightCols(p) = x;
  Eigen::MatrixXd m = a.transpose() * a;
  for (Eigen::Index j = 1; j <= p; ++j) m(j, j) += alpha;
  const Eigen::Map<const Eigen::VectorXd> ym(y.data(), n);
  return m.ldlt().solve(a.transpose() * ym);  // [b, w]
}

void write_csv(const std::filesystem::path& path, const LearnMatrix& x, const std::vector<double>* y) {
  std::ofstream f(path);
  f.precision(17);
  for (Eigen::Index i = 0; i < x.rows(); ++i) {
    for (Eigen::Index j = 0; j < x.cols(); ++j) f << (j ? "," : "") << x(i, j);
    if (y) f << "," << (*y)[std::size_t(i)];
    f << "\n";
  }
}

std::vector<double> read_numbers(const std::filesystem::path& path) {
  std::ifstream f(path);
  std::vector<double> v;
  double d;
  while (f >> d) v.push_back(d);
  return v;
}

bool have_sklearn() { return std::system("/usr/bin/python3 -c 'import sklearn, numpy' >/dev/null 2>&1") == 0; }

}  // namespace

TEST(Learnability, R2ScoreMatchesItsDefinition) {
  const std::vector<double> y = {1, 2, 3, 4};
  EXPECT_DOUBLE_EQ(r2_score(y, y), 1.0);
  EXPECT_DOUBLE_EQ(r2_score(y, {2.5, 2.5, 2.5, 2.5}), 0.0);
  // SSE = 1 + 1 + 0 + 0 = 2, SST = 5: 1 − 2/5.
  EXPECT_DOUBLE_EQ(r2_score(y, {2, 1, 3, 4}), 0.6);
  EXPECT_THROW(r2_score(y, {1, 2}), sdm::Error);
}

TEST(Learnability, RidgeMatchesTheNormalEquationsAndBruteForceLeaveOneOut) {
  const LearnMatrix x = random_matrix(40, 6, 1);
  const std::vector<double> y = linear_target(x, 2, 0.5);
  for (double alpha : {0.01, 1.0, 30.0}) {
    const RidgeFit f = ridge_fit(x, y, alpha);
    const Eigen::VectorXd ref = normal_equations(x, y, alpha);
    EXPECT_NEAR(f.intercept, ref[0], 1e-9) << alpha;
    for (int j = 0; j < 6; ++j) EXPECT_NEAR(f.weights[j], ref[j + 1], 1e-9) << alpha << " " << j;
    double sse = 0;
    for (int i = 0; i < 40; ++i) {  // refit without row i, predict it
      LearnMatrix xi(39, 6);
      std::vector<double> yi;
      for (int k = 0, r = 0; k < 40; ++k)
        if (k != i) xi.row(r++) = x.row(k), yi.push_back(y[std::size_t(k)]);
      const Eigen::VectorXd b = normal_equations(xi, yi, alpha);
      const double pred = b[0] + x.row(i).dot(b.tail(6));
      sse += (y[std::size_t(i)] - pred) * (y[std::size_t(i)] - pred);
    }
    EXPECT_NEAR(f.loo_mse, sse / 40, 1e-9 * sse) << alpha;
  }
}

TEST(Learnability, KnnChoosesTheKWithTheSmallestLeaveOneOutError) {
  const LearnMatrix x = random_matrix(60, 3, 3);
  const std::vector<double> y = linear_target(x, 4, 1.0);
  const std::vector<int> ks = {1, 3, 5, 9};
  double best = 1e300;
  int best_k = 0;
  for (int k : ks) {
    double e = 0;
    for (int i = 0; i < 60; ++i) {
      std::vector<std::pair<double, int>> d;
      for (int j = 0; j < 60; ++j)
        if (j != i) d.push_back({(x.row(i) - x.row(j)).squaredNorm(), j});
      std::sort(d.begin(), d.end());
      double m = 0;
      for (int t = 0; t < k; ++t) m += y[std::size_t(d[std::size_t(t)].second)];
      e += std::pow(y[std::size_t(i)] - m / k, 2);
    }
    if (e < best) best = e, best_k = k;
  }
  EXPECT_EQ(knn_select_k(x, y, ks, 1000), best_k);
  EXPECT_THROW(knn_predict(x, y, x, 61), sdm::Error);
}

TEST(Learnability, RidgeKnnAndR2AgreeWithScikitLearn) {
  if (!have_sklearn()) GTEST_SKIP() << "/usr/bin/python3 with scikit-learn not available";
  sdm::test::TempDir dir;
  const LearnMatrix x = random_matrix(150, 12, 5), xq = random_matrix(50, 12, 6);
  const std::vector<double> y = linear_target(x, 7, 1.5), yq = linear_target(xq, 8, 1.5);
  write_csv(dir / "train.csv", x, &y);
  write_csv(dir / "query.csv", xq, &yq);
  std::ostringstream alphas;
  alphas.precision(17);
  for (double a : ridge_alphas()) alphas << (alphas.tellp() ? "," : "") << a;
  const std::string script =
      "import numpy as np, sys\n"
      "from sklearn.linear_model import RidgeCV\n"
      "from sklearn.neighbors import KNeighborsRegressor\n"
      "from sklearn.metrics import r2_score\n"
      "t = np.loadtxt(sys.argv[1] + '/train.csv', delimiter=','); q = np.loadtxt(sys.argv[1] + '/query.csv', delimiter=',')\n"
      "X, y, Xq, yq = t[:, :-1], t[:, -1], q[:, :-1], q[:, -1]\n"
      "r = RidgeCV(alphas=[" + alphas.str() + "]).fit(X, y)\n"
      "k = KNeighborsRegressor(n_neighbors=5, algorithm='brute').fit(X, y)\n"
      "pr, pk = r.predict(Xq), k.predict(Xq)\n"
      "out = [r.alpha_, r2_score(yq, pr), r2_score(yq, pk)] + list(pr) + list(pk)\n"
      "open(sys.argv[1] + '/out.txt', 'w').write('\\n'.join(repr(float(v)) for v in out))\n";
  { std::ofstream(dir / "ref.py") << script; }
  ASSERT_EQ(std::system(("/usr/bin/python3 '" + (dir / "ref.py").string() + "' '" + dir.path().string() + "'").c_str()), 0);
  const std::vector<double> ref = read_numbers(dir / "out.txt");
  ASSERT_EQ(ref.size(), 3u + 100u);
  const RidgeFit f = ridge_fit_loo(x, y, ridge_alphas());
  EXPECT_DOUBLE_EQ(f.alpha, ref[0]);
  const std::vector<double> pr = ridge_predict(f, xq), pk = knn_predict(x, y, xq, 5);
  for (int i = 0; i < 50; ++i) {
    EXPECT_NEAR(pr[std::size_t(i)], ref[3 + std::size_t(i)], 1e-8) << i;
    EXPECT_NEAR(pk[std::size_t(i)], ref[53 + std::size_t(i)], 1e-12) << i;
  }
  EXPECT_NEAR(r2_score(yq, pr), ref[1], 1e-9);
  EXPECT_NEAR(r2_score(yq, pk), ref[2], 1e-12);
}

// On a small film the table has every scalarizer at each n, the oracle (true geometry) reads
// loop area better than chance, and the same film and seed give the same table.
TEST(Learnability, TableOnASmallFilm) {
  sdm::sim::FilmConfig c;
  c.size_px = 64;
  c.scan_size_m = 1.0e-6;
  const sdm::sim::Film film = sdm::sim::generate_film(c, 3);
  LearnabilityOptions o;
  o.patch_px = 8;
  o.stride_px = 2;
  o.train_sizes = {100};
  const LearnabilityTable t = compute_learnability(film, o);
  EXPECT_EQ(t.candidates, 29 * 29);
  EXPECT_EQ(t.test_count + t.pool_count, t.candidates);
  ASSERT_EQ(t.rows.size(), 5u * 2);
  EXPECT_EQ(t.rows[0].scalarizer, "loop_area");
  EXPECT_EQ(t.rows[0].n_train, 100);
  EXPECT_TRUE(t.rows[1].all);
  EXPECT_GT(t.rows[1].oracle_r2, 0.3);
  const LearnabilityTable again = compute_learnability(film, o);
  EXPECT_EQ(again.rows[1].knn_patch_r2, t.rows[1].knn_patch_r2);
  EXPECT_NE(learnability_markdown(t).find("| loop_area | 100 |"), std::string::npos);
}
