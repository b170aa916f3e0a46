#pragma once
// Private: exp(x) for x <= 0 written with +, x, compares and integer shifts only, so that the
// kernel loops calling it vectorise (libm's exp is a scalar call that dominated the kernel
// matrices). x = k ln2 + r with k = round(x / ln2) and |r| <= ln2/2 (Cody-Waite split of ln2),
// e^r by its degree-13 Taylor polynomial (truncation < 5e-18 relative), times 2^k built in
// the exponent bits. Relative error <= 2 ulp on [-708, 0] (tests/engine/test_gp.cpp checks it
// against std::exp); below -708 (where e^x < 3.3e-308) it returns 0 instead of a subnormal.
#include <cstdint>
#include <cstring>

namespace sdm::engine::gp::detail {

__attribute__((always_inline)) inline double exp_nonpositive(double x) {
  constexpr double kLog2e = 1.4426950408889634074;
  constexpr double kLn2Hi = 6.93147180369123816490e-01;  // ln2 split so that k * kLn2Hi is exact
  constexpr double kLn2Lo = 1.90821492927058770002e-10;
  constexpr double kShifter = 0x1.8p52;  // adding it rounds to an integer held in the low mantissa bits
  const double xc = x < -708.0 ? -708.0 : x;
  const double t = xc * kLog2e + kShifter;
  const double k = t - kShifter;
  const double r = (xc - k * kLn2Hi) - k * kLn2Lo;
  double p = 1.0 / 6227020800.0;  // 1/13!
  p = p * r + 1.0 / 479001600.0;
  p = p * r + 1.0 / 39916800.0;
  p = p * r + 1.0 / 3628800.0;
  p = p * r + 1.0 / 362880.0;
  p = p * r + 1.0 / 40320.0;
  p = p * r + 1.0 / 5040.0;
  p = p * r + 1.0 / 720.0;
  p = p * r + 1.0 / 120.0;
  p = p * r + 1.0 / 24.0;
  p = p * r + 1.0 / 6.0;
  p = p * r + 0.5;
  p = p * r + 1.0;
  p = p * r + 1.0;
  std::int64_t t_bits, shifter_bits;
  std::memcpy(&t_bits, &t, sizeof t);
  std::memcpy(&shifter_bits, &kShifter, sizeof kShifter);
  const std::int64_t scale_bits = (t_bits - shifter_bits + 1023) << 52;  // 2^k, k in [-1022, 0]
  double scale;
  std::memcpy(&scale, &scale_bits, sizeof scale);
  return x < -708.0 ? 0.0 : p * scale;
}

}  // namespace sdm::engine::gp::detail
