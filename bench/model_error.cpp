#include "bench/model_error.hpp"

#include <chrono>
#include <cmath>

#include "core/error.hpp"

namespace sdm::bench {

namespace {
double noise_variance_of(const nlohmann::json& hyper) {
  // {"heads": [{"noise_variance": target units, ...}]} (engine/gp/dkl.hpp).
  if (hyper.is_object() && hyper.contains("heads") && hyper["heads"].is_array() && !hyper["heads"].empty()) {
    const auto& h = hyper["heads"][0];
    if (h.contains("noise_variance") && h["noise_variance"].is_number()) return h["noise_variance"].get<double>();
  }
  return 0.0;
}
}  // namespace

ModelErrorSeries evaluate_model_error(const engine::gp::RowMatrixF& patches, int patch_side,
                                      const std::vector<int>& candidates, const std::vector<double>& targets,
                                      const FilmTruth& truth, engine::gp::DklConfig dkl, std::uint64_t seed,
                                      const std::vector<int>& at_steps) {
  if (candidates.size() != targets.size()) throw Error("model error: candidates and targets differ in length");
  if (std::size_t(patches.rows()) != truth.size()) throw Error("model error: patches do not match the ground truth");
  dkl.warm_start = false;  // each evaluation depends only on the data so far and the seed
  ModelErrorSeries out;
  for (int n : at_steps) {
    if (n < 1 || std::size_t(n) > candidates.size()) continue;
    std::vector<int> rows;
    for (int i = 0; i < n; ++i)
      if (std::isfinite(targets[std::size_t(i)])) rows.push_back(i);
    out.steps.push_back(n);
    if (rows.size() < 3) {
      out.rmse.push_back(kNaN);
      out.nlpd.push_back(kNaN);
      out.fit_seconds.push_back(0);
      continue;
    }
    engine::gp::RowMatrixF x(Eigen::Index(rows.size()), patches.cols());
    Eigen::MatrixXd y(Eigen::Index(rows.size()), 1);
    for (std::size_t r = 0; r < rows.size(); ++r) {
      x.row(Eigen::Index(r)) = patches.row(candidates[std::size_t(rows[r])]);
      y(Eigen::Index(r), 0) = targets[std::size_t(rows[r])];
    }
    const auto t0 = std::chrono::steady_clock::now();
    try {
      engine::gp::Dkl model(dkl, int(patches.cols()), 1, seed, dkl.feature_extractor == "cnn" ? patch_side : 0);
      const engine::gp::FitReport rep = model.fit(x, y);
      const engine::gp::Prediction p = model.predict(patches);
      const double noise = p.noise_variance.size() > 0 ? p.noise_variance(0) : noise_variance_of(rep.hyperparameters);
      const Eigen::VectorXd var = p.variance.col(0).array() + noise;
      const PredictionScore s = score_prediction(truth.target, p.mean.col(0), var, truth.target_sd);
      out.rmse.push_back(s.rmse);
      out.nlpd.push_back(s.nlpd);
    } catch (const std::exception&) {
      // A failed fit (e.g. a Cholesky that needs more than max_jitter) leaves the point undefined.
      out.rmse.push_back(kNaN);
      out.nlpd.push_back(kNaN);
    }
    out.fit_seconds.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  return out;
}

}  // namespace sdm::bench
