// Dual VAE speed targets (issue 6): training the paper's configuration on 210 pairs for 1000
// full-batch epochs ≤ 30 s; encoding 14,400 patches ≤ 1 s. Plus the pieces: one epoch, the fused
// spatial-decoder kernel, im2spec of a whole candidate grid, and the GMM + BIC selection.
// Run: build/bench/micro/sdm_micro --benchmark_filter=VAE --benchmark_repetitions=3
#include <benchmark/benchmark.h>
#include <torch/torch.h>

#include <cmath>
#include <random>

#include "engine/analysis/gmm.hpp"
#include "engine/vae/detail/spatial_decoder.hpp"
#include "engine/vae/dual_vae.hpp"

namespace {

using sdm::engine::vae::DualVae;
using sdm::engine::vae::RowMatrixF;
using sdm::engine::vae::VaeConfig;

// Random-texture 16×16 patches and smooth hysteretic curves (the cost does not depend on content).
struct Pairs {
  RowMatrixF patches;
  Eigen::MatrixXd curves;
};
Pairs make_pairs(int n, int points = 251) {
  std::mt19937_64 rng(1);
  std::uniform_real_distribution<double> u(0.0, 1.0);
  Pairs p{RowMatrixF(n, 256), Eigen::MatrixXd(n, points)};
  for (int i = 0; i < n; ++i) {
    const double f = 0.2 + u(rng), ph = 6.28 * u(rng), a = u(rng);
    for (int j = 0; j < 256; ++j) p.patches(i, j) = static_cast<float>(0.5 + 0.4 * std::sin(f * (j % 16) + ph + 0.3 * (j / 16)));
    for (int j = 0; j < points; ++j) {
      const double v = 1.5 * (j <= points / 2 ? j : points - 1 - j) / (points / 2);
      p.curves(i, j) = 1e-10 * (v * v * (1 + a) + (j > points / 2 ? 0.3 * a * v : 0.0));
    }
  }
  return p;
}

void BM_VAE_TrainPaperConfig210Pairs1000Epochs(benchmark::State& state) {
  const Pairs p = make_pairs(210);
  VaeConfig c;  // the paper's defaults: 1000 epochs, hidden 256, latent 2 + 3 pose, lr 1e-4, β 1, γ 10
  for (auto _ : state) {
    DualVae m(c, 16, 1);
    benchmark::DoNotOptimize(m.fit(p.patches, p.curves));
  }
}
BENCHMARK(BM_VAE_TrainPaperConfig210Pairs1000Epochs)->Unit(benchmark::kSecond)->Iterations(1);

void BM_VAE_Epoch210Pairs(benchmark::State& state) {
  const Pairs p = make_pairs(210);
  VaeConfig c;
  c.epochs = 20;
  for (auto _ : state) {
    DualVae m(c, 16, 1);
    benchmark::DoNotOptimize(m.fit(p.patches, p.curves));
  }
  state.SetItemsProcessed(state.iterations() * c.epochs);  // items/s = epochs per second
}
BENCHMARK(BM_VAE_Epoch210Pairs)->Unit(benchmark::kMillisecond);

struct Trained {
  Pairs data = make_pairs(60);
  DualVae model = [] {
    VaeConfig c;
    c.epochs = 5;
    return DualVae(c, 16, 1);
  }();
  Trained() { model.fit(data.patches, data.curves); }
};

RowMatrixF grid_patches(int m) {
  std::mt19937_64 rng(2);
  std::uniform_real_distribution<float> u(0.0f, 1.0f);
  RowMatrixF x(m, 256);
  for (Eigen::Index i = 0; i < x.size(); ++i) x.data()[i] = u(rng);
  return x;
}

void BM_VAE_Encode14400Patches(benchmark::State& state) {
  static Trained t;
  const RowMatrixF x = grid_patches(14400);
  for (auto _ : state) benchmark::DoNotOptimize(t.model.encode_patches(x));
}
BENCHMARK(BM_VAE_Encode14400Patches)->Unit(benchmark::kMillisecond);

void BM_VAE_Im2spec14400Patches(benchmark::State& state) {
  static Trained t;
  const RowMatrixF x = grid_patches(14400);
  for (auto _ : state) benchmark::DoNotOptimize(t.model.im2spec(x));
}
BENCHMARK(BM_VAE_Im2spec14400Patches)->Unit(benchmark::kMillisecond);

// The fused kernel alone: BCE and its gradients for n patches of 16×16 at hidden width 256.
void BM_VAE_SpatialKernel(benchmark::State& state) {
  const int n = static_cast<int>(state.range(0)), threads = static_cast<int>(state.range(1)), H = 256;
  torch::manual_seed(0);
  auto a = torch::randn({n, H}).requires_grad_();
  auto M = torch::randn({n, H, 2}).requires_grad_();
  auto w = (0.1 * torch::randn({H})).requires_grad_();
  auto b = torch::zeros({1}).requires_grad_();
  const auto grid = sdm::engine::vae::detail::coordinate_grid(16);
  const auto x = torch::rand({n, 256});
  for (auto _ : state) {
    auto l = sdm::engine::vae::detail::spatial_bce_sum(a, M, w, b, grid, x, threads);
    benchmark::DoNotOptimize(torch::autograd::grad({l}, {a, M, w, b}));
  }
  state.SetItemsProcessed(state.iterations() * n * 256LL * H);  // activations per second
}
BENCHMARK(BM_VAE_SpatialKernel)->Args({210, 1})->Args({210, 2})->Unit(benchmark::kMillisecond);

void BM_VAE_GmmBicSelection(benchmark::State& state) {
  std::mt19937_64 rng(3);
  std::normal_distribution<double> g(0.0, 1.0);
  Eigen::MatrixXd x(210, 2);
  for (int i = 0; i < 210; ++i) x.row(i) << g(rng) + 6 * (i % 3), g(rng) + 4 * (i % 2);
  for (auto _ : state) benchmark::DoNotOptimize(sdm::engine::analysis::select_gmm_bic(x, 8, {}, 1));
}
BENCHMARK(BM_VAE_GmmBicSelection)->Unit(benchmark::kMillisecond);

}  // namespace
