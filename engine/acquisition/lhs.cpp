// lhs: the remaining budget (budget − initial points) as Latin-hypercube designs on the
// candidate lattice (initial_design.hpp). One LHS holds at most L = min(columns, rows) points,
// so the plan is a sequence of LHS batches: batch b has min(L, what the budget still needs)
// points (L once the budget is planned) and is drawn from derive_seed(seed, "lhs", b). Each
// step measures the first unmeasured point of the plan, drawing further batches while the plan
// so far is all measured. The choice is a function of the seed and the measured set: no state.
#include <algorithm>
#include <random>

#include "engine/acquisition/initial_design.hpp"
#include "engine/acquisition/seeds.hpp"
#include "engine/acquisition/selection.hpp"
#include "engine/acquisition/strategy.hpp"
#include "engine/patches/candidate_grid.hpp"

namespace sdm::engine::acquisition {
namespace {

class LhsStrategy : public Strategy {
 public:
  explicit LhsStrategy(const StrategyContext& context)
      : seed_(context.seed), planned_(std::max(1, context.budget - context.initial_points)) {}

  Decision decide(const CampaignState& state) override {
    Decision d;
    const size_t measured = static_cast<size_t>(std::count(state.is_measured.begin(), state.is_measured.end(), 1));
    if (measured >= state.is_measured.size()) return d;
    const campaign::CandidateGrid& g = *state.grid;
    const int per_batch = std::min(patches::grid_columns(g), patches::grid_rows(g));
    while (true) {
      for (; next_ < order_.size(); ++next_)
        if (!state.is_measured[static_cast<size_t>(order_[next_])]) break;
      if (next_ < order_.size()) break;
      const int still = planned_ - static_cast<int>(order_.size());
      const int n = still > 0 ? std::min(per_batch, still) : per_batch;
      std::mt19937_64 rng(derive_seed(seed_, "lhs", static_cast<std::uint64_t>(batches_++)));
      const std::vector<int> batch = latin_hypercube_design(g, n, rng);
      order_.insert(order_.end(), batch.begin(), batch.end());
    }
    d.candidate = order_[next_];
    d.model = {{"planned", planned_}, {"batches", batches_}, {"plan_index", next_}};
    return d;
  }
  void save(const std::filesystem::path& dir) const override { write_strategy_state(dir, {{"strategy", "lhs"}}); }
  void load(const std::filesystem::path& dir) override {
    read_strategy_state(dir);
    order_.clear();
    next_ = 0;
    batches_ = 0;
  }

 private:
  std::uint64_t seed_;
  int planned_;
  int batches_ = 0;
  size_t next_ = 0;         ///< plan entries before it are all measured (measurements only accumulate)
  std::vector<int> order_;  ///< the plan drawn so far
};

}  // namespace
}  // namespace sdm::engine::acquisition

SDM_REGISTER_STRATEGY(lhs, [](const StrategyConfig&, const StrategyContext& c) -> std::unique_ptr<Strategy> {
  return std::make_unique<LhsStrategy>(c);
})
