// Candidate grid geometry, nearest/neighbour look-ups and patch extraction, checked against
// counts and pixel values worked out by hand.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <set>
#include <string>

#include "core/error.hpp"
#include "engine/patches/candidate_grid.hpp"
#include "engine/patches/patch_extraction.hpp"

using namespace sdm::engine::patches;

namespace {
std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const sdm::Error& e) {
    return e.what();
  }
  return "";
}
}  // namespace

TEST(CandidateGrid, PaperSizeCountsEveryFullyInsidePatch) {
  // 256 px, 16 px patches, stride 2: corners 0, 2, …, 240 ⇒ 121 per side.
  const CandidateGrid g = make_candidate_grid(256, 256, 16, 2);
  EXPECT_EQ(grid_columns(g), 121);
  EXPECT_EQ(grid_rows(g), 121);
  EXPECT_EQ(g.size(), 14641u);
  // First and last candidates: centres at top-left + 8.
  EXPECT_EQ(g.ix_px.front(), 8);
  EXPECT_EQ(g.iy_px.front(), 8);
  EXPECT_EQ(g.ix_px.back(), 248);
  EXPECT_EQ(g.iy_px.back(), 248);
  EXPECT_EQ(patch_x0_px(g, static_cast<int>(g.size()) - 1) + 16, 256);  // last patch touches the border
}

TEST(CandidateGrid, RectangularOddPatchAndRasterOrder) {
  // nx = 10, ny = 7, p = 3, s = 3: columns at x0 = 0, 3, 6 (9 would need x ≤ 11), rows at y0 = 0, 3.
  const CandidateGrid g = make_candidate_grid(10, 7, 3, 3);
  ASSERT_EQ(grid_columns(g), 3);
  ASSERT_EQ(grid_rows(g), 2);
  const int ex[] = {1, 4, 7, 1, 4, 7};
  const int ey[] = {1, 1, 1, 4, 4, 4};
  for (int i = 0; i < 6; ++i) {
    EXPECT_EQ(g.ix_px[i], ex[i]) << i;
    EXPECT_EQ(g.iy_px[i], ey[i]) << i;
    EXPECT_EQ(candidate_at(g, candidate_column(g, i), candidate_row(g, i)), i);
  }
  EXPECT_EQ(candidate_at(g, 2, 1), 5);
}

TEST(CandidateGrid, RejectsImpossibleGeometry) {
  EXPECT_NE(error_of([] { make_candidate_grid(8, 8, 9, 1); }).find("does not fit"), std::string::npos);
  EXPECT_NE(error_of([] { make_candidate_grid(8, 8, 4, 0); }).find("stride_px"), std::string::npos);
  EXPECT_NE(error_of([] { make_candidate_grid(8, 8, 0, 1); }).find("patch_px"), std::string::npos);
  const CandidateGrid g = make_candidate_grid(8, 8, 4, 2);
  EXPECT_THROW(candidate_at(g, 3, 0), sdm::Error);
  EXPECT_THROW(candidate_column(g, 9), sdm::Error);
}

TEST(CandidateGrid, NearestCandidateByPixelAndPosition) {
  const CandidateGrid g = make_candidate_grid(256, 256, 16, 2);
  // Exactly on a centre.
  EXPECT_EQ(nearest_candidate(g, 8, 8), 0);
  EXPECT_EQ(nearest_candidate(g, 20, 10), candidate_at(g, 6, 1));
  // 0.4 px off rounds to the same centre, 1.2 px off to the next (stride 2).
  EXPECT_EQ(nearest_candidate(g, 20.4, 10.0), candidate_at(g, 6, 1));
  EXPECT_EQ(nearest_candidate(g, 21.2, 10.0), candidate_at(g, 7, 1));
  // Halfway between centres 20 and 22: the lower index.
  EXPECT_EQ(nearest_candidate(g, 21.0, 10.0), candidate_at(g, 6, 1));
  // Outside the lattice snaps to the border.
  EXPECT_EQ(nearest_candidate(g, -50, 1000), candidate_at(g, 0, 120));
  // Brute force agrees on a sweep of points.
  for (double x = -3; x < 260; x += 7.3)
    for (double y = -3; y < 260; y += 11.1) {
      const int got = nearest_candidate(g, x, y);
      double best = INFINITY;
      for (size_t i = 0; i < g.size(); ++i) best = std::min(best, std::hypot(g.ix_px[i] - x, g.iy_px[i] - y));
      EXPECT_NEAR(std::hypot(g.ix_px[got] - x, g.iy_px[got] - y), best, 1e-12) << x << "," << y;
    }
  // Physical: 3 µm over 256 px, origin at (1 µm, −2 µm).
  sdm::hardware::ImageAxes axes{256, 256, 1e-6, -2e-6, 3e-6 / 256, 3e-6 / 256};
  const int c = candidate_at(g, 30, 70);
  const auto pos = candidate_position(g, axes, c);
  EXPECT_DOUBLE_EQ(pos.x_m, 1e-6 + (30 * 2 + 8) * 3e-6 / 256);
  EXPECT_DOUBLE_EQ(pos.y_m, -2e-6 + (70 * 2 + 8) * 3e-6 / 256);
  EXPECT_EQ(nearest_candidate(g, axes, pos.x_m, pos.y_m), c);
  EXPECT_EQ(nearest_candidate(g, axes, pos.x_m + 0.9 * axes.dx_m, pos.y_m), c);
  sdm::hardware::ImageAxes wrong = axes;
  wrong.nx = 128;
  EXPECT_THROW(nearest_candidate(g, wrong, 0, 0), sdm::Error);
}

