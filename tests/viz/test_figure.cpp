// sdm::viz against independent expectations: published colormap values, pixel positions derived
// from the axes frame found by scanning the rendered image, alpha-compositing closed forms.
#include "viz/figure.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <iterator>
#include <limits>

#include <opencv2/imgcodecs.hpp>

#include "core/error.hpp"
#include "sdm_test_support.hpp"
#include "viz/ticks.hpp"

namespace sdm::viz {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

void expect_color(Color c, int r, int g, int b, int tol = 0) {
  EXPECT_NEAR(c.r, r, tol);
  EXPECT_NEAR(c.g, g, tol);
  EXPECT_NEAR(c.b, b, tol);
}

cv::Mat3b decode(const Figure& f) {
  const auto bytes = f.render_png();
  cv::Mat3b img = cv::imdecode(bytes, cv::IMREAD_COLOR);
  EXPECT_FALSE(img.empty());
  return img;
}

bool is_black(const cv::Vec3b& p) { return p[0] < 10 && p[1] < 10 && p[2] < 10; }

// The interior of the (first) axes frame: the first row with a long black run is the top frame
// line; along it the first black run spans the box; down its left column runs the left line.
struct Box {
  int x, y, w, h;  // interior pixels, frame excluded
};

Box find_box(const cv::Mat3b& img) {
  for (int r = 0; r < img.rows; ++r) {
    int c = 0;
    while (c < img.cols && !is_black(img(r, c))) ++c;
    int e = c;
    while (e < img.cols && is_black(img(r, e))) ++e;
    if (e - c < img.cols / 4) continue;
    int b = r;
    while (b + 1 < img.rows && is_black(img(b + 1, c))) ++b;
    return {c + 1, r + 1, e - c - 2, b - r - 1};
  }
  ADD_FAILURE() << "no axes frame found";
  return {0, 0, 1, 1};
}

// Pixel under the continuous point (u, v) of the box, u,v ∈ [0, 1] from the lower left.
cv::Vec3b at(const cv::Mat3b& img, const Box& b, double u, double v) {
  const int c = b.x + std::min(b.w - 1, static_cast<int>(std::floor(u * b.w)));
  const int r = b.y + std::min(b.h - 1, static_cast<int>(std::floor((1.0 - v) * b.h)));
  return img(r, c);
}

bool reddish(const cv::Vec3b& p) { return p[2] > 150 && p[1] < 130 && p[0] < 130; }
bool white(const cv::Vec3b& p) { return p[0] > 245 && p[1] > 245 && p[2] > 245; }

// Any reddish pixel within ±radius of the continuous box point.
bool red_near(const cv::Mat3b& img, const Box& b, double u, double v, int radius = 1) {
  const int c0 = b.x + static_cast<int>(std::floor(u * b.w)), r0 = b.y + static_cast<int>(std::floor((1.0 - v) * b.h));
  for (int dr = -radius; dr <= radius; ++dr)
    for (int dc = -radius; dc <= radius; ++dc) {
      const int r = r0 + dr, c = c0 + dc;
      if (r >= 0 && c >= 0 && r < img.rows && c < img.cols && reddish(img(r, c))) return true;
    }
  return false;
}

constexpr Color kRed{220, 0, 0};

TEST(Colormap, EndpointsMatchPublishedMatplotlibValues) {
  // matplotlib _cm_listed: viridis[0] = (0.267004, 0.004874, 0.329415), viridis[255] = (0.993248,
  // 0.906157, 0.143936), viridis[128] = #21918c; magma[0] = (0.001462, 0.000466, 0.013866),
  // magma[255] = (0.987053, 0.991438, 0.749504); ×255, rounded.
  expect_color(colormap(Colormap::viridis, 0.0), 68, 1, 84, 1);
  expect_color(colormap(Colormap::viridis, 1.0), 253, 231, 37, 1);
  expect_color(colormap(Colormap::viridis, 128.0 / 255.0), 33, 145, 140, 1);
  expect_color(colormap(Colormap::magma, 0.0), 0, 0, 4, 1);
  expect_color(colormap(Colormap::magma, 1.0), 252, 253, 191, 1);
  // Moreland's cool-warm: endpoints (59, 76, 192) and (180, 4, 38), neutral mid-point (221, 221, 221).
  expect_color(colormap(Colormap::coolwarm, 0.0), 59, 76, 192, 1);
  expect_color(colormap(Colormap::coolwarm, 1.0), 180, 4, 38, 1);
  expect_color(colormap(Colormap::coolwarm, 0.5), 221, 221, 221, 3);
  expect_color(colormap(Colormap::gray, 0.0), 0, 0, 0);
  expect_color(colormap(Colormap::gray, 1.0), 255, 255, 255);
  expect_color(colormap(Colormap::gray, 0.5), 128, 128, 128, 1);
  // Clamped outside [0, 1].
  expect_color(colormap(Colormap::viridis, -3.0), 68, 1, 84, 1);
  expect_color(colormap(Colormap::viridis, 7.0), 253, 231, 37, 1);
}

TEST(Colormap, ViridisLightnessIncreasesMonotonically) {
  double last = -1;
  for (int i = 0; i <= 20; ++i) {
    const Color c = colormap(Colormap::viridis, i / 20.0);
    const double luma = 0.2126 * c.r + 0.7152 * c.g + 0.0722 * c.b;
    EXPECT_GT(luma, last) << "at t = " << i / 20.0;
    last = luma;
  }
}

TEST(Palette, IsTab10AndCycles) {
  expect_color(palette(0), 0x1f, 0x77, 0xb4);
  expect_color(palette(1), 0xff, 0x7f, 0x0e);
  expect_color(palette(3), 0xd6, 0x27, 0x28);
  expect_color(palette(9), 0x17, 0xbe, 0xcf);
  expect_color(palette(10), 0x1f, 0x77, 0xb4);
  expect_color(palette(13), 0xd6, 0x27, 0x28);
}

TEST(Ticks, NiceStepsAndCompactLabels) {
  const auto t = nice_ticks(0.0, 1.0, 5);
  ASSERT_EQ(t.size(), 6u);
  for (int i = 0; i < 6; ++i) EXPECT_NEAR(t[i], 0.2 * i, 1e-12);
  EXPECT_EQ(tick_labels(t), (std::vector<std::string>{"0.0", "0.2", "0.4", "0.6", "0.8", "1.0"}));
  EXPECT_EQ(nice_ticks(-3.7, 12.2, 5), (std::vector<double>{0, 5, 10}));
  EXPECT_EQ(tick_labels({0, 50, 100, 150}), (std::vector<std::string>{"0", "50", "100", "150"}));
  EXPECT_EQ(tick_labels({-2e-10, 0, 2e-10, 4e-10}), (std::vector<std::string>{"-2e-10", "0", "2e-10", "4e-10"}));
  EXPECT_EQ(tick_labels({1e-10, 1.5e-10, 2e-10}), (std::vector<std::string>{"1e-10", "1.5e-10", "2e-10"}));
  EXPECT_EQ(tick_labels({0, 2e5, 4e5}), (std::vector<std::string>{"0", "2e5", "4e5"}));
  // Tiny ranges still get at least two ticks.
  EXPECT_GE(nice_ticks(1.0, 1.0 + 1e-9, 5).size(), 2u);
}

TEST(Ticks, LogAxesTickAtDecades) {
  EXPECT_EQ(log_ticks(1e-4, 0.5, 6), (std::vector<double>{1e-4, 1e-3, 1e-2, 1e-1}));
  EXPECT_EQ(log_tick_labels({0.01, 0.1, 1, 10, 100}), (std::vector<std::string>{"0.01", "0.1", "1", "10", "100"}));
  EXPECT_EQ(log_tick_labels({1e-12, 1e-10, 1e-8}), (std::vector<std::string>{"1e-12", "1e-10", "1e-8"}));
  // 21 decades with room for ~5 ticks: every ceil(21/5) = 5th decade, at multiples of 5.
  EXPECT_EQ(log_ticks(1e-12, 1e8, 5), (std::vector<double>{1e-10, 1e-5, 1, 1e5}));
  // Under two decades: 1-2-5 steps.
  EXPECT_EQ(log_ticks(1.5, 30, 5), (std::vector<double>{2, 5, 10, 20}));
}

TEST(Text, TransliteratesForHersheyFonts) {
  EXPECT_EQ(to_ascii("height (µm)"), "height (um)");
  EXPECT_EQ(to_ascii("area (nm²)"), "area (nm^2)");
  EXPECT_EQ(to_ascii("k (m⁻¹)"), "k (m^-1)");
  EXPECT_EQ(to_ascii("3 Å"), "3 A");
  EXPECT_EQ(to_ascii("1–2 — 3"), "1-2 - 3");
  EXPECT_EQ(to_ascii("10×10"), "10x10");
  EXPECT_EQ(to_ascii("wait…"), "wait...");
  EXPECT_EQ(to_ascii("σ = 5 Ω, T = 300 °C"), "sigma = 5 Ohm, T = 300 degC");
  EXPECT_EQ(to_ascii("plain ASCII 123"), "plain ASCII 123");
  EXPECT_EQ(to_ascii("中"), "?");
}

TEST(Figure, DiagonalLineLightsTheBoxDiagonal) {
  Figure f(1, 1, 400, 300);
  auto& ax = f.axes();
  ax.xlim(0, 1);
  ax.ylim(0, 1);
  ax.grid(false);
  ax.line({0, 1}, {0, 1}, kRed, "", 1.0);
  const cv::Mat3b img = decode(f);
  const Box b = find_box(img);
  EXPECT_GT(b.w, 250);
  EXPECT_GT(b.h, 180);
  for (double t = 0.05; t < 0.96; t += 0.05) {
    EXPECT_TRUE(red_near(img, b, t, t)) << "diagonal at t = " << t;
    if (std::abs(t - 0.5) > 0.1) {
      EXPECT_TRUE(white(at(img, b, t, 1.0 - t))) << "anti-diagonal at t = " << t;
    }
  }
}

TEST(Figure, NanBreaksALine) {
  Figure f(1, 1, 400, 300);
  auto& ax = f.axes();
  ax.xlim(0, 1);
  ax.ylim(0, 1);
  ax.grid(false);
  ax.line({0, 0.25, 0.5, 0.75, 1}, {0.5, 0.5, kNaN, 0.5, 0.5}, kRed, "", 2.0);
  const cv::Mat3b img = decode(f);
  const Box b = find_box(img);
  for (double u : {0.05, 0.2, 0.8, 0.95}) EXPECT_TRUE(red_near(img, b, u, 0.5)) << "u = " << u;
  for (double u : {0.3, 0.4, 0.5, 0.6, 0.7}) EXPECT_FALSE(red_near(img, b, u, 0.5, 2)) << "gap expected at u = " << u;
}

TEST(Figure, ImageHasRowZeroAtTopAndExactCellColours) {
  // 4×2 gray gradient, value = 4*row + col, mapped over [0, 7].
  std::vector<double> v(8);
  for (int k = 0; k < 8; ++k) v[k] = k;
  Figure f(1, 1, 560, 420);
  auto& ax = f.axes();
  ax.image(v, 4, 2, 0.0, 4.0, 0.0, 2.0, Colormap::gray, "", 0.0, 7.0);
  const cv::Mat3b img = decode(f);
  const Box b = find_box(img);
  for (int row = 0; row < 2; ++row)
    for (int col = 0; col < 4; ++col) {
      const cv::Vec3b p = at(img, b, (col + 0.5) / 4.0, 1.0 - (row + 0.5) / 2.0);  // row 0 at the top
      const int expected = static_cast<int>(std::lround((4 * row + col) / 7.0 * 255.0));
      EXPECT_NEAR(p[0], expected, 1) << "cell (" << row << ", " << col << ")";
      EXPECT_EQ(p[0], p[1]);
      EXPECT_EQ(p[1], p[2]);
    }
}

TEST(Figure, ImageEndsMapToViridisEndpoints) {
  Figure f;
  auto& ax = f.axes();
  ax.image({-2.0, 5.0}, 2, 1, 0, 1, 0, 1, Colormap::viridis, "value");
  const cv::Mat3b img = decode(f);
  const Box b = find_box(img);
  const cv::Vec3b lo = at(img, b, 0.25, 0.5), hi = at(img, b, 0.75, 0.5);  // BGR
  EXPECT_NEAR(lo[2], 68, 1);
  EXPECT_NEAR(lo[1], 1, 1);
  EXPECT_NEAR(lo[0], 84, 1);
  EXPECT_NEAR(hi[2], 253, 1);
  EXPECT_NEAR(hi[1], 231, 1);
  EXPECT_NEAR(hi[0], 37, 1);
}

TEST(Figure, EqualAspectKeepsTheExtentRatio) {
  Figure f(1, 1, 560, 420);
  auto& ax = f.axes();
  ax.image(std::vector<double>(2 * 8, 1.0), 8, 2, 0, 8e-6, 0, 2e-6, Colormap::magma, "");
  ax.equal_aspect();
  const Box b = find_box(decode(f));
  EXPECT_NEAR(static_cast<double>(b.w) / b.h, 4.0, 0.1);
}

TEST(Figure, BandIsAlphaBlendedOverTheBackground) {
  Figure f(1, 1, 400, 300);
  auto& ax = f.axes();
  ax.xlim(0, 1);
  ax.ylim(0, 1);
  ax.grid(false);
  ax.band({0, 1}, {0.2, 0.2}, {0.8, 0.8}, Color{0, 0, 255}, 0.25);
  const cv::Mat3b img = decode(f);
  const Box b = find_box(img);
  // Over white: 0.25·(0, 0, 255) + 0.75·255 = (191.25, 191.25, 255).
  const cv::Vec3b in = at(img, b, 0.5, 0.5);
  EXPECT_NEAR(in[2], 191.25, 1.5);
  EXPECT_NEAR(in[1], 191.25, 1.5);
  EXPECT_EQ(in[0], 255);
  EXPECT_TRUE(white(at(img, b, 0.5, 0.1)));
  EXPECT_TRUE(white(at(img, b, 0.5, 0.9)));
}

TEST(Figure, LogAxisMapsDecadesLinearly) {
  // y = 10^x is straight on a log axis: x = 0.5 sits at mid-height, x = 0.25 at a quarter.
  std::vector<double> x, y;
  for (int i = 0; i <= 100; ++i) x.push_back(i / 100.0), y.push_back(std::pow(10.0, i / 100.0));
  Figure f(1, 1, 400, 300);
  auto& ax = f.axes();
  ax.xlim(0, 1);
  ax.ylim(1, 10);
  ax.log_y();
  ax.grid(false);
  ax.line(x, y, kRed, "", 1.0);
  const cv::Mat3b img = decode(f);
  const Box b = find_box(img);
  for (double t : {0.25, 0.5, 0.75}) EXPECT_TRUE(red_near(img, b, t, t)) << "t = " << t;
  EXPECT_FALSE(red_near(img, b, 0.5, std::log10(1 + 9 * 0.5), 2));  // not where a linear axis would put it
}

TEST(Figure, ConstantSeriesGetsARangeAndSitsMidHeight) {
  Figure f(1, 1, 400, 300);
  auto& ax = f.axes();
  ax.grid(false);
  ax.line({0, 1, 2, 3}, {5e-10, 5e-10, 5e-10, 5e-10}, kRed, "", 2.0);
  const cv::Mat3b img = decode(f);
  const Box b = find_box(img);
  EXPECT_TRUE(red_near(img, b, 0.5, 0.5));
  EXPECT_TRUE(white(at(img, b, 0.5, 0.8)));
}

TEST(Figure, LegendTakesTheEmptiestCorner) {
  Figure f(1, 1, 400, 300);
  auto& ax = f.axes();
  ax.xlim(0, 1);
  ax.ylim(0, 1);
  ax.grid(false);
  // Data fill the upper half: the legend must go to a lower corner.
  ax.band({0, 1}, {0.5, 0.5}, {1, 1}, kRed, 0.3);
  ax.line({0, 1}, {0.75, 0.75}, kRed, "series");
  const cv::Mat3b img = decode(f);
  const Box b = find_box(img);
  auto border_pixels = [&](int r0, int r1) {  // the legend frame is (190, 190, 190)
    int n = 0;
    for (int r = r0; r < r1; ++r)
      for (int c = b.x; c < b.x + b.w; ++c) n += img(r, c) == cv::Vec3b(190, 190, 190);
    return n;
  };
  EXPECT_EQ(border_pixels(b.y, b.y + b.h / 2), 0);
  EXPECT_GT(border_pixels(b.y + b.h / 2, b.y + b.h), 40);
}

TEST(Figure, BadInputsThrowNamingFunctionAndSizes) {
  Figure f;
  auto& ax = f.axes();
  auto message = [](auto&& fn) {
    try {
      fn();
    } catch (const sdm::Error& e) {
      return std::string(e.what());
    }
    return std::string("no exception");
  };
  const std::string m1 = message([&] { ax.line({0, 1, 2}, {0, 1}, kRed); });
  EXPECT_NE(m1.find("line"), std::string::npos) << m1;
  EXPECT_NE(m1.find('3'), std::string::npos) << m1;
  EXPECT_NE(m1.find('2'), std::string::npos) << m1;
  const std::string m2 = message([&] { ax.image(std::vector<double>(5), 3, 2, 0, 1, 0, 1, Colormap::gray, ""); });
  EXPECT_NE(m2.find("image"), std::string::npos) << m2;
  EXPECT_NE(m2.find('5'), std::string::npos) << m2;
  EXPECT_NE(m2.find('6'), std::string::npos) << m2;
  const std::string m3 = message([&] { ax.band({0, 1}, {0, 1}, {0}, kRed); });
  EXPECT_NE(m3.find("band"), std::string::npos) << m3;
  EXPECT_NE(message([&] { ax.scatter({}, {}, kRed); }).find("empty"), std::string::npos);
  EXPECT_NE(message([&] { ax.label_image({0, 3}, 2, 1, 0, 1, 0, 1, {"a", "b"}); }).find("label 3"), std::string::npos);
  EXPECT_NE(message([&] { ax.xlim(1, 1); }).find("xlim"), std::string::npos);
  EXPECT_NE(message([&] { f.axes(1, 0); }).find("axes"), std::string::npos);
  EXPECT_THROW(Figure(0, 1), sdm::Error);
}

TEST(Figure, SaveWritesAtomicallyAndNamesAnUnwritablePath) {
  sdm::test::TempDir dir;
  Figure f;
  f.axes().line({0, 1}, {1, 0}, palette(0), "a");
  const auto path = dir / "fig.png";
  f.save_png(path);
  std::ifstream in(path, std::ios::binary);
  const std::vector<unsigned char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(bytes, f.render_png());
  int files = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(dir.path())) ++files;
  EXPECT_EQ(files, 1) << "temporary file left behind";

