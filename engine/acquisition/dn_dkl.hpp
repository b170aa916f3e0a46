#pragma once
// dn_dkl: the paper's dual-novelty deep kernel learning (Gong et al., arXiv 2603.17028, and
// the authors' notebook). At every decision, with n curves measured:
//   1. structural novelty s_i = 1 − max_{j measured} SSIM(patch_i, patch_j) of every candidate
//      (novelty/ssim.hpp; updated incrementally, one pass per new measurement);
//   2. spectral novelty y_j of every measured curve: an Isolation Forest (trees, subsample,
//      contamination from the config; seed derive_seed(seed, "forest", n)) fitted on all
//      measured curves min-max normalised (spectral_normalisation), anomaly scores rescaled to
//      [0, 1] over the measured set — recomputed every step, since each new curve changes
//      what is anomalous;
//   3. a DKL trained on patch_j → y_j (dkl_surrogate.hpp), posterior μ_i, σ_i on every candidate,
//      in the units of y (already in [0, 1]; σ is the latent, noise-free std);
//   4. acquisition a_i = (μ_i + √β σ_i) · s_i, β = 0.25 by default; the next measurement is
//      argmax a_i over the unmeasured candidates (ties: lowest index).
// Measured candidates have s_i = 0 exactly, so the product alone already excludes them; the
// argmax still skips them explicitly. Defaults are the paper's; every constant comes from
// StrategyConfig (beta, contamination, forest_*, ssim_*, spectral_normalisation).
#include <vector>

#include "engine/acquisition/dkl_surrogate.hpp"
#include "engine/acquisition/novelty_support.hpp"
#include "engine/acquisition/strategy.hpp"

namespace sdm::engine::acquisition {

/// a_i = (mean_i + √beta · std_i) · structural_i, element-wise (sizes must match).
std::vector<double> dn_dkl_acquisition(const std::vector<double>& mean, const std::vector<double>& std,
                                       const std::vector<double>& structural, double beta);

class DnDkl : public Strategy {
 public:
  DnDkl(const StrategyConfig& config, const StrategyContext& context);
  void observe(const CampaignState& state) override;
  Decision decide(const CampaignState& state) override;
  void save(const std::filesystem::path& directory) const override;
  void load(const std::filesystem::path& directory) override;

  /// Of the last decide(): the spectral-novelty targets (one per measured curve), the
  /// structural novelty and acquisition of every candidate, and the surrogate.
  const std::vector<double>& targets() const { return targets_; }
  const std::vector<double>& structural() const { return structural_; }
  const std::vector<double>& acquisition() const { return acquisition_; }
  const DklSurrogate& surrogate() const { return surrogate_; }

 private:
  StrategyConfig config_;
  std::uint64_t seed_;
  StructuralTracker tracker_;
  DklSurrogate surrogate_;
  std::vector<double> targets_, structural_, acquisition_;
};

}  // namespace sdm::engine::acquisition
