#pragma once
// Loss terms of the dual VAE on torch tensors. Internal: includes torch, so only the
// engine's own .cpp files and tests include it (never a public header).
#include <torch/torch.h>

namespace sdm::engine::vae::detail {

/// Σ_features BCE(σ(logits), targets), averaged over rows:
///   mean_i Σ_j [max(l, 0) − l·x + log(1 + e^−|l|)]  (= −x·log σ(l) − (1 − x)·log(1 − σ(l))).
torch::Tensor bce_with_logits(const torch::Tensor& logits, const torch::Tensor& targets);

/// KL(N(μ, e^logvar) ‖ N(0, σ_p²)) summed over columns, averaged over rows:
///   mean_i Σ_j [log σ_p − ½·logvar + (e^logvar + μ²) / (2σ_p²) − ½].
/// `prior_std` holds σ_p per column (size = columns).
torch::Tensor gaussian_kl(const torch::Tensor& mean, const torch::Tensor& logvar, const torch::Tensor& prior_std);

/// The latent tie: the mean over all n × d entries of |z_ij − (A·s_i)_j| (rows of z and s are
/// samples; A is d × d) — PyTorch's l1_loss with its default mean reduction.
torch::Tensor l1_tie(const torch::Tensor& z_mean, const torch::Tensor& s_mean, const torch::Tensor& tie);

}  // namespace sdm::engine::vae::detail
