// Benchmark statistics against independent references: published t quantiles and closed
// forms, Wilcoxon p-values by brute-force enumeration of sign patterns (and SciPy's documented
// example), k-means against a naive Lloyd and planted clusters, histogram coverage by hand.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>
#include <set>

#include "bench/stats/confidence.hpp"
#include "bench/stats/coverage.hpp"
#include "bench/stats/kmeans.hpp"
#include "bench/stats/wilcoxon.hpp"
#include "bench/scenario.hpp"
#include "core/error.hpp"

using namespace sdm::bench::stats;
using sdm::engine::gp::RowMatrixF;

namespace {
constexpr double kPi = 3.14159265358979323846;

// Brute force: two-sided p of W+ over all 2^n sign patterns of the given (mid)ranks.
double enumerate_p(const std::vector<double>& ranks, double w_plus) {
  const int n = static_cast<int>(ranks.size());
  long below = 0, above = 0, total = 0;
  for (long mask = 0; mask < (1L << n); ++mask) {
    double w = 0;
    for (int i = 0; i < n; ++i)
      if (mask & (1L << i)) w += ranks[i];
    ++total;
    if (w <= w_plus + 1e-9) ++below;
    if (w >= w_plus - 1e-9) ++above;
  }
  return std::min(1.0, 2.0 * std::min(below, above) / static_cast<double>(total));
}
}  // namespace

TEST(StudentT, KnownQuantiles) {
  // Two-sided 95 % critical values (standard tables, 6 decimals).
  EXPECT_NEAR(student_t_quantile(0.975, 1), 12.706205, 1e-6);
  EXPECT_NEAR(student_t_quantile(0.975, 2), 4.302653, 1e-6);
  EXPECT_NEAR(student_t_quantile(0.975, 3), 3.182446, 1e-6);
  EXPECT_NEAR(student_t_quantile(0.975, 4), 2.776445, 1e-6);
  EXPECT_NEAR(student_t_quantile(0.975, 9), 2.262157, 1e-6);
  EXPECT_NEAR(student_t_quantile(0.975, 29), 2.045230, 1e-6);
  EXPECT_NEAR(student_t_quantile(0.995, 4), 4.604095, 1e-6);
  EXPECT_NEAR(student_t_quantile(0.95, 10), 1.812461, 1e-6);
  EXPECT_NEAR(student_t_quantile(0.975, 1e6), 1.959966, 1e-6);  // → z_0.975 = 1.959964
  EXPECT_NEAR(student_t_quantile(0.025, 4), -2.776445, 1e-6);
  EXPECT_EQ(student_t_quantile(0.5, 7), 0.0);
}

TEST(StudentT, ClosedFormsForOneAndTwoDegreesOfFreedom) {
  for (double p : {0.51, 0.6, 0.75, 0.9, 0.975, 0.999, 0.9999}) {
    // ν = 1 (Cauchy): t = tan(π(p − ½)); ν = 2: t = (2p − 1)/√(2p(1 − p)).
    const double t1 = std::tan(kPi * (p - 0.5)), t2 = (2 * p - 1) / std::sqrt(2 * p * (1 - p));
    EXPECT_NEAR(student_t_quantile(p, 1), t1, 1e-9 * std::max(1.0, t1)) << p;
    EXPECT_NEAR(student_t_quantile(p, 2), t2, 1e-9 * std::max(1.0, t2)) << p;
    // CDFs: ν = 1: ½ + atan(t)/π; ν = 2: ½ + t/(2√(2 + t²)).
    EXPECT_NEAR(student_t_cdf(t1, 1), p, 1e-13);
    EXPECT_NEAR(student_t_cdf(t2, 2), p, 1e-13);
  }
  // Non-integer ν and the normal limit.
  EXPECT_NEAR(student_t_cdf(student_t_quantile(0.9, 3.7), 3.7), 0.9, 1e-12);
  EXPECT_NEAR(normal_quantile(0.975), 1.959963984540054, 1e-12);
  EXPECT_NEAR(normal_quantile(1e-10), -6.361340902404056, 1e-9);
  EXPECT_NEAR(normal_cdf(-1.959963984540054), 0.025, 1e-14);
  // Incomplete beta: I_x(1, 1) = x, I_x(2, 1) = x², I_½(a, a) = ½.
  EXPECT_NEAR(incomplete_beta(1, 1, 0.3), 0.3, 1e-15);
  EXPECT_NEAR(incomplete_beta(2, 1, 0.3), 0.09, 1e-15);
  EXPECT_NEAR(incomplete_beta(7.5, 7.5, 0.5), 0.5, 1e-14);
}

