// Deep kernel learning (see dkl.hpp): a libtorch feature extractor in front of exact
// float64 GP heads (exact_gp.hpp). The GP's NLL and its gradient with respect to the
// latent features are computed analytically (LAPACK); autograd only runs through the
// extractor. Adam is implemented here on raw tensor memory so that its state is plain
// data (saved with the model) and its per-step overhead is a few microseconds.
#include "engine/gp/dkl.hpp"

#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <random>
#include <vector>

#include "core/error.hpp"
#include "core/splitmix64.hpp"
#include "engine/gp/detail/early_stopping.hpp"
#include "engine/gp/exact_gp.hpp"
#include "engine/nn/dense_stack.hpp"

namespace sdm::engine::gp {

namespace {

constexpr std::int64_t kFormatVersion = 1;

using RowMatrixD = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

using core::splitmix64;

/// The extractor: [conv3x3 + ReLU + maxpool2]* (cnn only), then Linear + ReLU per hidden
/// width, then a Linear to the latent (no activation).
struct FeatureExtractorImpl : torch::nn::Module {
  FeatureExtractorImpl(const DklConfig& c, int input_dim, int image_side) {
    seq = register_module("seq", torch::nn::Sequential());
    int width = input_dim;
    if (c.feature_extractor == "cnn") {
      side = image_side;
      int channels = 1, s = image_side;
      for (int ch : c.cnn_channels) {
        seq->push_back(torch::nn::Conv2d(torch::nn::Conv2dOptions(channels, ch, 3).padding(1)));
        seq->push_back(torch::nn::ReLU());
        seq->push_back(torch::nn::MaxPool2d(torch::nn::MaxPool2dOptions(2)));
        channels = ch;
        s /= 2;
      }
      if (s < 1)
        throw Error("Dkl: cnn with " + std::to_string(c.cnn_channels.size()) + " pooling stages needs image_side >= " +
                    std::to_string(1 << c.cnn_channels.size()) + ", got " + std::to_string(image_side));
      seq->push_back(torch::nn::Flatten());
      width = channels * s * s;
    }
    for (int h : c.hidden) {
      seq->push_back(torch::nn::Linear(width, h));
      seq->push_back(torch::nn::ReLU());
      width = h;
    }
    seq->push_back(torch::nn::Linear(width, c.latent_dim));
  }

  torch::Tensor forward(torch::Tensor x) {
    if (side > 0) x = x.view({-1, 1, side, side});
    return seq->forward(x);
  }

  /// He-uniform weights (U(+-sqrt(6/fan_in))) before a ReLU, LeCun-uniform (U(+-sqrt(3/fan_in)))
  /// on the output layer, zero biases; every draw from a mt19937_64 seeded with `seed`.
  void initialise(std::uint64_t seed) {
    torch::NoGradGuard no_grad;
    std::mt19937_64 rng(seed);
    std::vector<torch::Tensor> weights, biases;
    for (const auto& child : seq->children()) {
      if (auto* l = child->as<torch::nn::Linear>()) {
        weights.push_back(l->weight);
        biases.push_back(l->bias);
      } else if (auto* cv = child->as<torch::nn::Conv2d>()) {
        weights.push_back(cv->weight);
        biases.push_back(cv->bias);
      }
    }
    for (size_t i = 0; i < weights.size(); ++i) {
      torch::Tensor w = weights[i];
      const std::int64_t fan_in = w.numel() / w.size(0);
      const double bound = std::sqrt((i + 1 == weights.size() ? 3.0 : 6.0) / static_cast<double>(fan_in));
      float* p = w.data_ptr<float>();
      for (std::int64_t k = 0; k < w.numel(); ++k) {
        const double u = static_cast<double>(rng() >> 11) * 0x1.0p-53;  // [0, 1)
        p[k] = static_cast<float>((2.0 * u - 1.0) * bound);
      }
      if (biases[i].defined()) biases[i].zero_();
    }
  }

  /// The mlp as dense layers over the current parameter storage (ReLU after every layer but
  /// the last), for engine/nn/dense_stack.hpp; empty for the cnn. Parameter order: weight,
  /// bias per layer, the order of parameters().
  std::vector<nn::DenseLayer> dense_layers() const {
    std::vector<nn::DenseLayer> layers;
    if (side > 0) return layers;
    for (const auto& child : seq->children())
      if (const auto* l = child->as<torch::nn::Linear>())
        layers.push_back({l->weight.data_ptr<float>(), l->bias.data_ptr<float>(), static_cast<int>(l->weight.size(1)),
                          static_cast<int>(l->weight.size(0)), nn::Activation::relu});
    if (!layers.empty()) layers.back().activation = nn::Activation::none;
    return layers;
  }

