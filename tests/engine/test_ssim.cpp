// SSIM against an independent per-window evaluation of the formula and against closed forms
// worked out by hand; structural novelty against a brute-force max over measured patches.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

#include "core/error.hpp"
#include "engine/novelty/ssim.hpp"

using namespace sdm::engine::novelty;
using sdm::engine::gp::RowMatrixF;

namespace {
constexpr double kC1 = 0.01 * 0.01, kC2 = 0.03 * 0.03;

// Reference SSIM: for every window position, weighted moments summed directly over the
// window (no separable filtering), sample covariance factor N/(N−1), mean over positions.
double reference_ssim(const std::vector<double>& a, const std::vector<double>& b, int side, const std::vector<double>& w1) {
  const int win = static_cast<int>(w1.size()), valid = side - win + 1;
  const double N = static_cast<double>(win) * win, cn = N / (N - 1.0);
  double total = 0.0;
  for (int y = 0; y < valid; ++y)
    for (int x = 0; x < valid; ++x) {
      double ma = 0, mb = 0, saa = 0, sbb = 0, sab = 0;
      for (int i = 0; i < win; ++i)
        for (int j = 0; j < win; ++j) {
          const double w = w1[i] * w1[j];
          const double va = a[(y + i) * side + x + j], vb = b[(y + i) * side + x + j];
          ma += w * va;
          mb += w * vb;
          saa += w * va * va;
          sbb += w * vb * vb;
          sab += w * va * vb;
        }
      const double vxa = cn * (saa - ma * ma), vxb = cn * (sbb - mb * mb), cab = cn * (sab - ma * mb);
      total += (2 * ma * mb + kC1) * (2 * cab + kC2) / ((ma * ma + mb * mb + kC1) * (vxa + vxb + kC2));
    }
  return total / (valid * valid);
}

std::vector<double> uniform_weights(int win) { return std::vector<double>(win, 1.0 / win); }

std::vector<double> random_patch(int side, std::mt19937_64& rng) {
  std::uniform_real_distribution<double> u(0.0, 1.0);
  std::vector<double> p(side * side);
  for (double& v : p) v = u(rng);
  return p;
}

// A patch with spatial structure (smooth blob + noise), closer to topography than white noise.
std::vector<double> blob_patch(int side, double cx, double cy, double noise, std::mt19937_64& rng) {
  std::normal_distribution<double> n(0.0, noise);
  std::vector<double> p(side * side);
  for (int y = 0; y < side; ++y)
    for (int x = 0; x < side; ++x)
      p[y * side + x] = std::clamp(std::exp(-((x - cx) * (x - cx) + (y - cy) * (y - cy)) / 20.0) + n(rng), 0.0, 1.0);
  return p;
}

std::vector<double> transpose(const std::vector<double>& p, int side) {
  std::vector<double> t(p.size());
  for (int y = 0; y < side; ++y)
    for (int x = 0; x < side; ++x) t[x * side + y] = p[y * side + x];
  return t;
}
std::vector<double> rotate180(const std::vector<double>& p) { return std::vector<double>(p.rbegin(), p.rend()); }

std::vector<float> to_float(const std::vector<double>& v) { return std::vector<float>(v.begin(), v.end()); }
std::vector<double> to_double(const std::vector<float>& v) { return std::vector<double>(v.begin(), v.end()); }
}  // namespace

TEST(Ssim, MatchesDirectPerWindowFormulaUniform) {
  std::mt19937_64 rng(1);
  for (int side : {7, 8, 11, 16}) {
    for (int trial = 0; trial < 5; ++trial) {
      const auto a = random_patch(side, rng);
      const auto b = trial % 2 ? blob_patch(side, 5, 6, 0.1, rng) : random_patch(side, rng);
      EXPECT_NEAR(ssim(a, b, side), reference_ssim(a, b, side, uniform_weights(7)), 1e-12) << side;
    }
  }
  // Other odd windows.
  const auto a = random_patch(12, rng), b = random_patch(12, rng);
  SsimConfig c3;
  c3.window_px = 3;
  EXPECT_NEAR(ssim(a, b, 12, c3), reference_ssim(a, b, 12, uniform_weights(3)), 1e-12);
}