TEST(MeanCi, HandComputed) {
  // 1, 2, 3, 4, 5: mean 3, s = √2.5, half-width t_{0.975,4}·s/√5.
  const MeanCi r = mean_ci({1, 2, 3, 4, 5});
  EXPECT_EQ(r.n, 5);
  EXPECT_DOUBLE_EQ(r.mean, 3.0);
  EXPECT_NEAR(r.sd, std::sqrt(2.5), 1e-15);
  EXPECT_NEAR(r.half_width, 2.776445105 * std::sqrt(2.5) / std::sqrt(5.0), 1e-8);
  EXPECT_NEAR(r.lower, 3.0 - r.half_width, 1e-15);
  // Three seeds (the default scenario): t_{0.975,2}.
  const MeanCi r3 = mean_ci({0.2, 0.4, 0.9});
  EXPECT_NEAR(r3.half_width, 4.302652730 * r3.sd / std::sqrt(3.0), 1e-8);
  // 90 % interval.
  const MeanCi r90 = mean_ci({1, 2, 3, 4, 5}, 0.9);
  EXPECT_NEAR(r90.half_width, 2.131846786 * std::sqrt(2.5) / std::sqrt(5.0), 1e-8);
  // One value: mean only; none: NaN; NaN input rejected.
  EXPECT_EQ(mean_ci({4.0}).mean, 4.0);
  EXPECT_TRUE(std::isnan(mean_ci({4.0}).half_width));
  EXPECT_TRUE(std::isnan(mean_ci({}).mean));
  EXPECT_THROW(mean_ci({1.0, NAN}), sdm::Error);
  EXPECT_THROW(mean_ci({1.0, 2.0}, 1.0), sdm::Error);
}

TEST(Wilcoxon, ScipyDocumentedExample) {
  // scipy.stats.wilcoxon docs: Darwin's height differences (n = 15, no ties):
  // statistic 24, exact p = 0.041259765625; method='approx': p = 0.04088813291185591.
  const std::vector<double> d = {6, 8, 14, 16, 23, 24, 28, 29, 41, -48, 49, 56, 60, -67, 75};
  const WilcoxonResult r = wilcoxon_signed_rank(d);
  EXPECT_TRUE(r.exact);
  EXPECT_EQ(r.n, 15);
  EXPECT_EQ(r.statistic, 24.0);
  EXPECT_EQ(r.w_minus, 24.0);      // ranks 10 (−48) and 14 (−67)
  EXPECT_EQ(r.w_plus, 120.0 - 24.0);
  EXPECT_NEAR(r.p_value, 0.041259765625, 1e-15);
  std::vector<double> ranks(15);
  std::iota(ranks.begin(), ranks.end(), 1.0);
  EXPECT_NEAR(r.p_value, enumerate_p(ranks, r.w_plus), 1e-15);
  WilcoxonOptions approx;
  approx.method = WilcoxonMethod::normal;
  const WilcoxonResult ra = wilcoxon_signed_rank(d, approx);
  EXPECT_FALSE(ra.exact);
  EXPECT_NEAR(ra.p_value, 0.04088813291185591, 1e-12);
  // By hand: z = (96 − 60)/√310.
  EXPECT_NEAR(ra.z, 36.0 / std::sqrt(310.0), 1e-12);
  // Paired form gives the same.
  std::vector<double> x(d.size()), y(d.size(), 100.0);
  for (size_t i = 0; i < d.size(); ++i) x[i] = 100.0 + d[i];
  EXPECT_EQ(wilcoxon_signed_rank(x, y).p_value, r.p_value);
}

