#include "engine/acquisition/strategy.hpp"

#include <algorithm>
#include <fstream>
#include <map>
#include <sstream>

#include "core/error.hpp"
#include "core/run_directory.hpp"

// The registration anchors of the built-in strategies (defined by SDM_REGISTER_STRATEGY in
// each strategy's file). Referencing them here makes the linker keep those object files of
// the static library, and with them their static registrations.
namespace sdm::engine::acquisition::registration {
extern const bool dn_dkl, random, raster, lhs, max_variance, ucb, ei, structural_novelty, spectral_novelty, beacon;
}  // namespace sdm::engine::acquisition::registration

namespace sdm::engine::acquisition {

namespace {

std::map<std::string, StrategyFactory>& registry() {
  static std::map<std::string, StrategyFactory> r;  // function-local: safe during static initialisation
  return r;
}

/// Reads every anchor, so none can be discarded; all are true once static initialisation ran.
bool builtins_registered() {
  static const bool* const anchors[] = {&registration::dn_dkl,       &registration::random,
                                        &registration::raster,       &registration::lhs,
                                        &registration::max_variance, &registration::ucb,
                                        &registration::ei,           &registration::structural_novelty,
                                        &registration::spectral_novelty, &registration::beacon};
  bool all = true;
  for (const bool* a : anchors) all = all && *a;
  return all;
}

}  // namespace

bool register_strategy(const std::string& name, StrategyFactory factory) {
  auto [it, inserted] = registry().emplace(name, std::move(factory));
  if (!inserted) throw Error("strategy '" + name + "' is registered twice");
  return true;
}

std::vector<std::string> registered_strategy_names() {
  if (!builtins_registered()) throw Error("internal error: a built-in strategy failed to register");
  std::vector<std::string> names;
  for (const auto& [name, f] : registry()) names.push_back(name);
  return names;
}

std::unique_ptr<Strategy> make_strategy(const StrategyConfig& config, const StrategyContext& context) {
  const std::vector<std::string> names = registered_strategy_names();
  auto it = registry().find(config.name);
  if (it == registry().end()) {
    std::ostringstream m;
    m << "unknown strategy '" << config.name << "'; registered strategies: ";
    for (size_t i = 0; i < names.size(); ++i) m << (i ? ", " : "") << names[i];
    throw Error(m.str());
  }
  return it->second(config, context);
}

void write_strategy_state(const std::filesystem::path& directory, const nlohmann::json& state) {
  std::filesystem::create_directories(directory);
  core::write_file_atomically(directory / "strategy.json", state.dump(1));
}

nlohmann::json read_strategy_state(const std::filesystem::path& directory) {
  const std::filesystem::path file = directory / "strategy.json";
  std::ifstream f(file, std::ios::binary);
  if (!f) throw Error(file.string() + ": strategy checkpoint missing or unreadable");
  try {
    return nlohmann::json::parse(f);
  } catch (const nlohmann::json::exception& e) {
    throw Error(file.string() + ": strategy checkpoint is not valid JSON (" + e.what() + ")");
  }
}

}  // namespace sdm::engine::acquisition