TEST(Ssim, MatchesDirectPerWindowFormulaGaussian) {
  SsimConfig g;
  g.window = SsimWindow::gaussian;
  g.sigma_px = 1.5;
  ASSERT_EQ(ssim_window_side(g), 11);  // 2·⌊3.5·1.5 + 0.5⌋ + 1
  // Weights written out independently: exp(−x²/4.5) for x = −5..5, normalised.
  std::vector<double> w(11);
  double s = 0;
  for (int k = 0; k < 11; ++k) s += (w[k] = std::exp(-(k - 5.0) * (k - 5.0) / 4.5));
  for (double& v : w) v /= s;
  const auto got_w = ssim_window_weights(g);
  ASSERT_EQ(got_w.size(), 11u);
  for (int k = 0; k < 11; ++k) EXPECT_NEAR(got_w[k], w[k], 1e-15);
  std::mt19937_64 rng(2);
  for (int side : {11, 16}) {
    const auto a = blob_patch(side, 7, 8, 0.05, rng), b = blob_patch(side, 9, 6, 0.05, rng);
    EXPECT_NEAR(ssim(a, b, side, g), reference_ssim(a, b, side, w), 1e-12);
  }
}

TEST(Ssim, ClosedFormsOnOneWindow) {
  // 7×7 patches: one window, so SSIM is the single-window formula.
  // Constants 0.2 and 0.6: σ = 0 ⇒ SSIM = (2·0.2·0.6 + C1)/(0.2² + 0.6² + C1) = 0.2401/0.4001.
  EXPECT_NEAR(ssim(std::vector<double>(49, 0.2), std::vector<double>(49, 0.6), 7), 0.2401 / 0.4001, 1e-12);
  // Ramp a_k = k/48 (mean ½, population variance (49² − 1)/(12·48²) = 200/2304).
  std::vector<double> ramp(49);
  for (int k = 0; k < 49; ++k) ramp[k] = k / 48.0;
  // Shift by 0.1: equal variances and covariance = variance, so only luminance remains:
  // (2·0.5·0.6 + C1)/(0.25 + 0.36 + C1) = 0.6001/0.6101.
  std::vector<double> shifted(49);
  for (int k = 0; k < 49; ++k) shifted[k] = ramp[k] + 0.1;
  EXPECT_NEAR(ssim(ramp, shifted, 7), 0.6001 / 0.6101, 1e-12);
  // Negative 1 − a: same mean, covariance = −variance: SSIM = (C2 − 2v)/(C2 + 2v), v the sample variance.
  std::vector<double> neg(49);
  for (int k = 0; k < 49; ++k) neg[k] = 1.0 - ramp[k];
  const double v = 49.0 / 48.0 * 200.0 / 2304.0;
  EXPECT_NEAR(ssim(ramp, neg, 7), (kC2 - 2 * v) / (kC2 + 2 * v), 1e-12);
  // Contrast halved about the same mean, b = ½ + (a − ½)/2: σb = σa/2, cov = va/2:
  // structure term (2·v/2 + C2)/(v + v/4 + C2).
  std::vector<double> half(49);
  for (int k = 0; k < 49; ++k) half[k] = 0.5 + 0.5 * (ramp[k] - 0.5);
  EXPECT_NEAR(ssim(ramp, half, 7), (v + kC2) / (1.25 * v + kC2), 1e-12);
  // Four windows of the same constant pair (8×8): still the constant closed form.
  EXPECT_NEAR(ssim(std::vector<double>(64, 0.2), std::vector<double>(64, 0.6), 8), 0.2401 / 0.4001, 1e-12);
}

