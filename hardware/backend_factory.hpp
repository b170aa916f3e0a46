#pragma once
// Building a microscope from a scenario's [backend]: the backends this library can make
// itself (replay, remote) and the decorator stack every campaign runs behind.
//
//   auto backend = hardware::make_backend(scenario.backend);            // replay | remote
//   // (twin: hardware::twin::make_twin_backend(...) from sdm::hardware_twin)
//   hardware::Microscope scope(hardware::wrap_backend(std::move(backend), scenario.backend,
//                                                     {.run_dir = run.path()}));
//
// wrap_backend stacks, outermost first: journal (if any) → safety → latency (if
// latency_s > 0) → survey file (if survey_path is set) → the backend.
#include <filesystem>
#include <memory>
#include <string>

#include "hardware/backend_config.hpp"
#include "hardware/microscope.hpp"

namespace sdm::hardware {

namespace replay {
struct Dataset;
class ReplayBackend;
}

/// replay or remote from the config (twin needs sim/: see hardware/twin/). Throws
/// sdm::Error naming the file/endpoint/key when the config cannot be honoured.
std::unique_ptr<MicroscopeBackend> make_backend(const BackendConfig& config);

/// The replay backend itself, so a harness can keep `->shared_dataset()` (the full
/// recorded grid) as ground truth before handing the backend to wrap_backend.
std::unique_ptr<replay::ReplayBackend> make_replay_backend(const BackendConfig& config);

/// The recorded dataset a replay config names (format, image_channel, dataset applied),
/// for the harness's "against the full recorded grid" metrics. Throws sdm::Error.
std::shared_ptr<const replay::Dataset> load_replay_dataset(const BackendConfig& config);

struct WrapOptions {
  /// Run folder: a relative or empty [backend] journal is placed there ("" and no
  /// run_dir: no journal).
  std::filesystem::path run_dir;
  bool safety = true;  ///< false only for tests of raw backends
};

/// Wraps `backend` in the configured decorators (see above). Throws sdm::Error if the
/// journal cannot be opened or the survey file cannot be read.
std::unique_ptr<MicroscopeBackend> wrap_backend(std::unique_ptr<MicroscopeBackend> backend, const BackendConfig& config,
                                                const WrapOptions& options = {});

/// The journal path wrap_backend would use ("" when none).
std::filesystem::path journal_path(const BackendConfig& config, const std::filesystem::path& run_dir);

}  // namespace sdm::hardware
