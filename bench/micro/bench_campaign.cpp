// The campaign's speed targets (issue 5):
//  * one full dn_dkl decision step at n = 200 measured on the paper's scale (256×256 survey,
//    16×16 patches, stride 2: 14,641 candidates; 251-point sweeps): structural-novelty update,
//    Isolation-Forest spectral novelty, warm-started DKL fit, prediction and scoring of every
//    candidate, argmax — median ≤ 250 ms;
//  * a 210-measurement dn_dkl campaign on scenarios/default.toml (twin), ≤ 2 min wall.
// The survey and curves come from the twin (256 px film over 4 µm), so the DKL sees real data.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <random>
#include <unistd.h>

#include "bench/microscope_setup.hpp"
#include "bench/scenario.hpp"
#include "engine/acquisition/dn_dkl.hpp"
#include "engine/acquisition/seeds.hpp"
#include "engine/campaign/campaign.hpp"
#include "engine/patches/candidate_grid.hpp"
#include "engine/patches/patch_extraction.hpp"
#include "hardware/twin/twin_backend.hpp"

namespace {

using namespace sdm;
namespace A = engine::acquisition;
namespace C = engine::campaign;

std::filesystem::path scratch(const std::string& name) {
  const auto p = std::filesystem::temp_directory_path() / ("sdm-bench-campaign-" + std::to_string(::getpid()) + "-" + name);
  std::filesystem::remove_all(p);
  std::filesystem::create_directories(p);
  return p;
}

/// A paper-scale campaign state with 199 measured candidates (random, seeded) and the 200th
/// measured curve ready, and two DnDkl states at n = 199:
///  * `trajectory`: warm-started through decisions at n = 10, 20, …, 190 and every n from 191
///    to 199, as in a campaign (whose fits then early-stop after a few dozen Adam steps);
///  * `single`: one fit at n = 199 from the initialisation, so the next fit runs all its
///    steps (the worst case for a warm update).
struct DecisionFixture {
  C::CandidateGrid grid;
  std::vector<double> normalised;
  engine::gp::RowMatrixF patches;
  A::CampaignState at199, at200;
  std::filesystem::path trajectory = scratch("trajectory"), single = scratch("single");
  A::StrategyConfig config;
  A::StrategyContext context;

