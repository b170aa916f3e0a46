#pragma once
// The fused spatial decoder of the image VAE (one coordinate–latent tanh layer + output).
// Internal: includes torch; used by dual_vae.cpp and the tests.
//
// Per sample i and pixel j with coordinate c_j = (c_j0, c_j1):
//   h_ijk    = tanh(a_ik + M_ik0·c_j0 + M_ik1·c_j1)          k = 0..H−1
//   logit_ij = b + Σ_k w_k·h_ijk
// where a_i = W_c·t_i + b_c + W_z·z_i and M_i = W_c·R(θ_i), i.e. the first layer applied to the
// rotated and shifted coordinate R(θ_i)·c_j + t_i concatenated with z_i. Evaluated without
// materialising the n × P × H activations (one pass per sample, cache-resident), which is what
// makes full-batch training on hundreds of 16×16 patches cheap on a CPU. Reductions run over a
// fixed partition of the samples, so results do not depend on the thread count.
#include <torch/torch.h>

#include "engine/vae/detail/spatial_kernel.hpp"

namespace sdm::engine::vae::detail {

/// Σ_ij BCE(σ(logit_ij), x_ij) as a 0-d float tensor, differentiable with respect to a (n × H),
/// M (n × H × 2), w (H) and b (1); grid (P × 2) and target (n × P, in [0, 1]) are constants.
/// All tensors float32, CPU, contiguous. threads ≤ 0: one per hardware thread (at most 8).
torch::Tensor spatial_bce_sum(const torch::Tensor& a, const torch::Tensor& M, const torch::Tensor& w,
                              const torch::Tensor& b, const torch::Tensor& grid, const torch::Tensor& target,
                              int threads);

/// The logits (n × P) of the same decoder, without gradients.
torch::Tensor spatial_logits(const torch::Tensor& a, const torch::Tensor& M, const torch::Tensor& w,
                             const torch::Tensor& b, const torch::Tensor& grid, int threads);

/// Pixel coordinates of a side × side patch, P × 2 float32: pixel (row r, column c) at
/// x = −1 + 2c/(side − 1), y = 1 − 2r/(side − 1) (row-major pixel order).
torch::Tensor coordinate_grid(int side);

}  // namespace sdm::engine::vae::detail
