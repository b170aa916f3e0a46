#include "bench/stats/wilcoxon.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <string>

#include "bench/stats/confidence.hpp"
#include "core/error.hpp"

namespace sdm::bench::stats {

namespace {
// Midranks (1-based) of v.
std::vector<double> midranks(const std::vector<double>& v) {
  const size_t n = v.size();
  std::vector<size_t> order(n);
  std::iota(order.begin(), order.end(), size_t{0});
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return v[a] < v[b]; });
  std::vector<double> r(n);
  for (size_t i = 0; i < n;) {
    size_t j = i;
    while (j + 1 < n && v[order[j + 1]] == v[order[i]]) ++j;
    const double mid = 0.5 * static_cast<double>(i + j) + 1.0;
    for (size_t k = i; k <= j; ++k) r[order[k]] = mid;
    i = j + 1;
  }
  return r;
}

// Exact two-sided p of W+ under random signs on `ranks` (midranks, multiples of ½).
double exact_p(const std::vector<double>& ranks, double w_plus) {
  std::vector<int> doubled;
  doubled.reserve(ranks.size());
  int total = 0;
  for (double r : ranks) {
    doubled.push_back(static_cast<int>(std::lround(2.0 * r)));
    total += doubled.back();
  }
  // count[s] = number of sign assignments whose doubled positive-rank sum is s.
  std::vector<double> count(static_cast<size_t>(total) + 1, 0.0);
  count[0] = 1.0;
  int reach = 0;
  for (int d : doubled) {
    for (int s = reach; s >= 0; --s)
      if (count[s] != 0.0) count[s + d] += count[s];
    reach += d;
  }
  const int obs = static_cast<int>(std::lround(2.0 * w_plus));
  double below = 0.0, above = 0.0, all = 0.0;
  for (int s = 0; s <= total; ++s) {
    all += count[s];
    if (s <= obs) below += count[s];
    if (s >= obs) above += count[s];
  }
  return std::min(1.0, 2.0 * std::min(below, above) / all);
}
}  // namespace

WilcoxonResult wilcoxon_signed_rank(const std::vector<double>& x, const std::vector<double>& y, const WilcoxonOptions& o) {
  if (x.size() != y.size())
    throw Error("wilcoxon: paired samples differ in size (" + std::to_string(x.size()) + " vs " + std::to_string(y.size()) + ")");
  std::vector<double> d(x.size());
  for (size_t i = 0; i < x.size(); ++i) d[i] = x[i] - y[i];
  return wilcoxon_signed_rank(d, o);
}

WilcoxonResult wilcoxon_signed_rank(const std::vector<double>& d, const WilcoxonOptions& o) {
  for (size_t i = 0; i < d.size(); ++i)
    if (!std::isfinite(d[i])) throw Error("wilcoxon: difference " + std::to_string(i) + " is not finite");
  WilcoxonResult r;
  std::vector<double> abs_all;  // what gets ranked
  std::vector<int> sign;
  for (double v : d) {
    if (v == 0.0) {
      ++r.zeros;
      if (o.zeros == WilcoxonZeros::wilcox) continue;
    }
    abs_all.push_back(std::fabs(v));
    sign.push_back(v > 0 ? 1 : (v < 0 ? -1 : 0));
  }
  const std::vector<double> all_ranks = midranks(abs_all);
  std::vector<double> ranks;  // of the nonzero differences
  for (size_t i = 0; i < sign.size(); ++i) {
    if (sign[i] > 0) r.w_plus += all_ranks[i];
    if (sign[i] < 0) r.w_minus += all_ranks[i];
    if (sign[i] != 0) ranks.push_back(all_ranks[i]);
  }
  r.n = static_cast<int>(ranks.size());
  r.statistic = std::min(r.w_plus, r.w_minus);
  if (r.n == 0) {
    r.p_value = 1.0;
    r.exact = true;
    r.z = std::numeric_limits<double>::quiet_NaN();
    return r;
  }
  const bool exact = o.method == WilcoxonMethod::exact || (o.method == WilcoxonMethod::automatic && r.n <= o.exact_max_n);
  if (exact) {
    if (r.n > 1000) throw Error("wilcoxon: exact distribution requested for " + std::to_string(r.n) + " differences (at most 1000)");
    r.exact = true;
    r.z = std::numeric_limits<double>::quiet_NaN();
    r.p_value = exact_p(ranks, r.w_plus);
    return r;
  }
  // Normal approximation with tie and (pratt) zero corrections.
  const double count = static_cast<double>(abs_all.size());  // includes zeros under pratt
  double mean = count * (count + 1.0) / 4.0;
  double var24 = count * (count + 1.0) * (2.0 * count + 1.0);
  if (o.zeros == WilcoxonZeros::pratt) {
    const double n0 = r.zeros;
    mean -= n0 * (n0 + 1.0) / 4.0;
    var24 -= n0 * (n0 + 1.0) * (2.0 * n0 + 1.0);
  }
  std::vector<double> sorted = ranks;
  std::sort(sorted.begin(), sorted.end());
  for (size_t i = 0; i < sorted.size();) {
    size_t j = i;
    while (j + 1 < sorted.size() && sorted[j + 1] == sorted[i]) ++j;
    const double t = static_cast<double>(j - i + 1);
    if (t > 1) var24 -= 0.5 * (t * t * t - t);
    i = j + 1;
  }
  const double sd = std::sqrt(var24 / 24.0);
  double diff = r.w_plus - mean;
  if (o.continuity && diff != 0.0) diff -= diff > 0 ? 0.5 : -0.5;
  r.z = sd > 0 ? diff / sd : 0.0;
  r.exact = false;
  r.p_value = std::min(1.0, 2.0 * normal_cdf(-std::fabs(r.z)));
  return r;
}

}  // namespace sdm::bench::stats
