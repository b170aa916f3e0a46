// score_prediction lives apart from the DKL evaluation so that code using only the score
// (tests, reports) does not link libtorch's DKL.
#include <cmath>

#include "bench/model_error.hpp"
#include "core/error.hpp"

namespace sdm::bench {

PredictionScore score_prediction(const std::vector<double>& truth, const Eigen::VectorXd& mean,
                                 const Eigen::VectorXd& var, double sd) {
  const std::size_t m = truth.size();
  if (std::size_t(mean.size()) != m || std::size_t(var.size()) != m)
    throw Error("model error: prediction size differs from the ground truth's");
  if (!(sd > 0) || m == 0) return {};
  constexpr double kTwoPi = 6.283185307179586;
  const double floor = 1e-12 * sd * sd;
  double se = 0, nlpd = 0;
  for (std::size_t i = 0; i < m; ++i) {
    const double r = (truth[i] - mean(Eigen::Index(i))) / sd;
    const double v = std::max(var(Eigen::Index(i)), floor) / (sd * sd);
    se += r * r;
    nlpd += 0.5 * std::log(kTwoPi * v) + r * r / (2 * v);
  }
  return {std::sqrt(se / double(m)), nlpd / double(m)};
}

}  // namespace sdm::bench
