#include "engine/acquisition/novelty_support.hpp"

#include "core/error.hpp"

namespace sdm::engine::acquisition {

novelty::SsimConfig ssim_config_of(const StrategyConfig& c) {
  novelty::SsimConfig s;
  s.window = c.ssim_window == "gaussian" ? novelty::SsimWindow::gaussian : novelty::SsimWindow::uniform;
  s.window_px = c.ssim_window_px;
  s.sigma_px = c.ssim_window_sigma;
  return s;
}

novelty::SpectralNoveltyConfig spectral_config_of(const StrategyConfig& c) {
  novelty::SpectralNoveltyConfig s;
  s.forest.trees = c.forest_trees;
  s.forest.subsample = c.forest_subsample;
  s.forest.contamination = c.contamination;
  s.normalisation = c.spectral_normalisation == "curve" ? novelty::CurveNormalisation::curve : novelty::CurveNormalisation::set;
  return s;
}

void StructuralTracker::sync(const CampaignState& state) {
  if (!state.grid || !state.patches) throw Error("structural novelty: the campaign state has no candidate grid or patches");
  if (!novelty_ || state.measured.size() < synced_) {
    if (state.normalised_image)
      novelty_ = std::make_unique<novelty::StructuralNovelty>(*state.normalised_image, *state.grid, config_);
    else
      novelty_ = std::make_unique<novelty::StructuralNovelty>(*state.patches, state.grid->patch_px, config_);
    synced_ = 0;
  }
  for (; synced_ < state.measured.size(); ++synced_) novelty_->add_measured(state.measured[synced_]);
}

}  // namespace sdm::engine::acquisition
