#pragma once
// Builds the microscope a scenario's campaign talks to: the backend named by [backend]
// (twin from [film]/[instrument] and the campaign seed, replay of a recorded dataset, or a
// remote instrument), wrapped in the configured decorators (safety limits, command
// journal). It also hands the harness the ground truth the backend has: the twin itself,
// or the full recorded dataset of a replay.
#include <cstdint>
#include <filesystem>
#include <memory>

#include "bench/scenario.hpp"
#include "hardware/microscope.hpp"

namespace sdm::sim { class Twin; }

namespace sdm::bench {

struct MicroscopeSetup {
  std::unique_ptr<hardware::Microscope> microscope;
  std::shared_ptr<sim::Twin> twin;   ///< set when [backend] kind = "twin": ground truth for metrics
  // The replay dataset handle is added here once hardware/replay lands (full recorded grid).
};

/// Builds the microscope for one campaign of `scenario` with campaign seed `seed`;
/// `run_dir` receives the command journal. Throws sdm::Error on bad configuration or
/// unreadable data files.
MicroscopeSetup make_microscope(const Scenario& scenario, std::uint64_t seed, const std::filesystem::path& run_dir);

}  // namespace sdm::bench
