// Cost of the benchmark harness's own work, next to the campaigns it scores:
//   BM_FilmTruth       ground truth of one film at paper scale (256 px, 16 px patches, stride 2:
//                      14,641 candidate sweeps + k-means k = 100 over their patches), 1 and 2 threads
//   BM_CampaignMetrics every record-based metric of a 210-step campaign
//   BM_Summarise       aggregation of 10 strategies × 5 seeds × 210 steps (means, CIs, all
//                      pairwise Wilcoxon tests at 4 budgets)
#include <benchmark/benchmark.h>

#include <random>

#include "bench/ground_truth.hpp"
#include "bench/metrics.hpp"
#include "bench/summary.hpp"
#include "engine/patches/candidate_grid.hpp"
#include "engine/patches/patch_extraction.hpp"
#include "sim/film.hpp"

namespace {

using namespace sdm;

struct PaperFilm {
  sim::Film film;
  engine::campaign::CandidateGrid grid;
  hardware::ImageAxes axes;
  engine::gp::RowMatrixF patches;
  PaperFilm() {
    sim::FilmConfig c;
    c.size_px = 256;
    c.scan_size_m = 3e-6;
    film = sim::generate_film(c, 1);
    grid = engine::patches::make_candidate_grid(256, 256, 16, 2);
    axes = {256, 256, 0.5 * film.pixel_m, 0.5 * film.pixel_m, film.pixel_m, film.pixel_m};
    patches = engine::patches::extract_patches(film.measured_height_m, 256, 256, grid);
  }
};
const PaperFilm& paper_film() {
  static const PaperFilm f;
  return f;
}

void BM_FilmTruth(benchmark::State& state) {
  const PaperFilm& f = paper_film();
  bench::TruthOptions o;
  o.threads = int(state.range(0));
  for (auto _ : state) benchmark::DoNotOptimize(bench::twin_film_truth(f.film, f.grid, f.axes, f.patches, o));
  state.counters["candidates"] = double(f.grid.size());
}
BENCHMARK(BM_FilmTruth)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->Iterations(1)->Repetitions(3);

std::vector<engine::campaign::StepRecord> fake_steps(int n, std::size_t candidates, std::mt19937_64& rng) {
  std::vector<engine::campaign::StepRecord> s(static_cast<std::size_t>(n));
  std::uniform_int_distribution<std::size_t> pick(0, candidates - 1);
  std::normal_distribution<double> noise(0, 1e-11);
  for (int i = 0; i < n; ++i) {
    auto& r = s[std::size_t(i)];
    r.step = i;
    r.phase = i < 10 ? "initial" : "strategy";
    r.candidate = int(pick(rng));
    r.curve.current_a.resize(251);
    for (double& c : r.curve.current_a) c = noise(rng);
    r.instrument_clock_s = 4.0 * (i + 1);
    r.decision_latency_s = 0.1;
  }
  return s;
}

void BM_CampaignMetrics(benchmark::State& state) {
  const PaperFilm& f = paper_film();
  static const bench::FilmTruth truth = bench::twin_film_truth(f.film, f.grid, f.axes, f.patches, {});
  std::mt19937_64 rng(3);
  const auto steps = fake_steps(210, truth.size(), rng);
  std::vector<bench::PointTruth> landed;
  for (const auto& s : steps) {
    bench::PointTruth p;
    p.motif = truth.motif[std::size_t(s.candidate)];
    p.target = p.loop_area = truth.target[std::size_t(s.candidate)];
    landed.push_back(p);
  }
  for (auto _ : state) benchmark::DoNotOptimize(bench::compute_campaign_metrics(steps, landed, truth, {}));
}
BENCHMARK(BM_CampaignMetrics)->Unit(benchmark::kMillisecond);

void BM_Summarise(benchmark::State& state) {
  std::mt19937_64 rng(5);
  std::uniform_real_distribution<double> u(0, 1);
  std::vector<bench::CampaignMetrics> all;
  std::vector<std::string> labels;
  for (int k = 0; k < 10; ++k) labels.push_back("s" + std::to_string(k));
  for (const auto& l : labels)
    for (std::uint64_t seed = 1; seed <= 5; ++seed) {
      bench::CampaignMetrics m;
      m.strategy = l, m.seed = seed, m.end = "completed", m.measurements = 210;
      for (const auto& info : bench::metric_catalogue()) {
        if (!info.per_step) {
          m.scalars[info.name] = u(rng);
          continue;
        }
        auto& v = m.series[info.name];
        for (int n = 0; n < 210; ++n) v.push_back(u(rng));
      }
      all.push_back(std::move(m));
    }
  for (auto _ : state)
    benchmark::DoNotOptimize(bench::summarise(all, labels, {1, 2, 3, 4, 5}, {25, 50, 100, 210}, 210, "s0"));
}
BENCHMARK(BM_Summarise)->Unit(benchmark::kMillisecond);

}  // namespace
