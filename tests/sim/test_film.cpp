// The film's microstructure and labels against independent expectations:
// - grain sizes: Kolmogorov–Smirnov test of the pixel-counted equivalent diameters against
//   the requested lognormal CDF (not against the drawn targets);
// - boundary / junction pixel fractions against closed-form tessellation geometry;
// - labels against the grain-id map alone (a junction pixel sees ≥ 3 grains nearby, ...);
// - asymmetric fraction: binomial bounds; determinism; pixel conventions.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <set>

#include "core/error.hpp"
#include "sim/film.hpp"

using namespace sdm::sim;

namespace {

double lognormal_cdf(double d, double mean, double sigma) {
  const double mu = std::log(mean) - 0.5 * sigma * sigma;
  return 0.5 * std::erfc(-(std::log(d) - mu) / (sigma * std::sqrt(2.0)));
}

/// KS statistic of `sample` against a CDF.
template <class F>
double ks_statistic(std::vector<double> sample, F cdf) {
  std::sort(sample.begin(), sample.end());
  const double n = double(sample.size());
  double d = 0;
  for (std::size_t i = 0; i < sample.size(); ++i) {
    const double f = cdf(sample[i]);
    d = std::max({d, std::abs(f - i / n), std::abs((i + 1) / n - f)});
  }
  return d;
}

/// Equivalent-circle diameters measured by counting each grain's pixels.
std::vector<double> pixel_diameters(const Film& f) {
  std::vector<double> count(f.grains.size(), 0.0);
  for (std::int32_t g : f.grain_id) count[std::size_t(g)] += 1;
  std::vector<double> d;
  for (double c : count)
    if (c > 0) d.push_back(std::sqrt(4 * c * f.pixel_m * f.pixel_m / M_PI));
  return d;
}

FilmConfig big_film(double mean_m, double sigma) {
  FilmConfig c;
  c.size_px = 384;
  c.scan_size_m = 6e-6;
  c.grain_mean_m = mean_m;
  c.grain_sigma_ln = sigma;
  return c;
}

std::array<double, kMotifCount> fractions(const Film& f) {
  std::array<double, kMotifCount> out{};
  for (Motif m : f.motif) out[std::size_t(m)] += 1.0 / double(f.pixel_count());
  return out;
}

}  // namespace

TEST(Film, MotifNamesAndCount) {
  EXPECT_EQ(kMotifCount, 4);
  EXPECT_STREQ(motif_name(Motif::grain_interior), "grain_interior");
  EXPECT_STREQ(motif_name(Motif::grain_boundary), "grain_boundary");
  EXPECT_STREQ(motif_name(Motif::triple_junction), "triple_junction");
  EXPECT_STREQ(motif_name(Motif::asymmetric_boundary), "asymmetric_boundary");
  EXPECT_EQ(int(Motif::asymmetric_boundary), 3);
}

// KS test at alpha = 0.01: D_crit = 1.628/sqrt(n) (asymptotic Kolmogorov distribution).
// Pixel counting at ~19 px per mean diameter biases diameters by < 1 %, which moves the CDF
// by < 0.01; the grains are i.i.d. lognormal draws, so the test fails only by chance (1 %)
// or if the tessellation does not realise the drawn sizes.
TEST(Film, GrainSizesFollowTheRequestedLognormal) {
  for (double sigma : {0.3, 0.5}) {
    const FilmConfig c = big_film(0.3e-6, sigma);
    const Film f = generate_film(c, 11);
    const std::vector<double> d = pixel_diameters(f);
    ASSERT_GT(d.size(), 250u);
    const double D = ks_statistic(d, [&](double x) { return lognormal_cdf(x, c.grain_mean_m, sigma); });
    EXPECT_LT(D, 1.628 / std::sqrt(double(d.size()))) << "sigma " << sigma << ", n " << d.size();
    // The wrong shape must fail the same test (the test has power): sigma off by 0.15.
    const double D_wrong = ks_statistic(d, [&](double x) { return lognormal_cdf(x, c.grain_mean_m, sigma + 0.15); });
    EXPECT_GT(D_wrong, 1.628 / std::sqrt(double(d.size()))) << "sigma " << sigma;
    // Realised polygon areas match the drawn targets (after the tiling rescale).
    EXPECT_LT(f.tessellation.max_relative_area_error, 2e-3);
  }
}

TEST(Film, EveryPixelBelongsToTheGrainWhosePolygonContainsIt) {
  FilmConfig c;
  c.size_px = 128;
  const Film f = generate_film(c, 3);
  const Tessellation& t = f.tessellation;
  for (int iy = 0; iy < f.size_px; iy += 3)
    for (int ix = 0; ix < f.size_px; ix += 3) {
      Vec2 local;
      const int g = t.owner({f.x_m(ix), f.y_m(iy)}, &local);
      ASSERT_EQ(g, f.grain_id[f.index(ix, iy)]);
      // Point-in-convex-polygon: left of every counter-clockwise edge (up to rounding).
      for (const CellEdge& e : t.cells[std::size_t(g)].edges) {
        const double cross = (e.b_m.x - e.a_m.x) * (local.y - e.a_m.y) - (e.b_m.y - e.a_m.y) * (local.x - e.a_m.x);
        ASSERT_GE(cross, -1e-20);
      }
    }
}

