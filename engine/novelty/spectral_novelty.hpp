#pragma once
// The paper's spectral novelty: an Isolation Forest fitted on all measured I–V curves,
// each curve's anomaly score rescaled to [0, 1] over the measured set, recomputed every step.
//
// Features: the current samples of each sweep (sample k of every curve is the same bias of
// the one campaign waveform, so bias is not a feature). Normalisation, default `set`: the
// measured set's currents are min-max scaled jointly to [0, 1] (one min and one max over all
// curves and samples: "fitted on all measured, min-max-normalised curves"), which keeps the
// relative conduction level that distinguishes grains from boundaries. An Isolation Forest
// is invariant to any increasing affine map of a feature, so `set` and a per-feature
// (MinMaxScaler-style) scaling give the same trees; `curve` instead scales each curve to its
// own [0, 1] and so compares shapes only.
#include <cstdint>
#include <vector>

#include <Eigen/Core>

#include "core/waveform.hpp"
#include "engine/novelty/isolation_forest.hpp"

namespace sdm::engine::novelty {

enum class CurveNormalisation { set, curve };

struct SpectralNoveltyConfig {
  IsolationForestConfig forest;
  CurveNormalisation normalisation = CurveNormalisation::set;
};

/// n × points feature matrix of the curves' currents, normalised as `mode` says; a constant
/// set (or curve, for `curve`) maps to zeros. Throws sdm::Error when curves differ in length,
/// are empty or hold a non-finite current, naming the curve.
Eigen::MatrixXd curve_features(const std::vector<core::IvCurve>& curves, CurveNormalisation mode);

/// (s − min s)/(max s − min s) over the set; all zeros when every score is equal.
std::vector<double> rescale_unit(const Eigen::VectorXd& scores);

/// Spectral novelty of each measured curve ∈ [0, 1]: curve_features → IsolationForest fit
/// with a generator seeded by `seed` → anomaly_score of every curve → rescale_unit.
/// Fewer than 2 curves: all zeros (nothing to compare with).
std::vector<double> spectral_novelty(const std::vector<core::IvCurve>& curves, const SpectralNoveltyConfig& config,
                                     std::uint64_t seed);

}  // namespace sdm::engine::novelty
