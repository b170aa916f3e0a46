// Acquisition strategies: the registry (every configurable name can be built, despite static
// linking), selection and tie-breaking, the baselines' plans against independent
// constructions, structural novelty against brute-force SSIM, each strategy end to end on a
// synthetic instrument (no duplicates, budget, determinism), and save/load.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>
#include <set>

#include "campaign_test_support.hpp"
#include "core/error.hpp"
#include "engine/acquisition/initial_design.hpp"
#include "engine/acquisition/seeds.hpp"
#include "engine/acquisition/selection.hpp"
#include "engine/acquisition/strategy.hpp"
#include "engine/campaign/campaign.hpp"
#include "engine/novelty/ssim.hpp"
#include "engine/patches/candidate_grid.hpp"
#include "engine/patches/patch_extraction.hpp"
#include "sdm_test_support.hpp"

namespace A = sdm::engine::acquisition;
namespace C = sdm::engine::campaign;
namespace P = sdm::engine::patches;
using sdm::test::TempDir;

TEST(Registry, EveryConfigurableStrategyIsRegisteredAndBuilds) {
  std::vector<std::string> expected = A::strategy_names();
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(A::registered_strategy_names(), expected);
  A::StrategyContext ctx;
  ctx.patch_side_px = 8;
  ctx.budget = 20;
  ctx.initial_points = 5;
  for (const std::string& name : A::strategy_names()) {
    A::StrategyConfig c;
    c.name = c.label = name;
    EXPECT_NE(A::make_strategy(c, ctx), nullptr) << name;
  }
  A::StrategyConfig bad;
  bad.name = "nope";
  try {
    A::make_strategy(bad, ctx);
    FAIL();
  } catch (const sdm::Error& e) {
    for (const std::string& name : A::strategy_names()) EXPECT_NE(std::string(e.what()).find(name), std::string::npos) << e.what();
  }
  EXPECT_THROW(A::register_strategy("random", {}), sdm::Error);
}

TEST(Selection, ArgmaxSkipsMeasuredBreaksTiesLowAndIgnoresNan) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  EXPECT_EQ(A::argmax_unmeasured({1, 3, 3, 2}, {0, 0, 0, 0}), 1);
  EXPECT_EQ(A::argmax_unmeasured({1, 3, 3, 2}, {0, 1, 0, 0}), 2);
  EXPECT_EQ(A::argmax_unmeasured({5, 5, 5}, {1, 0, 0}), 1);
  EXPECT_EQ(A::argmax_unmeasured({nan, 0.5, nan}, {0, 0, 0}), 1);
  EXPECT_EQ(A::argmax_unmeasured({nan, nan}, {1, 0}), 1);
  EXPECT_EQ(A::argmax_unmeasured({-1e300, -std::numeric_limits<double>::infinity()}, {0, 0}), 0);
  EXPECT_EQ(A::argmax_unmeasured({1, 2}, {1, 1}), -1);
  EXPECT_EQ(A::first_unmeasured({4, 2, 0}, {0, 0, 1, 0, 1}), 0);
  EXPECT_EQ(A::first_unmeasured({4, 2}, {0, 0, 1, 0, 1}), 0);
  EXPECT_EQ(A::first_unmeasured({4, 2}, {1, 1, 1, 1, 1}), -1);
  EXPECT_EQ(A::unmeasured_candidates({1, 0, 1, 0}), (std::vector<int>{1, 3}));
}

TEST(Seeds, StreamsAndStepsAreDistinctAndStable) {
  static_assert(A::derive_seed(1, "forest", 3) == A::derive_seed(1, "forest", 3));
  std::set<std::uint64_t> seen;
  for (std::uint64_t s : {0ull, 1ull, 2ull})
    for (const char* stream : {"forest", "random", "dkl", "initial"})
      for (std::uint64_t k = 0; k < 50; ++k) EXPECT_TRUE(seen.insert(A::derive_seed(s, stream, k)).second);
  // splitmix64's published first output for state 0 (Vigna's reference implementation).
  EXPECT_EQ(sdm::core::splitmix64(0), 0xE220A8397B1DCDAFull);
}

