// Speed and memory of the DKL decision-model update (issue 4's targets):
// n measured 16x16 patches, m = 14,400 candidates (stride-2 grid of a 256x256 survey),
// one update = warm-started fit (100 Adam steps) + predictions for every candidate.
//   n = 200: median <= 150 ms;  n = 1000: <= 1.5 s;  peak RSS <= 1 GiB at n = 2000.
// The survey is a synthetic smooth random image (Gaussian "grains" plus stripes), so the
// benchmark depends on nothing but the engine. Run, e.g.:
//   build/bench/micro/sdm_micro --benchmark_filter='Dkl|GpNll' --benchmark_repetitions=5
// Peak RSS is the process's ru_maxrss; run one benchmark per process to attribute it.
#include <benchmark/benchmark.h>
#include <sys/resource.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <random>
#include <string>

#include "engine/gp/dkl.hpp"
#include "engine/gp/exact_gp.hpp"

namespace gp = sdm::engine::gp;

namespace {

constexpr int kSide = 256, kPatch = 16, kStride = 2, kGrid = 120;  // 120^2 = 14,400 candidates

struct Survey {
  gp::RowMatrixF patches;  ///< 14,400 x 256
  Eigen::MatrixXd target;  ///< 14,400 x 1: a nonlinear function of each patch
};

const Survey& survey() {
  static const Survey s = [] {
    std::mt19937_64 rng(20240607);
    std::uniform_real_distribution<double> u(0, 1);
    Eigen::MatrixXd img = Eigen::MatrixXd::Zero(kSide, kSide);
    for (int g = 0; g < 60; ++g) {
      const double cx = u(rng) * kSide, cy = u(rng) * kSide, w = 4 + 12 * u(rng), a = u(rng) * 2 - 1;
      for (int y = 0; y < kSide; ++y)
        for (int x = 0; x < kSide; ++x)
          img(y, x) += a * std::exp(-((x - cx) * (x - cx) + (y - cy) * (y - cy)) / (2 * w * w));
    }
    for (int y = 0; y < kSide; ++y)
      for (int x = 0; x < kSide; ++x) img(y, x) += 0.2 * std::sin(0.3 * x + 0.1 * y) + 0.05 * (u(rng) - 0.5);
    Survey s;
    s.patches.resize(kGrid * kGrid, kPatch * kPatch);
    s.target.resize(kGrid * kGrid, 1);
    for (int gy = 0; gy < kGrid; ++gy)
      for (int gx = 0; gx < kGrid; ++gx) {
        const int row = gy * kGrid + gx;
        double sum = 0, sum2 = 0;
        for (int py = 0; py < kPatch; ++py)
          for (int px = 0; px < kPatch; ++px) {
            const double v = img(gy * kStride + py, gx * kStride + px);
            s.patches(row, py * kPatch + px) = static_cast<float>(v);
            sum += v;
            sum2 += v * v;
          }
        const double mean = sum / (kPatch * kPatch), var = sum2 / (kPatch * kPatch) - mean * mean;
        s.target(row, 0) = std::tanh(2 * mean) + 3 * std::sqrt(std::max(var, 0.0));
      }
    return s;
  }();
  return s;
}

/// The first n candidates of a seeded random order: the "measured" rows.
void training_set(int n, gp::RowMatrixF& x, Eigen::MatrixXd& y) {
  const Survey& s = survey();
  std::vector<int> order(s.patches.rows());
  for (size_t i = 0; i < order.size(); ++i) order[i] = static_cast<int>(i);
  std::mt19937_64 rng(7);
  std::shuffle(order.begin(), order.end(), rng);
  x.resize(n, s.patches.cols());
  y.resize(n, 1);
  for (int i = 0; i < n; ++i) {
    x.row(i) = s.patches.row(order[i]);
    y.row(i) = s.target.row(order[i]);
  }
}

double peak_rss_mib() {
  rusage r{};
  getrusage(RUSAGE_SELF, &r);
  return static_cast<double>(r.ru_maxrss) / 1024.0;  // ru_maxrss is in KiB on Linux
}

/// A model trained on the first n - 1 measured rows (as after the previous campaign step),
/// saved once per n so every iteration starts from the same warm state.
std::filesystem::path warm_state(int n) {
  static std::map<int, std::filesystem::path> files;
  auto it = files.find(n);
  if (it != files.end()) return it->second;
  gp::RowMatrixF x;
  Eigen::MatrixXd y;
  training_set(n - 1, x, y);
  gp::DklConfig c;
  c.steps = 200;
  gp::Dkl dkl(c, kPatch * kPatch, 1, 1);
  dkl.fit(x, y);
  const auto file = std::filesystem::temp_directory_path() / ("sdm_bench_gp_warm_" + std::to_string(n) + ".pt");
  dkl.save(file);
  files[n] = file;
  return file;
}

// args: n, early stopping (0: exactly 100 steps as in the issue; 1: default patience 20)
void BM_DklUpdate(benchmark::State& state) {
  const int n = static_cast<int>(state.range(0));
  const bool early = state.range(1) != 0;
  gp::RowMatrixF x;
  Eigen::MatrixXd y;
  training_set(n, x, y);
  const auto file = warm_state(n);
  gp::DklConfig c;  // warm start, 100 steps
  if (!early) c.early_stop_patience = 0;
  const Survey& s = survey();
  double steps = 0, fit_s = 0;
  for (auto _ : state) {
    state.PauseTiming();
    gp::Dkl dkl(c, kPatch * kPatch, 1, 1);
    dkl.load(file);
    state.ResumeTiming();
    const gp::FitReport rep = dkl.fit(x, y);
    const gp::Prediction p = dkl.predict(s.patches);
    benchmark::DoNotOptimize(p.mean.data());
    steps += rep.steps_run;
    fit_s += rep.seconds;
  }
  state.counters["steps"] = steps / static_cast<double>(state.iterations());
  state.counters["fit_s"] = fit_s / static_cast<double>(state.iterations());
  state.counters["peak_rss_MiB"] = peak_rss_mib();
}
BENCHMARK(BM_DklUpdate)
    ->ArgsProduct({{200, 1000}, {0, 1}})
    ->Args({2000, 0})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime()
    ->MeasureProcessCPUTime();

// The paper's setting (gpax viDKL): refit from scratch every step, 2000 Adam steps.
void BM_DklPaperRefit(benchmark::State& state) {
  const int n = static_cast<int>(state.range(0));
  gp::RowMatrixF x;
  Eigen::MatrixXd y;
  training_set(n, x, y);
  gp::DklConfig c;
  c.warm_start = false;
  c.steps = 2000;
  c.early_stop_patience = 0;
  gp::Dkl dkl(c, kPatch * kPatch, 1, 1);
  const Survey& s = survey();
  for (auto _ : state) {
    dkl.fit(x, y);
    const gp::Prediction p = dkl.predict(s.patches);
    benchmark::DoNotOptimize(p.mean.data());
  }
  state.counters["peak_rss_MiB"] = peak_rss_mib();
}
BENCHMARK(BM_DklPaperRefit)->Arg(200)->Unit(benchmark::kMillisecond)->UseRealTime()->MeasureProcessCPUTime();

// Prediction alone: extractor on 14,400 patches + GP mean/variance with the cached factor.
void BM_DklPredict(benchmark::State& state) {
  const int n = static_cast<int>(state.range(0));
  gp::DklConfig c;
  gp::Dkl dkl(c, kPatch * kPatch, 1, 1);
  dkl.load(warm_state(n));
  const Survey& s = survey();
  for (auto _ : state) {
    const gp::Prediction p = dkl.predict(s.patches);
    benchmark::DoNotOptimize(p.mean.data());
  }
}
BENCHMARK(BM_DklPredict)->Arg(200)->Arg(1000)->Arg(2000)->Unit(benchmark::kMillisecond)->UseRealTime();

// One exact NLL + gradient on a 2-D latent (the per-step GP cost of one head).
void BM_GpNllGradient(benchmark::State& state) {
  const int n = static_cast<int>(state.range(0));
  std::mt19937_64 rng(3);
  std::normal_distribution<double> g(0, 1);
  Eigen::MatrixXd z(n, 2);
  Eigen::VectorXd y(n);
  for (int i = 0; i < n; ++i) {
    z(i, 0) = g(rng);
    z(i, 1) = g(rng);
    y(i) = std::sin(z(i, 0)) + 0.1 * g(rng);
  }
  gp::GpHyperparameters h;
  h.length_scale = Eigen::VectorXd::Constant(1, 0.5);
  h.noise_variance = 0.01;
  for (auto _ : state) {
    const gp::NllResult r = gp::negative_log_marginal_likelihood(gp::KernelKind::matern52, h, z, y, {}, true);
    benchmark::DoNotOptimize(r.value);
  }
}
BENCHMARK(BM_GpNllGradient)->Arg(200)->Arg(1000)->Arg(2000)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace
