#include "engine/vae/dual_vae.hpp"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include <Eigen/LU>
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <nlohmann/json.hpp>
#include <sstream>

#include "core/error.hpp"
#include "engine/vae/detail/adam.hpp"
#include "engine/vae/detail/elbo_gradient.hpp"
#include "engine/vae/detail/losses.hpp"
#include "engine/vae/detail/spatial_decoder.hpp"

namespace sdm::engine::vae {
namespace {

using torch::Tensor;
using RowMatrixD = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

constexpr int kPose = 3;          // θ, dx, dy
constexpr int64_t kChunk = 4096;  // rows per inference chunk
constexpr const char* kMetaKey = "sdm_dual_vae_meta";
constexpr int kFormatVersion = 1;

// ---------------------------------------------------------------- modules

/// x → H → H (tanh) → (mean, log-variance).
struct EncoderImpl : torch::nn::Module {
  EncoderImpl(int in, int hidden, int out)
      : l1(register_module("l1", torch::nn::Linear(in, hidden))),
        l2(register_module("l2", torch::nn::Linear(hidden, hidden))),
        mean(register_module("mean", torch::nn::Linear(hidden, out))),
        logvar(register_module("logvar", torch::nn::Linear(hidden, out))) {}
  std::pair<Tensor, Tensor> forward(const Tensor& x) {
    const auto h = torch::tanh(l2(torch::tanh(l1(x))));
    return {mean(h), logvar(h)};
  }
  torch::nn::Linear l1, l2, mean, logvar;
};
TORCH_MODULE(Encoder);

/// z → H → H (tanh) → logits of every output feature.
struct DenseDecoderImpl : torch::nn::Module {
  DenseDecoderImpl(int in, int hidden, int out)
      : l1(register_module("l1", torch::nn::Linear(in, hidden))),
        l2(register_module("l2", torch::nn::Linear(hidden, hidden))),
        out(register_module("out", torch::nn::Linear(hidden, out))) {}
  Tensor forward(const Tensor& z) { return out(torch::tanh(l2(torch::tanh(l1(z))))); }
  torch::nn::Linear l1, l2, out;
};
TORCH_MODULE(DenseDecoder);

/// R(θ) for a batch: n × 2 × 2, rows [cos −sin; sin cos] (c' = R·c rotates by +θ).
Tensor rotation(const Tensor& theta) {
  const auto c = torch::cos(theta), s = torch::sin(theta);
  return torch::stack({torch::stack({c, -s}, 1), torch::stack({s, c}, 1)}, 1);
}

/// The rVAE spatial decoder (see dual_vae.hpp). layers == 1 runs the fused kernel.
struct SpatialDecoderImpl : torch::nn::Module {
  SpatialDecoderImpl(int side, int latent_dim, int hidden, int layers)
      : coord(register_module("coord", torch::nn::Linear(2, hidden))),
        latent(register_module("latent", torch::nn::Linear(torch::nn::LinearOptions(latent_dim, hidden).bias(false)))),
        hidden_layers(register_module("hidden", torch::nn::ModuleList())),
        out(register_module("out", torch::nn::Linear(hidden, 1))) {
    for (int l = 1; l < layers; ++l) hidden_layers->push_back(torch::nn::Linear(hidden, hidden));
    grid = register_buffer("grid", detail::coordinate_grid(side));
  }
  bool fused() const { return hidden_layers->size() == 0; }

  // First-layer pre-activation of pixel c: (W_c R) c + (W_c t + b_c + W_z z) = M c + a.
  std::pair<Tensor, Tensor> first_layer(const Tensor& theta, const Tensor& shift, const Tensor& z) {
    const auto M = torch::matmul(coord->weight.unsqueeze(0), rotation(theta)).contiguous();  // n × H × 2
    const auto a = (torch::matmul(shift, coord->weight.t()) + coord->bias + latent(z)).contiguous();  // n × H
    return {a, M};
  }
  // The generic autograd path: every pixel's transformed coordinate through the layers.
  Tensor generic_logits(const Tensor& theta, const Tensor& shift, const Tensor& z) {
    const auto moved = torch::matmul(grid.unsqueeze(0), rotation(theta).transpose(1, 2)) + shift.unsqueeze(1);  // n × P × 2
    auto h = torch::tanh(coord(moved) + latent(z).unsqueeze(1));
    for (const auto& m : *hidden_layers) h = torch::tanh(m->as<torch::nn::Linear>()->forward(h));
    return out(h).squeeze(-1);  // n × P
  }
  Tensor bce_sum(const Tensor& theta, const Tensor& shift, const Tensor& z, const Tensor& target, int threads) {
    if (!fused()) {
      const auto l = generic_logits(theta, shift, z);
      return detail::bce_with_logits(l, target) * static_cast<double>(target.size(0));
    }
    const auto [a, M] = first_layer(theta, shift, z);
    return detail::spatial_bce_sum(a, M, out->weight.view({-1}), out->bias, grid, target.contiguous(), threads);
  }
  Tensor logits(const Tensor& theta, const Tensor& shift, const Tensor& z, int threads) {
    if (!fused()) return generic_logits(theta, shift, z);
    const auto [a, M] = first_layer(theta, shift, z);
    return detail::spatial_logits(a, M, out->weight.view({-1}).contiguous(), out->bias, grid, threads);
  }

