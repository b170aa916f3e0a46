#pragma once
// Model error of a campaign: how well the data it gathered teaches a surrogate the whole film.
//
// The evaluation model is the same for every strategy: a DKL with the scenario's [dkl]
// settings, refitted from scratch (warm_start off, seed fixed per film) at each evaluation
// step n on the first n measured pairs
//   (patch of the chosen candidate, *measured* scalarizer of its measured curve),
// i.e. on what the experiment actually learned (noise, drift and tip wear included). It then
// predicts the *true* scalarizer at every candidate centre (FilmTruth::target). With
// y the truth, μ the predictive mean, v = latent variance + learned noise variance, and the
// film's mean m and sample sd s of y:
//   model_rmse = sqrt(mean_i (y_i − μ_i)²) / s            (1 ≈ predicting the film mean)
//   model_nlpd = mean_i [ ½ ln(2π v_i/s²) + (y_i − μ_i)²/(2 v_i) ]   (standardised units)
// A strategy-specific surrogate (e.g. DN-DKL's own) would make the comparison depend on each
// strategy's model; this one does not.
#include <cstdint>
#include <vector>

#include <Eigen/Core>

#include "bench/metrics.hpp"
#include "engine/gp/dkl.hpp"
#include "engine/gp/dkl_config.hpp"

namespace sdm::bench {

struct PredictionScore {
  double rmse = kNaN;  ///< over the truth's sd
  double nlpd = kNaN;  ///< standardised
};

/// Scores a prediction (mean, predictive variance in target units) against `truth`, standardised
/// by truth_sd (> 0). Variances are floored at 1e-12·truth_sd². Throws sdm::Error on size mismatch.
PredictionScore score_prediction(const std::vector<double>& truth, const Eigen::VectorXd& mean,
                                 const Eigen::VectorXd& predictive_variance, double truth_sd);

struct ModelErrorSeries {
  std::vector<int> steps;            ///< evaluated measurement counts
  std::vector<double> rmse, nlpd;    ///< one per evaluated step
  std::vector<double> fit_seconds;
};

/// Refits the evaluation DKL on the first n pairs for every n in `at_steps` and scores it.
/// `patches`: every candidate's patch (m × p²); `candidates`/`targets`: chosen candidate and
/// measured scalarizer of each step. Steps with a non-finite target are left out of training.
ModelErrorSeries evaluate_model_error(const engine::gp::RowMatrixF& patches, int patch_side,
                                      const std::vector<int>& candidates, const std::vector<double>& targets,
                                      const FilmTruth& truth, engine::gp::DklConfig dkl, std::uint64_t seed,
                                      const std::vector<int>& at_steps);

}  // namespace sdm::bench
