#pragma once
// Metrics of a latent map against ground truth: motif separability (leave-one-out kNN),
// and cross-modal prediction errors (R² of a scalar, normalised RMSE of curves).
#include <vector>

#include <Eigen/Core>

namespace sdm::engine::analysis {

/// Leave-one-out k-nearest-neighbour accuracy of `labels` from the rows of `points`
/// (Euclidean). Each point is classified by the majority label of its k nearest other points;
/// a tie between labels goes to the tied label whose nearest member is closest. Equal
/// distances are ordered by row index. k is capped at n − 1. Throws sdm::Error for n < 2,
/// k < 1, a size mismatch or non-finite coordinates.
double knn_accuracy(const Eigen::MatrixXd& points, const std::vector<int>& labels, int k);

/// The leave-one-out kNN prediction of every point (same rules as knn_accuracy).
std::vector<int> knn_predict_loo(const Eigen::MatrixXd& points, const std::vector<int>& labels, int k);

/// k-nearest-neighbour prediction of each row of `queries` from labelled `reference` rows (same
/// rules as knn_accuracy; no point is left out, k is capped at the reference count). For scoring
/// a latent map on points it was not fitted on (another film, unmeasured pixels). Throws
/// sdm::Error for an empty reference, k < 1, mismatched sizes or non-finite coordinates.
std::vector<int> knn_predict(const Eigen::MatrixXd& reference, const std::vector<int>& labels, const Eigen::MatrixXd& queries,
                             int k);

/// Balanced accuracy: the mean over the labels present of the fraction of that label's points
/// predicted correctly (chance = 1 / number of labels, whatever the class sizes).
double balanced_accuracy(const std::vector<int>& truth, const std::vector<int>& predicted);

/// The accuracy of always guessing the most frequent label (the chance level of knn_accuracy).
double majority_fraction(const std::vector<int>& labels);

/// Coefficient of determination 1 − Σ(t − p)² / Σ(t − t̄)² (NaN when truth is constant or empty).
double r_squared(const std::vector<double>& truth, const std::vector<double>& predicted);

/// sqrt(mean over all entries (p − t)²) / (max t − min t): the RMSE of curves pooled over every
/// point of every row, relative to the span of the true values (NaN when that span is 0).
double normalised_rmse(const Eigen::MatrixXd& truth, const Eigen::MatrixXd& predicted);

}  // namespace sdm::engine::analysis
