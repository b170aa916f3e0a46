// The dual VAE's loss terms and its fused spatial decoder against independent references:
// closed forms evaluated by hand in double precision, numerical quadrature of the KL
// divergence, finite differences, and torch autograd of the unfused expression.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <vector>

#include "engine/vae/detail/losses.hpp"
#include "engine/vae/detail/spatial_decoder.hpp"

namespace vd = sdm::engine::vae::detail;

namespace {
torch::Tensor t2(const std::vector<std::vector<float>>& v) {
  const auto rows = static_cast<int64_t>(v.size()), cols = static_cast<int64_t>(v[0].size());
  auto t = torch::empty({rows, cols}, torch::kFloat32);
  for (int64_t i = 0; i < rows; ++i)
    for (int64_t j = 0; j < cols; ++j) t[i][j] = v[i][j];
  return t;
}
double sigmoid(double x) { return 1.0 / (1.0 + std::exp(-x)); }
}  // namespace

TEST(VaeLosses, BinaryCrossEntropyMatchesTheBernoulliLogLikelihood) {
  const std::vector<std::vector<float>> l = {{0.3f, -1.2f, 2.0f}, {-0.5f, 0.0f, 4.0f}};
  const std::vector<std::vector<float>> x = {{1.0f, 0.0f, 0.5f}, {0.2f, 1.0f, 0.0f}};
  double expected = 0;
  for (int i = 0; i < 2; ++i)
    for (int j = 0; j < 3; ++j) {
      const double p = sigmoid(l[i][j]);
      expected += -(x[i][j] * std::log(p) + (1 - x[i][j]) * std::log(1 - p));
    }
  expected /= 2;  // per-row sums averaged over rows
  EXPECT_NEAR(vd::bce_with_logits(t2(l), t2(x)).item<double>(), expected, 1e-5);
}

TEST(VaeLosses, BinaryCrossEntropyStaysFiniteForSaturatedLogits) {
  // σ(±60) rounds to 0/1 in float: the naive formula gives log(0); the stable form must not.
  const auto v = vd::bce_with_logits(t2({{60.0f, -60.0f}}), t2({{0.0f, 1.0f}})).item<double>();
  EXPECT_NEAR(v, 120.0, 1e-3);  // −log σ(−60) ≈ 60 for each entry
}

TEST(VaeLosses, GaussianKlMatchesClosedFormAndQuadrature) {
  const std::vector<std::vector<float>> mu = {{0.5f, -1.0f}, {2.0f, 0.1f}};
  const std::vector<std::vector<float>> lv = {{0.0f, -0.7f}, {0.4f, 1.2f}};
  const std::vector<float> prior = {0.8f, 1.0f};
  double expected = 0;
  for (int i = 0; i < 2; ++i)
    for (int j = 0; j < 2; ++j) {
      const double s = std::exp(0.5 * lv[i][j]), sp = prior[j];
      expected += std::log(sp / s) + (s * s + mu[i][j] * mu[i][j]) / (2 * sp * sp) - 0.5;
    }
  expected /= 2;
  EXPECT_NEAR(vd::gaussian_kl(t2(mu), t2(lv), torch::tensor(prior)).item<double>(), expected, 1e-5);

  // The closed form itself, for one entry, against ∫ q log(q/p) by Simpson's rule over ±12σ.
  const double m = 2.0, s = std::exp(0.5 * 0.4), sp = 0.8;
  auto q = [&](double z) { return std::exp(-0.5 * (z - m) * (z - m) / (s * s)) / (s * std::sqrt(2 * M_PI)); };
  auto p = [&](double z) { return std::exp(-0.5 * z * z / (sp * sp)) / (sp * std::sqrt(2 * M_PI)); };
  const int steps = 20000;
  const double a = m - 12 * s, b = m + 12 * s, h = (b - a) / steps;
  double integral = 0;
  for (int k = 0; k <= steps; ++k) {
    const double z = a + k * h, w = (k == 0 || k == steps) ? 1 : (k % 2 ? 4 : 2);
    const double qz = q(z);
    if (qz > 0) integral += w * qz * std::log(qz / p(z));
  }
  integral *= h / 3;
  const auto one = vd::gaussian_kl(torch::tensor({{2.0f}}), torch::tensor({{0.4f}}), torch::tensor({0.8f})).item<double>();
  EXPECT_NEAR(one, integral, 1e-5);
}

TEST(VaeLosses, L1TieAppliesTheMatrixToTheSpectralMean) {
  const auto z = t2({{1.0f, 2.0f}, {-1.0f, 0.5f}});
  const auto s = t2({{0.5f, 1.0f}, {2.0f, -1.0f}});
  const auto A = t2({{2.0f, 0.0f}, {1.0f, -1.0f}});
  // A·s₀ = (1, −0.5) → |0|, |2.5|; A·s₁ = (4, 3) → |−5|, |−2.5|: mean of the four entries 2.5.
  EXPECT_NEAR(vd::l1_tie(z, s, A).item<double>(), 2.5, 1e-6);
}