  torch::nn::Sequential seq{nullptr};
  int side = 0;
};
TORCH_MODULE(FeatureExtractor);

/// Adam (Kingma & Ba; the same update as torch.optim.Adam without weight decay) on raw memory.
struct AdamState {
  std::vector<torch::Tensor> m, v;
  std::int64_t step = 0;

  void reset(const std::vector<torch::Tensor>& params) {
    m.clear();
    v.clear();
    for (const auto& p : params) {
      m.push_back(torch::zeros_like(p));
      v.push_back(torch::zeros_like(p));
    }
    step = 0;
  }

  /// One update in the parameter's own precision (the float loop vectorises).
  template <typename T>
  static void update(T* p, const T* g, T* m, T* v, std::int64_t n, T step_size, T b1, T b2, T bias2_sqrt, T eps) {
    for (std::int64_t k = 0; k < n; ++k) {
      const T gk = g[k];
      m[k] = b1 * m[k] + (T(1) - b1) * gk;
      v[k] = b2 * v[k] + (T(1) - b2) * gk * gk;
      p[k] -= step_size * m[k] / (std::sqrt(v[k]) / bias2_sqrt + eps);
    }
  }

  void apply(std::vector<torch::Tensor>& params, const std::vector<torch::Tensor>& grads, double lr) {
    constexpr double b1 = 0.9, b2 = 0.999, eps = 1e-8;
    ++step;
    const double bias1 = 1 - std::pow(b1, static_cast<double>(step));
    const double bias2_sqrt = std::sqrt(1 - std::pow(b2, static_cast<double>(step)));
    const double step_size = lr / bias1;
    torch::NoGradGuard no_grad;
    for (size_t i = 0; i < params.size(); ++i) {
      if (!grads[i].defined()) continue;
      const torch::Tensor g = grads[i].contiguous();
      if (params[i].scalar_type() == torch::kFloat32) {
        update<float>(params[i].data_ptr<float>(), g.data_ptr<float>(), m[i].data_ptr<float>(),
                      v[i].data_ptr<float>(), params[i].numel(), static_cast<float>(step_size), b1, b2,
                      static_cast<float>(bias2_sqrt), eps);
      } else {
        update<double>(params[i].data_ptr<double>(), g.data_ptr<double>(), m[i].data_ptr<double>(),
                       v[i].data_ptr<double>(), params[i].numel(), step_size, b1, b2, bias2_sqrt, eps);
      }
    }
  }
};

torch::Tensor to_tensor(const Eigen::VectorXd& v) {
  return torch::from_blob(const_cast<double*>(v.data()), {v.size()}, torch::kFloat64).clone();
}

Eigen::VectorXd to_eigen(const torch::Tensor& t) {
  const torch::Tensor c = t.contiguous();
  return Eigen::Map<const Eigen::VectorXd>(c.data_ptr<double>(), c.numel());
}

/// A copy of the trainable state: parameters and Adam moments.
struct Snapshot {
  std::vector<torch::Tensor> params, m, v;
  std::int64_t step = 0;
};

nlohmann::json config_json(const DklConfig& c) {
  return {{"feature_extractor", c.feature_extractor}, {"hidden", c.hidden},
          {"cnn_channels", c.cnn_channels},           {"latent_dim", c.latent_dim},
          {"kernel", c.kernel},                       {"ard", c.ard},
          {"steps", c.steps},                         {"learning_rate", c.learning_rate},
          {"warm_start", c.warm_start},               {"early_stop_patience", c.early_stop_patience},
          {"early_stop_tolerance", c.early_stop_tolerance}, {"input_normalisation", c.input_normalisation},
          {"train_subset", c.train_subset},           {"min_noise_variance", c.min_noise_variance},
          {"jitter", c.jitter},                       {"max_jitter", c.max_jitter},
          {"predict_chunk", c.predict_chunk}};
}

}  // namespace

struct Dkl::Impl {
  DklConfig cfg;
  int input_dim = 0, n_targets = 0, image_side = 0;
  std::uint64_t seed = 0;
  KernelKind kind = KernelKind::matern52;
  int n_length = 1;  ///< length scales per head
  CholeskyOptions chol;

  mutable FeatureExtractor net{nullptr};  // eval() and forward() are non-const in libtorch
  std::vector<torch::Tensor> theta;  ///< per head, unconstrained hyperparameters (float64)
  AdamState adam;
  bool initialised = false;
  int fits = 0;

