#pragma once
// Acquisition strategies share one interface; each lives in its own file
// (engine/acquisition/<name>.cpp) and registers itself by name with
// SDM_REGISTER_STRATEGY. sdm_engine is a static library, whose unreferenced object files
// the linker drops (and their static registrations with them), so strategy.cpp keeps a
// table that references every built-in registration: adding a strategy is its file, one
// line in that table and its name in strategy_names() (the config reader's list); the
// test suite checks that every name there can be built.
//
// Determinism contract: a strategy's decisions depend only on the CampaignState, its
// context (seed) and its saved state. Random draws use generators seeded per step
// (derive_seed(seed, stream, step), seeds.hpp), so a resumed campaign draws the same.
#include <cstdint>
#include <filesystem>
#include <functional>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/waveform.hpp"
#include "engine/acquisition/strategy_config.hpp"
#include "engine/campaign/record.hpp"
#include "engine/gp/dkl.hpp"

namespace sdm::engine::acquisition {

/// What a strategy sees at each decision: every candidate and what has been measured.
struct CampaignState {
  const campaign::CandidateGrid* grid = nullptr;
  const gp::RowMatrixF* patches = nullptr;   ///< m × patch², survey min-max normalised to [0, 1]
  std::vector<int> measured;                 ///< candidate indices in measurement order
  std::vector<core::IvCurve> curves;         ///< the measured curves, same order
  std::vector<char> is_measured;             ///< m flags
  /// The survey channel min-max normalised to [0, 1] (image_ny × image_nx, row-major), the
  /// image the patches were cut from; lets novelty scores share per-window statistics
  /// between overlapping candidates. May be null (strategies then work from `patches`).
  const std::vector<double>* normalised_image = nullptr;
  size_t count() const { return measured.size(); }
};

/// The chosen candidate and what the strategy knew about it (NaN where it has no such quantity).
struct Decision {
  static constexpr double nan = std::numeric_limits<double>::quiet_NaN();
  int candidate = -1;
  double score = nan;
  double structural_novelty = nan;
  double predicted_mean = nan;
  double predicted_std = nan;
  nlohmann::json model;                       ///< hyperparameters / fit report of the step
};

/// Fixed context a strategy is built with.
struct StrategyContext {
  gp::DklConfig dkl;
  std::uint64_t seed = 0;
  int patch_side_px = 0;
  int budget = 0;           ///< total measurements of the campaign (raster/lhs plan their designs for it)
  int initial_points = 0;   ///< of which chosen by the initial design
};

class Strategy {
 public:
  virtual ~Strategy() = default;
  /// Called after every measurement, initial ones included (state.measured.back() is the newest).
  virtual void observe(const CampaignState& state) {}
  /// The next unmeasured candidate.
  virtual Decision decide(const CampaignState& state) = 0;
  /// Everything later decisions depend on, for exact resume.
  virtual void save(const std::filesystem::path& directory) const = 0;
  virtual void load(const std::filesystem::path& directory) = 0;
};

using StrategyFactory = std::function<std::unique_ptr<Strategy>(const StrategyConfig&, const StrategyContext&)>;
/// Registers `factory` under `name`; returns true (for static registration).
bool register_strategy(const std::string& name, StrategyFactory factory);
/// Builds the strategy named config.name; throws sdm::Error listing the registered names.
std::unique_ptr<Strategy> make_strategy(const StrategyConfig& config, const StrategyContext& context);
/// Every name registered so far, sorted (equals strategy_names() in a complete build).
std::vector<std::string> registered_strategy_names();

/// Helpers for Strategy::save/load: <directory>/strategy.json, written atomically (temp + rename).
/// read_strategy_state throws sdm::Error naming the file when it is missing or not JSON.
void write_strategy_state(const std::filesystem::path& directory, const nlohmann::json& state);
nlohmann::json read_strategy_state(const std::filesystem::path& directory);

}  // namespace sdm::engine::acquisition

/// Defines the registration of a built-in strategy in its .cpp file:
///   SDM_REGISTER_STRATEGY(dn_dkl, [](const StrategyConfig& c, const StrategyContext& x) { ... });
/// `id` is the registered name (an identifier) and names the anchor strategy.cpp references.
#define SDM_REGISTER_STRATEGY(id, ...)                                                        \
  namespace sdm::engine::acquisition::registration {                                       \
  extern const bool id;                                                                    \
  const bool id = ::sdm::engine::acquisition::register_strategy(#id, __VA_ARGS__);         \
  }
