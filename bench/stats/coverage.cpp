#include "bench/stats/coverage.hpp"

#include <algorithm>
#include <cmath>
#include <string>

#include "core/error.hpp"

namespace sdm::bench::stats {

int Histogram::bin(double v) const {
  const int bins = static_cast<int>(counts.size());
  if (!(v >= edges.front() && v <= edges.back())) return -1;
  const double lo = edges.front(), hi = edges.back();
  int b = static_cast<int>((v - lo) / (hi - lo) * bins);
  b = std::clamp(b, 0, bins - 1);
  // Correct rounding against the stored edges (numpy does the same).
  if (v < edges[b]) --b;
  else if (b < bins - 1 && v >= edges[b + 1]) ++b;
  return b;
}

Histogram histogram(const std::vector<double>& values, int bins) {
  if (values.empty()) throw Error("histogram: no values");
  if (bins < 1) throw Error("histogram: bins = " + std::to_string(bins) + " must be ≥ 1");
  double lo = values[0], hi = values[0];
  for (size_t i = 0; i < values.size(); ++i) {
    if (!std::isfinite(values[i])) throw Error("histogram: value " + std::to_string(i) + " is not finite");
    lo = std::min(lo, values[i]);
    hi = std::max(hi, values[i]);
  }
  if (lo == hi) {
    lo -= 0.5;
    hi += 0.5;
  }
  Histogram h;
  h.edges.resize(static_cast<size_t>(bins) + 1);
  const double step = (hi - lo) / bins;
  for (int i = 0; i < bins; ++i) h.edges[i] = lo + i * step;
  h.edges[bins] = hi;
  h.counts.assign(static_cast<size_t>(bins), 0);
  for (double v : values) ++h.counts[h.bin(v)];
  return h;
}

HistogramCoverage histogram_coverage(const std::vector<double>& reference, const std::vector<double>& hits, int bins) {
  const Histogram h = histogram(reference, bins);
  std::vector<char> hit(static_cast<size_t>(bins), 0);
  for (size_t i = 0; i < hits.size(); ++i) {
    if (!std::isfinite(hits[i])) throw Error("histogram coverage: hit " + std::to_string(i) + " is not finite");
    const int b = h.bin(hits[i]);
    if (b >= 0) hit[b] = 1;
  }
  HistogramCoverage c;
  for (int b = 0; b < bins; ++b)
    if (h.counts[b] > 0) {
      ++c.occupied;
      c.hit += hit[b];
    }
  c.fraction = static_cast<double>(c.hit) / c.occupied;
  return c;
}

double cluster_coverage(const std::vector<int>& labels, int k, const std::vector<int>& visited) {
  if (k < 1) throw Error("cluster coverage: k = " + std::to_string(k) + " must be ≥ 1");
  std::vector<char> seen(static_cast<size_t>(k), 0);
  for (int i : visited) {
    if (i < 0 || static_cast<size_t>(i) >= labels.size())
      throw Error("cluster coverage: visited index " + std::to_string(i) + " outside [0, " + std::to_string(labels.size()) + ")");
    const int l = labels[i];
    if (l < 0 || l >= k) throw Error("cluster coverage: label " + std::to_string(l) + " outside [0, " + std::to_string(k) + ")");
    seen[l] = 1;
  }
  long hit = 0;
  for (char s : seen) hit += s;
  return static_cast<double>(hit) / k;
}

}  // namespace sdm::bench::stats
