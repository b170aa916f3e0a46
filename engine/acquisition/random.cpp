// random: each step a uniformly random unmeasured candidate (the plain baseline).
// Step k draws from a generator seeded with derive_seed(seed, "random", k): no state to save.
#include <random>

#include "engine/acquisition/seeds.hpp"
#include "engine/acquisition/selection.hpp"
#include "engine/acquisition/strategy.hpp"

namespace sdm::engine::acquisition {
namespace {

class RandomStrategy : public Strategy {
 public:
  explicit RandomStrategy(const StrategyContext& context) : seed_(context.seed) {}

  Decision decide(const CampaignState& state) override {
    const std::vector<int> free = unmeasured_candidates(state.is_measured);
    Decision d;
    if (free.empty()) return d;
    std::mt19937_64 rng(derive_seed(seed_, "random", state.count()));
    std::uniform_int_distribution<size_t> pick(0, free.size() - 1);
    d.candidate = free[pick(rng)];
    d.model = {{"unmeasured", free.size()}};
    return d;
  }
  void save(const std::filesystem::path& dir) const override { write_strategy_state(dir, {{"strategy", "random"}}); }
  void load(const std::filesystem::path& dir) override { read_strategy_state(dir); }

 private:
  std::uint64_t seed_;
};

}  // namespace
}  // namespace sdm::engine::acquisition

SDM_REGISTER_STRATEGY(random, [](const StrategyConfig&, const StrategyContext& c) -> std::unique_ptr<Strategy> {
  return std::make_unique<RandomStrategy>(c);
})