  const std::string bad = (dir / "no-such-folder" / "fig.png").string();
  try {
    f.save_png(bad);
    ADD_FAILURE() << "expected sdm::Error";
  } catch (const sdm::Error& e) {
    EXPECT_NE(std::string(e.what()).find(bad), std::string::npos) << e.what();
  }
}

TEST(Figure, RendersAreByteIdentical) {
  auto build = [] {
    Figure f(1, 2);
    auto& a = f.axes(0, 0);
    a.band({0, 1, 2}, {0, 0.5, 1}, {1, 1.5, 2}, palette(1));
    a.line({0, 1, 2}, {0.5, 1, 1.5}, palette(1), "mean");
    a.scatter_values({0, 1, 2}, {2, 1, 0}, {3, 4, 5}, Colormap::magma, "v");
    f.axes(0, 1).image({1, 2, 3, 4}, 2, 2, 0, 1, 0, 1, Colormap::coolwarm, "I (µA)");
    f.suptitle("determinism");
    return f.render_png();
  };
  EXPECT_EQ(build(), build());
}

TEST(TileGrid, LaysOutScaledTilesWithGaps) {
  sdm::test::TempDir dir;
  const auto path = dir / "tiles.png";
  // Two 2×2 tiles, scale 3, gap 1 → width 1 + 6 + 1 + 6 + 1 = 15, height 1 + 6 + 1 = 8.
  save_tile_grid(path, {{0.0, 1.0, 0.5, 0.25}, {1.0, 1.0, 0.0, 0.0}}, 2, 1, 2, 0.0, 1.0, 1, "", 3);
  const cv::Mat3b img = cv::imread(path.string(), cv::IMREAD_COLOR);
  ASSERT_EQ(img.cols, 15);
  ASSERT_EQ(img.rows, 8);
  EXPECT_EQ(img(0, 0), cv::Vec3b(255, 255, 255));  // gap
  EXPECT_EQ(img(1, 1), cv::Vec3b(0, 0, 0));        // tile 0 (0,0) = 0
  EXPECT_EQ(img(3, 4), cv::Vec3b(255, 255, 255));  // tile 0 (0,1) = 1
  EXPECT_EQ(img(4, 1)[0], 128);                    // tile 0 (1,0) = 0.5
  EXPECT_EQ(img(6, 6)[0], 64);                     // tile 0 (1,1) = 0.25
  EXPECT_EQ(img(2, 7), cv::Vec3b(255, 255, 255));  // gap between tiles
  EXPECT_EQ(img(5, 9), cv::Vec3b(0, 0, 0));        // tile 1 (1,0) = 0
  EXPECT_THROW(save_tile_grid(path, {{0.0, 1.0, 0.5}}, 2, 1, 1), sdm::Error);
  EXPECT_THROW(save_tile_grid(path, {{0, 0, 0, 0}, {0, 0, 0, 0}}, 2, 1, 1), sdm::Error);
  const std::string bad = (dir / "missing" / "t.png").string();
  try {
    save_tile_grid(bad, {{0, 0, 0, 0}}, 2, 1, 1);
    ADD_FAILURE() << "expected sdm::Error";
  } catch (const sdm::Error& e) {
    EXPECT_NE(std::string(e.what()).find(bad), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace sdm::viz
