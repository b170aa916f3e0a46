#include "hardware/backend_factory.hpp"

#include "core/error.hpp"
#include "hardware/decorators.hpp"
#include "hardware/igor/ibw.hpp"
#include "hardware/remote/remote_backend.hpp"
#include "hardware/replay/dataset.hpp"
#include "hardware/replay/replay_backend.hpp"

namespace sdm::hardware {

std::shared_ptr<const replay::Dataset> load_replay_dataset(const BackendConfig& c) {
  if (c.path.empty()) throw Error("[backend] path: a replay needs a recorded dataset file (.h5 NSID, .npz or .npy)");
  replay::NsidOptions nsid;
  nsid.dataset = c.dataset;
  return std::make_shared<const replay::Dataset>(replay::load_dataset(c.path, c.format, c.image_channel, nsid));
}

std::unique_ptr<replay::ReplayBackend> make_replay_backend(const BackendConfig& c) {
  replay::ReplayOptions o;
  o.sweep_rate_v_per_s = c.replay_sweep_rate_v_per_s;
  return std::make_unique<replay::ReplayBackend>(load_replay_dataset(c), o);
}

std::unique_ptr<MicroscopeBackend> make_backend(const BackendConfig& c) {
  if (c.kind == "replay") return make_replay_backend(c);
  if (c.kind == "remote") return std::make_unique<remote::RemoteBackend>(remote::RemoteOptions::from(c));
  if (c.kind == "twin")
    throw Error("[backend] kind = \"twin\": the twin is built from [film]/[instrument] by hardware::twin::make_twin_backend (sdm::hardware_twin), not by make_backend");
  throw Error("[backend] kind = \"" + c.kind + "\": unknown backend; use twin, replay or remote");
}

std::filesystem::path journal_path(const BackendConfig& c, const std::filesystem::path& run_dir) {
  if (c.journal == "off") return {};
  if (c.journal.empty()) return run_dir.empty() ? std::filesystem::path() : run_dir / "journal.log";
  const std::filesystem::path p(c.journal);
  return p.is_relative() && !run_dir.empty() ? run_dir / p : p;
}

std::unique_ptr<MicroscopeBackend> wrap_backend(std::unique_ptr<MicroscopeBackend> b, const BackendConfig& c, const WrapOptions& o) {
  if (!b) throw Error("wrap_backend: no backend");
  if (!c.survey_path.empty()) b = std::make_unique<SurveyFileDecorator>(std::move(b), igor::read_survey(c.survey_path), c.survey_path);
  if (c.latency_s > 0) b = std::make_unique<LatencyDecorator>(std::move(b), LatencyConfig::uniform(c.latency_s));
  if (o.safety) b = std::make_unique<SafetyDecorator>(std::move(b), SafetyLimits::from(c));
  if (const auto j = journal_path(c, o.run_dir); !j.empty()) b = std::make_unique<JournalDecorator>(std::move(b), j);
  return b;
}

}  // namespace sdm::hardware