namespace {

/// A campaign state on a small image with the given candidates measured (flat fake curves).
struct Bench {
  std::vector<double> image;
  C::CandidateGrid grid;
  sdm::engine::gp::RowMatrixF patches;
  A::CampaignState state;
  Bench(int n, int patch, int stride) {
    std::mt19937_64 rng(7);
    std::uniform_real_distribution<double> u(0, 1);
    image.resize(size_t(n) * size_t(n));
    for (int y = 0; y < n; ++y)
      for (int x = 0; x < n; ++x) image[size_t(y * n + x)] = std::sin(0.4 * x) * std::cos(0.3 * y) + 0.3 * u(rng);
    grid = P::make_candidate_grid(n, n, patch, stride);
    image = P::normalise_min_max(image, n, n);
    patches = P::patches_of_normalised(image, grid);
    state.grid = &grid;
    state.patches = &patches;
    state.normalised_image = &image;
    state.is_measured.assign(grid.size(), 0);
  }
  void measure(int c) {
    state.measured.push_back(c);
    sdm::core::IvCurve curve;
    curve.bias_v = {0, 1, 0};
    curve.time_s = {0, 1, 2};
    curve.current_a = {0, 1e-10 * (c % 7), 0};
    state.curves.push_back(curve);
    state.is_measured[size_t(c)] = 1;
  }
};

std::unique_ptr<A::Strategy> make(const std::string& name, int budget, int initial, std::uint64_t seed = 3) {
  A::StrategyConfig c;
  c.name = c.label = name;
  A::StrategyContext ctx;
  ctx.patch_side_px = 8;
  ctx.budget = budget;
  ctx.initial_points = initial;
  ctx.seed = seed;
  ctx.dkl.steps = 10;
  return A::make_strategy(c, ctx);
}

}  // namespace

TEST(Raster, VisitsTheRasterOfTheRemainingBudgetInOrderSkippingMeasured) {
  Bench b(40, 8, 2);  // 17 × 17 candidates
  auto s = make("raster", 30, 4);
  const std::vector<int> plan = A::raster_design(b.grid, 26);
  b.measure(plan[3]);  // already measured by the initial design: skipped
  b.measure(0);
  std::vector<int> got;
  for (int k = 0; k < 24; ++k) {
    const int c = s->decide(b.state).candidate;
    got.push_back(c);
    b.measure(c);
  }
  std::vector<int> want;
  for (int c : plan)
    if (c != plan[3] && c != 0) want.push_back(c);
  want.resize(24);
  EXPECT_EQ(got, want);
}

TEST(Lhs, FollowsItsPlanOfLatinHypercubeBatches) {
  Bench b(40, 8, 2);  // 17 columns, 17 rows: one LHS holds at most 17 points
  const std::uint64_t seed = 3;
  auto s = make("lhs", 5 + 30, 5, seed);
  b.measure(0);
  std::vector<int> got;
  for (int k = 0; k < 40; ++k) {  // beyond the 30 planned points: further batches of 17
    const int c = s->decide(b.state).candidate;
    ASSERT_GE(c, 0);
    got.push_back(c);
    b.measure(c);
  }
  // The documented plan, rebuilt: batches of 17, 13, then 17 points, batch k from
  // derive_seed(seed, "lhs", k); each step the first point of the plan not yet measured.
  std::vector<int> plan;
  const int sizes[] = {17, 13, 17, 17};
  for (int k = 0; k < 4; ++k) {
    std::mt19937_64 rng(A::derive_seed(seed, "lhs", std::uint64_t(k)));
    const std::vector<int> batch = A::latin_hypercube_design(b.grid, sizes[k], rng);
    plan.insert(plan.end(), batch.begin(), batch.end());
  }
  std::set<int> measured{0};
  std::vector<int> want;
  for (int c : plan)
    if (want.size() < got.size() && measured.insert(c).second) want.push_back(c);
  EXPECT_EQ(got, want);
  // And the first batch is a Latin hypercube: one point in every column and every row.
  std::set<int> cols, rows;
  for (int k = 0; k < 17; ++k) {
    cols.insert(P::candidate_column(b.grid, plan[size_t(k)]));
    rows.insert(P::candidate_row(b.grid, plan[size_t(k)]));
  }
  EXPECT_EQ(cols.size(), 17u);
  EXPECT_EQ(rows.size(), 17u);
}

