#include "bench/microscope_setup.hpp"

#include "core/error.hpp"
#include "hardware/backend_factory.hpp"
#include "hardware/replay/replay_backend.hpp"
#include "hardware/twin/twin_backend.hpp"
#include "sim/twin.hpp"

namespace sdm::bench {

MicroscopeSetup make_microscope(const Scenario& scenario, std::uint64_t seed, const std::filesystem::path& run_dir) {
  MicroscopeSetup setup;
  const hardware::BackendConfig& bc = scenario.backend;
  std::unique_ptr<hardware::MicroscopeBackend> backend;
  if (bc.kind == "twin") {
    auto twin = hardware::twin::make_twin_backend(scenario.film, scenario.instrument, seed);
    setup.twin = twin->shared_twin();
    setup.deterministic_backend = twin.get();
    backend = std::move(twin);
  } else if (bc.kind == "replay") {
    auto replay = hardware::make_replay_backend(bc);
    setup.dataset = replay->shared_dataset();
    setup.deterministic_backend = replay.get();
    backend = std::move(replay);
  } else {
    backend = hardware::make_backend(bc);  // remote (or an error naming the kind)
  }
  hardware::WrapOptions wrap;
  wrap.run_dir = run_dir;
  setup.microscope = std::make_unique<hardware::Microscope>(hardware::wrap_backend(std::move(backend), bc, wrap));
  return setup;
}

void fast_forward(MicroscopeSetup& setup, const engine::campaign::CampaignData& data) {
  hardware::MicroscopeBackend* raw = setup.deterministic_backend;
  if (!raw) return;
  raw->survey(data.survey_request);
  for (const auto& r : data.steps) {
    raw->move_to(r.x_requested_m, r.y_requested_m);
    const core::IvCurve c = raw->iv_sweep(data.waveform);
    if (c.current_a != r.curve.current_a)
      throw Error("resume: the rebuilt " + std::string(setup.twin ? "twin" : "replay") +
                  " does not reproduce the recorded curve of step " + std::to_string(r.step) +
                  " (was the scenario, seed or build changed since the campaign started?)");
  }
}

}  // namespace sdm::bench
