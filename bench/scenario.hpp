#pragma once
// A scenario file: one experiment, every section mapped to its module's config struct.
// Sections: [scenario] [film] [instrument] [campaign] [[strategy]] [dkl] [vae] [metrics] [backend].
// Absent sections keep their in-code defaults. Unknown sections or keys are errors.
#include <filesystem>
#include <string>
#include <vector>

#include "bench/metrics_config.hpp"
#include "engine/acquisition/strategy_config.hpp"
#include "engine/campaign/campaign_config.hpp"
#include "engine/gp/dkl_config.hpp"
#include "engine/vae/vae_config.hpp"
#include "hardware/backend_config.hpp"
#include "sim/film_config.hpp"
#include "sim/instrument_config.hpp"

namespace sdm::bench {

struct Scenario {
  std::string name;               ///< [scenario] name, or the file stem
  std::string description;        ///< [scenario] description
  std::filesystem::path path;     ///< file it was read from
  std::string text;               ///< verbatim file contents (recorded in manifests)
  sim::FilmConfig film;
  sim::InstrumentConfig instrument;
  engine::campaign::CampaignConfig campaign;
  std::vector<engine::acquisition::StrategyConfig> strategies;
  engine::gp::DklConfig dkl;
  engine::vae::VaeConfig vae;
  MetricsConfig metrics;
  hardware::BackendConfig backend;
};

/// Reads and validates a scenario file. Throws sdm::Error with file:line:column, section,
/// key, value and what is allowed. Relative backend paths are resolved against the file's folder.
Scenario load_scenario(const std::filesystem::path& path);

/// Same, from text already in memory (`origin` names it in messages).
Scenario parse_scenario(const std::string& text, const std::string& origin);

}  // namespace sdm::bench