TEST(Random, UniformOverTheUnmeasuredAndReproducibleByStep) {
  Bench b(24, 8, 2);  // 9 × 9 = 81 candidates
  for (int c = 0; c < 40; ++c) b.measure(c);
  auto s = make("random", 100, 5);
  // The draw of a step depends only on (seed, step): asking twice gives the same answer.
  EXPECT_EQ(s->decide(b.state).candidate, s->decide(b.state).candidate);
  // Over many seeds the choice is uniform over the 41 unmeasured candidates (chi-square).
  std::vector<int> count(81, 0);
  const int draws = 4100;
  for (int seed = 0; seed < draws; ++seed) {
    const int c = make("random", 100, 5, std::uint64_t(seed))->decide(b.state).candidate;
    ASSERT_GE(c, 40);
    ++count[size_t(c)];
  }
  double chi2 = 0;
  for (int c = 40; c < 81; ++c) chi2 += (count[size_t(c)] - 100.0) * (count[size_t(c)] - 100.0) / 100.0;
  EXPECT_LT(chi2, 73.4);  // 40 degrees of freedom: 99.9 % quantile 73.40
}

TEST(StructuralNovelty, ChoosesTheBruteForceArgmaxOfOneMinusMaxSsim) {
  Bench b(32, 8, 2);  // 13 × 13 candidates
  auto s = make("structural_novelty", 40, 3);
  for (int c : {0, 84, 168}) b.measure(c);
  for (int step = 0; step < 5; ++step) {
    s->observe(b.state);
    const A::Decision d = s->decide(b.state);
    // Independent reference: pairwise SSIM of the raw patches (novelty::ssim), 1 − max.
    std::vector<double> nov(b.grid.size());
    for (size_t i = 0; i < b.grid.size(); ++i) {
      double best = -1;
      for (int m : b.state.measured) best = std::max(best, sdm::engine::novelty::ssim(b.patches.row(Eigen::Index(i)).data(),
                                                                                     b.patches.row(m).data(), 8));
      nov[i] = 1 - best;
    }
    int want = -1;
    for (size_t i = 0; i < nov.size(); ++i)
      if (!b.state.is_measured[i] && (want < 0 || nov[i] > nov[size_t(want)] + 1e-12)) want = int(i);
    EXPECT_EQ(d.candidate, want) << "step " << step;
    EXPECT_NEAR(d.score, nov[size_t(want)], 1e-12);
    EXPECT_NEAR(d.structural_novelty, nov[size_t(want)], 1e-12);
    b.measure(d.candidate);
  }
}

TEST(Strategies, EachRunsEndToEndWithoutRepeatsAndReproducibly) {
  TempDir t;
  for (const std::string& name : A::strategy_names()) {
    const auto a = [&] {
      sdm::test::FakeInstrument fake;
      auto scope = sdm::test::microscope_on(fake);
      return C::run_campaign(sdm::test::small_spec(name, t / (name + "-a"), 14), scope);
    }();
    sdm::test::FakeInstrument fake;
    auto scope = sdm::test::microscope_on(fake);
    const auto b = C::run_campaign(sdm::test::small_spec(name, t / (name + "-b"), 14), scope);
    EXPECT_EQ(a.end, C::CampaignEnd::completed) << name << ": " << a.message;
    ASSERT_EQ(a.steps.size(), 14u) << name;
    const std::vector<int> ca = sdm::test::candidates_of(a.steps);
    EXPECT_EQ(std::set<int>(ca.begin(), ca.end()).size(), 14u) << name << ": a location measured twice";
    EXPECT_EQ(ca, sdm::test::candidates_of(b.steps)) << name << ": same seed, different campaign";
    EXPECT_EQ(fake.sweeps, 14) << name;
    for (size_t i = 5; i < a.steps.size(); ++i) {
      EXPECT_EQ(a.steps[i].phase, "strategy");
      EXPECT_FALSE(a.steps[i].model_json.empty()) << name;
      EXPECT_TRUE(nlohmann::json::accept(a.steps[i].model_json)) << name;
      if (std::isnan(a.steps[i].score)) {
        EXPECT_TRUE(std::isnan(b.steps[i].score)) << name;
      } else {
        EXPECT_EQ(a.steps[i].score, b.steps[i].score) << name;  // bit-identical decisions
      }
    }
  }
}
