// Categorical palette and continuous colormaps. viridis and magma are matplotlib's 256-entry
// tables (OpenCV ships them as COLORMAP_VIRIDIS / COLORMAP_MAGMA); coolwarm is Moreland's
// diverging map (2009), generated in Msh space between his published endpoints.
#include <algorithm>
#include <array>
#include <cmath>

#include <opencv2/imgproc.hpp>

#include "viz/figure.hpp"

namespace sdm::viz {
namespace {

using Lut = std::array<Color, 256>;

Lut opencv_lut(int cv_map) {
  cv::Mat1b ramp(256, 1);
  for (int i = 0; i < 256; ++i) ramp(i, 0) = static_cast<unsigned char>(i);
  cv::Mat3b bgr;
  cv::applyColorMap(ramp, bgr, cv_map);
  Lut lut;
  for (int i = 0; i < 256; ++i) lut[i] = {bgr(i, 0)[2], bgr(i, 0)[1], bgr(i, 0)[0]};
  return lut;
}

// --- Moreland's diverging colormap (K. Moreland, "Diverging Color Maps for Scientific
// Visualization", ISVC 2009): interpolate in Msh (polar CIELab) through an unsaturated white.
struct Msh {
  double m, s, h;
};
constexpr double kXn = 0.9505, kYn = 1.0, kZn = 1.089;  // D65 reference white as in the paper

double to_linear(double c) { return c <= 0.04045 ? c / 12.92 : std::pow((c + 0.055) / 1.055, 2.4); }
double to_srgb(double c) { return c <= 0.0031308 ? 12.92 * c : 1.055 * std::pow(c, 1.0 / 2.4) - 0.055; }
double lab_f(double t) { return t > 0.008856 ? std::cbrt(t) : 7.787 * t + 16.0 / 116.0; }
double lab_finv(double t) { return t > 0.20689 ? t * t * t : (t - 16.0 / 116.0) / 7.787; }

Msh rgb_to_msh(double r8, double g8, double b8) {
  const double r = to_linear(r8 / 255), g = to_linear(g8 / 255), b = to_linear(b8 / 255);
  const double x = 0.412453 * r + 0.357580 * g + 0.180423 * b;
  const double y = 0.212671 * r + 0.715160 * g + 0.072169 * b;
  const double z = 0.019334 * r + 0.119193 * g + 0.950227 * b;
  const double fl = lab_f(y / kYn);
  const double L = 116 * fl - 16, a = 500 * (lab_f(x / kXn) - fl), bb = 200 * (fl - lab_f(z / kZn));
  const double m = std::sqrt(L * L + a * a + bb * bb);
  return {m, std::acos(L / m), std::atan2(bb, a)};
}

Color msh_to_rgb(const Msh& c) {
  const double L = c.m * std::cos(c.s), a = c.m * std::sin(c.s) * std::cos(c.h), bb = c.m * std::sin(c.s) * std::sin(c.h);
  const double fy = (L + 16) / 116, fx = fy + a / 500, fz = fy - bb / 200;
  const double x = kXn * lab_finv(fx), y = kYn * lab_finv(fy), z = kZn * lab_finv(fz);
  const double r = 3.240479 * x - 1.537150 * y - 0.498535 * z;
  const double g = -0.969256 * x + 1.875992 * y + 0.041556 * z;
  const double b = 0.055648 * x - 0.204043 * y + 1.057311 * z;
  auto q = [](double v) {
    return static_cast<unsigned char>(std::lround(std::clamp(to_srgb(std::clamp(v, 0.0, 1.0)), 0.0, 1.0) * 255.0));
  };
  return {q(r), q(g), q(b)};
}

double adjust_hue(const Msh& sat, double m_unsat) {
  if (sat.m >= m_unsat) return sat.h;
  const double spin = sat.s * std::sqrt(m_unsat * m_unsat - sat.m * sat.m) / (sat.m * std::sin(sat.s));
  return sat.h > -M_PI / 3 ? sat.h + spin : sat.h - spin;
}

Color moreland(double t) {
  Msh a = rgb_to_msh(59, 76, 192), b = rgb_to_msh(180, 4, 38);
  if (a.s > 0.05 && b.s > 0.05 && std::abs(a.h - b.h) > M_PI / 3) {
    const double mid = std::max({a.m, b.m, 88.0});
    if (t < 0.5) {
      b = {mid, 0, 0};
      t = 2 * t;
    } else {
      a = {mid, 0, 0};
      t = 2 * t - 1;
    }
  }
  if (a.s < 0.05 && b.s > 0.05) a.h = adjust_hue(b, a.m);
  else if (b.s < 0.05 && a.s > 0.05) b.h = adjust_hue(a, b.m);
  return msh_to_rgb({(1 - t) * a.m + t * b.m, (1 - t) * a.s + t * b.s, (1 - t) * a.h + t * b.h});
}

Lut coolwarm_lut() {
  Lut lut;
  for (int i = 0; i < 256; ++i) lut[i] = moreland(i / 255.0);
  return lut;
}

Lut gray_lut() {
  Lut lut;
  for (int i = 0; i < 256; ++i) lut[i] = {static_cast<unsigned char>(i), static_cast<unsigned char>(i), static_cast<unsigned char>(i)};
  return lut;
}

const Lut& lut_of(Colormap map) {
  static const Lut viridis = opencv_lut(cv::COLORMAP_VIRIDIS);
  static const Lut magma = opencv_lut(cv::COLORMAP_MAGMA);
  static const Lut gray = gray_lut();
  static const Lut coolwarm = coolwarm_lut();
  switch (map) {
    case Colormap::viridis: return viridis;
    case Colormap::magma: return magma;
    case Colormap::gray: return gray;
    case Colormap::coolwarm: return coolwarm;
  }
  return viridis;
}

}  // namespace

Color palette(int i) {
  static constexpr Color tab10[10] = {{31, 119, 180}, {255, 127, 14}, {44, 160, 44},  {214, 39, 40},  {148, 103, 189},
                                      {140, 86, 75},  {227, 119, 194}, {127, 127, 127}, {188, 189, 34}, {23, 190, 207}};
  return tab10[((i % 10) + 10) % 10];
}

Color colormap(Colormap map, double t) {
  if (!std::isfinite(t)) t = 0.0;
  t = std::clamp(t, 0.0, 1.0);
  const Lut& lut = lut_of(map);
  const double pos = t * 255.0;
  const int i = std::min(static_cast<int>(pos), 254);
  const double f = pos - i;
  auto mix = [f](unsigned char a, unsigned char b) {
    return static_cast<unsigned char>(std::lround(a + (static_cast<double>(b) - a) * f));
  };
  return {mix(lut[i].r, lut[i + 1].r), mix(lut[i].g, lut[i + 1].g), mix(lut[i].b, lut[i + 1].b)};
}

}  // namespace sdm::viz
