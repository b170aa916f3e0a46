#include "engine/gp/detail/lapack.hpp"

namespace sdm::engine::gp::detail {

// Recursive blocked inverse: inv([A 0; B C]) = [A^-1 0; -C^-1 B A^-1  C^-1], the off-diagonal
// block by two dtrmm (GEMM-speed), small diagonal blocks by plain loops. OpenBLAS's dtrtri
// spends most of its time in its unblocked base case (a trmv per column) for n <~ 1000.
void trtri_lower(double* a, int n, int lda) {
  constexpr int kBase = 32;
  if (n <= kBase) {
    double x[kBase];
    for (int j = n - 1; j >= 0; --j) {
      double* col = a + static_cast<std::size_t>(j) * lda;
      const double ajj = 1.0 / col[j];
      col[j] = ajj;
      for (int i = j + 1; i < n; ++i) x[i] = col[i];
      // column j below the diagonal: -a_jj^-1 * inv(L)(j+1:, j+1:) * L(j+1:, j)
      for (int i = j + 1; i < n; ++i) {
        double s = 0;
        for (int k = j + 1; k <= i; ++k) s += a[static_cast<std::size_t>(k) * lda + i] * x[k];
        col[i] = -ajj * s;
      }
    }
    return;
  }
  int n1 = ((n / 2 + 7) / 8) * 8;
  if (n1 >= n) n1 = n / 2;
  const int n2 = n - n1;
  double* a11 = a;
  double* a21 = a + n1;
  double* a22 = a + static_cast<std::size_t>(n1) * lda + n1;
  trtri_lower(a11, n1, lda);
  trtri_lower(a22, n2, lda);
  const double one = 1.0, minus_one = -1.0;
  dtrmm_("R", "L", "N", "N", &n2, &n1, &one, a11, &lda, a21, &lda, 1, 1, 1, 1);
  dtrmm_("L", "L", "N", "N", &n2, &n1, &minus_one, a22, &lda, a21, &lda, 1, 1, 1, 1);
}

void inverse_from_cholesky_lower(double* a, int n, int lda) {
  trtri_lower(a, n, lda);
  int info = 0;
  dlauum_("L", &n, a, &lda, &info, 1);  // L^-T L^-1 = K^-1 (lower triangle)
}

}  // namespace sdm::engine::gp::detail