  // Training data and normalisers of the last fit.
  RowMatrixF train_x;
  Eigen::MatrixXd train_y;
  Eigen::RowVectorXf in_mean, in_inv_std;
  Eigen::RowVectorXd y_mean, y_std;

  // Posterior (conditioned heads) of the last fit.
  std::vector<ExactGp> heads;
  bool trained = false;

  void snapshot(Snapshot& s) const {
    torch::NoGradGuard no_grad;
    const std::vector<torch::Tensor> p = parameters();
    if (s.params.empty()) {
      for (size_t i = 0; i < p.size(); ++i) {
        s.params.push_back(p[i].detach().clone());
        s.m.push_back(adam.m[i].clone());
        s.v.push_back(adam.v[i].clone());
      }
    } else {
      for (size_t i = 0; i < p.size(); ++i) {
        s.params[i].copy_(p[i]);
        s.m[i].copy_(adam.m[i]);
        s.v[i].copy_(adam.v[i]);
      }
    }
    s.step = adam.step;
  }

  void restore(const Snapshot& s) {
    torch::NoGradGuard no_grad;
    std::vector<torch::Tensor> p = parameters();
    for (size_t i = 0; i < p.size(); ++i) {
      p[i].copy_(s.params[i]);
      adam.m[i].copy_(s.m[i]);
      adam.v[i].copy_(s.v[i]);
    }
    adam.step = s.step;
  }

  std::vector<torch::Tensor> parameters() const {
    std::vector<torch::Tensor> p = net->parameters();
    p.insert(p.end(), theta.begin(), theta.end());
    return p;
  }

  /// Normalised rows [start, start + len) as a float32 tensor.
  torch::Tensor normalised(const RowMatrixF& x, Eigen::Index start, Eigen::Index len) const {
    torch::Tensor t = torch::empty({static_cast<std::int64_t>(len), input_dim}, torch::kFloat32);
    Eigen::Map<RowMatrixF> out(t.data_ptr<float>(), len, input_dim);
    out = ((x.middleRows(start, len).rowwise() - in_mean).array().rowwise() * in_inv_std.array()).matrix();
    return t;
  }

  static Eigen::MatrixXd to_matrix(const torch::Tensor& z) {
    const torch::Tensor d = z.to(torch::kFloat64).contiguous();
    return Eigen::Map<const RowMatrixD>(d.data_ptr<double>(), d.size(0), d.size(1));
  }

  /// Latent features g(xn) of normalised rows, without autograd: the mlp through
  /// nn::DenseStack (sgemm), the cnn through libtorch.
  Eigen::MatrixXd latent(const torch::Tensor& xn) const {
    const std::vector<nn::DenseLayer> layers = net->dense_layers();
    if (layers.empty()) {
      torch::NoGradGuard no_grad;
      net->eval();
      return to_matrix(net->forward(xn));
    }
    nn::DenseStack stack;
    const auto rows = static_cast<Eigen::Index>(xn.size(0));
    const float* z = stack.forward(layers, xn.data_ptr<float>(), static_cast<int>(rows));
    return Eigen::Map<const Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>>(z, rows, cfg.latent_dim)
        .cast<double>();
  }

  /// Latent features of the rows of x, in chunks, without autograd.
  Eigen::MatrixXd embed_rows(const RowMatrixF& x) const {
    const Eigen::Index m = x.rows();
    Eigen::MatrixXd z(m, cfg.latent_dim);
    for (Eigen::Index start = 0; start < m; start += cfg.predict_chunk) {
      const Eigen::Index len = std::min<Eigen::Index>(cfg.predict_chunk, m - start);
      z.middleRows(start, len) = latent(normalised(x, start, len));
    }
    return z;
  }

  void compute_normalisers() {
    const Eigen::Index n = train_x.rows();
    const Eigen::MatrixXd xd = train_x.cast<double>();
    in_mean = Eigen::RowVectorXf::Zero(input_dim);
    in_inv_std = Eigen::RowVectorXf::Ones(input_dim);
    auto inv_std = [](double var, double mean) {
      const double sd = std::sqrt(std::max(var, 0.0));
      return sd > 1e-12 * (1.0 + std::abs(mean)) ? 1.0 / sd : 1.0;
    };
    if (cfg.input_normalisation == "global") {
      const double mean = xd.mean();
      const double var = (xd.array() - mean).square().mean();
      in_mean.setConstant(static_cast<float>(mean));
      in_inv_std.setConstant(static_cast<float>(inv_std(var, mean)));
    } else if (cfg.input_normalisation == "per_feature") {
      for (int k = 0; k < input_dim; ++k) {
        const double mean = xd.col(k).mean();
        const double var = (xd.col(k).array() - mean).square().mean();
        in_mean(k) = static_cast<float>(mean);
        in_inv_std(k) = static_cast<float>(inv_std(var, mean));
      }
    }
    y_mean.resize(n_targets);
    y_std.resize(n_targets);
    for (int t = 0; t < n_targets; ++t) {
      const double mean = train_y.col(t).mean();
      double sd = n > 1 ? std::sqrt((train_y.col(t).array() - mean).square().sum() / static_cast<double>(n - 1)) : 0;
      if (!(sd > 1e-12 * (1.0 + std::abs(mean)))) sd = 1.0;
      y_mean(t) = mean;
      y_std(t) = sd;
    }
  }

