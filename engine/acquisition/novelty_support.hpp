#pragma once
// What the novelty-based strategies share: StrategyConfig → novelty configs, and the
// structural-novelty state kept in step with the campaign.
#include <memory>

#include "engine/acquisition/strategy.hpp"
#include "engine/novelty/spectral_novelty.hpp"
#include "engine/novelty/ssim.hpp"

namespace sdm::engine::acquisition {

/// ssim_window / ssim_window_px / ssim_window_sigma → SsimConfig (skimage constants otherwise).
novelty::SsimConfig ssim_config_of(const StrategyConfig& config);
/// forest_trees / forest_subsample / contamination / spectral_normalisation → SpectralNoveltyConfig.
novelty::SpectralNoveltyConfig spectral_config_of(const StrategyConfig& config);

/// Structural novelty (1 − max SSIM to the measured patches) of every candidate, kept equal
/// to what the measured list implies: sync() adds the patches of the candidates measured since
/// the last call. Because a max does not depend on the order of its terms, the state is a pure
/// function of the measured set and needs no checkpoint: a resumed strategy rebuilds it on
/// its first sync.
class StructuralTracker {
 public:
  explicit StructuralTracker(const novelty::SsimConfig& config) : config_(config) {}
  /// Builds the per-candidate statistics on the first call (from state.normalised_image when
  /// given, else from state.patches) and adds every newly measured candidate's own patch.
  void sync(const CampaignState& state);
  const novelty::StructuralNovelty& novelty() const { return *novelty_; }
  bool ready() const { return novelty_ != nullptr; }

 private:
  novelty::SsimConfig config_;
  std::unique_ptr<novelty::StructuralNovelty> novelty_;
  size_t synced_ = 0;
};

}  // namespace sdm::engine::acquisition
