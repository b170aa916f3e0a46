// Topography: tip dilation against a brute-force Villarrubia dilation and closed forms for a
// paraboloid tip; roughness RMS and correlation length against their definitions.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>

#include "sim/film.hpp"
#include "sim/topography.hpp"

using namespace sdm::sim;

namespace {

/// image(x) = max over every grid offset u of h(x + u) − |u|²/(2R), periodic (definition).
std::vector<double> brute_dilation(const std::vector<double>& h, int n, double p, double R) {
  std::vector<double> out(h.size());
  for (int y = 0; y < n; ++y)
    for (int x = 0; x < n; ++x) {
      double best = -1e300;
      for (int dy = -n / 2; dy < n - n / 2; ++dy)
        for (int dx = -n / 2; dx < n - n / 2; ++dx) {
          const double u2 = (dx * dx + dy * dy) * p * p;
          best = std::max(best, h[std::size_t((y + dy + n) % n) * n + (x + dx + n) % n] - u2 / (2 * R));
        }
      out[std::size_t(y) * n + x] = best;
    }
  return out;
}

/// A straight groove along y: h(x) = profile(x − centre) on every row.
std::vector<double> groove_map(int n, double p, const std::function<double(double)>& profile) {
  std::vector<double> h(std::size_t(n) * n);
  for (int y = 0; y < n; ++y)
    for (int x = 0; x < n; ++x) h[std::size_t(y) * n + x] = profile((x - n / 2) * p);
  return h;
}

}  // namespace

TEST(Topography, DilationEqualsTheBruteForceDefinition) {
  const int n = 24;
  std::mt19937_64 rng(3);
  std::normal_distribution<double> g(0.0, 5e-9);
  std::vector<double> h(n * n);
  for (double& v : h) v = g(rng);
  for (double R : {2e-9, 20e-9, 200e-9}) {
    const auto fast = dilate_paraboloid(h, n, 4e-9, R);
    const auto ref = brute_dilation(h, n, 4e-9, R);
    for (std::size_t i = 0; i < h.size(); ++i) ASSERT_NEAR(fast[i], ref[i], 1e-18) << "R " << R << " i " << i;
  }
}

// A rectangular trench of half-width w (rims at ±w) deeper than w²/(2R): a paraboloid
// resting on both rims has its apex w²/(2R) below them (PHYSICS.md).
TEST(Topography, TrenchAppearsExactlyWSquaredOver2RDeep) {
  const int n = 96;
  const double p = 2e-9, w = 10 * p, depth = 50e-9;
  const auto h = groove_map(n, p, [&](double x) { return std::abs(x) < w - 1e-15 ? -depth : 0.0; });
  for (double R : {10e-9, 20e-9, 30e-9}) {
    const auto img = dilate_paraboloid(h, n, p, R);
    const double apparent = -img[std::size_t(10) * n + n / 2];
    EXPECT_NEAR(apparent, w * w / (2 * R), 1e-15) << "R " << R;
  }
}

// Gaussian groove h = −D·exp(−x²/(2s²)): its bottom has curvature radius s²/D, so a tip with
// R < s²/D reaches the bottom (apparent depth D) and a blunter one does not. As R grows the
// image never goes below the surface and the part of the groove deeper than D/2 narrows.
TEST(Topography, DilationNeverLowersTheSurfaceAndNarrowsGroovesAsTheRadiusGrows) {
  const int n = 128;
  const double p = 1e-9, D = 20e-9, s = 8.5e-9;  // FWHM 20 nm
  const auto h = groove_map(n, p, [&](double x) { return -D * std::exp(-x * x / (2 * s * s)); });
  const double rho = s * s / D;  // 3.6 nm
  double prev_width = 1e9, prev_depth = 1e9;
  for (double R : {0.5 * rho, 10e-9, 20e-9, 30e-9, 60e-9}) {
    const auto img = dilate_paraboloid(h, n, p, R);
    for (std::size_t i = 0; i < h.size(); ++i) ASSERT_GE(img[i], h[i]);
    const std::size_t row = std::size_t(7) * n;
    const double depth = -img[row + n / 2];
    int width = 0;
    for (int x = 0; x < n; ++x) width += img[row + x] < -D / 2;
    if (R < rho) {
      EXPECT_NEAR(depth, D, 1e-18);
    } else {
      EXPECT_LT(depth, D);
      EXPECT_LE(depth, prev_depth);
      EXPECT_LE(width, prev_width);
    }
    prev_width = width;
    prev_depth = depth;
  }
  EXPECT_LT(prev_width, 10);  // a 60 nm tip leaves a much narrower deep groove than the 17 px of the surface
}