  Eigen::MatrixXd standardised_targets() const {
    return ((train_y.rowwise() - y_mean).array().rowwise() / y_std.array()).matrix();
  }

  /// Weights from the seed; heads start at length scale = median latent distance, output
  /// scale 1, noise 0.1, mean 0 (standardised units); fresh Adam moments.
  void initialise(const torch::Tensor& xn) {
    net->initialise(splitmix64(seed));
    const Eigen::MatrixXd z = latent(xn);
    GpHyperparameters h;
    h.length_scale = Eigen::VectorXd::Constant(n_length, median_pairwise_distance(z));
    h.output_scale = 1.0;
    h.noise_variance = 0.1;
    h.mean = 0.0;
    theta.assign(n_targets, torch::Tensor());
    for (auto& t : theta) t = to_tensor(to_unconstrained(h, cfg.min_noise_variance));
    adam.reset(parameters());
    initialised = true;
  }

  GpHyperparameters head_hyper(int t) const { return from_unconstrained(to_eigen(theta[t]), cfg.min_noise_variance); }

  /// Conditions every head on the embedded training data (no autograd).
  void condition_heads() {
    const Eigen::MatrixXd z = latent(normalised(train_x, 0, train_x.rows()));
    const Eigen::MatrixXd yn = standardised_targets();
    heads.clear();
    for (int t = 0; t < n_targets; ++t) {
      ExactGp head(kind, cfg.latent_dim, cfg.ard);
      head.set_hyperparameters(head_hyper(t));
      head.condition(z, yn.col(t), chol);
      heads.push_back(std::move(head));
    }
    trained = true;
  }