TEST(VaeSpatialDecoder, CoordinateGridSpansMinusOneToOneWithYUp) {
  const auto g = vd::coordinate_grid(3);
  ASSERT_EQ(g.size(0), 9);
  EXPECT_FLOAT_EQ(g[0][0].item<float>(), -1.0f);  // top-left
  EXPECT_FLOAT_EQ(g[0][1].item<float>(), 1.0f);
  EXPECT_FLOAT_EQ(g[5][0].item<float>(), 1.0f);  // row 1, column 2
  EXPECT_FLOAT_EQ(g[5][1].item<float>(), 0.0f);
  EXPECT_FLOAT_EQ(g[8][1].item<float>(), -1.0f);  // bottom row
}

namespace {
// The decoder by hand in double: Σ_ij BCE(σ(b + Σ_k w_k tanh(a_ik + M_ik0 c_j0 + M_ik1 c_j1)), x_ij).
double hand_loss(const std::vector<double>& a, const std::vector<double>& M, const std::vector<double>& w, double b,
                 const std::vector<double>& grid, const std::vector<double>& x, int n, int H, int P) {
  double total = 0;
  for (int i = 0; i < n; ++i)
    for (int j = 0; j < P; ++j) {
      double logit = b;
      for (int k = 0; k < H; ++k)
        logit += w[k] * std::tanh(a[i * H + k] + M[(i * H + k) * 2] * grid[2 * j] + M[(i * H + k) * 2 + 1] * grid[2 * j + 1]);
      const double p = sigmoid(logit), t = x[i * P + j];
      total += -(t * std::log(p) + (1 - t) * std::log(1 - p));
    }
  return total;
}
std::vector<double> to_vec(const torch::Tensor& t) {
  const auto c = t.to(torch::kFloat64).contiguous().view({-1});
  return std::vector<double>(c.data_ptr<double>(), c.data_ptr<double>() + c.numel());
}
}  // namespace

TEST(VaeSpatialDecoder, LossAndGradientsMatchHandComputationAndFiniteDifferences) {
  const int n = 2, H = 3, P = 4;
  auto a = torch::tensor({0.2f, -0.4f, 0.7f, -0.1f, 0.3f, 0.05f}).view({n, H}).requires_grad_();
  auto M = torch::tensor({0.5f, -0.3f, 1.2f, 0.4f, -0.8f, 0.2f, 0.1f, 0.9f, -0.6f, -0.2f, 0.3f, 0.7f}).view({n, H, 2}).requires_grad_();
  auto w = torch::tensor({0.9f, -1.1f, 0.6f}).requires_grad_();
  auto b = torch::tensor({0.15f}).requires_grad_();
  const auto grid = vd::coordinate_grid(2);
  const auto x = torch::tensor({0.0f, 1.0f, 0.3f, 0.8f, 1.0f, 0.0f, 0.5f, 0.2f}).view({n, P});

  auto loss = vd::spatial_bce_sum(a, M, w, b, grid, x, 1);
  loss.backward();
  auto av = to_vec(a.detach()), Mv = to_vec(M.detach()), wv = to_vec(w.detach()), gv = to_vec(grid), xv = to_vec(x);
  double bv = b.item<double>();
  const double expected = hand_loss(av, Mv, wv, bv, gv, xv, n, H, P);
  EXPECT_NEAR(loss.item<double>(), expected, 2e-5 * expected);

  // Central differences of the double-precision hand loss.
  const double eps = 1e-5;
  auto check = [&](std::vector<double>& param, const torch::Tensor& grad, const char* name) {
    const auto g = to_vec(grad);
    for (std::size_t q = 0; q < param.size(); ++q) {
      const double keep = param[q];
      param[q] = keep + eps;
      const double up = hand_loss(av, Mv, wv, bv, gv, xv, n, H, P);
      param[q] = keep - eps;
      const double down = hand_loss(av, Mv, wv, bv, gv, xv, n, H, P);
      param[q] = keep;
      EXPECT_NEAR(g[q], (up - down) / (2 * eps), 2e-5) << name << "[" << q << "]";
    }
  };
  check(av, a.grad(), "a");
  check(Mv, M.grad(), "M");
  check(wv, w.grad(), "w");
  std::vector<double> bvec = {bv};
  {
    const double up = hand_loss(av, Mv, wv, bv + eps, gv, xv, n, H, P);
    const double down = hand_loss(av, Mv, wv, bv - eps, gv, xv, n, H, P);
    EXPECT_NEAR(b.grad().item<double>(), (up - down) / (2 * eps), 2e-5);
  }
}

