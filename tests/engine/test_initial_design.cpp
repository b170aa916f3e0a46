// Initial designs: Latin-hypercube stratification, no duplicates, seeding, raster geometry.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <set>

#include "core/error.hpp"
#include "engine/acquisition/initial_design.hpp"
#include "engine/patches/candidate_grid.hpp"

using namespace sdm::engine::acquisition;
using namespace sdm::engine::patches;

namespace {
bool all_distinct(const std::vector<int>& v) { return std::set<int>(v.begin(), v.end()).size() == v.size(); }
}  // namespace

TEST(InitialDesign, StrataEdges) {
  EXPECT_EQ(lattice_strata(121, 10), (std::vector<int>{0, 12, 24, 36, 48, 60, 72, 84, 96, 108, 121}));
  EXPECT_EQ(lattice_strata(5, 5), (std::vector<int>{0, 1, 2, 3, 4, 5}));
  EXPECT_THROW(lattice_strata(4, 5), sdm::Error);
}

TEST(InitialDesign, LatinHypercubeOnePointPerRowAndColumnStratum) {
  const CandidateGrid g = make_candidate_grid(256, 256, 16, 2);  // 121 × 121
  for (int count : {1, 2, 10, 37, 121}) {
    for (std::uint64_t seed : {1u, 2u, 3u}) {
      std::mt19937_64 rng(seed);
      const auto d = latin_hypercube_design(g, count, rng);
      ASSERT_EQ(static_cast<int>(d.size()), count);
      EXPECT_TRUE(all_distinct(d));
      // Stratum of a lattice coordinate, computed independently of lattice_strata:
      // the k with ⌊k·121/count⌋ ≤ c < ⌊(k+1)·121/count⌋.
      auto stratum = [count](int c) {
        for (int k = 0; k < count; ++k)
          if (c >= k * 121 / count && c < (k + 1) * 121 / count) return k;
        return -1;
      };
      std::set<int> cols, rows;
      for (size_t i = 0; i < d.size(); ++i) {
        cols.insert(stratum(candidate_column(g, d[i])));
        rows.insert(stratum(candidate_row(g, d[i])));
        EXPECT_EQ(stratum(candidate_row(g, d[i])), static_cast<int>(i));  // row-stratum order
      }
      EXPECT_EQ(static_cast<int>(cols.size()), count);
      EXPECT_EQ(static_cast<int>(rows.size()), count);
      EXPECT_EQ(*cols.begin(), 0);
      EXPECT_EQ(*rows.rbegin(), count - 1);
    }
  }
}

TEST(InitialDesign, LatinHypercubeIsSeededAndCoversCellsUniformly) {
  const CandidateGrid g = make_candidate_grid(256, 256, 16, 2);
  std::mt19937_64 a(7), b(7), c(8);
  const auto da = latin_hypercube_design(g, 10, a), db = latin_hypercube_design(g, 10, b), dc = latin_hypercube_design(g, 10, c);
  EXPECT_EQ(da, db);
  EXPECT_NE(da, dc);
  // With 2 strata on a 4-position axis, each of the 2 positions in a stratum is equally likely.
  const CandidateGrid small = make_candidate_grid(8, 8, 2, 2);  // 4 × 4
  std::mt19937_64 rng(9);
  int hits[4] = {0, 0, 0, 0};
  const int trials = 20000;
  for (int t = 0; t < trials; ++t)
    for (int i : latin_hypercube_design(small, 2, rng)) ++hits[candidate_column(small, i)];
  for (int h : hits) EXPECT_NEAR(h / static_cast<double>(trials), 0.5, 0.02);  // each column: probability ½ per design
  // Too many points for the strata.
  EXPECT_THROW(latin_hypercube_design(small, 5, rng), sdm::Error);
}

TEST(InitialDesign, RandomDistinctSeededAndUniform) {
  const CandidateGrid g = make_candidate_grid(20, 20, 4, 4);  // 25 candidates
  std::mt19937_64 rng(10);
  EXPECT_EQ(random_design(g, 25, rng).size(), 25u);
  std::mt19937_64 a(11), b(11);
  EXPECT_EQ(random_design(g, 10, a), random_design(g, 10, b));
  int hits[25] = {};
  const int trials = 20000;
  for (int t = 0; t < trials; ++t) {
    const auto d = random_design(g, 5, rng);
    ASSERT_TRUE(all_distinct(d));
    for (int i : d) ++hits[i];
  }
  for (int h : hits) EXPECT_NEAR(h / static_cast<double>(trials), 5.0 / 25.0, 0.015);
  EXPECT_THROW(random_design(g, 26, rng), sdm::Error);
}

TEST(InitialDesign, RasterIsARegularSubLattice) {
  const CandidateGrid g = make_candidate_grid(256, 256, 16, 2);  // 121 × 121
  // 210 points: 14 rows × 15 columns (gy = round(√210) = 14, gx = ⌈210/14⌉ = 15), exactly.
  const auto d = raster_design(g, 210);
  ASSERT_EQ(d.size(), 210u);
  EXPECT_TRUE(all_distinct(d));
  std::set<int> cols, rows;
  for (int i : d) {
    cols.insert(candidate_column(g, i));
    rows.insert(candidate_row(g, i));
  }
  EXPECT_EQ(cols.size(), 15u);
  EXPECT_EQ(rows.size(), 14u);
  EXPECT_EQ(*cols.begin(), static_cast<int>(0.5 * 121 / 15));          // ⌊(a + ½)·121/15⌋ at a = 0
  EXPECT_EQ(*cols.rbegin(), static_cast<int>(14.5 * 121 / 15));
  EXPECT_TRUE(std::is_sorted(d.begin(), d.end()));  // raster order
  // 10 points: 3 rows of 4, the last cut to 2.
  const auto d10 = raster_design(g, 10);
  ASSERT_EQ(d10.size(), 10u);
  EXPECT_EQ(candidate_row(g, d10[0]), static_cast<int>(0.5 * 121 / 3));
  EXPECT_EQ(candidate_row(g, d10[9]), static_cast<int>(2.5 * 121 / 3));
  // A one-row lattice.
  const CandidateGrid strip = make_candidate_grid(40, 4, 4, 4);  // 10 × 1
  const auto ds = raster_design(strip, 7);
  EXPECT_EQ(ds.size(), 7u);
  EXPECT_TRUE(all_distinct(ds));
  EXPECT_EQ(raster_design(strip, 10), (std::vector<int>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}));
}

TEST(InitialDesign, ByNameAndCounts) {
  EXPECT_EQ(initial_design_from_name("lhs"), InitialDesignKind::lhs);
  EXPECT_EQ(initial_design_from_name("raster"), InitialDesignKind::raster);
  try {
    initial_design_from_name("sobol");
    FAIL();
  } catch (const sdm::Error& e) {
    EXPECT_NE(std::string(e.what()).find("lhs, random, raster"), std::string::npos);
  }
  const CandidateGrid g = make_candidate_grid(64, 64, 16, 4);
  std::mt19937_64 rng(12);
  for (auto k : {InitialDesignKind::lhs, InitialDesignKind::random, InitialDesignKind::raster}) {
    EXPECT_TRUE(initial_design(g, 0, k, rng).empty());
    EXPECT_EQ(initial_design(g, 5, k, rng).size(), 5u) << to_string(k);
    EXPECT_THROW(initial_design(g, -1, k, rng), sdm::Error);
  }
}
