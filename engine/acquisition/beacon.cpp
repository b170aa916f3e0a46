// beacon: target-space novelty search after BEACON (Tang et al., "BEACON: a Bayesian
// optimization strategy for novelty search in expensive black-box systems", 2024). A DKL models
// the scalarizer of the curve (the measured behaviour); each step draws a Thompson sample
// ỹ_i ~ N(μ_i, σ_i²) at every candidate and scores it by its distance to the elite set — the
// k = max(1, ⌈elite_fraction · n⌉) measured behaviours nearest to it:
//   a_i = mean over those k of |ỹ'_i − y'_j|,  in units standardised over the measured targets.
// The sample is drawn per candidate from its marginal posterior (the Dkl exposes marginals; a
// joint sample over ~10⁴ candidates would need their full covariance), from a generator seeded
// with derive_seed(seed, "thompson", n measured), so a resumed campaign draws the same sample.
#include <algorithm>
#include <cmath>
#include <random>

#include "engine/acquisition/dkl_surrogate.hpp"
#include "engine/acquisition/seeds.hpp"

namespace sdm::engine::acquisition {
namespace {

class Beacon : public SurrogateStrategy {
 public:
  Beacon(const StrategyConfig& s, const StrategyContext& c)
      : SurrogateStrategy("beacon", c), elite_fraction_(s.elite_fraction), targets_(s) {}

 protected:
  std::vector<double> targets(const CampaignState& state) override { return targets_.of(state); }
  std::vector<double> scores(const CampaignState& state, const std::vector<double>& y) override {
    double m = 0, s = 1;
    standardisation(y, m, s);
    std::vector<double> sorted(y.size());
    for (size_t j = 0; j < y.size(); ++j) sorted[j] = (y[j] - m) / s;
    std::sort(sorted.begin(), sorted.end());
    const size_t n = sorted.size();
    const size_t k = std::min(n, std::max<size_t>(1, static_cast<size_t>(std::ceil(elite_fraction_ * static_cast<double>(n)))));
    std::mt19937_64 rng(derive_seed(seed_, "thompson", state.count()));
    std::normal_distribution<double> z(0.0, 1.0);
    std::vector<double> a(surrogate_.mean().size());
    for (size_t i = 0; i < a.size(); ++i) {
      const double draw = (surrogate_.mean()[i] + surrogate_.stddev()[i] * z(rng) - m) / s;
      // The k nearest of a sorted list form a window around the insertion point: grow it greedily.
      size_t hi = static_cast<size_t>(std::lower_bound(sorted.begin(), sorted.end(), draw) - sorted.begin()), lo = hi;
      double sum = 0;
      for (size_t taken = 0; taken < k; ++taken) {
        const bool take_low = lo > 0 && (hi >= n || draw - sorted[lo - 1] <= sorted[hi] - draw);
        sum += take_low ? draw - sorted[--lo] : sorted[hi++] - draw;
      }
      a[i] = sum / static_cast<double>(k);
    }
    return a;
  }
  std::string target_name() const override { return targets_.name(); }

 private:
  double elite_fraction_;
  ScalarTargets targets_;
};

}  // namespace
}  // namespace sdm::engine::acquisition

SDM_REGISTER_STRATEGY(beacon, [](const StrategyConfig& s, const StrategyContext& c) -> std::unique_ptr<Strategy> {
  return std::make_unique<Beacon>(s, c);
})
