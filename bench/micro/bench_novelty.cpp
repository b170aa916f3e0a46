// Novelty scores, initial designs and the benchmark's k-means at the paper's scale:
// 256×256 survey, 16×16 patches, stride 2 (14,641 candidates), 251-point I–V curves.
// The survey is a synthetic smooth grain-like field (sum of random Gaussian bumps), so the
// numbers do not depend on the twin.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <random>
#include <vector>

#include "bench/stats/kmeans.hpp"
#include "core/waveform.hpp"
#include "engine/acquisition/initial_design.hpp"
#include "engine/novelty/spectral_novelty.hpp"
#include "engine/novelty/ssim.hpp"
#include "engine/patches/candidate_grid.hpp"
#include "engine/patches/patch_extraction.hpp"

namespace {
using namespace sdm::engine;

std::vector<double> synthetic_survey(int n, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> pos(0.0, n), width(3.0, 14.0), height(0.2, 1.0);
  std::normal_distribution<double> noise(0.0, 0.02);
  std::vector<double> img(static_cast<size_t>(n) * n, 0.0);
  for (int b = 0; b < 400; ++b) {
    const double cx = pos(rng), cy = pos(rng), w = width(rng), h = height(rng);
    const int r = static_cast<int>(3 * w);
    for (int y = std::max(0, static_cast<int>(cy) - r); y < std::min(n, static_cast<int>(cy) + r); ++y)
      for (int x = std::max(0, static_cast<int>(cx) - r); x < std::min(n, static_cast<int>(cx) + r); ++x)
        img[static_cast<size_t>(y) * n + x] += h * std::exp(-((x - cx) * (x - cx) + (y - cy) * (y - cy)) / (2 * w * w));
  }
  for (double& v : img) v += noise(rng);
  return img;
}

struct PaperPatches {
  patches::CandidateGrid grid;
  std::vector<double> normalised;
  gp::RowMatrixF patches;
  PaperPatches() {
    grid = patches::make_candidate_grid(256, 256, 16, 2);
    normalised = patches::normalise_min_max(synthetic_survey(256, 7), 256, 256);
    patches = patches::patches_of_normalised(normalised, grid);
  }
};

// The machine these run on is shared: report the minimum alongside mean/median/stddev.
double minimum(const std::vector<double>& v) { return *std::min_element(v.begin(), v.end()); }
const PaperPatches& paper_patches() {
  static const PaperPatches p;
  return p;
}

// Arg 0: window (0 uniform 7×7, 1 Gaussian σ 1.5 = 11×11); Arg 1: constructor (0 survey image
// + grid, what the campaign uses; 1 patch matrix).
void BM_SsimIncrementalUpdate(benchmark::State& state) {
  const auto& p = paper_patches();
  novelty::SsimConfig cfg;
  if (state.range(0) == 1) cfg.window = novelty::SsimWindow::gaussian;
  novelty::StructuralNovelty sn = state.range(1) == 0 ? novelty::StructuralNovelty(p.normalised, p.grid, cfg)
                                                      : novelty::StructuralNovelty(p.patches, 16, cfg);
  std::mt19937_64 rng(1);
  std::uniform_int_distribution<int> pick(0, static_cast<int>(p.grid.size()) - 1);
  for (auto _ : state) {
    sn.add_measured(pick(rng));
    benchmark::DoNotOptimize(sn.max_ssim().data());
  }
  state.counters["candidates"] = static_cast<double>(p.grid.size());
  state.SetLabel(std::string(state.range(0) == 1 ? "gaussian 11x11" : "uniform 7x7") +
                 (state.range(1) == 0 ? ", from image" : ", from patch matrix"));
}
BENCHMARK(BM_SsimIncrementalUpdate)
    ->Args({0, 0})->Args({1, 0})->Args({0, 1})->Args({1, 1})
    ->Unit(benchmark::kMillisecond)->ComputeStatistics("min", minimum);

void BM_SsimPrecompute(benchmark::State& state) {
  const auto& p = paper_patches();
  for (auto _ : state) {
    novelty::StructuralNovelty sn(p.normalised, p.grid);
    benchmark::DoNotOptimize(sn.max_ssim().data());
  }
}
BENCHMARK(BM_SsimPrecompute)->Unit(benchmark::kMillisecond)->ComputeStatistics("min", minimum);

void BM_PatchExtraction(benchmark::State& state) {
  const auto img = synthetic_survey(256, 7);
  const auto grid = patches::make_candidate_grid(256, 256, 16, 2);
  for (auto _ : state) {
    auto P = patches::extract_patches(img, 256, 256, grid);
    benchmark::DoNotOptimize(P.data());
  }
}
BENCHMARK(BM_PatchExtraction)->Unit(benchmark::kMillisecond)->ComputeStatistics("min", minimum);

// n curves of 251 points: diode-like I–V with random conductance, onset and hysteresis.
std::vector<sdm::core::IvCurve> synthetic_curves(int n, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::lognormal_distribution<double> g(std::log(1e-10), 0.8);
  std::uniform_real_distribution<double> onset(0.3, 1.0), hyst(0.0, 0.3);
  const auto w = sdm::core::Waveform::triangle(1.5, 251, 1.0);
  std::vector<sdm::core::IvCurve> out(n);
  for (auto& c : out) {
    const double gi = g(rng), v0 = onset(rng), h = hyst(rng);
    c.time_s = w.time_s;
    c.bias_v = w.bias_v;
    for (size_t k = 0; k < w.size(); ++k) {
      const bool down = k > w.size() / 2;
      c.current_a.push_back(gi * std::expm1(std::max(0.0, w.bias_v[k] - v0 * (down ? 1.0 - h : 1.0)) / 0.1));
    }
  }
  return out;
}

void BM_SpectralNoveltyFitScore(benchmark::State& state) {
  const auto curves = synthetic_curves(static_cast<int>(state.range(0)), 3);
  novelty::SpectralNoveltyConfig cfg;
  std::uint64_t seed = 0;
  for (auto _ : state) {
    auto s = novelty::spectral_novelty(curves, cfg, seed++);
    benchmark::DoNotOptimize(s.data());
  }
  state.SetLabel("100 trees, 251 points");
}
BENCHMARK(BM_SpectralNoveltyFitScore)->Arg(200)->Unit(benchmark::kMillisecond)->ComputeStatistics("min", minimum);

void BM_LatinHypercube(benchmark::State& state) {
  const auto grid = patches::make_candidate_grid(256, 256, 16, 2);
  std::mt19937_64 rng(1);
  for (auto _ : state) {
    auto d = acquisition::latin_hypercube_design(grid, static_cast<int>(state.range(0)), rng);
    benchmark::DoNotOptimize(d.data());
  }
}
BENCHMARK(BM_LatinHypercube)->Arg(10)->Arg(100)->Unit(benchmark::kMicrosecond)->ComputeStatistics("min", minimum);

void BM_KMeansPatches(benchmark::State& state) {
  const auto& p = paper_patches();
  sdm::bench::stats::KMeansConfig cfg;
  cfg.k = 100;
  int iterations = 0;
  for (auto _ : state) {
    std::mt19937_64 rng(11);
    auto r = sdm::bench::stats::kmeans(p.patches, cfg, rng);
    iterations = r.iterations;
    benchmark::DoNotOptimize(r.labels.data());
  }
  state.counters["lloyd_iterations"] = iterations;
  state.SetLabel("14641 x 256, k = 100");
}
BENCHMARK(BM_KMeansPatches)->Unit(benchmark::kMillisecond)->Iterations(1)->ComputeStatistics("min", minimum);

}  // namespace