  nlohmann::json hyperparameters_json() const {
    nlohmann::json j = {{"kernel", to_string(kind)},
                        {"latent_dim", cfg.latent_dim},
                        {"n_points", static_cast<int>(train_x.rows())},
                        {"fits", fits},
                        {"heads", nlohmann::json::array()}};
    if (!initialised) return j;
    for (int t = 0; t < n_targets; ++t) {
      const GpHyperparameters h = head_hyper(t);
      const double sd = y_std.size() ? y_std(t) : 1.0, mu = y_mean.size() ? y_mean(t) : 0.0;
      nlohmann::json head = {{"length_scale", std::vector<double>(h.length_scale.data(), h.length_scale.data() + h.length_scale.size())},
                             {"output_scale", h.output_scale * sd * sd},
                             {"noise_variance", h.noise_variance * sd * sd},
                             {"mean", h.mean * sd + mu},
                             {"standardised", {{"output_scale", h.output_scale}, {"noise_variance", h.noise_variance}, {"mean", h.mean}}}};
      if (trained && t < static_cast<int>(heads.size())) {
        head["nll_per_point"] = heads[t].negative_log_marginal_likelihood() / static_cast<double>(train_x.rows());
        head["jitter"] = heads[t].jitter();
      }
      j["heads"].push_back(head);
    }
    return j;
  }
};

Dkl::Dkl(const DklConfig& config, int input_dim, int n_targets, std::uint64_t seed, int image_side)
    : impl_(std::make_unique<Impl>()) {
  Impl& m = *impl_;
  if (input_dim < 1) throw Error("Dkl: input_dim must be >= 1, got " + std::to_string(input_dim));
  if (n_targets < 1) throw Error("Dkl: n_targets must be >= 1, got " + std::to_string(n_targets));
  if (config.latent_dim < 1) throw Error("Dkl: latent_dim must be >= 1");
  if (config.predict_chunk < 1) throw Error("Dkl: predict_chunk must be >= 1");
  if (config.steps < 0) throw Error("Dkl: steps must be >= 0");
  if (!(config.min_noise_variance >= 0)) throw Error("Dkl: min_noise_variance must be >= 0");
  if (config.train_subset < 0 || config.train_subset == 1)
    throw Error("Dkl: train_subset must be 0 (all rows) or >= 2, got " + std::to_string(config.train_subset));
  if (config.feature_extractor != "mlp" && config.feature_extractor != "cnn")
    throw Error("Dkl: unknown feature_extractor '" + config.feature_extractor + "'; allowed: mlp, cnn");
  if (config.input_normalisation != "global" && config.input_normalisation != "per_feature" &&
      config.input_normalisation != "none")
    throw Error("Dkl: unknown input_normalisation '" + config.input_normalisation +
                "'; allowed: global, per_feature, none");
  if (config.feature_extractor == "cnn" && (image_side < 1 || image_side * image_side != input_dim))
    throw Error("Dkl: the cnn feature extractor needs square inputs with image_side^2 = input_dim; got image_side " +
                std::to_string(image_side) + " and input_dim " + std::to_string(input_dim));
  m.cfg = config;
  m.input_dim = input_dim;
  m.n_targets = n_targets;
  m.image_side = config.feature_extractor == "cnn" ? image_side : 0;
  m.seed = seed;
  m.kind = parse_kernel(config.kernel);
  m.n_length = config.ard ? config.latent_dim : 1;
  m.chol.jitter = config.jitter;
  m.chol.max_jitter = config.max_jitter;
  m.net = FeatureExtractor(config, input_dim, m.image_side);
}

Dkl::~Dkl() = default;
Dkl::Dkl(Dkl&&) noexcept = default;
Dkl& Dkl::operator=(Dkl&&) noexcept = default;

FitReport Dkl::fit(const RowMatrixF& inputs, const Eigen::MatrixXd& targets) {
  const auto t0 = std::chrono::steady_clock::now();
  Impl& m = *impl_;
  const Eigen::Index n = inputs.rows();
  if (inputs.cols() != m.input_dim)
    throw Error("Dkl::fit: inputs have " + std::to_string(inputs.cols()) + " columns; expected " +
                std::to_string(m.input_dim));
  if (targets.cols() != m.n_targets)
    throw Error("Dkl::fit: targets have " + std::to_string(targets.cols()) + " columns; expected " +
                std::to_string(m.n_targets));
  if (targets.rows() != n) throw Error("Dkl::fit: " + std::to_string(n) + " inputs but " + std::to_string(targets.rows()) + " targets");
  if (n < 1) throw Error("Dkl::fit: needs at least one training point");
  if (!inputs.allFinite() || !targets.allFinite()) throw Error("Dkl::fit: inputs or targets contain NaN or inf");

  m.train_x = inputs;
  m.train_y = targets;
  m.compute_normalisers();
  const torch::Tensor xn = m.normalised(m.train_x, 0, n);
  const Eigen::MatrixXd yn = m.standardised_targets();
  if (!m.cfg.warm_start || !m.initialised) m.initialise(xn);
  m.trained = false;

  FitReport rep;
  rep.n_points = static_cast<int>(n);
  detail::EarlyStopping stopper(m.cfg.early_stop_patience, m.cfg.early_stop_tolerance);
  Snapshot best;
  std::vector<torch::Tensor> params = m.parameters();
  const size_t n_net = params.size() - m.theta.size();
  std::vector<torch::Tensor> grads(params.size());
  const int latent = m.cfg.latent_dim;
  NllWorkspace workspace;  // n x n buffers shared by every step and head of this fit
  // train_subset: each step uses a fresh random subset of rows, drawn from a generator
  // seeded by (seed, fit index, step) so that no generator state needs saving.
  const Eigen::Index batch = m.cfg.train_subset > 0 && n > m.cfg.train_subset ? m.cfg.train_subset : n;
  rep.batch_size = static_cast<int>(batch);
  std::vector<std::int64_t> order;
  torch::Tensor xb = xn;
  Eigen::MatrixXd yb = yn;
  Eigen::MatrixXd dz(batch, latent);
  const double inv_b = 1.0 / static_cast<double>(batch);
  // The mlp trains through nn::DenseStack (its gradients land in dense_grads, in the order of
  // params); the cnn through libtorch's autograd.
  const std::vector<nn::DenseLayer> layers = m.net->dense_layers();
  const bool dense = !layers.empty();
  nn::DenseStack stack;
  std::vector<torch::Tensor> dense_grads;
  std::vector<nn::DenseGradient> dense_views;
  if (dense) {
    if (n_net != 2 * layers.size()) throw Error("Dkl: internal error: mlp parameters do not pair up as weight, bias");
    for (size_t l = 0; l < layers.size(); ++l) {
      if (params[2 * l].data_ptr<float>() != layers[l].weight || params[2 * l + 1].data_ptr<float>() != layers[l].bias)
        throw Error("Dkl: internal error: mlp parameter order differs from its layers");
      dense_grads.push_back(torch::zeros_like(params[2 * l]));
      dense_grads.push_back(torch::zeros_like(params[2 * l + 1]));
      dense_views.push_back({dense_grads[2 * l].data_ptr<float>(), dense_grads[2 * l + 1].data_ptr<float>()});
    }
  }
  Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor> dz_float(batch, latent);
  m.net->train();
  for (int step = 0; step < m.cfg.steps; ++step) {
    if (batch < n) {
      order.resize(n);
      for (Eigen::Index i = 0; i < n; ++i) order[i] = i;
      std::mt19937_64 rng(splitmix64(m.seed ^ splitmix64((static_cast<std::uint64_t>(m.fits) << 32) + step)));
      for (Eigen::Index i = 0; i < batch; ++i) {  // partial Fisher-Yates
        const Eigen::Index j = i + static_cast<Eigen::Index>(rng() % static_cast<std::uint64_t>(n - i));
        std::swap(order[i], order[j]);
      }
      std::sort(order.begin(), order.begin() + batch);
      const torch::Tensor idx = torch::from_blob(order.data(), {static_cast<std::int64_t>(batch)}, torch::kInt64);
      xb = xn.index_select(0, idx);
      for (Eigen::Index i = 0; i < batch; ++i) yb.row(i) = yn.row(order[i]);
    }
    torch::Tensor z64;
    Eigen::MatrixXd z;
    if (dense) {
      const float* zf = stack.forward(layers, xb.data_ptr<float>(), static_cast<int>(batch));
      z = Eigen::Map<const Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>>(zf, batch, latent)
              .cast<double>();
    } else {
      z64 = m.net->forward(xb).to(torch::kFloat64);
      z = Impl::to_matrix(z64.detach());
    }
    double total = 0;
    dz.setZero();
    for (int t = 0; t < m.n_targets; ++t) {
      const GpHyperparameters h = m.head_hyper(t);
      const NllResult r = negative_log_marginal_likelihood(m.kind, h, z, yb.col(t).head(batch), m.chol, true, &workspace);
      total += r.value;
      dz += r.d_inputs;
      rep.jitter = std::max(rep.jitter, r.jitter);
      grads[n_net + t] = to_tensor(unconstrained_gradient(r.d_hyper, h, m.cfg.min_noise_variance) * inv_b);
    }
    const double loss = total * inv_b;
    if (!std::isfinite(loss)) throw Error("Dkl::fit: the marginal likelihood became non-finite at step " + std::to_string(step));
    if (step == 0) rep.initial_loss = loss;
    const bool stop = stopper.observe(loss);
    if (stopper.improved()) {
      m.snapshot(best);
      rep.best_step = step;
    }
    if (stop) {
      rep.stopped_early = true;
      break;
    }
    if (dense) {
      dz_float = (dz * inv_b).cast<float>();
      stack.backward(layers, xb.data_ptr<float>(), dz_float.data(), dense_views);
      for (size_t i = 0; i < n_net; ++i) grads[i] = dense_grads[i];
    } else {
      for (size_t i = 0; i < n_net; ++i)
        if (params[i].grad().defined()) params[i].mutable_grad().zero_();
      torch::Tensor gz = torch::empty({static_cast<std::int64_t>(batch), latent}, torch::kFloat64);
      Eigen::Map<RowMatrixD>(gz.data_ptr<double>(), batch, latent) = dz * inv_b;
      z64.backward(gz);
      for (size_t i = 0; i < n_net; ++i) grads[i] = params[i].grad();
    }
    m.adam.apply(params, grads, m.cfg.learning_rate);
    ++rep.steps_run;
  }
  // Keep the best state seen (weights, hyperparameters and Adam moments as they were when
  // that loss was evaluated): the exact NLL of a DKL is spiky once the noise is small, and
  // Adam can climb out of a good basin in a few steps.
  if (!best.params.empty()) m.restore(best);
  m.net->eval();
  m.condition_heads();
  ++m.fits;
  double nll = 0;
  for (const auto& h : m.heads) {
    nll += h.negative_log_marginal_likelihood();
    rep.jitter = std::max(rep.jitter, h.jitter());
  }
  rep.final_loss = nll / static_cast<double>(n);
  if (rep.steps_run == 0 && !rep.stopped_early) rep.initial_loss = rep.final_loss;
  rep.hyperparameters = m.hyperparameters_json();
  rep.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return rep;
}

Prediction Dkl::predict(const RowMatrixF& candidates) const {
  const Impl& m = *impl_;
  if (!m.trained) throw Error("Dkl::predict called before fit()");
  if (candidates.cols() != m.input_dim)
    throw Error("Dkl::predict: candidates have " + std::to_string(candidates.cols()) + " columns; expected " +
                std::to_string(m.input_dim));
  const Eigen::Index rows = candidates.rows();
  Prediction p;
  p.mean.resize(rows, m.n_targets);
  p.variance.resize(rows, m.n_targets);
  p.noise_variance.resize(m.n_targets);
  for (int t = 0; t < m.n_targets; ++t)
    p.noise_variance(t) = m.heads[t].hyperparameters().noise_variance * m.y_std(t) * m.y_std(t);
  for (Eigen::Index start = 0; start < rows; start += m.cfg.predict_chunk) {
    const Eigen::Index len = std::min<Eigen::Index>(m.cfg.predict_chunk, rows - start);
    const Eigen::MatrixXd z = m.latent(m.normalised(candidates, start, len));
    for (int t = 0; t < m.n_targets; ++t) {
      const GpPrediction g = m.heads[t].predict(z, static_cast<int>(len));
      const double sd = m.y_std(t);
      p.mean.col(t).segment(start, len) = (g.mean * sd).array() + m.y_mean(t);
      p.variance.col(t).segment(start, len) = g.variance * (sd * sd);
    }
  }
  return p;
}

Eigen::MatrixXd Dkl::embed(const RowMatrixF& inputs) const {
  const Impl& m = *impl_;
  if (!m.initialised) throw Error("Dkl::embed called before fit() (the normalisers come from the training data)");
  if (inputs.cols() != m.input_dim)
    throw Error("Dkl::embed: inputs have " + std::to_string(inputs.cols()) + " columns; expected " +
                std::to_string(m.input_dim));
  return m.embed_rows(inputs);
}

void Dkl::save(const std::filesystem::path& file) const {
  const Impl& m = *impl_;
  try {
    torch::serialize::OutputArchive ar;
    ar.write("format_version", torch::tensor(kFormatVersion));
    nlohmann::json meta = {{"config", config_json(m.cfg)},   {"input_dim", m.input_dim},
                           {"n_targets", m.n_targets},       {"image_side", m.image_side},
                           {"seed", m.seed},                 {"fits", m.fits},
                           {"initialised", m.initialised},   {"trained", m.trained}};
    const std::string text = meta.dump();
    ar.write("meta", torch::from_blob(const_cast<char*>(text.data()), {static_cast<std::int64_t>(text.size())},
                                      torch::kUInt8).clone());
    if (m.initialised) {
      torch::serialize::OutputArchive net_ar;
      m.net->save(net_ar);
      ar.write("extractor", net_ar);
      for (int t = 0; t < m.n_targets; ++t) ar.write("theta/" + std::to_string(t), m.theta[t]);
      ar.write("adam/step", torch::tensor(m.adam.step));
      for (size_t i = 0; i < m.adam.m.size(); ++i) {
        ar.write("adam/m/" + std::to_string(i), m.adam.m[i]);
        ar.write("adam/v/" + std::to_string(i), m.adam.v[i]);
      }
      const auto n = static_cast<std::int64_t>(m.train_x.rows());
      ar.write("train_x", torch::from_blob(const_cast<float*>(m.train_x.data()), {n, m.input_dim}, torch::kFloat32).clone());
      const RowMatrixD y = m.train_y;
      ar.write("train_y", torch::from_blob(const_cast<double*>(y.data()), {n, m.n_targets}, torch::kFloat64).clone());
      ar.write("in_mean", torch::from_blob(const_cast<float*>(m.in_mean.data()), {m.input_dim}, torch::kFloat32).clone());
      ar.write("in_inv_std", torch::from_blob(const_cast<float*>(m.in_inv_std.data()), {m.input_dim}, torch::kFloat32).clone());
      ar.write("y_mean", torch::from_blob(const_cast<double*>(m.y_mean.data()), {m.n_targets}, torch::kFloat64).clone());
      ar.write("y_std", torch::from_blob(const_cast<double*>(m.y_std.data()), {m.n_targets}, torch::kFloat64).clone());
    }
    ar.save_to(file.string());
  } catch (const c10::Error& e) {
    throw Error("Dkl::save: cannot write '" + file.string() + "': " + e.what_without_backtrace());
  }
}

void Dkl::load(const std::filesystem::path& file) {
  Impl& m = *impl_;
  if (!std::filesystem::exists(file)) throw Error("Dkl::load: no such file '" + file.string() + "'");
  try {
    torch::serialize::InputArchive ar;
    ar.load_from(file.string());
    torch::Tensor version;
    ar.read("format_version", version);
    if (version.item<std::int64_t>() != kFormatVersion)
      throw Error("Dkl::load: '" + file.string() + "' has format version " + std::to_string(version.item<std::int64_t>()) +
                  "; this build reads version " + std::to_string(kFormatVersion));
    torch::Tensor meta_t;
    ar.read("meta", meta_t);
    const nlohmann::json meta =
        nlohmann::json::parse(std::string(reinterpret_cast<const char*>(meta_t.data_ptr<std::uint8_t>()), meta_t.numel()));
    // The architecture must match the model this file is loaded into.
    const nlohmann::json want = config_json(m.cfg), have = meta.at("config");
    for (const char* key : {"feature_extractor", "hidden", "cnn_channels", "latent_dim", "kernel", "ard",
                            "input_normalisation", "min_noise_variance"}) {
      if (want.at(key) != have.at(key))
        throw Error("Dkl::load: '" + file.string() + "' was saved with " + key + " = " + have.at(key).dump() +
                    " but this model has " + key + " = " + want.at(key).dump());
    }
    if (meta.at("input_dim").get<int>() != m.input_dim || meta.at("n_targets").get<int>() != m.n_targets ||
        meta.at("image_side").get<int>() != m.image_side)
      throw Error("Dkl::load: '" + file.string() + "' holds a model with input_dim " + meta.at("input_dim").dump() +
                  ", n_targets " + meta.at("n_targets").dump() + ", image_side " + meta.at("image_side").dump() +
                  "; this model has " + std::to_string(m.input_dim) + ", " + std::to_string(m.n_targets) + ", " +
                  std::to_string(m.image_side));
    m.seed = meta.at("seed").get<std::uint64_t>();
    m.fits = meta.at("fits").get<int>();
    m.initialised = meta.at("initialised").get<bool>();
    m.trained = false;
    m.heads.clear();
    if (!m.initialised) return;
    torch::serialize::InputArchive net_ar;
    ar.read("extractor", net_ar);
    m.net->load(net_ar);
    m.theta.assign(m.n_targets, torch::Tensor());
    for (int t = 0; t < m.n_targets; ++t) ar.read("theta/" + std::to_string(t), m.theta[t]);
    const std::vector<torch::Tensor> params = m.parameters();
    m.adam.reset(params);
    torch::Tensor step;
    ar.read("adam/step", step);
    m.adam.step = step.item<std::int64_t>();
    for (size_t i = 0; i < params.size(); ++i) {
      ar.read("adam/m/" + std::to_string(i), m.adam.m[i]);
      ar.read("adam/v/" + std::to_string(i), m.adam.v[i]);
    }
    torch::Tensor tx, ty, im, is, ym, ys;
    ar.read("train_x", tx);
    ar.read("train_y", ty);
    ar.read("in_mean", im);
    ar.read("in_inv_std", is);
    ar.read("y_mean", ym);
    ar.read("y_std", ys);
    tx = tx.contiguous();
    ty = ty.contiguous();
    m.train_x = Eigen::Map<const RowMatrixF>(tx.data_ptr<float>(), tx.size(0), tx.size(1));
    m.train_y = Eigen::Map<const RowMatrixD>(ty.data_ptr<double>(), ty.size(0), ty.size(1));
    m.in_mean = Eigen::Map<const Eigen::RowVectorXf>(im.data_ptr<float>(), im.numel());
    m.in_inv_std = Eigen::Map<const Eigen::RowVectorXf>(is.data_ptr<float>(), is.numel());
    m.y_mean = Eigen::Map<const Eigen::RowVectorXd>(ym.data_ptr<double>(), ym.numel());
    m.y_std = Eigen::Map<const Eigen::RowVectorXd>(ys.data_ptr<double>(), ys.numel());
    if (meta.at("trained").get<bool>()) m.condition_heads();
  } catch (const c10::Error& e) {
    throw Error("Dkl::load: cannot read '" + file.string() + "': " + e.what_without_backtrace());
  } catch (const nlohmann::json::exception& e) {
    throw Error("Dkl::load: corrupt metadata in '" + file.string() + "': " + e.what());
  }
}

nlohmann::json Dkl::hyperparameters() const { return impl_->hyperparameters_json(); }
int Dkl::input_dim() const { return impl_->input_dim; }
int Dkl::n_targets() const { return impl_->n_targets; }
int Dkl::latent_dim() const { return impl_->cfg.latent_dim; }
int Dkl::fits() const { return impl_->fits; }
bool Dkl::trained() const { return impl_->trained; }
const DklConfig& Dkl::config() const { return impl_->cfg; }

}  // namespace sdm::engine::gp