  DecisionFixture() {
    sim::FilmConfig film;
    film.size_px = 256;
    film.scan_size_m = 4e-6;
    auto backend = hardware::twin::make_twin_backend(film, sim::InstrumentConfig{}, 1);
    hardware::SurveySpec spec;
    const hardware::SurveyImage survey = backend->survey(spec);
    grid = engine::patches::make_candidate_grid(256, 256, 16, 2);
    normalised = engine::patches::normalise_min_max(survey.find("topography")->data, 256, 256);
    patches = engine::patches::patches_of_normalised(normalised, grid);
    for (A::CampaignState* s : {&at199, &at200}) {
      s->grid = &grid;
      s->patches = &patches;
      s->normalised_image = &normalised;
      s->is_measured.assign(grid.size(), 0);
    }
    std::mt19937_64 rng(3);
    std::uniform_int_distribution<int> pick(0, int(grid.size()) - 1);
    const core::Waveform w = core::Waveform::triangle(1.5, 251, 1.0);
    while (at200.measured.size() < 200) {
      const int c = pick(rng);
      if (at200.is_measured[size_t(c)]) continue;
      const auto pos = engine::patches::candidate_position(grid, survey.axes, c);
      backend->move_to(pos.x_m, pos.y_m);
      const core::IvCurve curve = backend->iv_sweep(w);
      for (A::CampaignState* s : {&at199, &at200}) {
        if (s == &at199 && at199.measured.size() == 199) continue;
        s->measured.push_back(c);
        s->curves.push_back(curve);
        s->is_measured[size_t(c)] = 1;
      }
    }
    config.name = config.label = "dn_dkl";
    context.patch_side_px = 16;
    context.seed = 1;
    context.budget = 210;
    {
      A::DnDkl s(config, context);  // default DklConfig: ≤ 100 warm-started Adam steps, early stopping
      s.decide(at199);
      s.save(single);
    }
    A::DnDkl s(config, context);
    for (int n = 10; n <= 199; n += n < 190 ? 10 : 1) s.decide(prefix(n));
    s.save(trajectory);
  }
  ~DecisionFixture() {
    std::filesystem::remove_all(trajectory);
    std::filesystem::remove_all(single);
  }
  /// The state after the first n measurements.
  A::CampaignState prefix(int n) const {
    A::CampaignState s = at200;
    s.measured.resize(size_t(n));
    s.curves.resize(size_t(n));
    s.is_measured.assign(grid.size(), 0);
    for (int c : s.measured) s.is_measured[size_t(c)] = 1;
    return s;
  }
};

const DecisionFixture& decision_fixture() {
  static const DecisionFixture f;
  return f;
}

void BM_DnDklDecisionStepAt200(benchmark::State& state) {
  const DecisionFixture& f = decision_fixture();
  double structural = 0, spectral = 0, model = 0, fit = 0, steps = 0, n = 0;
  for (auto _ : state) {
    state.PauseTiming();
    A::DnDkl s(f.config, f.context);
    s.load(state.range(0) == 0 ? f.trajectory : f.single);
    s.observe(f.at199);  // novelty state of the 199 earlier measurements
    state.ResumeTiming();
    const A::Decision d = s.decide(f.at200);  // the 200th measurement came in: the full step
    benchmark::DoNotOptimize(d.candidate);
    structural += d.model["seconds"]["structural"].get<double>();
    spectral += d.model["seconds"]["spectral"].get<double>();
    model += d.model["seconds"]["model"].get<double>();
    fit += d.model["fit_seconds"].get<double>();
    steps += d.model["steps_run"].get<double>();
    n += 1;
  }
  state.counters["candidates"] = double(f.grid.size());
  state.counters["structural_ms"] = 1e3 * structural / n;
  state.counters["spectral_ms"] = 1e3 * spectral / n;
  state.counters["dkl_fit_predict_ms"] = 1e3 * model / n;
  state.counters["dkl_fit_ms"] = 1e3 * fit / n;
  state.counters["adam_steps"] = steps / n;
}
// Arg 0: the model state a campaign has at n = 199 (0) or a single fit (1, worst case).
BENCHMARK(BM_DnDklDecisionStepAt200)->ArgName("single_fit")->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond)->Iterations(5)->Repetitions(3)->UseRealTime();

void BM_Campaign210OnDefaultScenario(benchmark::State& state) {
  bench::Scenario sc = bench::load_scenario(std::filesystem::path(SDM_SOURCE_DIR) / "scenarios" / "default.toml");
  sc.backend.journal = "off";
  double latency = 0, clock = 0;
  for (auto _ : state) {
    const auto dir = scratch("default210");
    C::CampaignSpec spec;
    spec.campaign = sc.campaign;
    spec.campaign.budget = 210;
    spec.strategy = sc.strategies.front();  // dn_dkl
    spec.dkl = sc.dkl;
    spec.seed = sc.campaign.seed;
    spec.directory = dir;
    auto setup = bench::make_microscope(sc, spec.seed, dir);
    const C::CampaignOutcome o = C::run_campaign(spec, *setup.microscope);
    if (o.steps.size() != 210) state.SkipWithError(("campaign ended early: " + o.message).c_str());
    latency = 0;
    for (const auto& r : o.steps) latency = std::max(latency, r.decision_latency_s);
    clock = o.steps.empty() ? 0 : o.steps.back().instrument_clock_s;
    std::filesystem::remove_all(dir);
  }
  state.counters["max_decision_s"] = latency;
  state.counters["instrument_clock_s"] = clock;
}
BENCHMARK(BM_Campaign210OnDefaultScenario)->Unit(benchmark::kSecond)->Iterations(1)->UseRealTime();

}  // namespace
