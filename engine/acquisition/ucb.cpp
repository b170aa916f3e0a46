// ucb: the classic DKL autonomous experiment — a DKL from patch to a scalarizer of the curve
// (loop area by default, scalarizer.hpp), acquisition μ + √β σ in the scalarizer's units,
// argmax over the unmeasured candidates.
#include <cmath>

#include "engine/acquisition/dkl_surrogate.hpp"

namespace sdm::engine::acquisition {
namespace {

class Ucb : public SurrogateStrategy {
 public:
  Ucb(const StrategyConfig& s, const StrategyContext& c) : SurrogateStrategy("ucb", c), beta_(s.beta), targets_(s) {}

 protected:
  std::vector<double> targets(const CampaignState& state) override { return targets_.of(state); }
  std::vector<double> scores(const CampaignState&, const std::vector<double>&) override {
    const double k = std::sqrt(beta_);
    std::vector<double> a(surrogate_.mean().size());
    for (size_t i = 0; i < a.size(); ++i) a[i] = surrogate_.mean()[i] + k * surrogate_.stddev()[i];
    return a;
  }
  std::string target_name() const override { return targets_.name(); }

 private:
  double beta_;
  ScalarTargets targets_;
};

}  // namespace
}  // namespace sdm::engine::acquisition

SDM_REGISTER_STRATEGY(ucb, [](const StrategyConfig& s, const StrategyContext& c) -> std::unique_ptr<Strategy> {
  return std::make_unique<Ucb>(s, c);
})
