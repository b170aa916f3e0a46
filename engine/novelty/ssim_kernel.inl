// Included twice by ssim.cpp, inside its anonymous namespace after `Plan`: the per-candidate
// SSIM kernel for compile-time patch and window sizes, once for the baseline ISA and once
// with SDM_SSIM_TARGET = __attribute__((target("avx2"))). avx2 does not enable FMA, so both
// copies perform the same IEEE operations in the same order as the generic ssim_pair and
// return the same bits. Define SDM_SSIM_TARGET and SDM_SSIM_NAME before including.
template <int SIDE, int WIN, bool UNIFORM>
SDM_SSIM_TARGET double SDM_SSIM_NAME(const Plan& p, const float* __restrict a, int sa, const double* __restrict b,
                                     const double* __restrict ma, const double* __restrict va, int ta,
                                     const double* __restrict mb, const double* __restrict vb) {
  constexpr int VALID = SIDE - WIN + 1;
  alignas(64) double prod[SIDE * SIDE];
  alignas(64) double vsum[VALID * SIDE];
  alignas(64) double sab[VALID * VALID];
  alignas(64) double terms[VALID * VALID];
  for (int r = 0; r < SIDE; ++r)
    for (int c = 0; c < SIDE; ++c) prod[r * SIDE + c] = static_cast<double>(a[static_cast<size_t>(r) * sa + c]) * b[r * SIDE + c];
  double w[WIN];
  for (int k = 0; k < WIN; ++k) w[k] = p.w[k];
  // Vertical taps, then horizontal taps (window_means' order).
  for (int u = 0; u < VALID; ++u) {
    double* v = vsum + u * SIDE;
    const double* s = prod + u * SIDE;
    if constexpr (UNIFORM) {
      for (int c = 0; c < SIDE; ++c) {
        double acc = s[c];
        for (int i = 1; i < WIN; ++i) acc += s[i * SIDE + c];
        v[c] = acc;
      }
    } else {
      for (int c = 0; c < SIDE; ++c) {
        double acc = w[0] * s[c];
        for (int i = 1; i < WIN; ++i) acc += w[i] * s[i * SIDE + c];
        v[c] = acc;
      }
    }
  }
  for (int u = 0; u < VALID; ++u) {
    const double* v = vsum + u * SIDE;
    double* o = sab + u * VALID;
    if constexpr (UNIFORM) {
      const double sc = p.scale;
      for (int x = 0; x < VALID; ++x) {
        double acc = v[x];
        for (int j = 1; j < WIN; ++j) acc += v[x + j];
        o[x] = acc * sc;
      }
    } else {
      for (int x = 0; x < VALID; ++x) {
        double acc = w[0] * v[x];
        for (int j = 1; j < WIN; ++j) acc += w[j] * v[x + j];
        o[x] = acc;
      }
    }
  }
  const double c1 = p.c1, c2 = p.c2, cn = p.cn;
  for (int u = 0; u < VALID; ++u) {
    const double* mau = ma + static_cast<size_t>(u) * ta;
    const double* vau = va + static_cast<size_t>(u) * ta;
    for (int v = 0; v < VALID; ++v) {
      const int k = u * VALID + v;
      const double t = mau[v] * mb[k];
      const double cab = cn * (sab[k] - t);
      const double num = ((t + t) + c1) * ((cab + cab) + c2);
      const double den = ((mau[v] * mau[v] + mb[k] * mb[k]) + c1) * ((vau[v] + vb[k]) + c2);
      terms[k] = num / den;
    }
  }
  // Column partial sums, then the row of partials (ssim_pair's order).
  double part[VALID];
  for (int v = 0; v < VALID; ++v) part[v] = terms[v];
  for (int u = 1; u < VALID; ++u)
    for (int v = 0; v < VALID; ++v) part[v] += terms[u * VALID + v];
  double acc = 0.0;
  for (int v = 0; v < VALID; ++v) acc += part[v];
  return acc / (static_cast<double>(VALID) * VALID);
}
