// lhs: the remaining budget (budget − initial points) as Latin-hypercube designs on the
// candidate lattice (initial_design.hpp). One LHS holds at most min(columns, rows) points,
// so a larger budget is planned as consecutive LHS batches, batch b drawn from
// derive_seed(seed, "lhs", b). Planned points already measured are skipped; if the plan runs
// out, the lowest unmeasured index continues. The plan is a function of the seed: no state.
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
    if (order_.empty()) {
      const campaign::CandidateGrid& g = *state.grid;
      const int per_batch = std::min(patches::grid_columns(g), patches::grid_rows(g));
      int left = std::min<int>(planned_, static_cast<int>(g.size()));
      for (int b = 0; left > 0; ++b) {
        std::mt19937_64 rng(derive_seed(seed_, "lhs", static_cast<std::uint64_t>(b)));
        const int n = std::min(left, per_batch);
        const std::vector<int> batch = latin_hypercube_design(g, n, rng);
        order_.insert(order_.end(), batch.begin(), batch.end());
        left -= n;
      }
      batches_ = (planned_ + per_batch - 1) / per_batch;
    }
    Decision d;
    d.candidate = first_unmeasured(order_, state.is_measured);
    d.model = {{"planned", planned_}, {"batches", batches_}};
    return d;
  }
  void save(const std::filesystem::path& dir) const override { write_strategy_state(dir, {{"strategy", "lhs"}}); }
  void load(const std::filesystem::path& dir) override { read_strategy_state(dir); }

 private:
  std::uint64_t seed_;
  int planned_;
  int batches_ = 0;
  std::vector<int> order_;
};

}  // namespace
}  // namespace sdm::engine::acquisition

SDM_REGISTER_STRATEGY(lhs, [](const StrategyConfig&, const StrategyContext& c) -> std::unique_ptr<Strategy> {
  return std::make_unique<LhsStrategy>(c);
})
