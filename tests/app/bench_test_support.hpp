#pragma once
// Shared by the end-to-end tests of sdm bench and sdm regress (test_cmd_bench.cpp,
// test_cmd_bench_cluster.cpp): the tiny scenario they run and the metrics they compare.
#include <filesystem>
#include <string>

#include <nlohmann/json.hpp>

#include "sdm_test_support.hpp"

namespace sdm::test {

/// A twin scenario small enough for end-to-end tests of sdm bench / regress (48 px film,
/// budget 12, a few seconds per campaign): `name`, `seeds` seeds from seed 3, then the
/// [[strategy]] tables given verbatim in `strategies`.
inline std::string tiny_bench_scenario(const std::string& name, int seeds, const std::string& strategies) {
  return "[scenario]\nname = \"" + name + "\"\ndescription = \"test\"\n" +
         "[film]\nsize_px = 48\nscan_size_m = 0.75e-6\ngrain_mean_m = 0.25e-6\nasymmetric_fraction = 0.4\n"
         "[campaign]\nbudget = 12\ninitial_points = 4\npatch_px = 8\nstride_px = 4\nseed = 3\nseeds = " +
         std::to_string(seeds) + "\nsweep_points = 101\n" +
         "[dkl]\nsteps = 10\n[vae]\nepochs = 20\n"
         "[metrics]\nbudgets = [6, 12]\npatch_clusters = 10\nmodel_error_every = 6\nvae_eval_candidates = 50\n" +
         strategies;
}

/// A campaign's metrics.json without the machine-dependent timings.
inline nlohmann::json stable_metrics(const std::filesystem::path& file) {
  nlohmann::json j = nlohmann::json::parse(read_text(file));
  j.erase("wall_s");
  j.erase("metrics_wall_s");
  j.erase("step_latency_s");
  j["series"].erase("decision_latency_s");
  return j;
}

}  // namespace sdm::test
