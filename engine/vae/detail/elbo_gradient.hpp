#pragma once
// The dual VAE's training objective (dual_vae.hpp) and its gradient with respect to every
// parameter, written out by hand on raw float storage: the MLPs through nn::DenseStack (sgemm),
// the spatial decoder through its fused kernel, and the reparameterised sampling, both KL terms
// and the L1 tie in closed form. libtorch's autograd spent more time dispatching and recording
// the ~100 small operators of an epoch than on the arithmetic; this path does none of that.
// It covers the fused spatial decoder (spatial_decoder_layers = 1) and the dense image decoder
// (coordinate_invariance = false); deeper spatial decoders keep the autograd loss.
// tests/engine/test_vae_elbo_gradient.cpp checks loss and gradients against torch autograd of
// the same expression and against finite differences. Internal: torch-free.
#include <vector>

#include "engine/nn/dense_stack.hpp"
#include "engine/vae/dual_vae.hpp"

namespace sdm::engine::vae::detail {

/// A torch::nn::Linear's storage: weight out × in row-major, bias out (null: no bias).
/// F = const float for the weights, float for their gradients.
template <class F>
struct LinearView {
  F* weight = nullptr;
  F* bias = nullptr;
  int in = 0, out = 0;
};

/// Every parameter of the dual VAE (the modules of dual_vae.cpp). With coordinate invariance the
/// image decoder is the spatial one (coord: 2 → H, latent: d → H without bias, out: H → 1) and
/// image_decoder is unused; without it, image_decoder (d → H → H → p²) and spatial_* are unused.
template <class F>
struct DualVaeTensors {
  LinearView<F> image_l1, image_l2, image_mean, image_logvar;   ///< image encoder
  LinearView<F> spatial_coord, spatial_latent, spatial_out;     ///< spatial decoder
  LinearView<F> image_decoder_l1, image_decoder_l2, image_decoder_out;
  LinearView<F> curve_l1, curve_l2, curve_mean, curve_logvar;   ///< spectrum encoder
  LinearView<F> curve_decoder_l1, curve_decoder_l2, curve_decoder_out;
  F* tie = nullptr;                                             ///< A, d × d row-major
};
using DualVaeWeights = DualVaeTensors<const float>;
using DualVaeGradients = DualVaeTensors<float>;

enum class TieMoves { both, curve, image };

/// What stays fixed over a fit.
struct ElboShape {
  int pairs = 0;             ///< n
  int latent_dim = 0;        ///< d
  int pixels = 0;            ///< p²
  int curve_points = 0;      ///< L
  bool coordinate_invariance = true;
  std::vector<float> image_prior_std;  ///< per image-encoder output column ([θ, dx, dy,] z)
  const float* grid = nullptr;         ///< p² × 2 pixel coordinates (coordinate invariance)
  double beta = 1.0;
  TieMoves tie_moves = TieMoves::both;
  int threads = 0;                     ///< of the spatial-decoder kernel
};

class ElboGradient {
 public:
  explicit ElboGradient(ElboShape shape);

  /// The loss terms of dual_vae.hpp at `weights` on x_image (n × p²) and x_curve (n × L), both
  /// in [0, 1]. eps_image (n × image-encoder outputs) and eps_curve (n × d) are the standard
  /// normal draws of the reparameterised samples; null: the latents at their posterior means.
  /// With `gradients`, every gradient of total (γ = gamma) is written there (overwritten; the tie's
  /// is zero when tie_moves is image, as A is then held fixed).
  LossTerms run(const DualVaeWeights& weights, const float* x_image, const float* x_curve, const float* eps_image,
                const float* eps_curve, double gamma, const DualVaeGradients* gradients);

 private:
  struct Encoded;
  void encode(nn::DenseStack& stack, const LinearView<const float>& l1, const LinearView<const float>& l2,
              const LinearView<const float>& mean, const LinearView<const float>& logvar, const float* x,
              const float* eps, Encoded& e);
  void encoder_backward(nn::DenseStack& stack, const LinearView<const float>& l1, const LinearView<const float>& l2,
                        const LinearView<float>& gl1, const LinearView<float>& gl2, const LinearView<float>& gmean,
                        const LinearView<float>& glogvar, const float* x, Encoded& e);

  ElboShape shape_;
  nn::DenseStack image_encoder_, image_decoder_, curve_encoder_, curve_decoder_;
  struct Encoded {
    int outputs = 0;
    std::vector<float> head_weight, head_bias;  ///< [mean; logvar] stacked: 2·outputs × H
    std::vector<float> head_weight_grad, head_bias_grad;
    std::vector<float> mean, logvar, sample, std;   ///< n × outputs each
    std::vector<float> d_mean, d_logvar, d_head;    ///< ∂total/∂ of the same; d_head n × 2·outputs
  } image_, curve_;
  std::vector<float> a_, M_, da_, dM_, dw_;     ///< spatial decoder: n × H, n × H × 2, and their gradients
  std::vector<float> d_image_logits_, d_curve_logits_;  ///< ∂total/∂ logits of the dense decoders
  std::vector<float> residual_sign_;            ///< sign of the tie residual, n × d
  std::vector<float> d_sample_;                 ///< ∂total/∂ sample of the VAE being differentiated
};

}  // namespace sdm::engine::vae::detail
