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
#include "engine/campaign/campaign_file.hpp"
#include "hardware/microscope.hpp"

namespace sdm::sim { class Twin; }
namespace sdm::hardware::replay { struct Dataset; }

namespace sdm::bench {

struct MicroscopeSetup {
  std::unique_ptr<hardware::Microscope> microscope;
  std::shared_ptr<sim::Twin> twin;   ///< set when [backend] kind = "twin": ground truth for metrics
  std::shared_ptr<const hardware::replay::Dataset> dataset;  ///< set for kind = "replay": the full recorded grid
  /// The innermost backend when its state is a pure function of the commands it received
  /// (twin, replay), for fast_forward; owned by `microscope`. Null for a remote instrument.
  hardware::MicroscopeBackend* deterministic_backend = nullptr;
};

/// Builds the microscope for one campaign of `scenario` with campaign seed `seed`;
/// `run_dir` receives the command journal. Throws sdm::Error on bad configuration or
/// unreadable data files.
MicroscopeSetup make_microscope(const Scenario& scenario, std::uint64_t seed, const std::filesystem::path& run_dir);

/// Before resuming a recorded campaign on a freshly built microscope: brings a deterministic
/// backend (twin: drift, ionic states, dose, noise streams, clock; replay: position, clock) to
/// the state it had when the campaign stopped. Such a backend is a function of its command
/// sequence, so this replays, directly on setup.deterministic_backend (bypassing decorators
/// such as the command journal), the survey of data.survey_request and, for every recorded
/// step, move_to(requested position) and iv_sweep(data.waveform). Calls that failed in the
/// original run and the step in flight when it died left no record and are not replayed (on
/// the twin nothing fails by itself). A remote instrument is left as it is. Throws sdm::Error
/// when the rebuilt backend does not reproduce a recorded curve (changed scenario, seed or build).
void fast_forward(MicroscopeSetup& setup, const engine::campaign::CampaignData& data);

}  // namespace sdm::bench
