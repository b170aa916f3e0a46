#pragma once
// Private: the few LAPACK/BLAS routines the GP needs (OpenBLAS via LAPACK::LAPACK).
// Fortran calling convention; the hidden string lengths are passed explicitly.
#include <cstddef>

extern "C" {
void dpotrf_(const char* uplo, const int* n, double* a, const int* lda, int* info, std::size_t uplo_len);
void dpotri_(const char* uplo, const int* n, double* a, const int* lda, int* info, std::size_t uplo_len);
void dpotrs_(const char* uplo, const int* n, const int* nrhs, const double* a, const int* lda, double* b,
             const int* ldb, int* info, std::size_t uplo_len);
void dtrsm_(const char* side, const char* uplo, const char* transa, const char* diag, const int* m, const int* n,
            const double* alpha, const double* a, const int* lda, double* b, const int* ldb, std::size_t,
            std::size_t, std::size_t, std::size_t);
void dtrmm_(const char* side, const char* uplo, const char* transa, const char* diag, const int* m, const int* n,
            const double* alpha, const double* a, const int* lda, double* b, const int* ldb, std::size_t,
            std::size_t, std::size_t, std::size_t);
void dlauum_(const char* uplo, const int* n, double* a, const int* lda, int* info, std::size_t uplo_len);
void dsymv_(const char* uplo, const int* n, const double* alpha, const double* a, const int* lda, const double* x,
            const int* incx, const double* beta, double* y, const int* incy, std::size_t uplo_len);
}

namespace sdm::engine::gp::detail {

/// Lower Cholesky in place; returns LAPACK info (0: success, k > 0: leading minor k not PD).
inline int potrf_lower(double* a, int n, int lda) {
  int info = 0;
  dpotrf_("L", &n, a, &lda, &info, 1);
  return info;
}
/// From the lower factor, the lower triangle of the inverse, in place.
inline int potri_lower(double* a, int n, int lda) {
  int info = 0;
  dpotri_("L", &n, a, &lda, &info, 1);
  return info;
}
/// In-place inverse of a lower-triangular matrix (non-singular diagonal assumed).
void trtri_lower(double* a, int n, int lda);
/// From the lower Cholesky factor L of K, the lower triangle of K^-1 in place (what dpotri
/// does, with a faster triangular inverse; see linalg.cpp).
void inverse_from_cholesky_lower(double* a, int n, int lda);

/// Solves (L L^T) X = B in place (B: n x nrhs, column-major).
inline int potrs_lower(const double* l, int n, int ldl, double* b, int nrhs, int ldb) {
  int info = 0;
  dpotrs_("L", &n, &nrhs, l, &ldl, b, &ldb, &info, 1);
  return info;
}
/// B <- L^-1 B with L lower triangular (n x n), B n x m column-major.
inline void trsm_left_lower(const double* l, int n, int ldl, double* b, int m, int ldb) {
  const double one = 1.0;
  dtrsm_("L", "L", "N", "N", &n, &m, &one, l, &ldl, b, &ldb, 1, 1, 1, 1);
}
/// B <- B L^-T with L lower triangular (n x n), B m x n column-major.
inline void trsm_right_lower_transposed(const double* l, int n, int ldl, double* b, int m, int ldb) {
  const double one = 1.0;
  dtrsm_("R", "L", "T", "N", &m, &n, &one, l, &ldl, b, &ldb, 1, 1, 1, 1);
}
/// B <- B T^T with T lower triangular (n x n), B m x n column-major.
inline void trmm_right_lower_transposed(const double* t, int n, int ldt, double* b, int m, int ldb) {
  const double one = 1.0;
  dtrmm_("R", "L", "T", "N", &m, &n, &one, t, &ldt, b, &ldb, 1, 1, 1, 1);
}
/// y <- alpha A x + beta y, A symmetric with its lower triangle stored.
inline void symv_lower(const double* a, int n, int lda, const double* x, double* y, double alpha, double beta) {
  const int one = 1;
  dsymv_("L", &n, &alpha, a, &lda, x, &one, &beta, y, &one, 1);
}

}  // namespace sdm::engine::gp::detail
