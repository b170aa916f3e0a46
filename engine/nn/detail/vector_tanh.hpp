#pragma once
// Private: a float tanh written with +, ×, ÷, compares and integer shifts only, so that loops
// calling it vectorise (libm's tanhf is a scalar call). tanh|x| = (1 − e)/(1 + e) with
// e = exp(−2|x|) = 2^n · 2^r (n integer, |r| ≤ ½, 2^r by its degree-6 Taylor polynomial, relative
// error < 2e-7); an odd Taylor polynomial below |x| = 1/16, where 1 − e would cancel. Absolute
// error < 2e-7 against std::tanh (tests/engine/test_dense_stack.cpp checks it). Used by the dual
// VAE's spatial-decoder kernel and by nn::DenseStack.
#include <cmath>
#include <cstdint>
#include <cstring>

namespace sdm::engine::nn::detail {

__attribute__((always_inline)) inline float tanh_approx(float x) {
  float ax = std::fabs(x);
  ax = ax < 9.0f ? ax : 9.0f;  // tanh(9) = 1 − 3e-8: 1 in float
  const float t = -2.8853900817779268f * ax;  // −2|x|·log2(e)
  const float nf = (t + 12582912.0f) - 12582912.0f;  // round to nearest integer (1.5·2^23 trick)
  const float r = t - nf;
  float p = 1.5403530393381609e-4f;  // ln2^6/720
  p = p * r + 1.3333558146428443e-3f;
  p = p * r + 9.6181291076284772e-3f;
  p = p * r + 5.5504108664821580e-2f;
  p = p * r + 2.4022650695910071e-1f;
  p = p * r + 6.9314718055994531e-1f;
  p = p * r + 1.0f;
  const std::int32_t bits = (static_cast<std::int32_t>(nf) + 127) << 23;  // 2^n, n ∈ [−26, 0]
  float scale;
  std::memcpy(&scale, &bits, sizeof scale);
  const float e = p * scale;
  float th = (1.0f - e) / (1.0f + e);
  const float x2 = ax * ax;
  const float small = ax * (1.0f + x2 * (-0.33333333f + x2 * 0.13333333f));
  th = ax < 0.0625f ? small : th;
  return x < 0.0f ? -th : th;
}

}  // namespace sdm::engine::nn::detail
