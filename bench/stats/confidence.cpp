#include "bench/stats/confidence.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

#include "core/error.hpp"

namespace sdm::bench::stats {

namespace {
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kPi = 3.14159265358979323846;

// Continued fraction of I_x(a, b) (valid, and fast, for x < (a + 1)/(a + b + 2)):
// I_x(a,b) = x^a y^b / (a B(a,b)) · 1/(1 + d1/(1 + d2/(1 + …))), y = 1 − x, with
// d_{2m+1} = −(a+m)(a+b+m) x / ((a+2m)(a+2m+1)), d_{2m} = m(b−m) x / ((a+2m−1)(a+2m)).
// Evaluated by the modified Lentz method.
double beta_continued_fraction(double a, double b, double x, double y) {
  constexpr double tiny = 1e-300, eps = 1e-16;
  // g = 1 + d1/(1 + d2/(1 + …)): b0 = 1, a_j = d_j, b_j = 1.
  double g = 1.0, C = 1.0, D = 0.0;
  for (int i = 1; i < 2000; ++i) {
    const int m = i / 2;
    const double d = (i % 2 == 1) ? -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1))
                                  : m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m));
    D = 1.0 + d * D;
    if (std::fabs(D) < tiny) D = tiny;
    C = 1.0 + d / C;
    if (std::fabs(C) < tiny) C = tiny;
    D = 1.0 / D;
    const double delta = C * D;
    g *= delta;
    if (std::fabs(delta - 1.0) < eps) break;
  }
  const double log_prefactor = a * std::log(x) + b * std::log(y) - (std::lgamma(a) + std::lgamma(b) - std::lgamma(a + b));
  return std::exp(log_prefactor) / (a * g);
}

// I_x(a, b) given both x and y = 1 − x (so tails near 1 keep their precision).
double ibeta(double a, double b, double x, double y) {
  if (x <= 0) return 0.0;
  if (y <= 0) return 1.0;
  if (x < (a + 1.0) / (a + b + 2.0)) return beta_continued_fraction(a, b, x, y);
  return 1.0 - beta_continued_fraction(b, a, y, x);
}

// Upper tail P(T > t) for t ≥ 0.
double t_upper_tail(double t, double nu) {
  const double t2 = t * t;
  return 0.5 * ibeta(0.5 * nu, 0.5, nu / (nu + t2), t2 / (nu + t2));
}

double t_pdf(double t, double nu) {
  const double log_c = std::lgamma(0.5 * (nu + 1.0)) - std::lgamma(0.5 * nu) - 0.5 * std::log(nu * kPi);
  return std::exp(log_c - 0.5 * (nu + 1.0) * std::log1p(t * t / nu));
}

double normal_pdf(double z) { return std::exp(-0.5 * z * z) / std::sqrt(2.0 * kPi); }
}  // namespace

double incomplete_beta(double a, double b, double x) {
  if (!(a > 0) || !(b > 0) || !(x >= 0 && x <= 1))
    throw Error("incomplete_beta: needs a, b > 0 and x in [0, 1], got a = " + std::to_string(a) + ", b = " + std::to_string(b) +
                ", x = " + std::to_string(x));
  return ibeta(a, b, x, 1.0 - x);
}

double normal_cdf(double z) { return 0.5 * std::erfc(-z / std::sqrt(2.0)); }

double normal_quantile(double p) {
  if (!(p >= 0 && p <= 1)) throw Error("normal_quantile: p = " + std::to_string(p) + " must be in [0, 1]");
  if (p == 0) return -std::numeric_limits<double>::infinity();
  if (p == 1) return std::numeric_limits<double>::infinity();
  if (p > 0.5) return -normal_quantile(1.0 - p);
  if (p == 0.5) return 0.0;
  // Abramowitz & Stegun 26.2.23 start (|error| < 4.5e-4), then Newton on the lower tail,
  // where Φ(z) = ½ erfc(−z/√2) keeps full relative precision.
  const double t = std::sqrt(-2.0 * std::log(p));
  double z = -(t - (2.515517 + 0.802853 * t + 0.010328 * t * t) / (1.0 + 1.432788 * t + 0.189269 * t * t + 0.001308 * t * t * t));
  for (int i = 0; i < 6; ++i) {
    const double step = (normal_cdf(z) - p) / normal_pdf(z);
    z -= step;
    if (std::fabs(step) <= 1e-15 * std::max(1.0, std::fabs(z))) break;
  }
  return z;
}

