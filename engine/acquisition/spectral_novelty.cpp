// spectral_novelty: dn_dkl without its structural factor — the DKL of patch → Isolation-Forest
// spectral novelty (dn_dkl.hpp, steps 2–3) and acquisition μ + √β σ, argmax over the
// unmeasured candidates. Forest seed per step: derive_seed(seed, "forest", n measured).
#include <cmath>

#include "engine/acquisition/dkl_surrogate.hpp"
#include "engine/acquisition/novelty_support.hpp"
#include "engine/acquisition/seeds.hpp"

namespace sdm::engine::acquisition {
namespace {

class SpectralNoveltyStrategy : public SurrogateStrategy {
 public:
  SpectralNoveltyStrategy(const StrategyConfig& s, const StrategyContext& c)
      : SurrogateStrategy("spectral_novelty", c), beta_(s.beta), spectral_(spectral_config_of(s)) {}

 protected:
  std::vector<double> targets(const CampaignState& state) override {
    return novelty::spectral_novelty(state.curves, spectral_, derive_seed(seed_, "forest", state.count()));
  }
  std::vector<double> scores(const CampaignState&, const std::vector<double>&) override {
    const double k = std::sqrt(beta_);
    std::vector<double> a(surrogate_.mean().size());
    for (size_t i = 0; i < a.size(); ++i) a[i] = surrogate_.mean()[i] + k * surrogate_.stddev()[i];
    return a;
  }
  std::string target_name() const override { return "spectral_novelty"; }

 private:
  double beta_;
  novelty::SpectralNoveltyConfig spectral_;
};

}  // namespace
}  // namespace sdm::engine::acquisition

SDM_REGISTER_STRATEGY(spectral_novelty, [](const StrategyConfig& s, const StrategyContext& c) -> std::unique_ptr<Strategy> {
  return std::make_unique<SpectralNoveltyStrategy>(s, c);
})
