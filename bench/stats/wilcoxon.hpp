#pragma once
// Wilcoxon signed-rank test for paired samples (two-sided), as scipy.stats.wilcoxon
// (zero_method "wilcox" or "pratt", correction = False by default).
//
// d_i = x_i − y_i. "wilcox" drops zero differences, then ranks |d| (midranks for ties);
// "pratt" ranks |d| with the zeros included, then drops the zeros. W+ = Σ ranks of d > 0,
// W− = Σ ranks of d < 0; the reported statistic is min(W+, W−) (SciPy's two-sided one).
// p-value, two-sided: p = min(1, 2·min(P(W+ ≤ w+), P(W+ ≥ w+))).
//   exact   the permutation distribution of W+ over the 2^n sign assignments of the observed
//           (mid)ranks, by dynamic programming over doubled ranks, so ties are handled exactly
//           (SciPy switches to the normal approximation when there are ties; this does not).
//   normal  z = (W+ − μ)/σ, μ = n(n+1)/4, σ² = n(n+1)(2n+1)/24 − Σ(t³ − t)/48 over tie groups
//           of size t; with "pratt" and n0 zeros among the n ranked values, μ −= n0(n0+1)/4 and
//           σ²·24 −= n0(n0+1)(2n0+1) (Cureton 1967, as SciPy); optional continuity correction.
//   automatic: exact when the number of nonzero differences is ≤ exact_max_n (25), else normal.
// When every difference is zero, n = 0 and p = 1 (no evidence of a difference).
#include <vector>

namespace sdm::bench::stats {

enum class WilcoxonZeros { wilcox, pratt };
enum class WilcoxonMethod { automatic, exact, normal };

struct WilcoxonOptions {
  WilcoxonZeros zeros = WilcoxonZeros::wilcox;
  WilcoxonMethod method = WilcoxonMethod::automatic;
  int exact_max_n = 25;        ///< automatic: exact up to this many nonzero differences
  bool continuity = false;     ///< normal: ±0.5 continuity correction (SciPy `correction`)
};

struct WilcoxonResult {
  int n = 0;              ///< nonzero differences
  int zeros = 0;          ///< zero differences
  double w_plus = 0;      ///< Σ ranks of positive differences
  double w_minus = 0;     ///< Σ ranks of negative differences
  double statistic = 0;   ///< min(W+, W−)
  double p_value = 1;     ///< two-sided
  bool exact = false;     ///< which distribution gave p
  double z = 0;           ///< normal approximation's z (NaN when exact)
};

/// On paired samples x, y (same size, finite, else sdm::Error).
WilcoxonResult wilcoxon_signed_rank(const std::vector<double>& x, const std::vector<double>& y,
                                    const WilcoxonOptions& options = {});
/// On the differences directly.
WilcoxonResult wilcoxon_signed_rank(const std::vector<double>& differences, const WilcoxonOptions& options = {});

}  // namespace sdm::bench::stats
