// The hand-written dual-VAE objective and gradient (engine/vae/detail/elbo_gradient) against an
// independent reference: the objective of dual_vae.hpp written here with plain torch operators
// in double precision (the spatial decoder unfused: every pixel's rotated and shifted
// coordinate through the first layer), differentiated by torch autograd. Both image decoders,
// all three tie modes, sampled and posterior-mean latents.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <map>
#include <string>
#include <vector>

#include "engine/vae/detail/elbo_gradient.hpp"

namespace vd = sdm::engine::vae::detail;
using torch::Tensor;

namespace {

constexpr int kN = 5, kSide = 4, kP = kSide * kSide, kH = 6, kD = 2, kL = 7;

struct Linear {
  Tensor w, b;            // float32 (ours); b undefined: no bias
  Tensor wd, bd;          // float64 leaves with gradients (reference)
};

struct Model {
  std::map<std::string, Linear> l;
  Tensor tie, tied;
};

Linear make_linear(int in, int out, bool bias) {
  Linear l;
  l.w = torch::randn({out, in}, torch::kFloat32) / std::sqrt(static_cast<double>(in));
  if (bias) l.b = 0.3 * torch::randn({out}, torch::kFloat32);
  l.wd = l.w.to(torch::kFloat64).requires_grad_(true);
  if (bias) l.bd = l.b.to(torch::kFloat64).requires_grad_(true);
  return l;
}

Model make_model(bool ci) {
  torch::manual_seed(11);
  Model m;
  const int Di = kD + (ci ? 3 : 0);
  m.l["image_l1"] = make_linear(kP, kH, true);
  m.l["image_l2"] = make_linear(kH, kH, true);
  m.l["image_mean"] = make_linear(kH, Di, true);
  m.l["image_logvar"] = make_linear(kH, Di, true);
  if (ci) {
    m.l["spatial_coord"] = make_linear(2, kH, true);
    m.l["spatial_latent"] = make_linear(kD, kH, false);
    m.l["spatial_out"] = make_linear(kH, 1, true);
  } else {
    m.l["image_decoder_l1"] = make_linear(kD, kH, true);
    m.l["image_decoder_l2"] = make_linear(kH, kH, true);
    m.l["image_decoder_out"] = make_linear(kH, kP, true);
  }
  m.l["curve_l1"] = make_linear(kL, kH, true);
  m.l["curve_l2"] = make_linear(kH, kH, true);
  m.l["curve_mean"] = make_linear(kH, kD, true);
  m.l["curve_logvar"] = make_linear(kH, kD, true);
  m.l["curve_decoder_l1"] = make_linear(kD, kH, true);
  m.l["curve_decoder_l2"] = make_linear(kH, kH, true);
  m.l["curve_decoder_out"] = make_linear(kH, kL, true);
  m.tie = torch::eye(kD, torch::kFloat32) + 0.4 * torch::randn({kD, kD}, torch::kFloat32);
  m.tied = m.tie.to(torch::kFloat64).requires_grad_(true);
  return m;
}

// Our views: weights into the float tensors, gradients into zero-initialised twins (kept in `grads`).
struct Views {
  vd::DualVaeWeights w;
  vd::DualVaeGradients g;
  std::map<std::string, Linear> grads;
  Tensor tie_grad;
};

Views views_of(Model& m) {
  Views v;
  auto bind = [&](const std::string& name, vd::LinearView<const float>& w, vd::LinearView<float>& g) {
    if (!m.l.count(name)) return;
    Linear& l = m.l[name];
    Linear& gl = v.grads[name];
    gl.w = torch::full_like(l.w, 777.0f);  // must be overwritten
    if (l.b.defined()) gl.b = torch::full_like(l.b, 777.0f);
    const int in = static_cast<int>(l.w.size(1)), out = static_cast<int>(l.w.size(0));
    w = {l.w.data_ptr<float>(), l.b.defined() ? l.b.data_ptr<float>() : nullptr, in, out};
    g = {gl.w.data_ptr<float>(), gl.b.defined() ? gl.b.data_ptr<float>() : nullptr, in, out};
  };
#define SDM_BIND(field) bind(#field, v.w.field, v.g.field)
  SDM_BIND(image_l1);
  SDM_BIND(image_l2);
  SDM_BIND(image_mean);
  SDM_BIND(image_logvar);
  SDM_BIND(spatial_coord);
  SDM_BIND(spatial_latent);
  SDM_BIND(spatial_out);
  SDM_BIND(image_decoder_l1);
  SDM_BIND(image_decoder_l2);
  SDM_BIND(image_decoder_out);
  SDM_BIND(curve_l1);
  SDM_BIND(curve_l2);
  SDM_BIND(curve_mean);
  SDM_BIND(curve_logvar);
  SDM_BIND(curve_decoder_l1);
  SDM_BIND(curve_decoder_l2);
  SDM_BIND(curve_decoder_out);
#undef SDM_BIND
  v.w.tie = m.tie.data_ptr<float>();
  v.tie_grad = torch::full_like(m.tie, 777.0f);
  v.g.tie = v.tie_grad.data_ptr<float>();
  return v;
}

Tensor grid_of(int side) {  // pixel (r, c) at x = −1 + 2c/(side − 1), y = 1 − 2r/(side − 1)
  auto g = torch::empty({side * side, 2}, torch::kFloat32);
  for (int r = 0; r < side; ++r)
    for (int c = 0; c < side; ++c) {
      g[r * side + c][0] = -1.0 + 2.0 * c / (side - 1);
      g[r * side + c][1] = 1.0 - 2.0 * r / (side - 1);
    }
  return g;
}

Tensor lin(const Tensor& x, const Linear& l) {
  const auto y = torch::matmul(x, l.wd.t());
  return l.bd.defined() ? y + l.bd : y;
}
Tensor bce_sum(const Tensor& logits, const Tensor& x) {  // −Σ [x log σ(l) + (1 − x) log(1 − σ(l))]
  return -(x * torch::log(torch::sigmoid(logits)) + (1 - x) * torch::log(1 - torch::sigmoid(logits))).sum();
}
Tensor kl_sum(const Tensor& mu, const Tensor& lv, const Tensor& prior_std) {
  return (torch::log(prior_std) - 0.5 * lv + (torch::exp(lv) + mu * mu) / (2 * prior_std * prior_std) - 0.5).sum();
}

struct Reference {
  double recon_image, recon_curve, kl_image, kl_curve, similarity, total;
};

// The objective of dual_vae.hpp in double precision; total.backward() fills the .grad()s.
Reference reference(Model& m, bool ci, const std::string& tie_moves, const Tensor& xi, const Tensor& xc,
                    const Tensor& eps_i, const Tensor& eps_c, const Tensor& prior, const Tensor& grid, double beta,
                    double gamma) {
  const double n = kN;
  const auto encode = [&](const Tensor& x, const std::string& p) {
    const auto h = torch::tanh(lin(torch::tanh(lin(x, m.l[p + "_l1"])), m.l[p + "_l2"]));
    return std::make_pair(lin(h, m.l[p + "_mean"]), lin(h, m.l[p + "_logvar"]));
  };
  const auto [mu_i, lv_i] = encode(xi, "image");
  const Tensor s_i = eps_i.defined() ? mu_i + torch::exp(0.5 * lv_i) * eps_i : mu_i;
  Tensor logits_i, z_mean;
  if (ci) {
    const auto theta = s_i.select(1, 0), c = torch::cos(theta), s = torch::sin(theta);
    // moved_ij = R(θ_i) c_j + t_i, R = [cos −sin; sin cos]
    const auto gx = grid.select(1, 0).unsqueeze(0), gy = grid.select(1, 1).unsqueeze(0);  // 1 × P
    const auto mx = c.unsqueeze(1) * gx - s.unsqueeze(1) * gy + s_i.select(1, 1).unsqueeze(1);
    const auto my = s.unsqueeze(1) * gx + c.unsqueeze(1) * gy + s_i.select(1, 2).unsqueeze(1);
    const auto moved = torch::stack({mx, my}, 2);  // n × P × 2
    const auto pre = lin(moved, m.l["spatial_coord"]) + lin(s_i.slice(1, 3), m.l["spatial_latent"]).unsqueeze(1);
    logits_i = lin(torch::tanh(pre), m.l["spatial_out"]).squeeze(-1);
    z_mean = mu_i.slice(1, 3);
  } else {
    const auto h = torch::tanh(lin(torch::tanh(lin(s_i, m.l["image_decoder_l1"])), m.l["image_decoder_l2"]));
    logits_i = lin(h, m.l["image_decoder_out"]);
    z_mean = mu_i;
  }
  const auto [mu_s, lv_s] = encode(xc, "curve");
  const Tensor s_c = eps_c.defined() ? mu_s + torch::exp(0.5 * lv_s) * eps_c : mu_s;
  const auto hc = torch::tanh(lin(torch::tanh(lin(s_c, m.l["curve_decoder_l1"])), m.l["curve_decoder_l2"]));
  const auto logits_c = lin(hc, m.l["curve_decoder_out"]);

  const auto ri = bce_sum(logits_i, xi) / n, rc = bce_sum(logits_c, xc) / n;
  const auto ki = kl_sum(mu_i, lv_i, prior) / n, kc = kl_sum(mu_s, lv_s, torch::ones({kD}, torch::kFloat64)) / n;
  const auto zt = tie_moves == "curve" ? z_mean.detach() : z_mean;
  const auto st = tie_moves == "image" ? mu_s.detach() : mu_s;
  const auto At = tie_moves == "image" ? m.tied.detach() : m.tied;
  const auto sim = (zt - torch::matmul(st, At.t())).abs().mean();
  const auto total = ri + rc + beta * (ki + kc) + gamma * sim;
  total.backward();
  return {ri.item<double>(), rc.item<double>(), ki.item<double>(), kc.item<double>(), sim.item<double>(), total.item<double>()};
}

void expect_close(const Tensor& ours, const Tensor& ref, const std::string& what) {
  const Tensor r = ref.defined() ? ref.to(torch::kFloat32) : torch::zeros_like(ours);
  const double scale = std::max(1.0, r.abs().max().item<double>());
  const double worst = (ours - r).abs().max().item<double>();
  EXPECT_LT(worst, 2e-5 * scale) << what << ": ours\n" << ours << "\nautograd\n" << r;
}

// The sizes above; the caller fills in the prior, grid, β and tie mode.
vd::ElboShape small_shape(bool ci) {
  vd::ElboShape shape;
  shape.pairs = kN;
  shape.latent_dim = kD;
  shape.pixels = kP;
  shape.curve_points = kL;
  shape.coordinate_invariance = ci;
  shape.threads = 1;
  return shape;
}

void check_against_autograd(bool ci, const std::string& tie_moves, bool sampled) {
  SCOPED_TRACE(std::string(ci ? "spatial decoder" : "dense image decoder") + ", tie_moves " + tie_moves +
               (sampled ? ", sampled" : ", at the means"));
  Model m = make_model(ci);
  Views v = views_of(m);
  const int Di = kD + (ci ? 3 : 0);
  torch::manual_seed(5);
  const Tensor xi = torch::rand({kN, kP}, torch::kFloat32), xc = torch::rand({kN, kL}, torch::kFloat32);
  const Tensor eps_i = torch::randn({kN, Di}, torch::kFloat32), eps_c = torch::randn({kN, kD}, torch::kFloat32);
  const Tensor grid = grid_of(kSide);
  std::vector<float> prior(Di, 1.0f);
  if (ci) prior[0] = 1.5707964f, prior[1] = prior[2] = 0.5f;
  const double beta = 0.7, gamma = 3.0;

  vd::ElboShape shape = small_shape(ci);
  shape.image_prior_std = prior;
  shape.grid = grid.data_ptr<float>();
  shape.beta = beta;
  shape.tie_moves = tie_moves == "curve" ? vd::TieMoves::curve : tie_moves == "image" ? vd::TieMoves::image : vd::TieMoves::both;
  vd::ElboGradient elbo(shape);
  const auto ours = elbo.run(v.w, xi.data_ptr<float>(), xc.data_ptr<float>(), sampled ? eps_i.data_ptr<float>() : nullptr,
                             sampled ? eps_c.data_ptr<float>() : nullptr, gamma, &v.g);

  const auto to_d = [](const Tensor& t) { return t.to(torch::kFloat64); };
  const auto ref = reference(m, ci, tie_moves, to_d(xi), to_d(xc), sampled ? to_d(eps_i) : Tensor(),
                             sampled ? to_d(eps_c) : Tensor(), to_d(torch::tensor(prior)), to_d(grid), beta, gamma);
  EXPECT_NEAR(ours.recon_image, ref.recon_image, 1e-5 * std::abs(ref.recon_image));
  EXPECT_NEAR(ours.recon_curve, ref.recon_curve, 1e-5 * std::abs(ref.recon_curve));
  EXPECT_NEAR(ours.kl_image, ref.kl_image, 1e-5 * (1 + std::abs(ref.kl_image)));
  EXPECT_NEAR(ours.kl_curve, ref.kl_curve, 1e-5 * (1 + std::abs(ref.kl_curve)));
  EXPECT_NEAR(ours.similarity, ref.similarity, 1e-5 * (1 + ref.similarity));
  EXPECT_NEAR(ours.total, ref.total, 1e-5 * std::abs(ref.total));
  for (auto& [name, l] : m.l) {
    expect_close(v.grads[name].w, l.wd.grad(), name + " weight");
    if (l.b.defined()) expect_close(v.grads[name].b, l.bd.grad(), name + " bias");
  }
  expect_close(v.tie_grad, m.tied.grad(), "tie A");
  if (tie_moves == "image") EXPECT_EQ(v.tie_grad.abs().max().item<float>(), 0.0f);
}

}  // namespace

TEST(VaeElboGradient, SpatialDecoderMatchesTorchAutogradInEveryTieMode) {
  for (const char* mode : {"both", "curve", "image"}) check_against_autograd(true, mode, true);
  check_against_autograd(true, "both", false);
}

TEST(VaeElboGradient, DenseImageDecoderMatchesTorchAutogradInEveryTieMode) {
  for (const char* mode : {"both", "curve", "image"}) check_against_autograd(false, mode, true);
  check_against_autograd(false, "both", false);
}

TEST(VaeElboGradient, RejectsShapesThatDoNotFitTheWeights) {
  vd::ElboShape shape = small_shape(true);
  shape.image_prior_std = {1.0f, 1.0f};  // needs 2 + 3 pose entries
  const auto message = [&] {
    try {
      vd::ElboGradient elbo(shape);
    } catch (const std::exception& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_NE(message().find("image_prior_std has 2 entries; the image encoder has 5 outputs"), std::string::npos) << message();
  shape.image_prior_std.assign(5, 1.0f);  // now the missing pixel grid
  EXPECT_NE(message().find("needs the pixel grid"), std::string::npos) << message();
}