  torch::nn::Linear coord, latent;
  torch::nn::ModuleList hidden_layers;
  torch::nn::Linear out;
  Tensor grid;
};
TORCH_MODULE(SpatialDecoder);

struct NetImpl : torch::nn::Module {
  NetImpl(const VaeConfig& c, int side, int curve_points) {
    const int d = c.latent_dim, H = c.hidden, P = side * side;
    image_encoder = register_module("image_encoder", Encoder(P, H, d + (c.coordinate_invariance ? kPose : 0)));
    if (c.coordinate_invariance)
      spatial_decoder = register_module("spatial_decoder", SpatialDecoder(side, d, H, c.spatial_decoder_layers));
    else
      image_decoder = register_module("image_decoder", DenseDecoder(d, H, P));
    curve_encoder = register_module("curve_encoder", Encoder(curve_points, H, d));
    curve_decoder = register_module("curve_decoder", DenseDecoder(d, H, curve_points));
    tie = register_parameter("tie", torch::eye(d, torch::kFloat32));
  }
  Encoder image_encoder{nullptr};
  SpatialDecoder spatial_decoder{nullptr};
  DenseDecoder image_decoder{nullptr};
  Encoder curve_encoder{nullptr};
  DenseDecoder curve_decoder{nullptr};
  Tensor tie;
};
TORCH_MODULE(Net);

// ---------------------------------------------------------------- scaling to [0, 1]

struct Scaling {
  std::string mode;  // global_minmax | per_row_minmax | none
  double lo = 0.0, hi = 1.0;

