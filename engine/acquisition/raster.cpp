// raster: the remaining budget (budget − initial points) as a regular sub-lattice of the
// candidate grid, visited row by row (initial_design.hpp's raster design). Planned points that
// are already measured are skipped; if the plan runs out, a denser raster (4×) and finally the
// lowest unmeasured index continue. No randomness, no state.
#include <algorithm>

#include "engine/acquisition/initial_design.hpp"
#include "engine/acquisition/selection.hpp"
#include "engine/acquisition/strategy.hpp"

namespace sdm::engine::acquisition {
namespace {

class RasterStrategy : public Strategy {
 public:
  explicit RasterStrategy(const StrategyContext& context)
      : planned_(std::max(1, context.budget - context.initial_points)) {}

  Decision decide(const CampaignState& state) override {
    if (order_.empty()) {
      const int m = static_cast<int>(state.grid->size());
      order_ = raster_design(*state.grid, std::min(planned_, m));
      const std::vector<int> denser = raster_design(*state.grid, std::min(4 * planned_, m));
      order_.insert(order_.end(), denser.begin(), denser.end());
    }
    Decision d;
    d.candidate = first_unmeasured(order_, state.is_measured);
    d.model = {{"planned", planned_}};
    return d;
  }
  void save(const std::filesystem::path& dir) const override { write_strategy_state(dir, {{"strategy", "raster"}}); }
  void load(const std::filesystem::path& dir) override { read_strategy_state(dir); }

 private:
  int planned_;
  std::vector<int> order_;
};

}  // namespace
}  // namespace sdm::engine::acquisition

SDM_REGISTER_STRATEGY(raster, [](const StrategyConfig&, const StrategyContext& c) -> std::unique_ptr<Strategy> {
  return std::make_unique<RasterStrategy>(c);
})
