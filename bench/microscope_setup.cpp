#include "bench/microscope_setup.hpp"

#include "core/error.hpp"
#include "hardware/twin/twin_backend.hpp"
#include "sim/twin.hpp"

namespace sdm::bench {

MicroscopeSetup make_microscope(const Scenario& scenario, std::uint64_t seed, const std::filesystem::path& run_dir) {
  MicroscopeSetup setup;
  const std::string& kind = scenario.backend.kind;
  if (kind == "twin") {
    auto backend = hardware::twin::make_twin_backend(scenario.film, scenario.instrument, seed);
    setup.twin = backend->shared_twin();
    setup.microscope = std::make_unique<hardware::Microscope>(std::move(backend));
    return setup;
  }
  throw Error(scenario.path.string() + ": [backend] kind = \"" + kind +
              "\" is not available in this build yet (the replay and remote backends land with the hardware library); "
              "allowed now: twin");
}

void fast_forward(MicroscopeSetup& setup, const engine::campaign::CampaignData& data) {
  if (!setup.twin) return;
  // A bare backend on the same twin: the very code path the campaign's calls took.
  hardware::twin::TwinBackend raw(setup.twin);
  raw.survey(data.survey_request);
  for (const auto& r : data.steps) {
    raw.move_to(r.x_requested_m, r.y_requested_m);
    const core::IvCurve c = raw.iv_sweep(data.waveform);
    if (c.current_a != r.curve.current_a)
      throw Error("resume: the rebuilt twin does not reproduce the recorded curve of step " + std::to_string(r.step) +
                  " (was the scenario, seed or build changed since the campaign started?)");
  }
}

}  // namespace sdm::bench