  void fit(const RowMatrixD& x) {
    lo = 0.0;
    hi = 1.0;
    if (mode != "global_minmax") return;
    lo = x.minCoeff();
    hi = x.maxCoeff();
    if (!(hi > lo)) hi = lo + 1.0;  // constant data: everything maps to 0
  }
  // In place, to [0, 1].
  void apply(RowMatrixD& x, const std::string& what) const {
    if (mode == "global_minmax") {
      x = ((x.array() - lo) / (hi - lo)).cwiseMax(0.0).cwiseMin(1.0).matrix();
    } else if (mode == "per_row_minmax") {
      for (Eigen::Index i = 0; i < x.rows(); ++i) {
        const double a = x.row(i).minCoeff(), b = x.row(i).maxCoeff();
        if (b > a)
          x.row(i) = (x.row(i).array() - a) / (b - a);
        else
          x.row(i).setZero();
      }
    } else {
      const double a = x.minCoeff(), b = x.maxCoeff();
      if (a < 0.0 || b > 1.0) {
        std::ostringstream m;
        m << what << ": values span [" << a << ", " << b << "] but scaling \"none\" needs them in [0, 1]";
        throw Error(m.str());
      }
    }
  }
  // From [0, 1] back to input units (identity for per-row and none).
  void invert(RowMatrixD& x) const {
    if (mode == "global_minmax") x = (x.array() * (hi - lo) + lo).matrix();
  }
};

std::string scaling_mode(const std::string& configured) {
  if (configured == "per_patch_minmax" || configured == "per_curve_minmax") return "per_row_minmax";
  return configured;
}

// ---------------------------------------------------------------- input checks and conversions

template <class Matrix>
void check_finite(const Matrix& m, const std::string& what) {
  for (Eigen::Index i = 0; i < m.rows(); ++i)
    for (Eigen::Index j = 0; j < m.cols(); ++j)
      if (!std::isfinite(static_cast<double>(m(i, j)))) {
        std::ostringstream s;
        s << what << ": row " << i << ", column " << j << " is not finite (" << m(i, j) << ")";
        throw Error(s.str());
      }
}

Tensor to_tensor(const RowMatrixD& m) {
  const Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor> f = m.cast<float>();
  return torch::from_blob(const_cast<float*>(f.data()), {static_cast<int64_t>(f.rows()), static_cast<int64_t>(f.cols())},
                          torch::kFloat32)
      .clone();
}

Tensor to_tensor(const Eigen::MatrixXd& m) {
  const RowMatrixD r = m;
  return to_tensor(r);
}

RowMatrixD to_eigen(const Tensor& t) {
  const auto c = t.to(torch::kFloat64).contiguous();
  RowMatrixD m(c.size(0), c.size(1));
  std::memcpy(m.data(), c.data_ptr<double>(), sizeof(double) * static_cast<std::size_t>(m.size()));
  return m;
}

at::Generator make_generator(std::uint64_t seed) { return at::make_generator<at::CPUGeneratorImpl>(seed); }

// PyTorch's default Linear initialisation (U(±1/√fan_in) for weights and biases), drawn from `gen`.
void init_linear(torch::nn::Module& module, at::Generator& gen) {
  for (auto& m : module.modules(/*include_self=*/true)) {
    if (auto* lin = m->as<torch::nn::Linear>()) {
      const double bound = 1.0 / std::sqrt(static_cast<double>(lin->weight.size(1)));
      lin->weight.uniform_(-bound, bound, gen);
      if (lin->bias.defined()) lin->bias.uniform_(-bound, bound, gen);
    }
  }
}

// A Linear's storage (or, with `gradient`, its .grad()'s) for the hand-written gradient.
template <class F>
detail::LinearView<F> linear_view(const torch::nn::Linear& l, bool gradient) {
  const auto data = [gradient](const Tensor& t) -> F* {
    if (!t.defined()) return nullptr;
    return gradient ? t.grad().data_ptr<float>() : t.data_ptr<float>();
  };
  return {data(l->weight), data(l->bias), static_cast<int>(l->weight.size(1)), static_cast<int>(l->weight.size(0))};
}

nlohmann::json config_to_json(const VaeConfig& c) {
  return {{"latent_dim", c.latent_dim},
          {"hidden", c.hidden},
          {"epochs", c.epochs},
          {"learning_rate", c.learning_rate},
          {"beta_kl", c.beta_kl},
          {"gamma_similarity", c.gamma_similarity},
          {"tie_warmup_fraction", c.tie_warmup_fraction},
          {"tie_moves", c.tie_moves},
          {"coordinate_invariance", c.coordinate_invariance},
          {"rotation_prior_rad", c.rotation_prior_rad},
          {"shift_prior", c.shift_prior},
          {"spatial_decoder_layers", c.spatial_decoder_layers},
          {"curve_points", c.curve_points},
          {"patch_scaling", c.patch_scaling},
          {"curve_scaling", c.curve_scaling},
          {"threads", c.threads},
          {"scalarizer", c.scalarizer},
          {"manifold_grid", c.manifold_grid},
          {"max_clusters", c.max_clusters},
          {"cluster_representatives", c.cluster_representatives}};
}

VaeConfig config_from_json(const nlohmann::json& j) {
  VaeConfig c;
  c.latent_dim = j.at("latent_dim");
  c.hidden = j.at("hidden");
  c.epochs = j.at("epochs");
  c.learning_rate = j.at("learning_rate");
  c.beta_kl = j.at("beta_kl");
  c.gamma_similarity = j.at("gamma_similarity");
  c.tie_warmup_fraction = j.at("tie_warmup_fraction");
  // Files written before tie_moves existed carry the boolean tie_detach_image.
  if (j.contains("tie_moves"))
    c.tie_moves = j.at("tie_moves");
  else
    c.tie_moves = j.at("tie_detach_image").get<bool>() ? "curve" : "both";
  c.coordinate_invariance = j.at("coordinate_invariance");
  c.rotation_prior_rad = j.at("rotation_prior_rad");
  c.shift_prior = j.at("shift_prior");
  c.spatial_decoder_layers = j.at("spatial_decoder_layers");
  c.curve_points = j.at("curve_points");
  c.patch_scaling = j.at("patch_scaling");
  c.curve_scaling = j.at("curve_scaling");
  c.threads = j.at("threads");
  c.scalarizer = j.at("scalarizer");
  c.manifold_grid = j.at("manifold_grid");
  c.max_clusters = j.at("max_clusters");
  c.cluster_representatives = j.at("cluster_representatives");
  return c;
}

void validate_config(const VaeConfig& c) {
  auto bad = [](const std::string& key, const std::string& what) { throw Error("DualVae: config " + key + " " + what); };
  if (c.latent_dim < 1) bad("latent_dim", "must be >= 1");
  if (c.hidden < 1) bad("hidden", "must be >= 1");
  if (c.epochs < 0) bad("epochs", "must be >= 0");
  if (!(c.learning_rate > 0)) bad("learning_rate", "must be > 0");
  if (!(c.beta_kl >= 0)) bad("beta_kl", "must be >= 0");
  if (!(c.gamma_similarity >= 0)) bad("gamma_similarity", "must be >= 0");
  if (!(c.tie_warmup_fraction >= 0 && c.tie_warmup_fraction <= 1)) bad("tie_warmup_fraction", "must be in [0, 1]");
  if (!(c.rotation_prior_rad > 0)) bad("rotation_prior_rad", "must be > 0");
  if (!(c.shift_prior > 0)) bad("shift_prior", "must be > 0");
  if (c.spatial_decoder_layers < 1) bad("spatial_decoder_layers", "must be >= 1");
  if (c.curve_points < 2) bad("curve_points", "must be >= 2");
  if (c.tie_moves != "both" && c.tie_moves != "curve" && c.tie_moves != "image")
    bad("tie_moves", "must be both, curve or image (got \"" + c.tie_moves + "\")");
  if (c.patch_scaling != "global_minmax" && c.patch_scaling != "per_patch_minmax" && c.patch_scaling != "none")
    bad("patch_scaling", "must be global_minmax, per_patch_minmax or none (got \"" + c.patch_scaling + "\")");
  if (c.curve_scaling != "global_minmax" && c.curve_scaling != "per_curve_minmax" && c.curve_scaling != "none")
    bad("curve_scaling", "must be global_minmax, per_curve_minmax or none (got \"" + c.curve_scaling + "\")");
}

struct LossTensors {
  Tensor total, recon_image, recon_curve, kl_image, kl_curve, similarity;
  LossTerms values() const {
    return {total.item<double>(),    recon_image.item<double>(), recon_curve.item<double>(),
            kl_image.item<double>(), kl_curve.item<double>(),    similarity.item<double>()};
  }
};

}  // namespace

// ---------------------------------------------------------------- resampling

std::vector<double> resample(const std::vector<double>& values, int points) {
  if (values.size() < 2) throw Error("resample: need at least 2 values, got " + std::to_string(values.size()));
  if (points < 2) throw Error("resample: need at least 2 output points, got " + std::to_string(points));
  std::vector<double> out(points);
  const double last = static_cast<double>(values.size() - 1);
  for (int i = 0; i < points; ++i) {
    const double t = last * i / (points - 1);
    const auto k = std::min(static_cast<std::size_t>(t), values.size() - 2);
    const double f = t - static_cast<double>(k);
    out[i] = values[k] + f * (values[k + 1] - values[k]);
  }
  return out;
}

Eigen::MatrixXd resample_rows(const Eigen::MatrixXd& rows, int points) {
  if (rows.cols() == points) return rows;
  Eigen::MatrixXd out(rows.rows(), points);
  std::vector<double> row(static_cast<std::size_t>(rows.cols()));
  for (Eigen::Index i = 0; i < rows.rows(); ++i) {
    for (Eigen::Index j = 0; j < rows.cols(); ++j) row[j] = rows(i, j);
    const auto r = resample(row, points);
    for (int j = 0; j < points; ++j) out(i, j) = r[j];
  }
  return out;
}

// ---------------------------------------------------------------- the model

struct DualVae::Impl {
  VaeConfig config;
  int side = 0, P = 0, L = 0;
  std::uint64_t seed = 0;
  bool trained = false;
  mutable Net net{nullptr};
  Scaling patch_scaling, curve_scaling;
  Tensor image_prior_std;  // per encoder output column

