// structural_novelty: the paper's structural term alone — argmax over unmeasured candidates
// of 1 − max SSIM(candidate patch, measured patches) (novelty/ssim.hpp). No model; the
// novelty state is rebuilt from the measured list (StructuralTracker), so nothing to save.
#include "engine/acquisition/novelty_support.hpp"
#include "engine/acquisition/selection.hpp"
#include "engine/acquisition/strategy.hpp"

namespace sdm::engine::acquisition {
namespace {

class StructuralNoveltyStrategy : public Strategy {
 public:
  explicit StructuralNoveltyStrategy(const StrategyConfig& config) : tracker_(ssim_config_of(config)) {}

  void observe(const CampaignState& state) override { tracker_.sync(state); }

  Decision decide(const CampaignState& state) override {
    tracker_.sync(state);
    const std::vector<double> nov = tracker_.novelty().novelty();
    Decision d;
    d.candidate = argmax_unmeasured(nov, state.is_measured);
    if (d.candidate >= 0) d.score = d.structural_novelty = nov[static_cast<size_t>(d.candidate)];
    d.model = {{"measured_patches", tracker_.novelty().measured_count()}};
    return d;
  }
  void save(const std::filesystem::path& dir) const override {
    write_strategy_state(dir, {{"strategy", "structural_novelty"}});
  }
  void load(const std::filesystem::path& dir) override { read_strategy_state(dir); }

 private:
  StructuralTracker tracker_;
};

}  // namespace
}  // namespace sdm::engine::acquisition

SDM_REGISTER_STRATEGY(structural_novelty, [](const StrategyConfig& s, const StrategyContext&) -> std::unique_ptr<Strategy> {
  return std::make_unique<StructuralNoveltyStrategy>(s);
})