// Closed-form geometry of a trivalent tessellation of near-hexagonal (Lloyd-relaxed) cells:
// boundary length per area L_A = (c/2)·E[√A]/E[A] with c = 2√(2√3) ≈ 3.72 for a regular
// hexagon; with d lognormal, E[√A]/E[A] = (2/√π)·exp(−σ²)/mean, so L_A ≈ 2.10·exp(−σ²)/mean.
// Vertices per area = 2/E[A] (Euler's formula, each cell has 6 vertices shared by 3).
// Expected fractions: junctions ≈ (2/E[A])·π·r_j²; boundary bands (normal + asymmetric +
// junction) ≈ 2·h_b·L_A + (2/E[A])·(π r_j² − 3·2·h_b·r_j). Tolerance 25 %: dispersion in cell
// shape and overlapping disks at short edges are not in the closed form.
TEST(Film, BoundaryAndJunctionFractionsArePlausibleForTheGrainSize) {
  for (double mean : {0.3e-6, 0.6e-6}) {
    FilmConfig c = big_film(mean, 0.4);
    c.scan_size_m = mean < 0.5e-6 ? 6e-6 : 8e-6;  // 7.8 nm pixels resolve the 20 nm bands
    c.size_px = mean < 0.5e-6 ? 768 : 1024;
    const Film f = generate_film(c, 5);
    const auto frac = fractions(f);
    const double s2 = c.grain_sigma_ln * c.grain_sigma_ln;
    const double mean_area = M_PI / 4 * mean * mean * std::exp(s2);
    const double la = 2 * std::sqrt(2 * std::sqrt(3.0)) / 2 * (2 / std::sqrt(M_PI)) * std::exp(-s2) / mean;
    const double hb = c.groove_width_m / 2, rj = c.junction_radius_m;
    const double junction = 2 / mean_area * M_PI * rj * rj;
    const double band = 2 * hb * la + 2 / mean_area * (M_PI * rj * rj - 6 * hb * rj);
    EXPECT_NEAR(frac[2] / junction, 1.0, 0.25) << "mean " << mean;
    EXPECT_NEAR((frac[1] + frac[2] + frac[3]) / band, 1.0, 0.25) << "mean " << mean;
  }
}

// Labels checked from the grain-id map only: a pixel labelled triple junction has ≥ 3
// grains within r_j + 1.5 pixels; a boundary pixel ≥ 2 within h_b + 1.5 pixels; an interior
// pixel that is more than h_b + 1.5 px from any other grain... is the only grain within h_b − 1 px.
TEST(Film, LabelsAgreeWithTheGrainMap) {
  FilmConfig c;
  c.size_px = 512;
  c.scan_size_m = 2e-6;  // 3.9 nm pixels
  const Film f = generate_film(c, 2);
  const int n = f.size_px;
  const auto grains_within = [&](int ix, int iy, double r_m) {
    std::set<int> g;
    const int r = int(std::ceil(r_m / f.pixel_m));
    for (int dy = -r; dy <= r; ++dy)
      for (int dx = -r; dx <= r; ++dx) {
        if (std::hypot(dx, dy) * f.pixel_m > r_m) continue;
        g.insert(f.grain_id[f.index((ix + dx + n) % n, (iy + dy + n) % n)]);
      }
    return g.size();
  };
  const double hb = c.groove_width_m / 2, rj = c.junction_radius_m, slack = 1.5 * f.pixel_m;
  int checked[4] = {0, 0, 0, 0};
  for (int iy = 0; iy < n; iy += 2)
    for (int ix = 0; ix < n; ix += 2) {
      const Motif m = f.motif[f.index(ix, iy)];
      ++checked[int(m)];
      if (m == Motif::triple_junction) {
        ASSERT_GE(grains_within(ix, iy, rj + slack), 3u) << ix << "," << iy;
      }
      if (m == Motif::grain_boundary || m == Motif::asymmetric_boundary) {
        ASSERT_GE(grains_within(ix, iy, hb + slack), 2u) << ix << "," << iy;
      }
      if (m == Motif::grain_interior) {
        ASSERT_EQ(grains_within(ix, iy, hb - slack), 1u) << ix << "," << iy;
      }
    }
  for (int k = 0; k < 4; ++k) EXPECT_GT(checked[k], 20) << motif_name(Motif(k));
}

// Each segment is asymmetric with probability p independently: the count is Binomial(n, p);
// 4-sigma bounds.
TEST(Film, AsymmetricFractionIsAsConfigured) {
  for (double p : {0.02, 0.1, 0.5}) {
    FilmConfig c = big_film(0.3e-6, 0.4);
    c.size_px = 128;
    c.asymmetric_fraction = p;
    const Film f = generate_film(c, 9);
    const double n = double(f.segments.size());
    double k = 0;
    for (const BoundarySegment& s : f.segments) {
      k += s.asymmetric;
      if (s.asymmetric) {
        EXPECT_TRUE(s.high_grain == s.grain_a || s.high_grain == s.grain_b);
      }
    }
    EXPECT_NEAR(k / n, p, 4 * std::sqrt(p * (1 - p) / n) + 1e-12) << "p " << p << " n " << n;
  }
  FilmConfig none;
  none.asymmetric_fraction = 0;
  const auto f0 = fractions(generate_film(none, 1));
  EXPECT_EQ(f0[3], 0.0);
  FilmConfig all;
  all.asymmetric_fraction = 1;
  const auto f1 = fractions(generate_film(all, 1));
  EXPECT_EQ(f1[1], 0.0);
  EXPECT_GT(f1[3], 0.05);
}