double student_t_cdf(double t, double dof) {
  if (!(dof > 0)) throw Error("student_t_cdf: degrees of freedom " + std::to_string(dof) + " must be > 0");
  if (std::isnan(t)) return kNaN;
  if (std::isinf(t)) return t > 0 ? 1.0 : 0.0;
  const double tail = t_upper_tail(std::fabs(t), dof);
  return t >= 0 ? 1.0 - tail : tail;
}

double student_t_quantile(double p, double dof) {
  if (!(dof > 0)) throw Error("student_t_quantile: degrees of freedom " + std::to_string(dof) + " must be > 0");
  if (!(p >= 0 && p <= 1)) throw Error("student_t_quantile: p = " + std::to_string(p) + " must be in [0, 1]");
  if (p == 0) return -std::numeric_limits<double>::infinity();
  if (p == 1) return std::numeric_limits<double>::infinity();
  if (p < 0.5) return -student_t_quantile(1.0 - p, dof);
  if (p == 0.5) return 0.0;
  const double q = 1.0 - p;  // target upper tail
  // Bracket, then bisect, then polish with Newton steps kept inside the bracket.
  double lo = 0.0, hi = std::max(1.0, 2.0 * normal_quantile(p));
  while (t_upper_tail(hi, dof) > q) {
    lo = hi;
    hi *= 2.0;
    if (hi > 1e300) return std::numeric_limits<double>::infinity();
  }
  for (int i = 0; i < 200 && hi - lo > 1e-9 * hi; ++i) {
    const double mid = 0.5 * (lo + hi);
    (t_upper_tail(mid, dof) > q ? lo : hi) = mid;
  }
  double t = 0.5 * (lo + hi);
  for (int i = 0; i < 4; ++i) {
    const double next = t + (t_upper_tail(t, dof) - q) / t_pdf(t, dof);
    if (!(next > lo && next < hi)) break;
    if (std::fabs(next - t) <= 1e-15 * t) {
      t = next;
      break;
    }
    t = next;
  }
  return t;
}

MeanCi mean_ci(const std::vector<double>& values, double level) {
  if (!(level > 0 && level < 1)) throw Error("mean_ci: level " + std::to_string(level) + " must be in (0, 1)");
  MeanCi r;
  r.level = level;
  r.n = static_cast<int>(values.size());
  for (size_t i = 0; i < values.size(); ++i)
    if (!std::isfinite(values[i]))
      throw Error("mean_ci: value " + std::to_string(i) + " is not finite (filter undefined metrics before summarising)");
  if (r.n == 0) {
    r.mean = r.sd = r.half_width = r.lower = r.upper = kNaN;
    return r;
  }
  double sum = 0.0;
  for (double v : values) sum += v;
  r.mean = sum / r.n;
  if (r.n < 2) {
    r.sd = r.half_width = r.lower = r.upper = kNaN;
    return r;
  }
  double ss = 0.0;
  for (double v : values) ss += (v - r.mean) * (v - r.mean);
  r.sd = std::sqrt(ss / (r.n - 1));
  r.half_width = student_t_quantile(0.5 * (1.0 + level), r.n - 1) * r.sd / std::sqrt(static_cast<double>(r.n));
  r.lower = r.mean - r.half_width;
  r.upper = r.mean + r.half_width;
  return r;
}

}  // namespace sdm::bench::stats