TEST(Topography, FilmMeasuredImageIsDilatedAndFilledMoreByBluntTips) {
  FilmConfig c;
  c.size_px = 256;
  c.scan_size_m = 1.0e-6;
  c.height_noise_m = 0;
  double prev_fill = -1;
  for (double R : {10e-9, 20e-9, 30e-9}) {
    c.tip_radius_m = R;
    const Film f = generate_film(c, 8);
    double fill = 0;
    int nb = 0;
    for (std::size_t i = 0; i < f.pixel_count(); ++i) {
      ASSERT_GE(f.dilated_height_m[i], f.true_height_m[i]);
      ASSERT_EQ(f.measured_height_m[i], f.dilated_height_m[i]);  // no noise configured
      if (f.motif[i] != Motif::grain_interior) {
        fill += f.dilated_height_m[i] - f.true_height_m[i];
        ++nb;
      }
    }
    fill /= nb;
    EXPECT_GT(fill, prev_fill) << "R " << R;
    prev_fill = fill;
  }
  // Same film, same seed: only the tip changed, so the true surface is identical.
  c.tip_radius_m = 10e-9;
  const Film a = generate_film(c, 8);
  c.tip_radius_m = 30e-9;
  const Film b = generate_film(c, 8);
  EXPECT_EQ(a.true_height_m, b.true_height_m);
}

TEST(Topography, MeasurementNoiseHasTheConfiguredRms) {
  FilmConfig c;
  c.size_px = 256;
  c.height_noise_m = 0.5e-9;
  const Film f = generate_film(c, 1);
  double s = 0, s2 = 0;
  for (std::size_t i = 0; i < f.pixel_count(); ++i) {
    const double d = f.measured_height_m[i] - f.dilated_height_m[i];
    s += d;
    s2 += d * d;
  }
  const double n = double(f.pixel_count());
  EXPECT_NEAR(std::sqrt(s2 / n - (s / n) * (s / n)), 0.5e-9, 0.5e-9 * 4 / std::sqrt(2 * n));
}

// Expected RMS from the analytic normalisation; ~4000 correlation areas give a 1.1 % standard
// error of the sample RMS (tolerance 5 %). Autocorrelation exp(−r²/l²) is e^−1 at r = l and
// e^−4 at r = 2l (tolerance 0.03, the sampling error of a correlation over ~4000 areas ×3).
TEST(Topography, RoughnessHasTheConfiguredRmsAndCorrelationLength) {
  const int n = 512;
  const double p = 2e-9, rms = 5e-9, corr = 8e-9;  // l = 4 px
  std::mt19937_64 rng(5);
  const auto r = correlated_roughness(n, p, rms, corr, rng);
  double mean = 0;
  for (double v : r) mean += v / r.size();
  double var = 0;
  for (double v : r) var += (v - mean) * (v - mean) / r.size();
  EXPECT_NEAR(std::sqrt(var), rms, 0.05 * rms);
  auto autocorr = [&](int lag) {
    double c = 0;
    for (int y = 0; y < n; ++y)
      for (int x = 0; x < n; ++x)
        c += (r[std::size_t(y) * n + x] - mean) * (r[std::size_t(y) * n + (x + lag) % n] - mean) +
             (r[std::size_t(y) * n + x] - mean) * (r[std::size_t((y + lag) % n) * n + x] - mean);
    return c / (2.0 * n * n) / var;
  };
  EXPECT_NEAR(autocorr(4), std::exp(-1.0), 0.03);
  EXPECT_NEAR(autocorr(8), std::exp(-4.0), 0.03);
}

TEST(Topography, FilmSurfaceHasGroovesAtBoundariesAndDomesInside) {
  FilmConfig c;
  c.size_px = 256;
  c.roughness_rms_m = 0;
  c.height_noise_m = 0;
  const Film f = generate_film(c, 6);
  double interior = 0, boundary = 0;
  int ni = 0, nb = 0;
  for (std::size_t i = 0; i < f.pixel_count(); ++i) {
    if (f.boundary_distance_m[i] < 2e-9) boundary += f.true_height_m[i], ++nb;
    if (f.motif[i] == Motif::grain_interior) interior += f.true_height_m[i], ++ni;
  }
  // Groove bottoms sit ~groove_depth below the boundary line; domes rise inside.
  EXPECT_LT(boundary / nb, -0.5 * c.groove_depth_m);
  EXPECT_GT(interior / ni, 0.3 * c.dome_height_m);
}
