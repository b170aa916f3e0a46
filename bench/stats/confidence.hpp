#pragma once
// Mean and Student-t confidence interval of a metric across seeds, and the distribution
// functions behind it (computed, not tabulated: any degrees of freedom, any level).
//
//   CI = mean ± t_{(1+level)/2, n−1} · s/√n,  s = sample standard deviation (n − 1).
// Student-t CDF through the regularised incomplete beta function,
//   F(t; ν) = 1 − ½ I_{ν/(ν+t²)}(ν/2, ½) for t ≥ 0 (symmetric for t < 0),
// evaluated by its continued fraction (modified Lentz); the quantile inverts it by
// bracketing + bisection polished with Newton steps (|error| ≲ 1e-12).
#include <vector>

namespace sdm::bench::stats {

/// Regularised incomplete beta I_x(a, b), a, b > 0, x ∈ [0, 1].
double incomplete_beta(double a, double b, double x);
/// Standard normal CDF Φ(z) and its inverse (p ∈ (0, 1); ±inf at 0 and 1).
double normal_cdf(double z);
double normal_quantile(double p);
/// Student-t CDF and quantile with ν > 0 degrees of freedom (ν need not be an integer).
double student_t_cdf(double t, double dof);
double student_t_quantile(double p, double dof);

struct MeanCi {
  int n = 0;
  double mean = 0;        ///< NaN when n = 0
  double sd = 0;          ///< sample standard deviation; NaN when n < 2
  double half_width = 0;  ///< t·sd/√n; NaN when n < 2
  double lower = 0, upper = 0;
  double level = 0.95;
};

/// Mean and two-sided `level` confidence interval of `values` (all must be finite, else
/// sdm::Error; filter undefined metrics before). level ∈ (0, 1).
MeanCi mean_ci(const std::vector<double>& values, double level = 0.95);

}  // namespace sdm::bench::stats
