#include "engine/vae/detail/adam.hpp"

#include <cmath>

#include "core/error.hpp"
#include "core/target_clones.hpp"


namespace sdm::engine::vae::detail {
namespace {

SDM_TARGET_CLONES
void update(float* __restrict p, const float* __restrict g, float* __restrict m, float* __restrict v, long long n, float b1,
            float b2, float step_size, float inv_sqrt_bc2, float eps) {
  for (long long i = 0; i < n; ++i) {
    m[i] = b1 * m[i] + (1.0f - b1) * g[i];
    v[i] = b2 * v[i] + (1.0f - b2) * g[i] * g[i];
    p[i] -= step_size * m[i] / (std::sqrt(v[i]) * inv_sqrt_bc2 + eps);
  }
}

}  // namespace

Adam::Adam(std::vector<torch::Tensor> parameters, double learning_rate, double beta1, double beta2, double eps)
    : params_(std::move(parameters)), lr_(learning_rate), beta1_(beta1), beta2_(beta2), eps_(eps) {
  for (const auto& p : params_) {
    if (p.scalar_type() != torch::kFloat32 || !p.device().is_cpu() || !p.is_contiguous())
      throw Error("detail::Adam: parameters must be contiguous float32 CPU tensors");
    m_.emplace_back(static_cast<std::size_t>(p.numel()), 0.0f);
    v_.emplace_back(static_cast<std::size_t>(p.numel()), 0.0f);
  }
}

void Adam::zero_grad() {
  for (auto& p : params_) p.mutable_grad() = torch::Tensor();
}

void Adam::step() {
  torch::NoGradGuard no_grad;
  ++t_;
  const double bc1 = 1.0 - std::pow(beta1_, static_cast<double>(t_));
  const double bc2 = 1.0 - std::pow(beta2_, static_cast<double>(t_));
  for (std::size_t k = 0; k < params_.size(); ++k) {
    auto& p = params_[k];
    const auto& grad = p.grad();
    if (!grad.defined()) continue;
    const auto g = grad.contiguous();
    update(p.data_ptr<float>(), g.data_ptr<float>(), m_[k].data(), v_[k].data(), p.numel(), static_cast<float>(beta1_),
           static_cast<float>(beta2_), static_cast<float>(lr_ / bc1), static_cast<float>(1.0 / std::sqrt(bc2)),
           static_cast<float>(eps_));
  }
}

}  // namespace sdm::engine::vae::detail
