#include "engine/analysis/metrics.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <numeric>
#include <string>

#include "core/error.hpp"

namespace sdm::engine::analysis {

double knn_accuracy(const Eigen::MatrixXd& points, const std::vector<int>& labels, int k) {
  const auto predicted = knn_predict_loo(points, labels, k);
  std::size_t correct = 0;
  for (std::size_t i = 0; i < labels.size(); ++i) correct += predicted[i] == labels[i];
  return static_cast<double>(correct) / static_cast<double>(labels.size());
}

double balanced_accuracy(const std::vector<int>& truth, const std::vector<int>& predicted) {
  if (truth.size() != predicted.size())
    throw Error("balanced_accuracy: " + std::to_string(truth.size()) + " labels but " + std::to_string(predicted.size()) +
                " predictions");
  if (truth.empty()) return std::nan("");
  std::map<int, std::pair<int, int>> per;  // label → (correct, total)
  for (std::size_t i = 0; i < truth.size(); ++i) {
    auto& p = per[truth[i]];
    p.first += truth[i] == predicted[i];
    ++p.second;
  }
  double sum = 0;
  for (const auto& [label, p] : per) sum += static_cast<double>(p.first) / p.second;
  return sum / static_cast<double>(per.size());
}

namespace {
void check_points(const Eigen::MatrixXd& points, std::size_t labels, const char* what) {
  if (static_cast<std::size_t>(points.rows()) != labels)
    throw Error(std::string("knn: ") + std::to_string(points.rows()) + " " + what + " but " + std::to_string(labels) +
                " labels");
  if (!points.allFinite()) throw Error(std::string("knn: ") + what + " contain non-finite coordinates");
}

// The majority label among the first kk entries of dist (sorted by distance, then index); a tie
// between labels goes to the tied label whose nearest member ranks first.
int vote(const std::vector<std::pair<double, Eigen::Index>>& dist, int kk, const std::vector<int>& labels) {
  std::map<int, std::pair<int, int>> votes;  // label → (count, rank of its nearest member)
  for (int r = 0; r < kk; ++r) {
    auto& v = votes.try_emplace(labels[dist[r].second], 0, r).first->second;
    ++v.first;
  }
  int best = 0, best_count = -1, best_rank = std::numeric_limits<int>::max();
  for (const auto& [label, v] : votes)
    if (v.first > best_count || (v.first == best_count && v.second < best_rank)) {
      best = label;
      best_count = v.first;
      best_rank = v.second;
    }
  return best;
}
}  // namespace

std::vector<int> knn_predict_loo(const Eigen::MatrixXd& points, const std::vector<int>& labels, int k) {
  const Eigen::Index n = points.rows();
  if (static_cast<std::size_t>(n) != labels.size())
    throw Error("knn: " + std::to_string(n) + " points but " + std::to_string(labels.size()) + " labels");
  if (n < 2) throw Error("knn: need at least 2 points, got " + std::to_string(n));
  if (k < 1) throw Error("knn: k must be >= 1, got " + std::to_string(k));
  check_points(points, labels.size(), "points");
  const int kk = static_cast<int>(std::min<Eigen::Index>(k, n - 1));
  std::vector<std::pair<double, Eigen::Index>> dist(static_cast<std::size_t>(n - 1));
  std::vector<int> predicted(static_cast<std::size_t>(n));
  for (Eigen::Index i = 0; i < n; ++i) {
    std::size_t m = 0;
    for (Eigen::Index j = 0; j < n; ++j)
      if (j != i) dist[m++] = {(points.row(j) - points.row(i)).squaredNorm(), j};
    std::partial_sort(dist.begin(), dist.begin() + kk, dist.end());
    predicted[i] = vote(dist, kk, labels);
  }
  return predicted;
}

std::vector<int> knn_predict(const Eigen::MatrixXd& reference, const std::vector<int>& labels, const Eigen::MatrixXd& queries,
                             int k) {
  const Eigen::Index n = reference.rows();
  if (n < 1) throw Error("knn: need at least 1 reference point");
  if (k < 1) throw Error("knn: k must be >= 1, got " + std::to_string(k));
  check_points(reference, labels.size(), "reference points");
  if (queries.cols() != reference.cols())
    throw Error("knn: queries have " + std::to_string(queries.cols()) + " coordinates but reference points " +
                std::to_string(reference.cols()));
  if (!queries.allFinite()) throw Error("knn: queries contain non-finite coordinates");
  const int kk = static_cast<int>(std::min<Eigen::Index>(k, n));
  std::vector<std::pair<double, Eigen::Index>> dist(static_cast<std::size_t>(n));
  std::vector<int> predicted(static_cast<std::size_t>(queries.rows()));
  for (Eigen::Index i = 0; i < queries.rows(); ++i) {
    for (Eigen::Index j = 0; j < n; ++j) dist[j] = {(reference.row(j) - queries.row(i)).squaredNorm(), j};
    std::partial_sort(dist.begin(), dist.begin() + kk, dist.end());
    predicted[i] = vote(dist, kk, labels);
  }
  return predicted;
}

double majority_fraction(const std::vector<int>& labels) {
  if (labels.empty()) return std::nan("");
  std::map<int, int> count;
  for (int l : labels) ++count[l];
  int best = 0;
  for (const auto& [l, c] : count) best = std::max(best, c);
  return static_cast<double>(best) / static_cast<double>(labels.size());
}

double r_squared(const std::vector<double>& truth, const std::vector<double>& predicted) {
  if (truth.size() != predicted.size())
    throw Error("r_squared: " + std::to_string(truth.size()) + " true values but " + std::to_string(predicted.size()) +
                " predictions");
  if (truth.empty()) return std::nan("");
  const double mean = std::accumulate(truth.begin(), truth.end(), 0.0) / static_cast<double>(truth.size());
  double ss_res = 0, ss_tot = 0;
  for (std::size_t i = 0; i < truth.size(); ++i) {
    ss_res += (truth[i] - predicted[i]) * (truth[i] - predicted[i]);
    ss_tot += (truth[i] - mean) * (truth[i] - mean);
  }
  return ss_tot > 0 ? 1.0 - ss_res / ss_tot : std::nan("");
}

double normalised_rmse(const Eigen::MatrixXd& truth, const Eigen::MatrixXd& predicted) {
  if (truth.rows() != predicted.rows() || truth.cols() != predicted.cols())
    throw Error("normalised_rmse: truth is " + std::to_string(truth.rows()) + "×" + std::to_string(truth.cols()) +
                " but predictions are " + std::to_string(predicted.rows()) + "×" + std::to_string(predicted.cols()));
  if (truth.size() == 0) return std::nan("");
  const double span = truth.maxCoeff() - truth.minCoeff();
  if (!(span > 0)) return std::nan("");
  const double rmse = std::sqrt((predicted - truth).squaredNorm() / static_cast<double>(truth.size()));
  return rmse / span;
}

}  // namespace sdm::engine::analysis