  Impl(const VaeConfig& c, int patch_side, std::uint64_t s) : config(c), side(patch_side), seed(s) {
    validate_config(config);
    if (patch_side < 2) throw Error("DualVae: patch_side must be >= 2 (got " + std::to_string(patch_side) + ")");
    P = side * side;
    L = config.curve_points;
    patch_scaling.mode = scaling_mode(config.patch_scaling);
    curve_scaling.mode = scaling_mode(config.curve_scaling);
    std::vector<float> prior;
    if (config.coordinate_invariance) {
      prior = {static_cast<float>(config.rotation_prior_rad), static_cast<float>(config.shift_prior),
               static_cast<float>(config.shift_prior)};
    }
    prior.resize(prior.size() + config.latent_dim, 1.0f);
    image_prior_std = torch::tensor(prior, torch::kFloat32);
    reset();
  }

  // Fresh weights from the seed: identical for every call.
  void reset() {
    net = Net(config, side, L);
    at::Generator gen = make_generator(seed);
    torch::NoGradGuard no_grad;
    init_linear(*net, gen);
    net->tie.copy_(torch::eye(config.latent_dim, torch::kFloat32));
  }

  // ---- inputs
  void check_patches(const RowMatrixF& patches, const char* fn) const {
    const std::string what = std::string("DualVae::") + fn + ": patches";
    if (patches.rows() < 1) throw Error(what + " are empty (0 rows)");
    if (patches.cols() != P) {
      throw Error(what + " have " + std::to_string(patches.cols()) + " columns; expected patch_side² = " +
                  std::to_string(P) + " (patch_side " + std::to_string(side) + ")");
    }
    check_finite(patches, what);
  }
  void check_curves(const Eigen::MatrixXd& curves, const char* fn) const {
    const std::string what = std::string("DualVae::") + fn + ": curves";
    if (curves.rows() < 1) throw Error(what + " are empty (0 rows)");
    if (curves.cols() < 2) throw Error(what + " have " + std::to_string(curves.cols()) + " samples; need at least 2");
    check_finite(curves, what);
  }
  void check_pairs(const RowMatrixF& patches, const Eigen::MatrixXd& curves, const char* fn) const {
    check_patches(patches, fn);
    check_curves(curves, fn);
    if (patches.rows() != curves.rows()) {
      throw Error(std::string("DualVae::") + fn + ": " + std::to_string(patches.rows()) + " patches but " +
                  std::to_string(curves.rows()) + " curves; they must pair up row by row");
    }
  }
  Tensor patch_tensor(const RowMatrixF& patches, const char* fn) const {
    RowMatrixD x = patches.cast<double>();
    patch_scaling.apply(x, std::string("DualVae::") + fn + ": patches");
    return to_tensor(x);
  }
  Tensor curve_tensor(const Eigen::MatrixXd& curves, const char* fn) const {
    RowMatrixD x = resample_rows(curves, L);
    curve_scaling.apply(x, std::string("DualVae::") + fn + ": curves");
    return to_tensor(x);
  }
  void check_latent(const Eigen::MatrixXd& z, const char* fn) const {
    if (z.rows() < 1) throw Error(std::string("DualVae::") + fn + ": latent points are empty (0 rows)");
    if (z.cols() != config.latent_dim) {
      throw Error(std::string("DualVae::") + fn + ": latent points have " + std::to_string(z.cols()) +
                  " columns; expected latent_dim = " + std::to_string(config.latent_dim));
    }
    check_finite(z, std::string("DualVae::") + fn + ": latent points");
  }

