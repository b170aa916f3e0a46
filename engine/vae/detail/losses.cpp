#include "engine/vae/detail/losses.hpp"

namespace sdm::engine::vae::detail {

torch::Tensor bce_with_logits(const torch::Tensor& logits, const torch::Tensor& targets) {
  // One fused op (forward and backward) instead of a chain of elementwise tensors.
  return torch::binary_cross_entropy_with_logits(logits, targets, {}, {}, at::Reduction::Sum) /
         static_cast<double>(logits.size(0));
}

torch::Tensor gaussian_kl(const torch::Tensor& mean, const torch::Tensor& logvar, const torch::Tensor& prior_std) {
  const auto prior_var = prior_std * prior_std;
  const auto kl = torch::log(prior_std) - 0.5 * logvar + (torch::exp(logvar) + mean * mean) / (2.0 * prior_var) - 0.5;
  return kl.sum(1).mean();
}

torch::Tensor l1_tie(const torch::Tensor& z_mean, const torch::Tensor& s_mean, const torch::Tensor& tie) {
  return torch::abs(z_mean - torch::matmul(s_mean, tie.t())).mean();
}

}  // namespace sdm::engine::vae::detail