TEST(Wilcoxon, ExactWithTiesEqualsEnumeration) {
  std::mt19937_64 rng(1);
  std::uniform_int_distribution<int> v(-4, 4);
  for (int trial = 0; trial < 30; ++trial) {
    const int n = 3 + trial % 12;
    std::vector<double> d(n);
    for (double& x : d) x = v(rng);  // many ties and zeros
    const WilcoxonResult r = wilcoxon_signed_rank(d);
    // Independent midranks of the nonzero |d|.
    std::vector<double> nz;
    for (double x : d)
      if (x != 0) nz.push_back(std::fabs(x));
    std::vector<double> ranks(nz.size());
    double wp = 0;
    size_t j = 0;
    for (double x : d) {
      if (x == 0) continue;
      double less = 0, equal = 0;
      for (double y : nz) less += y < std::fabs(x), equal += y == std::fabs(x);
      ranks[j++] = less + (equal + 1) / 2;
      if (x > 0) wp += ranks[j - 1];
    }
    ASSERT_EQ(r.n, static_cast<int>(nz.size()));
    if (r.n == 0) {
      EXPECT_EQ(r.p_value, 1.0);
      continue;
    }
    EXPECT_NEAR(r.w_plus, wp, 1e-12);
    EXPECT_NEAR(r.p_value, enumerate_p(ranks, wp), 1e-12) << trial;
  }
}

TEST(Wilcoxon, NormalApproximationTieAndZeroCorrections) {
  // 30 differences with ties and zeros; the variance of W+ under random signs is Σ r²/4 over
  // the ranks actually signed (an independent route to the tie-corrected formula).
  std::vector<double> d;
  for (int i = 0; i < 30; ++i) d.push_back(static_cast<double>((i * 7) % 11) - 3.0);  // values −3..7, zeros among them
  for (WilcoxonZeros zeros : {WilcoxonZeros::wilcox, WilcoxonZeros::pratt}) {
    WilcoxonOptions o;
    o.zeros = zeros;
    const WilcoxonResult r = wilcoxon_signed_rank(d, o);
    EXPECT_FALSE(r.exact);  // > 25 nonzero differences
    std::vector<double> ranked;
    for (double x : d)
      if (zeros == WilcoxonZeros::pratt || x != 0) ranked.push_back(std::fabs(x));
    double mean = 0, var = 0, wp = 0;
    for (double x : d) {
      if (x == 0) continue;
      double less = 0, equal = 0;
      for (double y : ranked) less += y < std::fabs(x), equal += y == std::fabs(x);
      const double rank = less + (equal + 1) / 2;
      mean += rank / 2;
      var += rank * rank / 4;
      if (x > 0) wp += rank;
    }
    EXPECT_NEAR(r.w_plus, wp, 1e-12);
    const double z = (wp - mean) / std::sqrt(var);
    EXPECT_NEAR(r.z, z, 1e-12);
    EXPECT_NEAR(r.p_value, std::erfc(std::fabs(z) / std::sqrt(2.0)), 1e-12);
    // Continuity correction moves W+ half a unit towards the mean.
    o.continuity = true;
    EXPECT_NEAR(wilcoxon_signed_rank(d, o).z, (wp - mean - 0.5 * (wp > mean ? 1 : -1)) / std::sqrt(var), 1e-12);
  }
}

TEST(Wilcoxon, EdgeCases) {
  EXPECT_EQ(wilcoxon_signed_rank({0.0, 0.0, 0.0}).p_value, 1.0);
  // Five seeds, all in favour: the smallest two-sided p is 2/32.
  EXPECT_NEAR(wilcoxon_signed_rank({1, 2, 3, 4, 5}).p_value, 0.0625, 1e-15);
  EXPECT_THROW(wilcoxon_signed_rank({1.0, 2.0}, {1.0}), sdm::Error);
  EXPECT_THROW(wilcoxon_signed_rank({1.0, NAN}), sdm::Error);
}

TEST(KMeans, PlusPlusSeedingDrawsProportionalToSquaredDistance) {
  // Points 0, 1, 3 on a line. Given the first seed 0, the second is 1 with probability
  // 1/(1 + 9) and 3 with 9/10; given first 3: 1 w.p. 4/13, 0 w.p. 9/13.
  RowMatrixF x(3, 1);
  x << 0.f, 1.f, 3.f;
  int first0 = 0, second1 = 0, first3 = 0, second1_after3 = 0;
  for (std::uint64_t seed = 0; seed < 30000; ++seed) {
    std::mt19937_64 rng(seed);
    const auto s = kmeans_plus_plus_seeds(x, 2, rng);
    if (s[0] == 0) ++first0, second1 += s[1] == 1;
    if (s[0] == 2) ++first3, second1_after3 += s[1] == 1;
  }
  EXPECT_NEAR(second1 / static_cast<double>(first0), 0.1, 0.015);
  EXPECT_NEAR(second1_after3 / static_cast<double>(first3), 4.0 / 13.0, 0.02);
}

