#pragma once
// Acquisition strategies share one interface; each lives in its own file
// (engine/acquisition/<name>.cpp) and registers itself by name, so adding a strategy
// is adding one file.
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

}  // namespace sdm::engine::acquisition