TEST(CandidateGrid, Neighbours) {
  const CandidateGrid g = make_candidate_grid(20, 20, 4, 4);  // 5 × 5 lattice
  EXPECT_EQ(neighbours(g, candidate_at(g, 0, 0), 4), (std::vector<int>{1, 5}));
  EXPECT_EQ(neighbours(g, candidate_at(g, 0, 0), 8), (std::vector<int>{1, 5, 6}));
  EXPECT_EQ(neighbours(g, candidate_at(g, 2, 2), 8), (std::vector<int>{6, 7, 8, 11, 13, 16, 17, 18}));
  EXPECT_EQ(neighbours(g, candidate_at(g, 2, 2), 4), (std::vector<int>{7, 11, 13, 17}));
  EXPECT_THROW(neighbours(g, 0, 6), sdm::Error);
  // Within a radius: centres are at 2, 6, 10, 14, 18 on both axes.
  EXPECT_EQ(candidates_within(g, 10, 10, 0.0), (std::vector<int>{12}));
  EXPECT_EQ(candidates_within(g, 10, 10, 4.0), (std::vector<int>{7, 11, 12, 13, 17}));
  EXPECT_EQ(candidates_within(g, 10, 10, 5.7), (std::vector<int>{6, 7, 8, 11, 12, 13, 16, 17, 18}));
  EXPECT_TRUE(candidates_within(g, 1e6, 1e6, 5).empty());
  EXPECT_EQ(candidates_within(g, 10, 10, 1e9).size(), 25u);
}

TEST(PatchExtraction, MinMaxNormalisedRowMajorPatches) {
  // 6 × 5 image, value = 10·iy + ix + 100 (so min 100, max 145): normalised = (10·iy + ix)/45.
  const int nx = 6, ny = 5;
  std::vector<double> img(nx * ny);
  for (int y = 0; y < ny; ++y)
    for (int x = 0; x < nx; ++x) img[y * nx + x] = 10.0 * y + x + 100.0;
  const CandidateGrid g = make_candidate_grid(nx, ny, 3, 2);  // corners x0 ∈ {0, 2}, y0 ∈ {0, 2}
  const auto P = extract_patches(img, nx, ny, g);
  ASSERT_EQ(P.rows(), 4);
  ASSERT_EQ(P.cols(), 9);
  for (int i = 0; i < 4; ++i) {
    const int x0 = patch_x0_px(g, i), y0 = patch_y0_px(g, i);
    for (int r = 0; r < 3; ++r)
      for (int c = 0; c < 3; ++c) EXPECT_FLOAT_EQ(P(i, r * 3 + c), (10.0f * (y0 + r) + (x0 + c)) / 45.0f) << i;
  }
  EXPECT_FLOAT_EQ(P.minCoeff(), 0.0f);  // pixel (0, 0) is in candidate 0
  // Physical units do not matter: metres give the same patches.
  std::vector<double> metres(img.size());
  for (size_t k = 0; k < img.size(); ++k) metres[k] = img[k] * 1e-9;
  EXPECT_TRUE(extract_patches(metres, nx, ny, g).isApprox(P, 1e-6f));
}

TEST(PatchExtraction, ConstantImageIsZero) {
  const std::vector<double> img(16, 3.5);
  const auto g = make_candidate_grid(4, 4, 2, 2);
  EXPECT_EQ(extract_patches(img, 4, 4, g).cwiseAbs().maxCoeff(), 0.0f);
}

TEST(PatchExtraction, NaNPixelIsNamed) {
  std::vector<double> img(7 * 4, 1.0);
  img[2 * 7 + 5] = NAN;  // ix 5, iy 2
  img[3 * 7 + 6] = NAN;
  const auto g = make_candidate_grid(7, 4, 2, 1);
  const std::string msg = error_of([&] { extract_patches(img, 7, 4, g); });
  EXPECT_NE(msg.find("ix 5, iy 2"), std::string::npos) << msg;
  EXPECT_NE(msg.find("NaN"), std::string::npos) << msg;
  EXPECT_NE(msg.find("2 of 28"), std::string::npos) << msg;
}

TEST(PatchExtraction, SurveyChannelAndMismatches) {
  sdm::hardware::SurveyImage s;
  s.axes = {4, 4, 0, 0, 1e-8, 1e-8};
  s.channels.push_back({"topography", "m", std::vector<double>(16, 0.0)});
  s.channels[0].data[5] = 2e-9;
  const auto g = make_candidate_grid(4, 4, 2, 2);
  const auto P = extract_patches(s, "topography", g);
  EXPECT_FLOAT_EQ(P(0, 3), 1.0f);  // pixel (1, 1) is the last of candidate 0's 2×2 patch
  const std::string msg = error_of([&] { extract_patches(s, "current", g); });
  EXPECT_NE(msg.find("'current'"), std::string::npos);
  EXPECT_NE(msg.find("topography"), std::string::npos);
  const auto g5 = make_candidate_grid(5, 4, 2, 2);
  EXPECT_THROW(extract_patches(s, "topography", g5), sdm::Error);
  EXPECT_THROW(extract_patches(std::vector<double>(15, 0.0), 4, 4, g), sdm::Error);
}