  // ---- the loss, by hand (detail/elbo_gradient.hpp) where the architecture allows
  bool hand_gradient() const { return !config.coordinate_invariance || config.spatial_decoder_layers == 1; }
  int image_outputs() const { return config.latent_dim + (config.coordinate_invariance ? kPose : 0); }
  // Every parameter's storage, or with `gradient` its .grad()'s (which must be defined).
  template <class F>
  detail::DualVaeTensors<F> tensors(bool gradient) const {
    detail::DualVaeTensors<F> t;
    t.image_l1 = linear_view<F>(net->image_encoder->l1, gradient);
    t.image_l2 = linear_view<F>(net->image_encoder->l2, gradient);
    t.image_mean = linear_view<F>(net->image_encoder->mean, gradient);
    t.image_logvar = linear_view<F>(net->image_encoder->logvar, gradient);
    if (config.coordinate_invariance) {
      t.spatial_coord = linear_view<F>(net->spatial_decoder->coord, gradient);
      t.spatial_latent = linear_view<F>(net->spatial_decoder->latent, gradient);
      t.spatial_out = linear_view<F>(net->spatial_decoder->out, gradient);
    } else {
      t.image_decoder_l1 = linear_view<F>(net->image_decoder->l1, gradient);
      t.image_decoder_l2 = linear_view<F>(net->image_decoder->l2, gradient);
      t.image_decoder_out = linear_view<F>(net->image_decoder->out, gradient);
    }
    t.curve_l1 = linear_view<F>(net->curve_encoder->l1, gradient);
    t.curve_l2 = linear_view<F>(net->curve_encoder->l2, gradient);
    t.curve_mean = linear_view<F>(net->curve_encoder->mean, gradient);
    t.curve_logvar = linear_view<F>(net->curve_encoder->logvar, gradient);
    t.curve_decoder_l1 = linear_view<F>(net->curve_decoder->l1, gradient);
    t.curve_decoder_l2 = linear_view<F>(net->curve_decoder->l2, gradient);
    t.curve_decoder_out = linear_view<F>(net->curve_decoder->out, gradient);
    t.tie = gradient ? net->tie.grad().data_ptr<float>() : net->tie.data_ptr<float>();
    return t;
  }
  detail::ElboShape elbo_shape(int pairs) const {
    detail::ElboShape e;
    e.pairs = pairs;
    e.latent_dim = config.latent_dim;
    e.pixels = P;
    e.curve_points = L;
    e.coordinate_invariance = config.coordinate_invariance;
    const auto prior = image_prior_std.contiguous();
    e.image_prior_std.assign(prior.data_ptr<float>(), prior.data_ptr<float>() + prior.numel());
    if (config.coordinate_invariance) e.grid = net->spatial_decoder->grid.data_ptr<float>();
    e.beta = config.beta_kl;
    e.tie_moves = config.tie_moves == "curve"   ? detail::TieMoves::curve
                  : config.tie_moves == "image" ? detail::TieMoves::image
                                                : detail::TieMoves::both;
    e.threads = config.threads;
    return e;
  }
  // The loss terms with the latents at their posterior means (deterministic).
  LossTerms loss_at_means(const Tensor& x_image, const Tensor& x_curve, double gamma) {
    if (hand_gradient()) {
      detail::ElboGradient elbo(elbo_shape(static_cast<int>(x_image.size(0))));
      return elbo.run(tensors<const float>(false), x_image.data_ptr<float>(), x_curve.data_ptr<float>(), nullptr, nullptr,
                      gamma, nullptr);
    }
    torch::NoGradGuard no_grad;
    return loss(x_image, x_curve, nullptr, gamma).values();
  }

  // ---- the loss by autograd: every architecture (the only path for spatial_decoder_layers > 1)
  LossTensors loss(const Tensor& x_image, const Tensor& x_curve, at::Generator* gen, double gamma) {
    const double n = static_cast<double>(x_image.size(0));
    LossTensors t;
    auto [mu_i, lv_i] = net->image_encoder->forward(x_image);
    const auto sample = [&](const Tensor& mu, const Tensor& lv) {
      if (!gen) return mu;
      return mu + torch::exp(0.5 * lv) * torch::randn(mu.sizes(), *gen, mu.options());
    };
    const auto s_i = sample(mu_i, lv_i);
    Tensor z_mean;
    if (config.coordinate_invariance) {
      const auto theta = s_i.select(1, 0), shift = s_i.slice(1, 1, kPose), z = s_i.slice(1, kPose);
      t.recon_image = net->spatial_decoder->bce_sum(theta, shift, z, x_image, config.threads) / n;
      z_mean = mu_i.slice(1, kPose);
    } else {
      t.recon_image = detail::bce_with_logits(net->image_decoder->forward(s_i), x_image);
      z_mean = mu_i;
    }
    t.kl_image = detail::gaussian_kl(mu_i, lv_i, image_prior_std);
    auto [mu_s, lv_s] = net->curve_encoder->forward(x_curve);
    t.recon_curve = detail::bce_with_logits(net->curve_decoder->forward(sample(mu_s, lv_s)), x_curve);
    t.kl_curve = detail::gaussian_kl(mu_s, lv_s, torch::ones({config.latent_dim}, torch::kFloat32));
    if (config.tie_moves == "curve")
      t.similarity = detail::l1_tie(z_mean.detach(), mu_s, net->tie);
    else if (config.tie_moves == "image")
      t.similarity = detail::l1_tie(z_mean, mu_s.detach(), net->tie.detach());
    else
      t.similarity = detail::l1_tie(z_mean, mu_s, net->tie);
    // Per pair: BCE + β·KL summed over features, plus γ × the mean absolute tie residual.
    t.total = t.recon_image + t.recon_curve + config.beta_kl * (t.kl_image + t.kl_curve) + gamma * t.similarity;
    return t;
  }