TEST(KMeans, MatchesNaiveLloydAndRecoversPlantedClusters) {
  // 6 well-separated blobs of 200 points in 16 dimensions.
  std::mt19937_64 gen(2);
  std::normal_distribution<float> noise(0.f, 0.3f);
  std::uniform_real_distribution<float> centre(-10.f, 10.f);
  const int blobs = 6, per = 200, d = 16;
  RowMatrixF x(blobs * per, d);
  std::vector<int> truth(blobs * per);
  for (int b = 0; b < blobs; ++b) {
    std::vector<float> c(d);
    for (float& v : c) v = centre(gen);
    for (int i = 0; i < per; ++i) {
      for (int k = 0; k < d; ++k) x(b * per + i, k) = c[k] + noise(gen);
      truth[b * per + i] = b;
    }
  }
  KMeansConfig cfg;
  cfg.k = 6;
  std::mt19937_64 rng(3);
  const KMeansResult r = kmeans(x, cfg, rng);
  EXPECT_TRUE(r.converged);
  // Each planted blob maps to one cluster and vice versa.
  std::set<std::pair<int, int>> pairs;
  for (size_t i = 0; i < truth.size(); ++i) pairs.insert({truth[i], r.labels[i]});
  EXPECT_EQ(pairs.size(), 6u);

  // Against a naive Lloyd (exhaustive double distances) from the same seeds, on harder data
  // (overlapping clusters, more iterations).
  RowMatrixF y(1500, 8);
  std::uniform_real_distribution<float> u(0.f, 1.f);
  for (Eigen::Index i = 0; i < y.size(); ++i) y.data()[i] = u(gen);
  KMeansConfig c2;
  c2.k = 12;
  c2.tolerance = 0;  // run to label convergence
  std::mt19937_64 r1(4), r2(4);
  const KMeansResult fast = kmeans(y, c2, r1);
  const auto seeds = kmeans_plus_plus_seeds(y, 12, r2);
  Eigen::MatrixXd cen(12, 8);
  for (int j = 0; j < 12; ++j) cen.row(j) = y.row(seeds[j]).cast<double>();
  std::vector<int> lab(1500, -1);
  for (int it = 0; it < 300; ++it) {
    bool moved = false;
    for (int i = 0; i < 1500; ++i) {
      int best = 0;
      double bd = INFINITY;
      for (int j = 0; j < 12; ++j) {
        const double dist = (y.row(i).cast<double>() - cen.row(j)).squaredNorm();
        if (dist < bd) bd = dist, best = j;
      }
      moved |= lab[i] != best;
      lab[i] = best;
    }
    if (!moved) break;
    Eigen::MatrixXd sum = Eigen::MatrixXd::Zero(12, 8);
    std::vector<int> cnt(12, 0);
    for (int i = 0; i < 1500; ++i) sum.row(lab[i]) += y.row(i).cast<double>(), ++cnt[lab[i]];
    for (int j = 0; j < 12; ++j)
      if (cnt[j]) cen.row(j) = sum.row(j) / cnt[j];
  }
  EXPECT_EQ(fast.labels, lab);
  EXPECT_LT((fast.centres.cast<double>() - cen).cwiseAbs().maxCoeff(), 1e-5);
  double inertia = 0;
  for (int i = 0; i < 1500; ++i) inertia += (y.row(i).cast<double>() - cen.row(lab[i])).squaredNorm();
  EXPECT_NEAR(fast.inertia, inertia, 1e-6 * inertia);
  // Deterministic per seed.
  std::mt19937_64 r3(4);
  EXPECT_EQ(kmeans(y, c2, r3).labels, fast.labels);
  EXPECT_THROW(kmeans(y.topRows(5), c2, r3), sdm::Error);
}

