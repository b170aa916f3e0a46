// sdm film: generate the scenario's synthetic film and write its maps (PNG + HDF5) into a
// fresh run folder, with the learnability table (bench/learnability.hpp) in learnability.md/.csv
// and the manifest; prints the table, then the folder as the last line. The film seed is campaign.seed + film.seed, as in the first campaign
// of `sdm bench` on that scenario.
#include <CLI/CLI.hpp>
#include <array>
#include <chrono>
#include <cmath>
#include <limits>
#include <sstream>
#include <iostream>

#include "app/commands.hpp"
#include "bench/film_maps.hpp"
#include "bench/learnability.hpp"
#include "bench/scenario.hpp"
#include "core/error.hpp"
#include "core/run_directory.hpp"
#include "sim/film.hpp"

namespace sdm::app {

namespace {
struct FilmArgs {
  std::string scenario;
  std::string results = "results/runs";
  double bias_v = std::numeric_limits<double>::quiet_NaN();
  int loop_stride = 0;
};

int run_film(const FilmArgs& a) {
  // Everything that can be wrong with the input is checked before anything is written.
  const bench::Scenario sc = bench::load_scenario(a.scenario);
  bench::FilmMapsOptions opt;
  opt.current_bias_v = std::isnan(a.bias_v) ? sc.instrument.survey_bias_v : a.bias_v;
  if (!std::isfinite(opt.current_bias_v) || std::abs(opt.current_bias_v) > sc.instrument.max_bias_v) {
    std::ostringstream m;
    m << "--bias " << opt.current_bias_v << " V is outside ±max_bias_v = " << sc.instrument.max_bias_v << " V of " << a.scenario;
    throw Error(m.str());
  }
  if (a.loop_stride < 0) throw Error("--loop-stride must be >= 0 (0: automatic), got " + std::to_string(a.loop_stride));
  opt.loop_map_stride = a.loop_stride;
  const auto& cc = sc.campaign;
  opt.sweep = cc.sweep_shape == "bipolar"
                  ? core::Waveform::bipolar(cc.sweep_max_bias_v, std::size_t(cc.sweep_points), cc.sweep_rate_v_per_s)
                  : core::Waveform::triangle(cc.sweep_max_bias_v, std::size_t(cc.sweep_points), cc.sweep_rate_v_per_s);
  const std::uint64_t seed = sim::film_seed(sc.film, cc.seed);
  const std::filesystem::path dir = core::create_run_directory(a.results, sc.name + "-film");

  core::Manifest manifest("film", sc.name, sc.path.string(), sc.text, seed);
  std::string learnability_text;
  try {
    const auto t0 = std::chrono::steady_clock::now();
    const sim::Film film = sim::generate_film(sc.film, seed);
    const bench::FilmMaps maps = bench::compute_film_maps(film, opt);
    auto files = bench::write_film_maps(film, maps, opt, dir);
    bench::LearnabilityOptions lo;
    lo.sweep = opt.sweep;
    lo.patch_px = cc.patch_px;
    lo.stride_px = cc.stride_px;
    lo.seed = seed;
    if (!sc.strategies.empty()) {
      lo.scalarizer_bias_v = sc.strategies.front().scalarizer_bias_v;
      lo.onset_current_a = sc.strategies.front().onset_current_a;
    }
    const bench::LearnabilityTable learn = bench::compute_learnability(film, lo);
    for (const auto& f : bench::write_learnability(learn, dir)) files.push_back(f);
    learnability_text = bench::learnability_markdown(learn);
    std::array<double, sim::kMotifCount> frac{};
    for (sim::Motif m : film.motif) frac[std::size_t(m)] += 1.0 / double(film.pixel_count());
    nlohmann::json& x = manifest.extra();
    x["film_seed"] = seed;
    x["size_px"] = film.size_px;
    x["pixel_m"] = film.pixel_m;
    x["grains"] = film.grains.size();
    x["boundary_segments"] = film.segments.size();
    for (int m = 0; m < sim::kMotifCount; ++m) x["motif_fraction"][sim::motif_name(sim::Motif(m))] = frac[std::size_t(m)];
    x["current_bias_v"] = opt.current_bias_v;
    x["loop_map_stride"] = maps.loop_map_stride;
    auto& lj = x["learnability"];
    lj["candidates"] = learn.candidates;
    lj["test_count"] = learn.test_count;
    for (const auto& r : learn.rows)
      lj["rows"].push_back({{"scalarizer", r.scalarizer}, {"n_train", r.n_train}, {"all", r.all}, {"ridge_patch_r2", r.ridge_patch_r2},
                            {"ridge_alpha", r.ridge_alpha}, {"knn_patch_r2", r.knn_patch_r2}, {"knn_k", r.knn_k},
                            {"oracle_r2", r.oracle_r2}, {"oracle_k", r.oracle_k}});
    for (const auto& f : files) x["files"].push_back(f.filename().string());
    x["seconds"] = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    manifest.finish("ok");
    manifest.write(dir);
  } catch (const std::exception& e) {
    manifest.finish(std::string("failed: ") + e.what());
    manifest.write(dir);
    throw;
  }
  std::cout << learnability_text << "\n" << dir.string() << "\n";
  return kOk;
}
}  // namespace

void add_film_command(CLI::App& root, Action& action) {
  auto* cmd = root.add_subcommand(
      "film",
      "Generate the scenario's synthetic film (seed campaign.seed + film.seed) and write its maps into a new run "
      "folder: topography, true topography, motif labels, current at a bias, hysteresis-area map, example I-V "
      "loops per motif (PNG), film.h5 with every map, and the learnability table (held-out R2 of ridge and kNN on "
      "the candidate patches and of a true-geometry oracle, per scalarizer; learnability.md/.csv). Prints the table, then the "
      "folder as the last line.");
  auto args = std::make_shared<FilmArgs>();
  cmd->add_option("scenario", args->scenario, "Scenario .toml file")->required();
  cmd->add_option("--results", args->results, "Results root (default results/runs)");
  cmd->add_option("--bias", args->bias_v, "Bias of the current map, V (default: [instrument] survey_bias_v)");
  cmd->add_option("--loop-stride", args->loop_stride,
                  "Compute the hysteresis-area map every N pixels (default 0: automatic, at most 512² sweeps)");
  cmd->callback([&action, args] { action = [args] { return run_film(*args); }; });
}

}  // namespace sdm::app
