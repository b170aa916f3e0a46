#include "core/waveform.hpp"

#include <algorithm>
#include <cmath>
#include <string>

#include "core/error.hpp"

namespace sdm::core {
namespace {
void require(bool ok, const std::string& what) {
  if (!ok) throw Error("waveform: " + what);
}
void check_common(double v_max, std::size_t points, double rate) {
  require(std::isfinite(v_max) && v_max > 0, "v_max must be a finite positive bias in volts, got " + std::to_string(v_max));
  require(points >= 3, "need at least 3 points, got " + std::to_string(points));
  require(std::isfinite(rate) && rate > 0, "sweep rate must be positive (V/s), got " + std::to_string(rate));
}
}  // namespace

double Waveform::max_rate_v_per_s() const {
  double r = 0;
  for (std::size_t i = 1; i < size(); ++i) r = std::max(r, std::abs(bias_v[i] - bias_v[i - 1]) / (time_s[i] - time_s[i - 1]));
  return r;
}

double Waveform::max_abs_bias_v() const {
  double m = 0;
  for (double v : bias_v) m = std::max(m, std::abs(v));
  return m;
}

void Waveform::validate() const {
  require(time_s.size() == bias_v.size(), "time_s has " + std::to_string(time_s.size()) + " points but bias_v has " + std::to_string(bias_v.size()));
  require(size() >= 2, "needs at least 2 points");
  for (std::size_t i = 0; i < size(); ++i) {
    require(std::isfinite(time_s[i]) && std::isfinite(bias_v[i]), "non-finite value at point " + std::to_string(i));
    if (i) require(time_s[i] > time_s[i - 1], "time must increase strictly (point " + std::to_string(i) + ")");
  }
}

Waveform Waveform::arbitrary(const std::vector<double>& bias, double rate, double hold_s) {
  require(bias.size() >= 2, "an arbitrary waveform needs at least 2 biases");
  require(std::isfinite(rate) && rate > 0, "sweep rate must be positive (V/s)");
  require(std::isfinite(hold_s) && hold_s > 0, "hold time must be positive (s)");
  Waveform w;
  w.bias_v = bias;
  w.time_s.resize(bias.size());
  w.time_s[0] = 0;
  for (std::size_t i = 1; i < bias.size(); ++i) {
    require(std::isfinite(bias[i]), "non-finite bias at point " + std::to_string(i));
    const double dv = std::abs(bias[i] - bias[i - 1]);
    w.time_s[i] = w.time_s[i - 1] + (dv > 0 ? dv / rate : hold_s);
  }
  return w;
}

Waveform Waveform::triangle(double v_max, std::size_t points, double rate) {
  check_common(v_max, points, rate);
  const std::size_t half = (points - 1) / 2;
  std::vector<double> b(points);
  for (std::size_t i = 0; i < points; ++i) {
    const double u = i <= half ? double(i) / half : double(points - 1 - i) / double(points - 1 - half);
    b[i] = v_max * u;
  }
  return arbitrary(b, rate);
}

Waveform Waveform::bipolar(double v_max, std::size_t points, double rate) {
  check_common(v_max, points, rate);
  require(points >= 5, "a bipolar waveform needs at least 5 points");
  std::vector<double> b(points);
  const double n = double(points - 1);
  for (std::size_t i = 0; i < points; ++i) {
    const double u = double(i) / n;  // 0..1 over one period: 0 → +1 → −1 → 0
    double s;
    if (u <= 0.25) s = 4 * u;
    else if (u <= 0.75) s = 2 - 4 * u;
    else s = 4 * u - 4;
    b[i] = v_max * s;
  }
  return arbitrary(b, rate);
}

}  // namespace sdm::core
