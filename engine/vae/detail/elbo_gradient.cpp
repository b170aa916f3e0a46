#include "engine/vae/detail/elbo_gradient.hpp"

#include <algorithm>
#include <cmath>
#include <string>

#include "core/error.hpp"
#include "engine/vae/detail/spatial_kernel.hpp"

namespace sdm::engine::vae::detail {
namespace {

constexpr int kPose = 3;  // θ, dx, dy

using Weights = LinearView<const float>;
using Gradient = LinearView<float>;

nn::DenseLayer dense(const Weights& l, nn::Activation act) { return {l.weight, l.bias, l.in, l.out, act}; }
nn::DenseGradient dense(const Gradient& g) { return {g.weight, g.bias}; }

/// x → H → H (tanh) → logits, as the torch DenseDecoder.
std::vector<nn::DenseLayer> decoder_layers(const Weights& l1, const Weights& l2, const Weights& out) {
  return {dense(l1, nn::Activation::tanh), dense(l2, nn::Activation::tanh), dense(out, nn::Activation::none)};
}

/// Σ BCE(σ(l), x) over `count` entries (the stable form log(1 + e^−|l|) + max(l, 0) − l·x);
/// grad (when not null) receives scale · ∂/∂l = scale · (σ(l) − x).
double bce_with_logits(const float* l, const float* x, std::size_t count, float scale, float* grad) {
  double loss = 0.0;
  for (std::size_t i = 0; i < count; ++i) {
    const float e = std::exp(-std::fabs(l[i]));
    loss += static_cast<double>(std::max(l[i], 0.0f) - l[i] * x[i] + std::log1p(e));
    if (grad) {
      const float sig = l[i] >= 0.0f ? 1.0f / (1.0f + e) : e / (1.0f + e);
      grad[i] = scale * (sig - x[i]);
    }
  }
  return loss;
}

float sign(float r) { return static_cast<float>((r > 0.0f) - (r < 0.0f)); }

}  // namespace

ElboGradient::ElboGradient(ElboShape shape) : shape_(std::move(shape)) {
  if (shape_.pairs < 1 || shape_.latent_dim < 1 || shape_.pixels < 1 || shape_.curve_points < 1)
    throw Error("ElboGradient: pairs, latent_dim, pixels and curve_points must be >= 1");
  const int outputs = shape_.latent_dim + (shape_.coordinate_invariance ? kPose : 0);
  if (static_cast<int>(shape_.image_prior_std.size()) != outputs)
    throw Error("ElboGradient: image_prior_std has " + std::to_string(shape_.image_prior_std.size()) +
                " entries; the image encoder has " + std::to_string(outputs) + " outputs");
  if (shape_.coordinate_invariance && !shape_.grid) throw Error("ElboGradient: the spatial decoder needs the pixel grid");
}

void ElboGradient::encode(nn::DenseStack& stack, const Weights& l1, const Weights& l2, const Weights& mean,
                          const Weights& logvar, const float* x, const float* eps, Encoded& e) {
  const int n = shape_.pairs, H = l2.out, D = mean.out;
  e.outputs = D;
  // The two heads as one layer of 2D outputs: columns [0, D) the mean, [D, 2D) the log-variance.
  e.head_weight.resize(static_cast<std::size_t>(2) * D * H);
  e.head_bias.resize(static_cast<std::size_t>(2) * D);
  std::copy(mean.weight, mean.weight + static_cast<std::size_t>(D) * H, e.head_weight.begin());
  std::copy(logvar.weight, logvar.weight + static_cast<std::size_t>(D) * H, e.head_weight.begin() + static_cast<std::ptrdiff_t>(D) * H);
  std::copy(mean.bias, mean.bias + D, e.head_bias.begin());
  std::copy(logvar.bias, logvar.bias + D, e.head_bias.begin() + D);
  const std::vector<nn::DenseLayer> layers = {dense(l1, nn::Activation::tanh), dense(l2, nn::Activation::tanh),
                                              {e.head_weight.data(), e.head_bias.data(), H, 2 * D, nn::Activation::none}};
  const float* out = stack.forward(layers, x, n);
  const std::size_t size = static_cast<std::size_t>(n) * D;
  e.mean.resize(size);
  e.logvar.resize(size);
  e.sample.resize(size);
  e.std.resize(size);
  for (int i = 0; i < n; ++i)
    for (int j = 0; j < D; ++j) {
      const std::size_t k = static_cast<std::size_t>(i) * D + j;
      e.mean[k] = out[static_cast<std::size_t>(i) * 2 * D + j];
      e.logvar[k] = out[static_cast<std::size_t>(i) * 2 * D + D + j];
      e.std[k] = std::exp(0.5f * e.logvar[k]);
      e.sample[k] = eps ? e.mean[k] + e.std[k] * eps[k] : e.mean[k];
    }
}

void ElboGradient::encoder_backward(nn::DenseStack& stack, const Weights& l1, const Weights& l2, const Gradient& gl1,
                                    const Gradient& gl2, const Gradient& gmean, const Gradient& glogvar, const float* x,
                                    Encoded& e) {
  const int n = shape_.pairs, H = l2.out, D = e.outputs;
  e.d_head.resize(static_cast<std::size_t>(n) * 2 * D);
  for (int i = 0; i < n; ++i)
    for (int j = 0; j < D; ++j) {
      e.d_head[static_cast<std::size_t>(i) * 2 * D + j] = e.d_mean[static_cast<std::size_t>(i) * D + j];
      e.d_head[static_cast<std::size_t>(i) * 2 * D + D + j] = e.d_logvar[static_cast<std::size_t>(i) * D + j];
    }
  e.head_weight_grad.resize(e.head_weight.size());
  e.head_bias_grad.resize(e.head_bias.size());
  const std::vector<nn::DenseLayer> layers = {dense(l1, nn::Activation::tanh), dense(l2, nn::Activation::tanh),
                                              {e.head_weight.data(), e.head_bias.data(), H, 2 * D, nn::Activation::none}};
  stack.backward(layers, x, e.d_head.data(), {dense(gl1), dense(gl2), {e.head_weight_grad.data(), e.head_bias_grad.data()}});
  const auto DH = static_cast<std::ptrdiff_t>(D) * H;
  std::copy(e.head_weight_grad.begin(), e.head_weight_grad.begin() + DH, gmean.weight);
  std::copy(e.head_weight_grad.begin() + DH, e.head_weight_grad.end(), glogvar.weight);
  std::copy(e.head_bias_grad.begin(), e.head_bias_grad.begin() + D, gmean.bias);
  std::copy(e.head_bias_grad.begin() + D, e.head_bias_grad.end(), glogvar.bias);
}

LossTerms ElboGradient::run(const DualVaeWeights& W, const float* x_image, const float* x_curve, const float* eps_image,
                            const float* eps_curve, double gamma, const DualVaeGradients* G) {
  const int n = shape_.pairs, d = shape_.latent_dim, P = shape_.pixels, L = shape_.curve_points;
  const bool ci = shape_.coordinate_invariance;
  const int off = ci ? kPose : 0;
  const double beta = shape_.beta;
  const float inv_n = 1.0f / static_cast<float>(n);
  LossTerms t;

  // ---- image VAE, forward
  encode(image_encoder_, W.image_l1, W.image_l2, W.image_mean, W.image_logvar, x_image, eps_image, image_);
  const int Di = image_.outputs;
  if (Di != off + d)
    throw Error("ElboGradient: the image encoder has " + std::to_string(Di) + " outputs; expected " + std::to_string(off + d));
  double kl = 0.0;
  for (int i = 0; i < n; ++i)
    for (int j = 0; j < Di; ++j) {
      const std::size_t k = static_cast<std::size_t>(i) * Di + j;
      const double sp = shape_.image_prior_std[j], lv = image_.logvar[k], mu = image_.mean[k];
      kl += std::log(sp) - 0.5 * lv + (std::exp(lv) + mu * mu) / (2.0 * sp * sp) - 0.5;
    }
  t.kl_image = kl / n;

  const float* s = image_.sample.data();
  int H = 0;
  double spatial_db = 0.0;
  const float* image_logits = nullptr;
  d_image_logits_.resize(ci ? 0 : static_cast<std::size_t>(n) * P);
  if (ci) {
    // First layer of every pixel: a_i = W_c t_i + b_c + W_z z_i and M_i = W_c R(θ_i) (dual_vae.cpp).
    H = W.spatial_coord.out;
    const float* Wc = W.spatial_coord.weight;  // H × 2
    const float* bc = W.spatial_coord.bias;
    const float* Wz = W.spatial_latent.weight;  // H × d
    a_.resize(static_cast<std::size_t>(n) * H);
    M_.resize(static_cast<std::size_t>(n) * H * 2);
    for (int i = 0; i < n; ++i) {
      const float* si = s + static_cast<std::size_t>(i) * Di;
      const float c = std::cos(si[0]), sn = std::sin(si[0]);
      float* a = a_.data() + static_cast<std::size_t>(i) * H;
      float* M = M_.data() + static_cast<std::size_t>(i) * H * 2;
      for (int k = 0; k < H; ++k) {
        float acc = si[1] * Wc[2 * k] + si[2] * Wc[2 * k + 1] + bc[k];
        for (int j = 0; j < d; ++j) acc += Wz[k * d + j] * si[kPose + j];
        a[k] = acc;
        M[2 * k] = Wc[2 * k] * c + Wc[2 * k + 1] * sn;
        M[2 * k + 1] = -Wc[2 * k] * sn + Wc[2 * k + 1] * c;
      }
    }
    da_.resize(a_.size());
    dM_.resize(M_.size());
    dw_.resize(static_cast<std::size_t>(H));
    const double sum = spatial_bce_gradient(n, H, P, a_.data(), M_.data(), W.spatial_out.weight, W.spatial_out.bias[0],
                                            shape_.grid, x_image, da_.data(), dM_.data(), dw_.data(), &spatial_db,
                                            shape_.threads);
    t.recon_image = sum / n;
  } else {
    image_logits = image_decoder_.forward(decoder_layers(W.image_decoder_l1, W.image_decoder_l2, W.image_decoder_out), s, n);
    t.recon_image = bce_with_logits(image_logits, x_image, static_cast<std::size_t>(n) * P, inv_n,
                                    G ? d_image_logits_.data() : nullptr) / n;
  }

  // ---- spectrum VAE, forward
  encode(curve_encoder_, W.curve_l1, W.curve_l2, W.curve_mean, W.curve_logvar, x_curve, eps_curve, curve_);
  if (curve_.outputs != d)
    throw Error("ElboGradient: the curve encoder has " + std::to_string(curve_.outputs) + " outputs; expected " + std::to_string(d));
  kl = 0.0;
  for (std::size_t k = 0; k < curve_.mean.size(); ++k) {
    const double lv = curve_.logvar[k], mu = curve_.mean[k];
    kl += -0.5 * lv + 0.5 * (std::exp(lv) + mu * mu) - 0.5;
  }
  t.kl_curve = kl / n;
  const float* curve_logits = curve_decoder_.forward(
      decoder_layers(W.curve_decoder_l1, W.curve_decoder_l2, W.curve_decoder_out), curve_.sample.data(), n);
  d_curve_logits_.resize(static_cast<std::size_t>(n) * L);
  t.recon_curve = bce_with_logits(curve_logits, x_curve, static_cast<std::size_t>(n) * L, inv_n,
                                  G ? d_curve_logits_.data() : nullptr) / n;

  // ---- the tie: r = μ_z − A μ_s, similarity = mean |r|
  residual_sign_.resize(static_cast<std::size_t>(n) * d);
  double abs_sum = 0.0;
  for (int i = 0; i < n; ++i)
    for (int j = 0; j < d; ++j) {
      float r = image_.mean[static_cast<std::size_t>(i) * Di + off + j];
      for (int k = 0; k < d; ++k) r -= W.tie[j * d + k] * curve_.mean[static_cast<std::size_t>(i) * d + k];
      abs_sum += std::fabs(r);
      residual_sign_[static_cast<std::size_t>(i) * d + j] = sign(r);
    }
  t.similarity = abs_sum / (static_cast<double>(n) * d);
  t.total = t.recon_image + t.recon_curve + beta * (t.kl_image + t.kl_curve) + gamma * t.similarity;
  if (!G) return t;

  // ---- backward: image VAE
  const float tie_scale = static_cast<float>(gamma / (static_cast<double>(n) * d));
  d_sample_.assign(static_cast<std::size_t>(n) * Di, 0.0f);
  if (ci) {
    const float* Wc = W.spatial_coord.weight;
    const float* Wz = W.spatial_latent.weight;
    float* dWc = G->spatial_coord.weight;
    float* dbc = G->spatial_coord.bias;
    float* dWz = G->spatial_latent.weight;
    std::fill(dWc, dWc + 2 * H, 0.0f);
    std::fill(dbc, dbc + H, 0.0f);
    std::fill(dWz, dWz + static_cast<std::size_t>(H) * d, 0.0f);
    for (int k = 0; k < H; ++k) G->spatial_out.weight[k] = dw_[k] * inv_n;
    G->spatial_out.bias[0] = static_cast<float>(spatial_db / n);
    for (int i = 0; i < n; ++i) {
      const float* si = s + static_cast<std::size_t>(i) * Di;
      float* dsi = d_sample_.data() + static_cast<std::size_t>(i) * Di;
      const float c = std::cos(si[0]), sn = std::sin(si[0]);
      const float* da = da_.data() + static_cast<std::size_t>(i) * H;
      const float* dM = dM_.data() + static_cast<std::size_t>(i) * H * 2;
      float dtheta = 0.0f, dtx = 0.0f, dty = 0.0f;
      for (int k = 0; k < H; ++k) {
        const float ga = da[k] * inv_n, g0 = dM[2 * k] * inv_n, g1 = dM[2 * k + 1] * inv_n;
        const float w0 = Wc[2 * k], w1 = Wc[2 * k + 1];
        // a = W_c t + b_c + W_z z; M = W_c R(θ) with R = [cos −sin; sin cos].
        dWc[2 * k] += ga * si[1] + g0 * c - g1 * sn;
        dWc[2 * k + 1] += ga * si[2] + g0 * sn + g1 * c;
        dbc[k] += ga;
        dtx += ga * w0;
        dty += ga * w1;
        dtheta += g0 * (-w0 * sn + w1 * c) + g1 * (-w0 * c - w1 * sn);
        for (int j = 0; j < d; ++j) {
          dWz[k * d + j] += ga * si[kPose + j];
          dsi[kPose + j] += ga * Wz[k * d + j];
        }
      }
      dsi[0] += dtheta;
      dsi[1] += dtx;
      dsi[2] += dty;
    }
  } else {
    image_decoder_.backward(decoder_layers(W.image_decoder_l1, W.image_decoder_l2, W.image_decoder_out), s,
                            d_image_logits_.data(),
                            {dense(G->image_decoder_l1), dense(G->image_decoder_l2), dense(G->image_decoder_out)},
                            d_sample_.data());
  }
  // Through the reparameterisation s = μ + exp(½ log σ²)·ε, then the KL terms and the tie.
  const auto latent_backward = [&](Encoded& e, const float* eps, const float* prior_std) {
    const std::size_t size = e.mean.size();
    e.d_mean.resize(size);
    e.d_logvar.resize(size);
    for (std::size_t k = 0; k < size; ++k) {
      const int j = static_cast<int>(k % e.outputs);
      const float sp = prior_std ? prior_std[j] : 1.0f, var = sp * sp;
      const float ds = d_sample_[k];
      e.d_mean[k] = ds + static_cast<float>(beta) * e.mean[k] / var * inv_n;
      e.d_logvar[k] = (eps ? ds * eps[k] * 0.5f * e.std[k] : 0.0f) +
                      static_cast<float>(beta) * (-0.5f + std::exp(e.logvar[k]) / (2.0f * var)) * inv_n;
    }
  };
  latent_backward(image_, eps_image, shape_.image_prior_std.data());
  if (shape_.tie_moves != TieMoves::curve)
    for (int i = 0; i < n; ++i)
      for (int j = 0; j < d; ++j)
        image_.d_mean[static_cast<std::size_t>(i) * Di + off + j] += tie_scale * residual_sign_[static_cast<std::size_t>(i) * d + j];
  encoder_backward(image_encoder_, W.image_l1, W.image_l2, G->image_l1, G->image_l2, G->image_mean, G->image_logvar,
                   x_image, image_);

  // ---- backward: spectrum VAE and A
  d_sample_.assign(static_cast<std::size_t>(n) * d, 0.0f);
  curve_decoder_.backward(decoder_layers(W.curve_decoder_l1, W.curve_decoder_l2, W.curve_decoder_out), curve_.sample.data(),
                          d_curve_logits_.data(),
                          {dense(G->curve_decoder_l1), dense(G->curve_decoder_l2), dense(G->curve_decoder_out)},
                          d_sample_.data());
  latent_backward(curve_, eps_curve, nullptr);
  std::fill(G->tie, G->tie + d * d, 0.0f);
  if (shape_.tie_moves != TieMoves::image) {
    // ∂/∂μ_s = −(g A), ∂/∂A = −gᵀ μ_s with g = tie_scale · sign(r).
    for (int i = 0; i < n; ++i)
      for (int j = 0; j < d; ++j) {
        const float g = tie_scale * residual_sign_[static_cast<std::size_t>(i) * d + j];
        for (int k = 0; k < d; ++k) {
          curve_.d_mean[static_cast<std::size_t>(i) * d + k] -= g * W.tie[j * d + k];
          G->tie[j * d + k] -= g * curve_.mean[static_cast<std::size_t>(i) * d + k];
        }
      }
  }
  encoder_backward(curve_encoder_, W.curve_l1, W.curve_l2, G->curve_l1, G->curve_l2, G->curve_mean, G->curve_logvar,
                   x_curve, curve_);
  return t;
}

}  // namespace sdm::engine::vae::detail