TEST(Ssim, IdentitySymmetryInvarianceAndBounds) {
  std::mt19937_64 rng(3);
  for (int t = 0; t < 20; ++t) {
    const auto a = blob_patch(16, 4 + t % 7, 9, 0.1, rng), b = random_patch(16, rng);
    EXPECT_EQ(ssim(a, a, 16), 1.0);
    const double ab = ssim(a, b, 16);
    EXPECT_NEAR(ab, ssim(b, a, 16), 1e-15);
    // The set of window positions is closed under joint transpose and 180° rotation.
    EXPECT_NEAR(ab, ssim(transpose(a, 16), transpose(b, 16), 16), 1e-12);
    EXPECT_NEAR(ab, ssim(rotate180(a), rotate180(b), 16), 1e-12);
    EXPECT_GE(ab, -1.0);
    EXPECT_LE(ab, 1.0);
  }
  // The float overload agrees with the double one on float-representable data.
  const auto a = to_double(to_float(random_patch(16, rng))), b = to_double(to_float(random_patch(16, rng)));
  EXPECT_NEAR(ssim(to_float(a).data(), to_float(b).data(), 16), ssim(a, b, 16), 1e-15);
}

TEST(Ssim, Errors) {
  EXPECT_THROW(ssim(std::vector<double>(36, 0.0), std::vector<double>(36, 0.0), 6), sdm::Error);  // 6 < 7
  EXPECT_THROW(ssim(std::vector<double>(49, 0.0), std::vector<double>(48, 0.0), 7), sdm::Error);
  SsimConfig even;
  even.window_px = 6;
  EXPECT_THROW(ssim_window_side(even), sdm::Error);
  SsimConfig big;
  big.window = SsimWindow::gaussian;
  big.sigma_px = 3.0;  // 23 px window
  EXPECT_THROW(StructuralNovelty(RowMatrixF::Zero(3, 256), 16, big), sdm::Error);
}

TEST(StructuralNovelty, IncrementalEqualsBruteForceMax) {
  std::mt19937_64 rng(4);
  const int m = 40, side = 16;
  RowMatrixF cand(m, side * side);
  std::vector<std::vector<double>> patches;
  for (int i = 0; i < m; ++i) {
    const auto p = to_double(to_float(i % 3 ? blob_patch(side, i % 13, (i * 7) % 16, 0.08, rng) : random_patch(side, rng)));
    patches.push_back(p);
    for (int k = 0; k < side * side; ++k) cand(i, k) = static_cast<float>(p[k]);
  }
  StructuralNovelty sn(cand, side);
  for (int i = 0; i < m; ++i) EXPECT_EQ(sn.novelty(i), 2.0);  // nothing measured: 1 − (−1)
  const std::vector<int> measured = {5, 17, 33, 2};
  for (int j : measured) sn.add_measured(j);
  EXPECT_EQ(sn.measured_count(), 4);
  const auto nov = sn.novelty();
  for (int i = 0; i < m; ++i) {
    double best = -1.0;
    for (int j : measured) best = std::max(best, reference_ssim(patches[i], patches[j], side, uniform_weights(7)));
    EXPECT_NEAR(nov[i], 1.0 - best, 1e-9) << i;
    EXPECT_GE(nov[i], 0.0);
  }
  for (int j : measured) EXPECT_EQ(sn.novelty(j), 0.0);
  // The fast kernels (compile-time sizes, AVX2 where the CPU has it) return the same bits as
  // the generic pairwise routine.
  std::vector<double> row;
  sn.ssim_with(cand.row(17).data(), row);
  for (int i = 0; i < m; ++i) EXPECT_EQ(row[i], ssim(cand.row(i).data(), cand.row(17).data(), side)) << i;

  // Order of arrival does not matter; a patch from elsewhere counts like any other.
  StructuralNovelty sn2(cand, side);
  for (auto it = measured.rbegin(); it != measured.rend(); ++it) sn2.add_measured(*it);
  EXPECT_EQ(sn2.max_ssim(), sn.max_ssim());
  const auto outside = to_float(blob_patch(side, 8, 8, 0.0, rng));
  sn.add_measured_patch(outside.data());
  std::vector<double> direct;
  sn.ssim_with(outside.data(), direct);
  for (int i = 0; i < m; ++i) {
    EXPECT_NEAR(direct[i], reference_ssim(patches[i], to_double(outside), side, uniform_weights(7)), 1e-9);
    EXPECT_NEAR(sn.max_ssim()[i], std::max(sn2.max_ssim()[i], direct[i]), 1e-15);
  }
  sn.reset();
  EXPECT_EQ(sn.measured_count(), 0);
  EXPECT_EQ(sn.novelty(0), 2.0);
  EXPECT_THROW(sn.add_measured(m), sdm::Error);
}

