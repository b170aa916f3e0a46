#pragma once
// The fused spatial-decoder kernel (spatial_decoder.hpp) on raw row-major storage, without
// torch: for the hand-written training gradient (elbo_gradient.hpp).
namespace sdm::engine::vae::detail {

/// The loss and gradients of spatial_bce_sum, unchecked: a n × H, M n × H × 2, w H, grid P × 2,
/// target n × P in [0, 1]. Returns Σ_ij BCE; da, dM and dw receive its gradients (overwritten)
/// and *db its derivative in b. threads ≤ 0: one per hardware thread (at most 8).
double spatial_bce_gradient(int n, int H, int P, const float* a, const float* M, const float* w, float b,
                            const float* grid, const float* target, float* da, float* dM, float* dw, double* db,
                            int threads);

}  // namespace sdm::engine::vae::detail
