// Speed and memory of the DKL decision-model update (issue 4's targets):
// n measured 16x16 patches, m = 14,400 candidates (stride-2 grid of a 256x256 survey),
// one update = warm-started fit (100 Adam steps) + predictions for every candidate.
//   n = 200: median <= 150 ms;  n = 1000: <= 1.5 s;  peak RSS <= 1 GiB at n = 2000.
// The survey is a synthetic smooth random image (Gaussian "grains" plus stripes), so the
// benchmark depends on nothing but the engine. Run, e.g.:
//   build/bench/micro/sdm_micro --benchmark_filter='Dkl|GpNll' --benchmark_repetitions=5
// Peak RSS is the process's ru_maxrss; run one benchmark per process to attribute it.
// The heavy cases (n = 2000, the paper's 2000-step refit, a 190-step campaign) run one
// iteration each. Warm states are written to the temp folder and removed at exit.
#include <benchmark/benchmark.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
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
struct WarmFiles {
  std::map<int, std::filesystem::path> paths;
  ~WarmFiles() {
    std::error_code ec;
    for (const auto& [n, p] : paths) std::filesystem::remove(p, ec);
  }
};

std::filesystem::path warm_state(int n) {
  static WarmFiles warm;
  auto& files = warm.paths;
  auto it = files.find(n);
  if (it != files.end()) return it->second;
  gp::RowMatrixF x;
  Eigen::MatrixXd y;
  training_set(n - 1, x, y);
  gp::DklConfig c;
  c.steps = 100;
  gp::Dkl dkl(c, kPatch * kPatch, 1, 1);
  dkl.fit(x, y);
  const auto file = std::filesystem::temp_directory_path() /
                    ("sdm_bench_gp_warm_" + std::to_string(n) + "_" + std::to_string(::getpid()) + ".pt");
  dkl.save(file);
  files[n] = file;
  return file;
}

/// One decision-model update as the issue defines it: warm-started fit of exactly 100 Adam
/// steps (early stopping off) on n rows + predictions for all 14,400 candidates.
/// args: n, train_subset (0: exact full batch).
void dkl_update(benchmark::State& state, int n, int subset) {
  gp::RowMatrixF x;
  Eigen::MatrixXd y;
  training_set(n, x, y);
  const auto file = warm_state(n);
  gp::DklConfig c;  // warm start, 100 steps
  c.early_stop_patience = 0;
  c.train_subset = subset;
  const Survey& s = survey();
  double fit_s = 0;
  for (auto _ : state) {
    state.PauseTiming();
    gp::Dkl dkl(c, kPatch * kPatch, 1, 1);
    dkl.load(file);
    state.ResumeTiming();
    const gp::FitReport rep = dkl.fit(x, y);
    const gp::Prediction p = dkl.predict(s.patches);
    benchmark::DoNotOptimize(p.mean.data());
    fit_s += rep.seconds;
  }
  state.counters["fit_ms"] = 1e3 * fit_s / static_cast<double>(state.iterations());
  state.counters["peak_rss_MiB"] = peak_rss_mib();
}

void BM_DklUpdate(benchmark::State& state) {
  dkl_update(state, static_cast<int>(state.range(0)), static_cast<int>(state.range(1)));
}
BENCHMARK(BM_DklUpdate)
    ->ArgNames({"n", "subset"})
    ->Args({200, 0})
    ->Args({1000, 0})
    ->Args({1000, 512})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime()
    ->MeasureProcessCPUTime();

// n = 2000, exact: run alone (--benchmark_filter=DklUpdateMemory) so that peak_rss_MiB
// (the process's ru_maxrss) belongs to this case. One iteration: it takes tens of seconds.
void BM_DklUpdateMemory(benchmark::State& state) { dkl_update(state, 2000, 0); }
BENCHMARK(BM_DklUpdateMemory)->Iterations(1)->Repetitions(1)->Unit(benchmark::kMillisecond)->UseRealTime();

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
}
BENCHMARK(BM_DklPaperRefit)->ArgName("n")->Arg(200)->Iterations(1)->Unit(benchmark::kMillisecond)->UseRealTime();

// What a campaign sees with the default configuration (warm start, <= 100 steps, early
// stopping): updates from n = 10 to 200 measured patches, one point added per step.
// Reports the median and mean of the per-step update (fit + predict) and the steps taken.
void BM_DklCampaign(benchmark::State& state) {
  const int n_max = static_cast<int>(state.range(0));
  gp::RowMatrixF x_all;
  Eigen::MatrixXd y_all;
  training_set(n_max, x_all, y_all);
  const Survey& s = survey();
  std::vector<double> update_ms, steps;
  for (auto _ : state) {
    gp::Dkl dkl(gp::DklConfig{}, kPatch * kPatch, 1, 1);
    for (int n = 10; n <= n_max; ++n) {
      const auto t0 = std::chrono::steady_clock::now();
      const gp::FitReport rep = dkl.fit(x_all.topRows(n), y_all.topRows(n));
      const gp::Prediction p = dkl.predict(s.patches);
      benchmark::DoNotOptimize(p.mean.data());
      update_ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
      steps.push_back(rep.steps_run);
    }
  }
  auto median = [](std::vector<double> v) {
    std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(v.size() / 2), v.end());
    return v[v.size() / 2];
  };
  double mean_ms = 0, mean_steps = 0;
  for (size_t i = 0; i < update_ms.size(); ++i) {
    mean_ms += update_ms[i] / static_cast<double>(update_ms.size());
    mean_steps += steps[i] / static_cast<double>(steps.size());
  }
  state.counters["update_median_ms"] = median(update_ms);
  state.counters["update_mean_ms"] = mean_ms;
  state.counters["steps_mean"] = mean_steps;
}
BENCHMARK(BM_DklCampaign)->ArgName("n_max")->Arg(200)->Iterations(1)->Repetitions(1)->Unit(benchmark::kMillisecond)->UseRealTime();

// Prediction alone: extractor on 14,400 patches + GP mean/variance with the cached factor.
void BM_DklPredict(benchmark::State& state) {
  const int n = static_cast<int>(state.range(0));
  gp::Dkl dkl(gp::DklConfig{}, kPatch * kPatch, 1, 1);
  dkl.load(warm_state(n));
  const Survey& s = survey();
  for (auto _ : state) {
    const gp::Prediction p = dkl.predict(s.patches);
    benchmark::DoNotOptimize(p.mean.data());
  }
}
BENCHMARK(BM_DklPredict)->ArgName("n")->Arg(200)->Arg(1000)->Unit(benchmark::kMillisecond)->UseRealTime();

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
  gp::NllWorkspace ws;
  for (auto _ : state) {
    const gp::NllResult r = gp::negative_log_marginal_likelihood(gp::KernelKind::matern52, h, z, y, {}, true, &ws);
    benchmark::DoNotOptimize(r.value);
  }
}
BENCHMARK(BM_GpNllGradient)->ArgName("n")->Arg(200)->Arg(1000)->Arg(2000)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace
