#include "sim/topography.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/error.hpp"

namespace sdm::sim {
namespace {

/// out[q] = max_p (f[p] − (q − p)²·c) over a periodic line of length n, in place on f.
/// Implemented as the lower envelope of parabolas (q − p)² + g(p), g = −f/c.
void dilate_line(std::vector<double>& f, int n, double c, int margin, std::vector<double>& g, std::vector<int>& v,
                 std::vector<double>& z, std::vector<double>& out) {
  const int m = n + 2 * margin;
  g.resize(m);
  for (int i = 0; i < m; ++i) {
    int src = (i - margin) % n;
    if (src < 0) src += n;
    g[i] = -f[src] / c;
  }
  v.resize(m);
  z.resize(m + 1);
  int k = 0;
  v[0] = 0;
  z[0] = -std::numeric_limits<double>::infinity();
  z[1] = std::numeric_limits<double>::infinity();
  for (int q = 1; q < m; ++q) {
    double s = ((g[q] + double(q) * q) - (g[v[k]] + double(v[k]) * v[k])) / (2.0 * (q - v[k]));
    while (s <= z[k]) {  // z[0] = −inf stops the loop at k = 0
      --k;
      s = ((g[q] + double(q) * q) - (g[v[k]] + double(v[k]) * v[k])) / (2.0 * (q - v[k]));
    }
    ++k;
    v[k] = q;
    z[k] = s;
    z[k + 1] = std::numeric_limits<double>::infinity();
  }
  out.resize(n);
  k = 0;
  for (int q = margin; q < margin + n; ++q) {
    while (z[k + 1] < q) ++k;
    const double d = double(q - v[k]);
    // Evaluate with the original height (not via g) and keep u = 0, so image ≥ surface exactly.
    int src = (v[k] - margin) % n;
    if (src < 0) src += n;
    out[q - margin] = std::max(f[q - margin], f[src] - d * d * c);
  }
  std::copy(out.begin(), out.end(), f.begin());
}

}  // namespace

std::vector<double> dilate_paraboloid(const std::vector<double>& h, int n, double pixel_m, double tip_radius_m) {
  if (n <= 0 || h.size() != std::size_t(n) * n) throw Error("dilate_paraboloid: height map must be n×n");
  if (!(pixel_m > 0) || !(tip_radius_m > 0)) throw Error("dilate_paraboloid: pixel and tip radius must be positive");
  const double c = pixel_m * pixel_m / (2 * tip_radius_m);  // parabola drop per pixel², m
  const auto [lo, hi] = std::minmax_element(h.begin(), h.end());
  // Beyond this many pixels the tip flank drops more than the whole height range: no influence.
  const double reach = std::sqrt(std::max(0.0, *hi - *lo) / c) + 2;
  const int margin = int(std::min<double>(reach, 4.0 * n));
  std::vector<double> out(h), line(n), g, z, tmp;
  std::vector<int> v;
  for (int iy = 0; iy < n; ++iy) {
    std::copy(out.begin() + std::size_t(iy) * n, out.begin() + std::size_t(iy + 1) * n, line.begin());
    dilate_line(line, n, c, margin, g, v, z, tmp);
    std::copy(line.begin(), line.end(), out.begin() + std::size_t(iy) * n);
  }
  for (int ix = 0; ix < n; ++ix) {
    for (int iy = 0; iy < n; ++iy) line[iy] = out[std::size_t(iy) * n + ix];
    dilate_line(line, n, c, margin, g, v, z, tmp);
    for (int iy = 0; iy < n; ++iy) out[std::size_t(iy) * n + ix] = line[iy];
  }
  return out;
}

std::vector<double> correlated_roughness(int n, double pixel_m, double rms_m, double corr_m, std::mt19937_64& rng) {
  if (n <= 0 || !(pixel_m > 0) || !(corr_m > 0) || !(rms_m >= 0)) throw Error("correlated_roughness: bad arguments");
  std::vector<double> field(std::size_t(n) * n);
  std::normal_distribution<double> normal(0.0, 1.0);
  for (double& v : field) v = normal(rng);
  if (rms_m == 0) {
    std::fill(field.begin(), field.end(), 0.0);
    return field;
  }
  const double sigma_px = 0.5 * corr_m / pixel_m;
  const int half = std::max(0, std::min(int(std::ceil(4 * sigma_px)), (n - 1) / 2));
  std::vector<double> k(2 * half + 1);
  double k2 = 0;
  for (int i = -half; i <= half; ++i) {
    k[i + half] = sigma_px > 0 ? std::exp(-0.5 * i * i / (sigma_px * sigma_px)) : (i == 0);
    k2 += k[i + half] * k[i + half];
  }
  // Var of the 2-D filtered field = sum over the separable kernel of K² = (sum k²)².
  const double norm = rms_m / k2;
  // Separable periodic convolution: rows through a wrapped line buffer, then columns as
  // weighted sums of whole rows (contiguous, vectorisable).
  std::vector<double> tmp(field.size()), line(std::size_t(n) + 2 * half);
  for (int iy = 0; iy < n; ++iy) {
    const double* row = field.data() + std::size_t(iy) * n;
    for (int j = 0; j < n + 2 * half; ++j) line[j] = row[((j - half) % n + n) % n];
    double* out = tmp.data() + std::size_t(iy) * n;
    for (int ix = 0; ix < n; ++ix) {
      double s = 0;
      for (int i = 0; i <= 2 * half; ++i) s += k[i] * line[ix + i];
      out[ix] = s;
    }
  }
  for (int iy = 0; iy < n; ++iy) {
    double* out = field.data() + std::size_t(iy) * n;
    std::fill(out, out + n, 0.0);
    for (int i = -half; i <= half; ++i) {
      const int y = ((iy + i) % n + n) % n;
      const double* src = tmp.data() + std::size_t(y) * n;
      const double w = k[i + half] * norm;
      for (int ix = 0; ix < n; ++ix) out[ix] += w * src[ix];
    }
  }
  return field;
}

}  // namespace sdm::sim