  // ---- inference helpers (eval mode, no grad)
  LatentEncoding encode(Encoder& encoder, const Tensor& x, bool pose) const {
    torch::NoGradGuard no_grad;
    net->eval();
    const int64_t n = x.size(0);
    RowMatrixD mean(n, encoder->mean->weight.size(0)), var(n, encoder->mean->weight.size(0));
    for (int64_t r = 0; r < n; r += kChunk) {
      const int64_t m = std::min(kChunk, n - r);
      auto [mu, lv] = encoder->forward(x.slice(0, r, r + m));
      mean.middleRows(r, m) = to_eigen(mu);
      var.middleRows(r, m) = to_eigen(torch::exp(lv));
    }
    LatentEncoding e;
    const int off = pose ? kPose : 0;
    e.mean = mean.rightCols(mean.cols() - off);
    e.variance = var.rightCols(var.cols() - off);
    e.pose_mean = mean.leftCols(off);
    e.pose_variance = var.leftCols(off);
    return e;
  }
  RowMatrixD decode_patches_unit(const Tensor& z) const {
    torch::NoGradGuard no_grad;
    net->eval();
    const int64_t n = z.size(0);
    RowMatrixD out(n, P);
    for (int64_t r = 0; r < n; r += kChunk) {
      const int64_t m = std::min(kChunk, n - r);
      const auto zc = z.slice(0, r, r + m);
      Tensor logits;
      if (config.coordinate_invariance) {
        const auto zeros = torch::zeros({m}, torch::kFloat32);
        logits = net->spatial_decoder->logits(zeros, torch::zeros({m, 2}, torch::kFloat32), zc, config.threads);
      } else {
        logits = net->image_decoder->forward(zc);
      }
      out.middleRows(r, m) = to_eigen(torch::sigmoid(logits));
    }
    return out;
  }
  RowMatrixD decode_curves_unit(const Tensor& s) const {
    torch::NoGradGuard no_grad;
    net->eval();
    const int64_t n = s.size(0);
    RowMatrixD out(n, L);
    for (int64_t r = 0; r < n; r += kChunk) {
      const int64_t m = std::min(kChunk, n - r);
      out.middleRows(r, m) = to_eigen(torch::sigmoid(net->curve_decoder->forward(s.slice(0, r, r + m))));
    }
    return out;
  }
  Eigen::MatrixXd tie() const { return to_eigen(net->tie.detach()); }
  // s = A⁻¹ z for every row (double precision LU; a singular A is an error).
  Eigen::MatrixXd joint_to_spectral(const Eigen::MatrixXd& z) const {
    const Eigen::MatrixXd A = tie();
    Eigen::FullPivLU<Eigen::MatrixXd> lu(A);
    if (!lu.isInvertible())
      throw Error("DualVae: the tie matrix A is singular; joint-latent points cannot be mapped to the spectral latent");
    return lu.solve(z.transpose()).transpose();
  }
  RowMatrixF patches_out(RowMatrixD unit) const {
    patch_scaling.invert(unit);
    return unit.cast<float>();
  }
  Eigen::MatrixXd curves_out(RowMatrixD unit) const {
    curve_scaling.invert(unit);
    return unit;
  }
};

DualVae::DualVae(const VaeConfig& config, int patch_side, std::uint64_t seed)
    : impl_(std::make_unique<Impl>(config, patch_side, seed)) {}
DualVae::~DualVae() = default;
DualVae::DualVae(DualVae&&) noexcept = default;
DualVae& DualVae::operator=(DualVae&&) noexcept = default;

TrainingReport DualVae::fit(const RowMatrixF& patches, const Eigen::MatrixXd& curves) {
  auto& m = *impl_;
  m.check_pairs(patches, curves, "fit");
  if (patches.rows() < 2) throw Error("DualVae::fit: need at least 2 pairs, got " + std::to_string(patches.rows()));
  m.reset();
  {
    RowMatrixD p = patches.cast<double>();
    m.patch_scaling.fit(p);
    RowMatrixD c = resample_rows(curves, m.L);
    m.curve_scaling.fit(c);
  }
  const auto x_image = m.patch_tensor(patches, "fit");
  const auto x_curve = m.curve_tensor(curves, "fit");

  TrainingReport report;
  report.pairs = static_cast<int>(patches.rows());
  report.history.reserve(m.config.epochs);
  at::Generator gen = make_generator(m.seed ^ 0x9E3779B97F4A7C15ULL);
  detail::Adam optimizer(m.net->parameters(), m.config.learning_rate);
  const auto t0 = std::chrono::steady_clock::now();
  m.net->train();
  const int n = static_cast<int>(patches.rows());
  // γ ramps linearly over the first tie_warmup_fraction of the epochs (0: the paper's constant γ).
  const auto gamma_at = [&](int epoch) {
    const double warmup = m.config.tie_warmup_fraction * m.config.epochs;
    const double ramp = warmup >= 1.0 ? std::min(1.0, static_cast<double>(epoch + 1) / warmup) : 1.0;
    return ramp * m.config.gamma_similarity;
  };
  if (m.hand_gradient()) {
    for (auto& p : m.net->parameters()) p.mutable_grad() = torch::zeros_like(p);
    detail::ElboGradient elbo(m.elbo_shape(n));
    const auto weights = m.tensors<const float>(false);
    const auto gradients = m.tensors<float>(true);
    for (int epoch = 0; epoch < m.config.epochs; ++epoch) {
      // The same standard normal draws, in the same order, as the autograd loss's sampling.
      const Tensor eps_image = torch::randn({n, m.image_outputs()}, gen, torch::kFloat32);
      const Tensor eps_curve = torch::randn({n, m.config.latent_dim}, gen, torch::kFloat32);
      report.history.push_back(elbo.run(weights, x_image.data_ptr<float>(), x_curve.data_ptr<float>(),
                                        eps_image.data_ptr<float>(), eps_curve.data_ptr<float>(), gamma_at(epoch),
                                        &gradients));
      optimizer.step();
    }
    for (auto& p : m.net->parameters()) p.mutable_grad() = Tensor();
  } else {
    for (int epoch = 0; epoch < m.config.epochs; ++epoch) {
      optimizer.zero_grad();
      const auto terms = m.loss(x_image, x_curve, &gen, gamma_at(epoch));
      terms.total.backward();
      optimizer.step();
      report.history.push_back(terms.values());
    }
  }
  report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  m.net->eval();
  report.final_at_means = m.loss_at_means(x_image, x_curve, m.config.gamma_similarity);
  report.tie_matrix = m.tie();
  m.trained = true;
  return report;
}

LossTerms DualVae::evaluate(const RowMatrixF& patches, const Eigen::MatrixXd& curves) const {
  auto& m = *impl_;
  m.check_pairs(patches, curves, "evaluate");
  m.net->eval();
  return m.loss_at_means(m.patch_tensor(patches, "evaluate"), m.curve_tensor(curves, "evaluate"), m.config.gamma_similarity);
}

LatentEncoding DualVae::encode_patches(const RowMatrixF& patches) const {
  impl_->check_patches(patches, "encode_patches");
  return impl_->encode(impl_->net->image_encoder, impl_->patch_tensor(patches, "encode_patches"),
                       impl_->config.coordinate_invariance);
}

LatentEncoding DualVae::encode_curves(const Eigen::MatrixXd& curves) const {
  impl_->check_curves(curves, "encode_curves");
  return impl_->encode(impl_->net->curve_encoder, impl_->curve_tensor(curves, "encode_curves"), false);
}

Eigen::MatrixXd DualVae::curves_to_joint(const Eigen::MatrixXd& curves) const {
  const auto e = encode_curves(curves);
  return e.mean * impl_->tie().transpose();
}

Eigen::MatrixXd DualVae::decode_curves(const Eigen::MatrixXd& joint_latent) const {
  impl_->check_latent(joint_latent, "decode_curves");
  const RowMatrixD s = impl_->joint_to_spectral(joint_latent);
  return impl_->curves_out(impl_->decode_curves_unit(to_tensor(s)));
}

RowMatrixF DualVae::decode_patches(const Eigen::MatrixXd& joint_latent) const {
  impl_->check_latent(joint_latent, "decode_patches");
  return impl_->patches_out(impl_->decode_patches_unit(to_tensor(joint_latent)));
}

Eigen::MatrixXd DualVae::im2spec(const RowMatrixF& patches) const {
  impl_->check_patches(patches, "im2spec");
  return decode_curves(encode_patches(patches).mean);
}

RowMatrixF DualVae::spec2im(const Eigen::MatrixXd& curves) const {
  impl_->check_curves(curves, "spec2im");
  return decode_patches(curves_to_joint(curves));
}

RowMatrixF DualVae::reconstruct_patches(const RowMatrixF& patches) const {
  impl_->check_patches(patches, "reconstruct_patches");
  const auto e = encode_patches(patches);
  if (!impl_->config.coordinate_invariance) return decode_patches(e.mean);
  // Through the pose the encoder inferred (θ, dx, dy at their means).
  torch::NoGradGuard no_grad;
  impl_->net->eval();
  const auto pose = to_tensor(RowMatrixD(e.pose_mean));
  const auto logits = impl_->net->spatial_decoder->logits(pose.select(1, 0).contiguous(), pose.slice(1, 1, kPose).contiguous(),
                                                          to_tensor(RowMatrixD(e.mean)), impl_->config.threads);
  return impl_->patches_out(to_eigen(torch::sigmoid(logits)));
}

Eigen::MatrixXd DualVae::reconstruct_curves(const Eigen::MatrixXd& curves) const {
  impl_->check_curves(curves, "reconstruct_curves");
  const auto e = encode_curves(curves);
  return impl_->curves_out(impl_->decode_curves_unit(to_tensor(RowMatrixD(e.mean))));
}

Manifold DualVae::manifold(int grid, double z1_lo, double z1_hi, double z2_lo, double z2_hi) const {
  if (grid < 2) throw Error("DualVae::manifold: grid must be >= 2 (got " + std::to_string(grid) + ")");
  if (!(std::isfinite(z1_lo) && std::isfinite(z1_hi) && std::isfinite(z2_lo) && std::isfinite(z2_hi)) || !(z1_hi > z1_lo) ||
      !(z2_hi > z2_lo))
    throw Error("DualVae::manifold: the latent rectangle must be finite with lo < hi on both axes");
  Manifold mf;
  mf.grid = grid;
  const int d = impl_->config.latent_dim;
  for (int i = 0; i < grid; ++i) {
    mf.z1.push_back(z1_lo + (z1_hi - z1_lo) * i / (grid - 1));
    mf.z2.push_back(z2_hi - (z2_hi - z2_lo) * i / (grid - 1));
  }
  mf.latent = Eigen::MatrixXd::Zero(grid * grid, d);
  for (int r = 0; r < grid; ++r)
    for (int c = 0; c < grid; ++c) {
      mf.latent(r * grid + c, 0) = mf.z1[c];
      if (d > 1) mf.latent(r * grid + c, 1) = mf.z2[r];
    }
  mf.patches = decode_patches(mf.latent);
  mf.curves = decode_curves(mf.latent);
  return mf;
}

Eigen::MatrixXd DualVae::tie_matrix() const { return impl_->tie(); }
const VaeConfig& DualVae::config() const { return impl_->config; }
int DualVae::patch_side() const { return impl_->side; }
int DualVae::curve_points() const { return impl_->L; }
int DualVae::latent_dim() const { return impl_->config.latent_dim; }
bool DualVae::trained() const { return impl_->trained; }

void DualVae::save(const std::filesystem::path& file) const {
  const auto& m = *impl_;
  nlohmann::json meta = {{"format_version", kFormatVersion},
                         {"config", config_to_json(m.config)},
                         {"patch_side", m.side},
                         {"seed", m.seed},
                         {"trained", m.trained},
                         {"patch_scaling", {{"mode", m.patch_scaling.mode}, {"lo", m.patch_scaling.lo}, {"hi", m.patch_scaling.hi}}},
                         {"curve_scaling", {{"mode", m.curve_scaling.mode}, {"lo", m.curve_scaling.lo}, {"hi", m.curve_scaling.hi}}}};
  try {
    torch::serialize::OutputArchive archive;
    m.net->save(archive);
    archive.write(kMetaKey, c10::IValue(meta.dump()));
    const auto tmp = file.string() + ".tmp";
    archive.save_to(tmp);
    std::filesystem::rename(tmp, file);
  } catch (const c10::Error& e) {
    throw Error("DualVae::save: cannot write " + file.string() + ": " + e.what_without_backtrace());
  } catch (const std::filesystem::filesystem_error& e) {
    throw Error("DualVae::save: cannot write " + file.string() + ": " + e.what());
  }
}

DualVae DualVae::load(const std::filesystem::path& file) {
  if (!std::filesystem::exists(file)) throw Error("DualVae::load: " + file.string() + " does not exist");
  try {
    torch::serialize::InputArchive archive;
    archive.load_from(file.string());
    c10::IValue v;
    if (!archive.try_read(kMetaKey, v) || !v.isString())
      throw Error("DualVae::load: " + file.string() + " is not a dual-VAE file (no " + kMetaKey + ")");
    const auto meta = nlohmann::json::parse(v.toStringRef());
    if (meta.at("format_version").get<int>() != kFormatVersion)
      throw Error("DualVae::load: " + file.string() + " has format version " + meta.at("format_version").dump() +
                  "; this build reads version " + std::to_string(kFormatVersion));
    DualVae model(config_from_json(meta.at("config")), meta.at("patch_side").get<int>(), meta.at("seed").get<std::uint64_t>());
    auto& m = *model.impl_;
    m.net->load(archive);
    m.trained = meta.at("trained").get<bool>();
    m.patch_scaling.mode = meta.at("patch_scaling").at("mode");
    m.patch_scaling.lo = meta.at("patch_scaling").at("lo");
    m.patch_scaling.hi = meta.at("patch_scaling").at("hi");
    m.curve_scaling.mode = meta.at("curve_scaling").at("mode");
    m.curve_scaling.lo = meta.at("curve_scaling").at("lo");
    m.curve_scaling.hi = meta.at("curve_scaling").at("hi");
    return model;
  } catch (const c10::Error& e) {
    throw Error("DualVae::load: cannot read " + file.string() + ": " + e.what_without_backtrace());
  } catch (const nlohmann::json::exception& e) {
    throw Error("DualVae::load: " + file.string() + " has corrupt metadata: " + e.what());
  }
}

}  // namespace sdm::engine::vae
