#pragma once
// Private: loss-plateau detection shared by ExactGp::optimise and Dkl::fit.
#include <algorithm>
#include <cmath>

namespace sdm::engine::gp::detail {

/// Progress means the loss fell below the best so far by more than tol * max(1, |best|).
/// `observe` returns true once `patience` consecutive losses made no progress (patience 0: never).
class EarlyStopping {
 public:
  EarlyStopping(int patience, double tolerance) : patience_(patience), tolerance_(tolerance) {}
  bool observe(double loss) {
    improved_ = !seen_ || loss < best_ - tolerance_ * std::max(1.0, std::abs(best_));
    if (improved_) {
      seen_ = true;
      best_ = loss;
      since_ = 0;
      return false;
    }
    return patience_ > 0 && ++since_ >= patience_;
  }
  /// Whether the last observed loss counted as progress (it is then the new best).
  bool improved() const { return improved_; }
  double best() const { return best_; }

 private:
  int patience_;
  double tolerance_;
  bool seen_ = false;
  bool improved_ = false;
  double best_ = 0;
  int since_ = 0;
};

}  // namespace sdm::engine::gp::detail
