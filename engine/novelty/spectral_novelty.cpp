#include "engine/novelty/spectral_novelty.hpp"

#include <cmath>
#include <random>
#include <string>

#include "core/error.hpp"

namespace sdm::engine::novelty {

Eigen::MatrixXd curve_features(const std::vector<core::IvCurve>& curves, CurveNormalisation mode) {
  const Eigen::Index n = static_cast<Eigen::Index>(curves.size());
  if (n == 0) return Eigen::MatrixXd(0, 0);
  const size_t points = curves[0].current_a.size();
  if (points == 0) throw Error("spectral novelty: curve 0 has no current samples");
  Eigen::MatrixXd X(n, static_cast<Eigen::Index>(points));
  for (Eigen::Index i = 0; i < n; ++i) {
    const auto& c = curves[static_cast<size_t>(i)].current_a;
    if (c.size() != points)
      throw Error("spectral novelty: curve " + std::to_string(i) + " has " + std::to_string(c.size()) +
                  " samples, curve 0 has " + std::to_string(points) + " (every sweep must use the same waveform)");
    for (size_t k = 0; k < points; ++k) {
      if (!std::isfinite(c[k]))
        throw Error("spectral novelty: curve " + std::to_string(i) + " sample " + std::to_string(k) + " current is not finite");
      X(i, static_cast<Eigen::Index>(k)) = c[k];
    }
  }
  auto scale = [](auto&& block) {
    const double lo = block.minCoeff(), hi = block.maxCoeff();
    if (hi > lo)
      block = (block.array() - lo) / (hi - lo);
    else
      block.setZero();
  };
  if (mode == CurveNormalisation::set) {
    scale(X);
  } else {
    for (Eigen::Index i = 0; i < n; ++i) {
      auto row = X.row(i);
      scale(row);
    }
  }
  return X;
}

std::vector<double> rescale_unit(const Eigen::VectorXd& s) {
  std::vector<double> out(static_cast<size_t>(s.size()), 0.0);
  if (s.size() == 0) return out;
  const double lo = s.minCoeff(), hi = s.maxCoeff();
  if (hi > lo)
    for (Eigen::Index i = 0; i < s.size(); ++i) out[static_cast<size_t>(i)] = (s[i] - lo) / (hi - lo);
  return out;
}

std::vector<double> spectral_novelty(const std::vector<core::IvCurve>& curves, const SpectralNoveltyConfig& config,
                                     std::uint64_t seed) {
  const Eigen::MatrixXd X = curve_features(curves, config.normalisation);
  if (X.rows() < 2) return std::vector<double>(static_cast<size_t>(X.rows()), 0.0);
  IsolationForest forest(config.forest);
  std::mt19937_64 rng(seed);
  forest.fit(X, rng);
  return rescale_unit(forest.anomaly_score(X));
}

}  // namespace sdm::engine::novelty
