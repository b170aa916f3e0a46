#include "engine/acquisition/scalarizer.hpp"

#include <algorithm>
#include <cmath>
#include <utility>
#include <vector>

#include "core/error.hpp"
#include "engine/acquisition/strategy_config.hpp"

namespace sdm::engine::acquisition {
namespace {

using Branch = std::vector<std::pair<double, double>>;  // (bias_v, current_a), sorted by bias

// Points where the bias rises (or falls) from the previous sample; a turning point's
// sample belongs to both branches so each branch reaches the sweep's extremes.
void split_branches(const core::IvCurve& c, Branch& up, Branch& down) {
  const std::size_t n = c.size();
  for (std::size_t i = 0; i < n; ++i) {
    const double before = i > 0 ? c.bias_v[i] - c.bias_v[i - 1] : 0.0;
    const double after = i + 1 < n ? c.bias_v[i + 1] - c.bias_v[i] : 0.0;
    if (before > 0 || after > 0) up.emplace_back(c.bias_v[i], c.current_a[i]);
    if (before < 0 || after < 0) down.emplace_back(c.bias_v[i], c.current_a[i]);
  }
  std::stable_sort(up.begin(), up.end(), [](auto& a, auto& b) { return a.first < b.first; });
  std::stable_sort(down.begin(), down.end(), [](auto& a, auto& b) { return a.first < b.first; });
}

// Linear interpolation of a bias-sorted branch; nullopt-like NaN outside its range.
double interpolate(const Branch& b, double v) {
  if (b.empty() || v < b.front().first || v > b.back().first) return std::nan("");
  auto it = std::lower_bound(b.begin(), b.end(), v, [](const auto& p, double x) { return p.first < x; });
  if (it == b.begin()) return it->second;
  const auto& hi = *it;
  const auto& lo = *(it - 1);
  if (hi.first == lo.first) return 0.5 * (hi.second + lo.second);
  const double t = (v - lo.first) / (hi.first - lo.first);
  return lo.second + t * (hi.second - lo.second);
}

double loop_area(const Branch& up, const Branch& down) {
  if (up.size() < 2 || down.size() < 2) return 0.0;
  const double lo = std::max(up.front().first, down.front().first);
  const double hi = std::min(up.back().first, down.back().first);
  if (!(hi > lo)) return 0.0;
  // Integrate |ΔI| piecewise-linearly on the union of both branches' biases, splitting
  // each interval where ΔI changes sign so crossings are integrated exactly.
  std::vector<double> grid{lo, hi};
  for (const Branch* b : {&up, &down})
    for (const auto& p : *b)
      if (p.first > lo && p.first < hi) grid.push_back(p.first);
  std::sort(grid.begin(), grid.end());
  grid.erase(std::unique(grid.begin(), grid.end()), grid.end());
  double area = 0.0;
  for (std::size_t i = 1; i < grid.size(); ++i) {
    const double v0 = grid[i - 1], v1 = grid[i];
    const double d0 = interpolate(up, v0) - interpolate(down, v0);
    const double d1 = interpolate(up, v1) - interpolate(down, v1);
    const double h = v1 - v0;
    if (d0 * d1 >= 0) {
      area += 0.5 * h * (std::abs(d0) + std::abs(d1));
    } else {
      const double s = std::abs(d0) / (std::abs(d0) + std::abs(d1));  // fraction of h before the crossing
      area += 0.5 * h * (s * std::abs(d0) + (1 - s) * std::abs(d1));
    }
  }
  return area;
}

double current_at(const Branch& up, const Branch& down, double v) {
  const double a = interpolate(up, v), b = interpolate(down, v);
  if (std::isnan(a) && std::isnan(b)) {
    // Read bias outside the sweep: the closest end of whichever branch reaches furthest.
    const Branch& r = up.empty() ? down : up;
    return std::abs(r.front().first - v) < std::abs(r.back().first - v) ? r.front().second : r.back().second;
  }
  if (std::isnan(a)) return b;
  if (std::isnan(b)) return a;
  return 0.5 * (a + b);
}

}  // namespace

ScalarizerSpec ScalarizerSpec::from_name(const std::string& name, double bias_v, double onset_current_a) {
  const auto& names = scalarizer_names();
  const auto it = std::find(names.begin(), names.end(), name);
  if (it == names.end()) {
    std::string allowed;
    for (const auto& n : names) allowed += (allowed.empty() ? "" : ", ") + n;
    throw Error("unknown scalarizer \"" + name + "\"; allowed: " + allowed);
  }
  ScalarizerSpec s;
  s.kind = static_cast<ScalarizerKind>(it - names.begin());
  s.bias_v = bias_v;
  s.onset_current_a = onset_current_a;
  return s;
}

std::string ScalarizerSpec::name() const { return scalarizer_names().at(static_cast<std::size_t>(kind)); }

std::string ScalarizerSpec::unit() const {
  switch (kind) {
    case ScalarizerKind::loop_area: return "W";
    case ScalarizerKind::current_at_bias:
    case ScalarizerKind::max_current: return "A";
    case ScalarizerKind::on_off_ratio: return "1";
    case ScalarizerKind::onset_voltage: return "V";
  }
  return "";
}

double scalarize(const core::IvCurve& c, const ScalarizerSpec& spec) {
  if (c.size() < 2 || c.bias_v.size() != c.size())
    throw Error("scalarizer " + spec.name() + ": an I–V curve needs at least 2 points with one bias per current, got " +
                std::to_string(c.size()) + " currents and " + std::to_string(c.bias_v.size()) + " biases");
  Branch up, down;
  split_branches(c, up, down);
  switch (spec.kind) {
    case ScalarizerKind::loop_area: return loop_area(up, down);
    case ScalarizerKind::current_at_bias: return current_at(up, down, spec.bias_v);
    case ScalarizerKind::max_current: {
      double m = 0;
      for (double i : c.current_a) m = std::max(m, std::abs(i));
      return m;
    }
    case ScalarizerKind::on_off_ratio: {
      constexpr double floor_a = 1e-15;
      const double a = std::abs(interpolate(up, spec.bias_v)), b = std::abs(interpolate(down, spec.bias_v));
      if (std::isnan(a) || std::isnan(b)) return 1.0;
      return std::max(a, b) / std::max(std::min(a, b), floor_a);
    }
    case ScalarizerKind::onset_voltage: {
      // Walk the sweep in time order while |V| grows from its start, as a scientist reads a forward sweep.
      double v_max = 0;
      for (double v : c.bias_v) v_max = std::max(v_max, std::abs(v));
      for (std::size_t i = 1; i < c.size(); ++i) {
        if (std::abs(c.bias_v[i]) < std::abs(c.bias_v[i - 1])) break;  // past the first turning point
        const double i0 = std::abs(c.current_a[i - 1]), i1 = std::abs(c.current_a[i]);
        if (i0 >= spec.onset_current_a) return std::abs(c.bias_v[i - 1]);
        if (i1 >= spec.onset_current_a) {
          const double t = (spec.onset_current_a - i0) / (i1 - i0);
          return std::abs(c.bias_v[i - 1] + t * (c.bias_v[i] - c.bias_v[i - 1]));
        }
      }
      return v_max;
    }
  }
  return 0.0;
}

}  // namespace sdm::engine::acquisition
