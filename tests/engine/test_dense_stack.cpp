// nn::DenseStack against two independent references: libtorch's Linear layers with autograd
// (forward values and every gradient) and central finite differences in double precision.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

#include "core/error.hpp"
#include "engine/nn/dense_stack.hpp"
#include "engine/nn/detail/vector_tanh.hpp"

namespace nn = sdm::engine::nn;

namespace {

struct Net {
  std::vector<torch::Tensor> w, b;  // torch layout: w out x in, b out
  std::vector<nn::Activation> act;
};

Net make_net(const std::vector<int>& widths, const std::vector<nn::Activation>& act, std::uint64_t seed) {
  torch::manual_seed(seed);
  Net net;
  for (size_t l = 0; l + 1 < widths.size(); ++l) {
    net.w.push_back(torch::randn({widths[l + 1], widths[l]}) / std::sqrt(static_cast<double>(widths[l])));
    net.b.push_back(0.3 * torch::randn({widths[l + 1]}));
  }
  net.act = act;
  return net;
}

std::vector<nn::DenseLayer> layers_of(const Net& net) {
  std::vector<nn::DenseLayer> layers;
  for (size_t l = 0; l < net.w.size(); ++l)
    layers.push_back({net.w[l].data_ptr<float>(), net.b[l].data_ptr<float>(), static_cast<int>(net.w[l].size(1)),
                      static_cast<int>(net.w[l].size(0)), net.act[l]});
  return layers;
}

torch::Tensor torch_forward(const Net& net, torch::Tensor x, const std::vector<torch::Tensor>& w,
                            const std::vector<torch::Tensor>& b) {
  for (size_t l = 0; l < w.size(); ++l) {
    x = torch::nn::functional::linear(x, w[l], b[l]);
    if (net.act[l] == nn::Activation::relu) x = torch::relu(x);
    if (net.act[l] == nn::Activation::tanh) x = torch::tanh(x);
  }
  return x;
}

}  // namespace

// The vectorisable tanh of DenseStack and the VAE's spatial kernel, on a dense grid against
// std::tanh in double precision, including the small-|x| branch and saturation.
TEST(VectorTanh, IsWithin2e7OfStdTanh) {
  double worst = 0;
  for (double x = -12; x <= 12; x += 1e-4) {
    const float xf = static_cast<float>(x);
    worst = std::max(worst, std::abs(static_cast<double>(nn::detail::tanh_approx(xf)) - std::tanh(static_cast<double>(xf))));
  }
  EXPECT_LT(worst, 2e-7);
  EXPECT_EQ(nn::detail::tanh_approx(0.0f), 0.0f);
  EXPECT_EQ(nn::detail::tanh_approx(-30.0f), -1.0f);
}

TEST(DenseStack, ForwardAndGradientsEqualLibtorchAutograd) {
  using A = nn::Activation;
  const Net net = make_net({12, 9, 7, 3}, {A::relu, A::tanh, A::none}, 5);
  const int n = 17;
  torch::manual_seed(9);
  const torch::Tensor x = torch::randn({n, 12});
  const torch::Tensor d_out = torch::randn({n, 3});

  nn::DenseStack stack;
  const auto layers = layers_of(net);
  const float* y = stack.forward(layers, x.data_ptr<float>(), n);
  std::vector<torch::Tensor> gw, gb;
  std::vector<nn::DenseGradient> grads;
  for (size_t l = 0; l < net.w.size(); ++l) {
    gw.push_back(torch::full_like(net.w[l], 123.0f));  // overwritten, not accumulated
    gb.push_back(torch::full_like(net.b[l], 123.0f));
    grads.push_back({gw.back().data_ptr<float>(), gb.back().data_ptr<float>()});
  }
  torch::Tensor dx = torch::zeros_like(x);
  stack.backward(layers, x.data_ptr<float>(), d_out.data_ptr<float>(), grads, dx.data_ptr<float>());

  std::vector<torch::Tensor> w, b;
  for (size_t l = 0; l < net.w.size(); ++l) {
    w.push_back(net.w[l].clone().requires_grad_(true));
    b.push_back(net.b[l].clone().requires_grad_(true));
  }
  const torch::Tensor xr = x.clone().requires_grad_(true);
  const torch::Tensor ref = torch_forward(net, xr, w, b);
  (ref * d_out).sum().backward();

  const torch::Tensor ours = torch::from_blob(const_cast<float*>(y), {n, 3}, torch::kFloat32);
  EXPECT_TRUE(torch::allclose(ours, ref.detach(), 1e-5, 1e-6));
  for (size_t l = 0; l < net.w.size(); ++l) {
    EXPECT_TRUE(torch::allclose(gw[l], w[l].grad(), 1e-4, 1e-5)) << "weight gradient of layer " << l;
    EXPECT_TRUE(torch::allclose(gb[l], b[l].grad(), 1e-4, 1e-5)) << "bias gradient of layer " << l;
  }
  EXPECT_TRUE(torch::allclose(dx, xr.grad(), 1e-4, 1e-5));
}