TEST(VaeSpatialDecoder, MatchesTorchAutogradOfTheUnfusedDecoderWithRotationAndShift) {
  // The decoder as a plain torch expression on rotated + shifted coordinates, differentiated by
  // autograd, against the fused kernel fed with a = W_c t + b_c + W_z z and M = W_c R(θ).
  torch::manual_seed(3);
  const int n = 5, H = 37, d = 2, side = 5, P = side * side;  // H not a multiple of 16
  auto Wc = torch::randn({H, 2}).requires_grad_();
  auto bc = torch::randn({H}).requires_grad_();
  auto Wz = torch::randn({H, d}).requires_grad_();
  auto w = (0.3 * torch::randn({H})).requires_grad_();
  auto b = torch::randn({1}).requires_grad_();
  auto theta = torch::randn({n}).requires_grad_();
  auto shift = (0.3 * torch::randn({n, 2})).requires_grad_();
  auto z = torch::randn({n, d}).requires_grad_();
  const auto grid = vd::coordinate_grid(side);
  const auto x = torch::rand({n, P});
  const std::vector<torch::Tensor> leaves = {Wc, bc, Wz, w, b, theta, shift, z};

  // Reference: c' = R(θ)c + t per pixel; h = tanh(W_c c' + b_c + W_z z); logit = wᵀh + b.
  const auto c = torch::cos(theta), s = torch::sin(theta);
  const auto gx = grid.select(1, 0).unsqueeze(0), gy = grid.select(1, 1).unsqueeze(0);  // 1 × P
  const auto xr = c.unsqueeze(1) * gx - s.unsqueeze(1) * gy + shift.select(1, 0).unsqueeze(1);
  const auto yr = s.unsqueeze(1) * gx + c.unsqueeze(1) * gy + shift.select(1, 1).unsqueeze(1);
  const auto moved = torch::stack({xr, yr}, -1);  // n × P × 2
  const auto h = torch::tanh(torch::matmul(moved, Wc.t()) + bc + torch::matmul(z, Wz.t()).unsqueeze(1));
  const auto logits = torch::matmul(h, w) + b;
  const auto ref = torch::binary_cross_entropy_with_logits(logits, x, {}, {}, at::Reduction::Sum);
  const auto ref_grads = torch::autograd::grad({ref}, leaves, {}, /*retain_graph=*/true);

  const auto R = torch::stack({torch::stack({c, -s}, 1), torch::stack({s, c}, 1)}, 1);
  const auto M = torch::matmul(Wc.unsqueeze(0), R).contiguous();
  const auto a = (torch::matmul(shift, Wc.t()) + bc + torch::matmul(z, Wz.t())).contiguous();
  const auto fused = vd::spatial_bce_sum(a, M, w, b, grid, x, 1);
  const auto fused_grads = torch::autograd::grad({fused}, leaves);

  EXPECT_NEAR(fused.item<double>(), ref.item<double>(), 1e-5 * ref.item<double>());
  const char* names[] = {"W_c", "b_c", "W_z", "w", "b", "theta", "shift", "z"};
  for (std::size_t q = 0; q < leaves.size(); ++q) {
    const double scale = ref_grads[q].abs().max().item<double>() + 1e-3;
    EXPECT_LT((fused_grads[q] - ref_grads[q]).abs().max().item<double>(), 1e-4 * scale) << names[q];
  }
  // The logits-only path agrees with the reference logits.
  const auto fl = vd::spatial_logits(a, M, w, b, grid, 1);
  EXPECT_LT((fl - logits.detach()).abs().max().item<double>(), 1e-5);
}

TEST(VaeSpatialDecoder, ResultsDoNotDependOnTheThreadCount) {
  torch::manual_seed(5);
  const int n = 41, H = 256, P = 256;  // large enough for the kernel to start threads
  auto make = [&](bool grad) {
    std::vector<torch::Tensor> v = {torch::randn({n, H}), torch::randn({n, H, 2}), 0.1 * torch::randn({H}), torch::randn({1})};
    for (auto& t : v) t.requires_grad_(grad);
    return v;
  };
  const auto p = make(true);
  const auto grid = torch::rand({P, 2}) * 2 - 1;
  const auto x = torch::rand({n, P});
  auto run = [&](int threads) {
    const auto l = vd::spatial_bce_sum(p[0], p[1], p[2], p[3], grid, x, threads);
    auto g = torch::autograd::grad({l}, {p[0], p[1], p[2], p[3]});
    g.push_back(l.detach());
    return g;
  };
  const auto one = run(1), three = run(3);
  for (std::size_t q = 0; q < one.size(); ++q) EXPECT_TRUE(torch::equal(one[q], three[q])) << "output " << q;
}

#include "engine/vae/detail/adam.hpp"

TEST(VaeAdam, MatchesTorchAdamStepByStep) {
  // The same parameters and gradients through libtorch's Adam (the reference) and ours.
  torch::manual_seed(9);
  const auto init = torch::randn({37});
  auto p_ref = init.clone().requires_grad_(), p_own = init.clone().requires_grad_();
  torch::optim::Adam reference({p_ref}, torch::optim::AdamOptions(1e-2));
  vd::Adam own({p_own}, 1e-2);
  for (int step = 0; step < 25; ++step) {
    const auto target = torch::randn({37});
    reference.zero_grad();
    own.zero_grad();
    ((p_ref - target).pow(2).sum() + p_ref.abs().sum()).backward();
    ((p_own - target).pow(2).sum() + p_own.abs().sum()).backward();
    reference.step();
    own.step();
    ASSERT_LT((p_ref - p_own).abs().max().item<double>(), 1e-5) << "step " << step;
  }
}