TEST(Coverage, HistogramByHand) {
  // Reference 0..9 in 10 bins of width 0.9: bins 0..9 each hold one value.
  std::vector<double> ref(10);
  std::iota(ref.begin(), ref.end(), 0.0);
  const Histogram h = histogram(ref, 10);
  EXPECT_EQ(h.edges.front(), 0.0);
  EXPECT_EQ(h.edges.back(), 9.0);
  for (long c : h.counts) EXPECT_EQ(c, 1);
  EXPECT_EQ(h.bin(9.0), 9);    // last bin closed
  EXPECT_EQ(h.bin(0.899), 0);
  EXPECT_EQ(h.bin(0.9), 1);
  EXPECT_EQ(h.bin(9.5), -1);
  // Hits at 0.1 and 8.95 cover 2 of 10 occupied bins; 20 hits outside add nothing.
  std::vector<double> hits = {0.1, 8.95};
  for (int i = 0; i < 20; ++i) hits.push_back(100.0 + i);
  const HistogramCoverage c = histogram_coverage(ref, hits, 10);
  EXPECT_EQ(c.occupied, 10);
  EXPECT_EQ(c.hit, 2);
  EXPECT_DOUBLE_EQ(c.fraction, 0.2);
  // Empty bins of the reference do not count: values 0, 0, 10 in 100 bins occupy 2 bins.
  const HistogramCoverage c2 = histogram_coverage({0, 0, 10}, {10.0}, 100);
  EXPECT_EQ(c2.occupied, 2);
  EXPECT_DOUBLE_EQ(c2.fraction, 0.5);
  // Constant reference: the range is [v − ½, v + ½] (100 bins of 0.01), one bin occupied.
  EXPECT_DOUBLE_EQ(histogram_coverage({3, 3, 3}, {3.0}).fraction, 1.0);
  EXPECT_DOUBLE_EQ(histogram_coverage({3, 3, 3}, {3.2}).fraction, 0.0);
  EXPECT_THROW(histogram({}, 10), sdm::Error);
  EXPECT_THROW(histogram_coverage({1, 2}, {NAN}), sdm::Error);
}

TEST(Coverage, Clusters) {
  const std::vector<int> labels = {0, 0, 1, 2, 2, 3};
  EXPECT_DOUBLE_EQ(cluster_coverage(labels, 4, {}), 0.0);
  EXPECT_DOUBLE_EQ(cluster_coverage(labels, 4, {0, 1, 1}), 0.25);
  EXPECT_DOUBLE_EQ(cluster_coverage(labels, 4, {0, 2, 4, 5}), 1.0);
  EXPECT_THROW(cluster_coverage(labels, 4, {6}), sdm::Error);
  EXPECT_THROW(cluster_coverage({0, 5}, 4, {1}), sdm::Error);
}

// The strategy keys added for the novelty pieces (engine/acquisition/strategy_config): read,
// validated, defaulted to the paper's choices.
TEST(NoveltyStrategyKeys, ReadValidatedAndDefaulted) {
  using sdm::bench::parse_scenario;
  const auto def = parse_scenario("[[strategy]]\nname = \"dn_dkl\"\n", "t.toml");
  EXPECT_EQ(def.strategies.at(0).ssim_window, "uniform");
  EXPECT_EQ(def.strategies.at(0).ssim_window_px, 7);
  EXPECT_EQ(def.strategies.at(0).spectral_normalisation, "set");
  const auto s = parse_scenario(
      "[[strategy]]\nname = \"dn_dkl\"\nssim_window = \"gaussian\"\nssim_window_px = 9\nspectral_normalisation = \"curve\"\n",
      "t.toml");
  EXPECT_EQ(s.strategies.at(0).ssim_window, "gaussian");
  EXPECT_EQ(s.strategies.at(0).ssim_window_px, 9);
  EXPECT_EQ(s.strategies.at(0).spectral_normalisation, "curve");
  auto error_of = [](const std::string& text) {
    try {
      parse_scenario(text, "t.toml");
    } catch (const sdm::Error& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  EXPECT_NE(error_of("[[strategy]]\nname = \"dn_dkl\"\nssim_window_px = 8\n").find("must be odd"), std::string::npos);
  EXPECT_NE(error_of("[[strategy]]\nname = \"dn_dkl\"\nssim_window = \"box\"\n").find("gaussian"), std::string::npos);
  EXPECT_NE(error_of("[[strategy]]\nname = \"dn_dkl\"\nspectral_normalisation = \"global\"\n").find("curve"), std::string::npos);
}