// The weight gradient of one entry per layer against a central difference of the double-
// precision loss sum(d_out o y) (tanh everywhere: smooth, so the difference is clean).
TEST(DenseStack, WeightGradientsEqualFiniteDifferences) {
  using A = nn::Activation;
  Net net = make_net({6, 5, 4}, {A::tanh, A::none}, 21);
  const int n = 8;
  torch::manual_seed(3);
  const torch::Tensor x = torch::randn({n, 6});
  const torch::Tensor d_out = torch::randn({n, 4});
  nn::DenseStack stack;
  stack.forward(layers_of(net), x.data_ptr<float>(), n);
  std::vector<torch::Tensor> gw, gb;
  std::vector<nn::DenseGradient> grads;
  for (size_t l = 0; l < net.w.size(); ++l) {
    gw.push_back(torch::zeros_like(net.w[l]));
    gb.push_back(torch::zeros_like(net.b[l]));
    grads.push_back({gw.back().data_ptr<float>(), gb.back().data_ptr<float>()});
  }
  stack.backward(layers_of(net), x.data_ptr<float>(), d_out.data_ptr<float>(), grads);
  auto loss = [&](const std::vector<torch::Tensor>& w) {
    std::vector<torch::Tensor> wd, bd;
    for (size_t l = 0; l < w.size(); ++l) {
      wd.push_back(w[l].to(torch::kFloat64));
      bd.push_back(net.b[l].to(torch::kFloat64));
    }
    return (torch_forward(net, x.to(torch::kFloat64), wd, bd) * d_out.to(torch::kFloat64)).sum().item<double>();
  };
  const double h = 1e-3;
  for (size_t l = 0; l < net.w.size(); ++l) {
    std::vector<torch::Tensor> plus, minus;
    for (const auto& t : net.w) {
      plus.push_back(t.to(torch::kFloat64).clone());
      minus.push_back(t.to(torch::kFloat64).clone());
    }
    plus[l][1][2] += h;
    minus[l][1][2] -= h;
    const double fd = (loss(plus) - loss(minus)) / (2 * h);
    EXPECT_NEAR(gw[l][1][2].item<float>(), fd, 1e-4 * (1 + std::abs(fd))) << "layer " << l;
  }
}

TEST(DenseStack, MismatchedLayersAndBackwardBeforeForwardThrow) {
  using A = nn::Activation;
  Net a = make_net({4, 3}, {A::none}, 1), b = make_net({5, 2}, {A::none}, 2);
  std::vector<nn::DenseLayer> layers = layers_of(a);
  layers.push_back(layers_of(b)[0]);  // 3 outputs into 5 inputs
  nn::DenseStack stack;
  const std::vector<float> x(4, 1.0f), d(2, 1.0f);
  EXPECT_THROW(stack.forward(layers, x.data(), 1), sdm::Error);
  nn::DenseStack fresh;
  std::vector<float> gw(12), gb(3);
  EXPECT_THROW(fresh.backward(layers_of(a), x.data(), d.data(), {{gw.data(), gb.data()}}), sdm::Error);
}