TEST(StructuralNovelty, GaussianWindowOption) {
  std::mt19937_64 rng(5);
  const int m = 6, side = 16;
  SsimConfig g;
  g.window = SsimWindow::gaussian;
  RowMatrixF cand(m, side * side);
  std::vector<std::vector<double>> patches;
  for (int i = 0; i < m; ++i) {
    patches.push_back(to_double(to_float(blob_patch(side, 3 + 2 * i, 8, 0.05, rng))));
    for (int k = 0; k < side * side; ++k) cand(i, k) = static_cast<float>(patches[i][k]);
  }
  StructuralNovelty sn(cand, side, g);
  sn.add_measured(0);
  const auto w = ssim_window_weights(g);
  for (int i = 0; i < m; ++i) EXPECT_NEAR(sn.novelty(i), 1.0 - reference_ssim(patches[i], patches[0], side, w), 1e-9);
  // The blob shifted farthest from candidate 0's is more novel than the nearest one.
  EXPECT_GT(sn.novelty(m - 1), sn.novelty(1));
}

TEST(StructuralNovelty, GenericSizesAndImageConstructor) {
  // 12 px patches take the generic path; the image constructor must equal the matrix one.
  std::mt19937_64 rng(6);
  const int nx = 40, ny = 30, side = 12;
  std::vector<double> img(nx * ny);
  for (int y = 0; y < ny; ++y)
    for (int x = 0; x < nx; ++x) img[y * nx + x] = 0.5 + 0.4 * std::sin(0.3 * x + 0.1 * y * y / 7.0) * std::cos(0.21 * y);
  sdm::engine::campaign::CandidateGrid grid;
  grid.patch_px = side;
  grid.stride_px = 4;
  grid.image_nx = nx;
  grid.image_ny = ny;
  RowMatrixF cand;
  std::vector<std::vector<float>> pats;
  for (int y0 = 0; y0 + side <= ny; y0 += 4)
    for (int x0 = 0; x0 + side <= nx; x0 += 4) {
      grid.ix_px.push_back(x0 + side / 2);
      grid.iy_px.push_back(y0 + side / 2);
      std::vector<float> p(side * side);
      for (int r = 0; r < side; ++r)
        for (int c = 0; c < side; ++c) p[r * side + c] = static_cast<float>(img[(y0 + r) * nx + x0 + c]);
      pats.push_back(p);
    }
  cand.resize(static_cast<Eigen::Index>(pats.size()), side * side);
  for (size_t i = 0; i < pats.size(); ++i)
    for (int k = 0; k < side * side; ++k) cand(static_cast<Eigen::Index>(i), k) = pats[i][k];
  for (SsimWindow window : {SsimWindow::uniform, SsimWindow::gaussian}) {
    SsimConfig cfg;
    cfg.window = window;
    StructuralNovelty from_matrix(cand, side, cfg), from_image(img, grid, cfg);
    ASSERT_EQ(from_image.size(), static_cast<int>(pats.size()));
    for (int j : {0, 7, 20}) {
      from_matrix.add_measured(j);
      from_image.add_measured(j);
    }
    EXPECT_EQ(from_matrix.max_ssim(), from_image.max_ssim());
    for (size_t i = 0; i < pats.size(); ++i) {
      double best = -1;
      for (int j : {0, 7, 20}) best = std::max(best, ssim(pats[i].data(), pats[j].data(), side, cfg));
      EXPECT_EQ(from_image.max_ssim()[i], best) << i;
    }
    EXPECT_EQ(from_image.novelty(7), 0.0);
  }
  std::vector<double> bad = img;
  bad[5] = NAN;
  EXPECT_THROW(StructuralNovelty(bad, grid), sdm::Error);
}
