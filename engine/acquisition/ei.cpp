// ei: expected improvement of the scalarizer (maximised) under the DKL posterior. In units
// standardised over the measured targets (z = (y − m)/s), with best measured z* and margin ξ
// (config xi, in those normalised units):
//   EI_i = (μ'_i − z* − ξ) Φ(u) + σ'_i φ(u),  u = (μ'_i − z* − ξ)/σ'_i;  max(μ'_i − z* − ξ, 0) when σ'_i = 0.
#include <algorithm>
#include <cmath>

#include "engine/acquisition/dkl_surrogate.hpp"

namespace sdm::engine::acquisition {
namespace {

class ExpectedImprovement : public SurrogateStrategy {
 public:
  ExpectedImprovement(const StrategyConfig& s, const StrategyContext& c) : SurrogateStrategy("ei", c), xi_(s.xi), targets_(s) {}

 protected:
  std::vector<double> targets(const CampaignState& state) override { return targets_.of(state); }
  std::vector<double> scores(const CampaignState&, const std::vector<double>& y) override {
    double m = 0, s = 1;
    standardisation(y, m, s);
    const double best = (*std::max_element(y.begin(), y.end()) - m) / s;
    std::vector<double> a(surrogate_.mean().size());
    for (size_t i = 0; i < a.size(); ++i) {
      const double mu = (surrogate_.mean()[i] - m) / s, sd = surrogate_.stddev()[i] / s;
      const double gain = mu - best - xi_;
      if (!(sd > 0)) {
        a[i] = std::max(gain, 0.0);
        continue;
      }
      const double u = gain / sd;
      const double cdf = 0.5 * std::erfc(-u / std::sqrt(2.0));
      const double pdf = std::exp(-0.5 * u * u) / std::sqrt(2.0 * M_PI);
      a[i] = gain * cdf + sd * pdf;
    }
    return a;
  }
  std::string target_name() const override { return targets_.name(); }

 private:
  double xi_;
  ScalarTargets targets_;
};

}  // namespace
}  // namespace sdm::engine::acquisition

SDM_REGISTER_STRATEGY(ei, [](const StrategyConfig& s, const StrategyContext& c) -> std::unique_ptr<Strategy> {
  return std::make_unique<ExpectedImprovement>(s, c);
})
