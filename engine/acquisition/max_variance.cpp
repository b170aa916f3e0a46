// max_variance: pure DKL exploration — measure where the surrogate of the scalarizer is most
// uncertain, argmax σ over the unmeasured candidates.
#include "engine/acquisition/dkl_surrogate.hpp"

namespace sdm::engine::acquisition {
namespace {

class MaxVariance : public SurrogateStrategy {
 public:
  MaxVariance(const StrategyConfig& s, const StrategyContext& c) : SurrogateStrategy("max_variance", c), targets_(s) {}

 protected:
  std::vector<double> targets(const CampaignState& state) override { return targets_.of(state); }
  std::vector<double> scores(const CampaignState&, const std::vector<double>&) override { return surrogate_.stddev(); }
  std::string target_name() const override { return targets_.name(); }

 private:
  ScalarTargets targets_;
};

}  // namespace
}  // namespace sdm::engine::acquisition

SDM_REGISTER_STRATEGY(max_variance, [](const StrategyConfig& s, const StrategyContext& c) -> std::unique_ptr<Strategy> {
  return std::make_unique<MaxVariance>(s, c);
})
