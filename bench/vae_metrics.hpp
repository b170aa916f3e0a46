#pragma once
// Dual-VAE metrics of one campaign ([metrics] vae = true): the dual VAE (engine/vae, the
// scenario's [vae] settings, one thread, seeded per film) is fitted after the campaign on its
// measured pairs (patch of the chosen candidate, measured curve), then scored on a seeded
// subsample of at most vae_eval_candidates candidates of the whole film (the same subsample
// for every strategy of a seed):
//   vae_knn_accuracy   balanced leave-one-out kNN accuracy (k = knn_k) of the candidates' motif
//                      labels in the joint latent of their patches (twin only): the mean over
//                      motifs of the fraction classified correctly, so chance is 1/(motifs
//                      present) however rare the boundary motifs are (plain accuracy would sit
//                      near the interior fraction, ~0.84, for any map);
//   vae_im2spec_nrmse  normalised RMSE (engine/analysis: RMSE over the span of the true
//                      currents) of the curves im2spec predicts from the candidates' patches
//                      against their ground-truth curves (noiseless twin sweeps, or the recording).
#include <cstdint>
#include <functional>
#include <vector>

#include "bench/metrics.hpp"
#include "bench/scenario.hpp"
#include "engine/campaign/record.hpp"
#include "engine/gp/dkl.hpp"

namespace sdm::bench {

/// Ground-truth curve (currents) of candidate i.
using TruthCurve = std::function<std::vector<double>(int candidate)>;

/// Adds vae_knn_accuracy (when truth has motifs) and vae_im2spec_nrmse to `m.scalars`; a fit
/// that fails leaves them out with a note. `patches`: every candidate's patch.
void add_vae_metrics(CampaignMetrics& m, const Scenario& scenario, const std::vector<engine::campaign::StepRecord>& steps,
                     const engine::gp::RowMatrixF& patches, const FilmTruth& truth, const TruthCurve& truth_curve,
                     std::uint64_t film_seed);

}  // namespace sdm::bench
