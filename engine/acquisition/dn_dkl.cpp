#include "engine/acquisition/dn_dkl.hpp"

#include <chrono>
#include <cmath>

#include "core/error.hpp"
#include "engine/acquisition/seeds.hpp"
#include "engine/acquisition/selection.hpp"
#include "engine/novelty/spectral_novelty.hpp"

namespace sdm::engine::acquisition {

namespace {
double since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}
}  // namespace

std::vector<double> dn_dkl_acquisition(const std::vector<double>& mean, const std::vector<double>& std,
                                       const std::vector<double>& structural, double beta) {
  if (mean.size() != std.size() || mean.size() != structural.size())
    throw Error("dn_dkl acquisition: mean, std and structural novelty differ in length");
  const double k = std::sqrt(beta);
  std::vector<double> a(mean.size());
  for (size_t i = 0; i < a.size(); ++i) a[i] = (mean[i] + k * std[i]) * structural[i];
  return a;
}

DnDkl::DnDkl(const StrategyConfig& config, const StrategyContext& context)
    : config_(config),
      seed_(context.seed),
      tracker_(ssim_config_of(config)),
      surrogate_(context.dkl, context.patch_side_px, context.seed) {}

void DnDkl::observe(const CampaignState& state) { tracker_.sync(state); }

Decision DnDkl::decide(const CampaignState& state) {
  const auto t0 = std::chrono::steady_clock::now();
  tracker_.sync(state);
  structural_ = tracker_.novelty().novelty();
  const double t_structural = since(t0);

  const auto t1 = std::chrono::steady_clock::now();
  targets_ = novelty::spectral_novelty(state.curves, spectral_config_of(config_), derive_seed(seed_, "forest", state.count()));
  const double t_spectral = since(t1);

  const auto t2 = std::chrono::steady_clock::now();
  surrogate_.update(state, targets_);
  const double t_model = since(t2);

  acquisition_ = dn_dkl_acquisition(surrogate_.mean(), surrogate_.stddev(), structural_, config_.beta);
  Decision d;
  d.candidate = argmax_unmeasured(acquisition_, state.is_measured);
  if (d.candidate >= 0) {
    const auto c = static_cast<size_t>(d.candidate);
    d.score = acquisition_[c];
    d.structural_novelty = structural_[c];
    d.predicted_mean = surrogate_.mean()[c];
    d.predicted_std = surrogate_.stddev()[c];
  }
  d.model = surrogate_.report();
  d.model["target"] = "spectral_novelty";
  d.model["beta"] = config_.beta;
  d.model["newest_target"] = targets_.empty() ? 0.0 : targets_.back();
  d.model["seconds"] = {{"structural", t_structural}, {"spectral", t_spectral}, {"model", t_model}, {"total", since(t0)}};
  return d;
}

void DnDkl::save(const std::filesystem::path& dir) const {
  write_strategy_state(dir, {{"strategy", "dn_dkl"}, {"trained", surrogate_.trained()}});
  surrogate_.save(dir);
}

void DnDkl::load(const std::filesystem::path& dir) {
  read_strategy_state(dir);
  surrogate_.load(dir);
  tracker_ = StructuralTracker(ssim_config_of(config_));  // rebuilt from the measured list on the next sync
}

}  // namespace sdm::engine::acquisition

SDM_REGISTER_STRATEGY(dn_dkl, [](const StrategyConfig& s, const StrategyContext& c) -> std::unique_ptr<Strategy> {
  return std::make_unique<DnDkl>(s, c);
})
