#include "viz/ticks.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace sdm::viz {
namespace {

// 1-2-5 step for a raw spacing.
double nice_step(double raw) {
  const double mag = std::pow(10.0, std::floor(std::log10(raw)));
  const double norm = raw / mag;
  const double m = norm < 1.5 ? 1.0 : norm < 3.0 ? 2.0 : norm < 7.0 ? 5.0 : 10.0;
  return m * mag;
}

std::vector<double> ticks_with_step(double lo, double hi, double step) {
  std::vector<double> out;
  const double eps = step * 1e-9;
  const long long k0 = static_cast<long long>(std::ceil((lo - eps) / step));
  const long long k1 = static_cast<long long>(std::floor((hi + eps) / step));
  for (long long k = k0; k <= k1 && out.size() < 1000; ++k) {
    double t = static_cast<double>(k) * step;
    if (std::abs(t) < eps) t = 0.0;
    out.push_back(t);
  }
  return out;
}

std::string trim_zeros(std::string s) {
  const auto dot = s.find('.');
  if (dot == std::string::npos) return s;
  while (!s.empty() && s.back() == '0') s.pop_back();
  if (!s.empty() && s.back() == '.') s.pop_back();
  return s;
}

std::string fixed(double v, int decimals) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  std::string s = buf;
  if (s[0] == '-' && s.find_first_not_of("-0.") == std::string::npos) s.erase(0, 1);  // "-0.0" → "0.0"
  return s;
}

// Scientific with `digits` mantissa decimals, trailing zeros trimmed: 2.5e-10, 1e-10, -3e5.
std::string scientific(double v, int digits) {
  if (v == 0.0) return "0";
  int e = static_cast<int>(std::floor(std::log10(std::abs(v))));
  double m = v / std::pow(10.0, e);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", digits, m);
  if (std::abs(std::atof(buf)) >= 10.0) {  // rounding carried into the next decade
    ++e;
    m = v / std::pow(10.0, e);
    std::snprintf(buf, sizeof buf, "%.*f", digits, m);
  }
  return trim_zeros(buf) + "e" + std::to_string(e);
}

bool all_in_fixed_range(const std::vector<double>& ticks) {
  for (double t : ticks)
    if (t != 0.0 && (std::abs(t) < 1e-3 || std::abs(t) >= 1e5)) return false;
  return true;
}

}  // namespace

std::vector<double> nice_ticks(double lo, double hi, int target_count) {
  if (!(hi > lo) || !std::isfinite(lo) || !std::isfinite(hi)) return {lo};
  target_count = std::max(target_count, 2);
  double step = nice_step((hi - lo) / target_count);
  auto ticks = ticks_with_step(lo, hi, step);
  // Too few ticks fell inside the range: refine the step (5 → 2 → 1 → 0.5 ...).
  for (int i = 0; i < 4 && ticks.size() < 2; ++i) {
    step = nice_step(step / 2.0 * 0.999);
    ticks = ticks_with_step(lo, hi, step);
  }
  return ticks;
}

std::vector<double> log_ticks(double lo, double hi, int target_count) {
  if (!(lo > 0.0) || !(hi > lo)) return {};
  const double l0 = std::log10(lo), l1 = std::log10(hi);
  const int d0 = static_cast<int>(std::ceil(l0 - 1e-9)), d1 = static_cast<int>(std::floor(l1 + 1e-9));
  const int n_decades = d1 - d0 + 1;
  std::vector<double> out;
  if (n_decades >= 2) {
    const int every = std::max(1, static_cast<int>(std::ceil(static_cast<double>(n_decades) / std::max(target_count, 2))));
    // Keep the decade multiples of `every` so labels stay aligned (1e-10, 1e-8, ...).
    for (int d = d0; d <= d1; ++d)
      if (((d % every) + every) % every == 0) out.push_back(std::pow(10.0, d));
    if (out.size() >= 2) return out;
    out.clear();
    for (int d = d0; d <= d1; ++d) out.push_back(std::pow(10.0, d));
    return out;
  }
  // Less than two decades: 1, 2, 5 × 10^k.
  for (int d = static_cast<int>(std::floor(l0)); d <= static_cast<int>(std::ceil(l1)); ++d)
    for (double m : {1.0, 2.0, 5.0}) {
      const double t = m * std::pow(10.0, d);
      if (t >= lo * (1 - 1e-9) && t <= hi * (1 + 1e-9)) out.push_back(t);
    }
  if (out.size() >= 2) return out;
  return nice_ticks(lo, hi, target_count);  // a narrow range: linear ticks read best
}

std::vector<std::string> tick_labels(const std::vector<double>& ticks) {
  std::vector<std::string> out;
  if (ticks.empty()) return out;
  if (ticks.size() == 1) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.4g", ticks[0]);
    return {buf};
  }
  const double step = std::abs(ticks[1] - ticks[0]);
  const int k = static_cast<int>(std::floor(std::log10(step) + 1e-9));  // step = m × 10^k
  const int decimals = std::max(0, -k);
  if (all_in_fixed_range(ticks) && decimals <= 5) {
    for (double t : ticks) out.push_back(fixed(t, decimals));
  } else {
    for (double t : ticks) {
      if (t == 0.0) {
        out.push_back("0");
        continue;
      }
      const int e = static_cast<int>(std::floor(std::log10(std::abs(t))));
      out.push_back(scientific(t, std::clamp(e - k, 0, 6)));
    }
  }
  return out;
}

std::vector<std::string> log_tick_labels(const std::vector<double>& ticks) {
  std::vector<std::string> out;
  const bool fixed_style = all_in_fixed_range(ticks);
  for (double t : ticks) out.push_back(fixed_style ? trim_zeros(fixed(t, 6)) : scientific(t, 3));
  return out;
}

}  // namespace sdm::viz