TEST(Film, RareAsymmetricSegmentsAreNestedInCommonOnes) {
  FilmConfig rare, common;
  rare.asymmetric_fraction = 0.02;
  common.asymmetric_fraction = 0.2;
  const Film a = generate_film(rare, 4), b = generate_film(common, 4);
  ASSERT_EQ(a.segments.size(), b.segments.size());
  for (std::size_t s = 0; s < a.segments.size(); ++s)
    if (a.segments[s].asymmetric) {
      EXPECT_TRUE(b.segments[s].asymmetric);
    }
}

TEST(Film, SameSeedIsBitIdenticalAndOtherSeedsDiffer) {
  FilmConfig c;
  c.size_px = 96;
  c.scan_size_m = 1.5e-6;
  const Film a = generate_film(c, 42), b = generate_film(c, 42), d = generate_film(c, 43);
  EXPECT_EQ(a.true_height_m, b.true_height_m);
  EXPECT_EQ(a.measured_height_m, b.measured_height_m);
  EXPECT_EQ(a.dilated_height_m, b.dilated_height_m);
  EXPECT_EQ(a.motif, b.motif);
  EXPECT_EQ(a.grain_id, b.grain_id);
  EXPECT_EQ(a.boundary_weight, b.boundary_weight);
  EXPECT_NE(a.true_height_m, d.true_height_m);
  const auto w = sdm::core::Waveform::triangle();
  EXPECT_EQ(ground_truth_iv(a, 10, 20, w).current_a, ground_truth_iv(b, 10, 20, w).current_a);
  EXPECT_EQ(film_seed(c, 7), 7u + c.seed);
}

TEST(Film, PixelConventions) {
  FilmConfig c;
  c.size_px = 64;
  c.scan_size_m = 1.6e-6;
  const Film f = generate_film(c, 1);
  EXPECT_DOUBLE_EQ(f.pixel_m, 25e-9);
  EXPECT_DOUBLE_EQ(f.x_m(0), 12.5e-9);
  EXPECT_DOUBLE_EQ(f.y_m(63), 1.6e-6 - 12.5e-9);
  EXPECT_EQ(f.index(3, 2), 2u * 64 + 3);
  EXPECT_EQ(f.pixel_at(f.x_m(5), f.y_m(7)), std::make_pair(5, 7));
  EXPECT_EQ(f.pixel_at(-1e-9, 1.6e-6 + 1e-9), std::make_pair(63, 0));  // periodic
  EXPECT_EQ(f.true_height_m.size(), 64u * 64);
  EXPECT_EQ(f.junction_weight.size(), 64u * 64);
  EXPECT_THROW(ground_truth_iv(f, 64, 0, sdm::core::Waveform::triangle()), sdm::Error);
}

// Parameters follow the documented motif multipliers: deep in a grain (all weights ~0) they
// are the grain's own; the weights are 1 on the motif and 1/2 at the label edge.
TEST(Film, LocalParametersFollowTheMotifMultipliers) {
  FilmConfig c;
  c.size_px = 256;
  const Film f = generate_film(c, 13);
  const auto params = local_params_map(f);
  ASSERT_EQ(params.size(), f.pixel_count());
  int deep = 0;
  for (std::size_t i = 0; i < f.pixel_count(); ++i) {
    const Grain& g = f.grains[std::size_t(f.grain_id[i])];
    EXPECT_EQ(params[i].ion_tau_s, f.params(i).ion_tau_s);
    if (f.boundary_weight[i] < 1e-12 && f.junction_weight[i] < 1e-12 && f.asymmetric_weight[i] < 1e-12) {
      ++deep;
      EXPECT_NEAR(params[i].conductance_factor, g.conductance_factor, 1e-9);
      EXPECT_NEAR(params[i].ion_tau_s, c.ion_tau_s * g.ion_tau_factor, 1e-9);
      EXPECT_NEAR(params[i].ion_gain, c.ion_gain, 1e-9);
      EXPECT_NEAR(params[i].barrier_pos_ev, c.barrier_ev + g.barrier_offset_ev, 1e-12);
      EXPECT_NEAR(params[i].area_m2, M_PI * c.contact_radius_m * c.contact_radius_m, 1e-30);
    }
    const double hb = std::max(c.groove_width_m / 2, f.pixel_m / 2);
    EXPECT_NEAR(f.boundary_weight[i], std::exp(-std::log(2.0) * std::pow(f.boundary_distance_m[i] / hb, 2)), 1e-6);
  }
  EXPECT_GT(deep, 1000);
}
