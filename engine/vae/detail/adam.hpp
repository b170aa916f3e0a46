#pragma once
// Adam on a fixed list of float32 CPU parameters, updated in one vectorised pass per parameter
// (torch::optim::Adam's arithmetic: bias-corrected moments, no weight decay, no AMSGrad).
// libtorch's own step costs ~10 elementwise tensor passes per parameter, which dominated the
// epoch time of the dual VAE. Internal: includes torch.
#include <torch/torch.h>

#include <vector>

namespace sdm::engine::vae::detail {

class Adam {
 public:
  explicit Adam(std::vector<torch::Tensor> parameters, double learning_rate, double beta1 = 0.9, double beta2 = 0.999,
                double eps = 1e-8);
  /// Drops the gradients (the next backward starts from zero).
  void zero_grad();
  /// One update from the current gradients (parameters without a gradient are skipped).
  void step();

 private:
  std::vector<torch::Tensor> params_;
  std::vector<std::vector<float>> m_, v_;
  double lr_, beta1_, beta2_, eps_;
  long long t_ = 0;
};

}  // namespace sdm::engine::vae::detail
