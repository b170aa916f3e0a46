#include "engine/acquisition/selection.hpp"

#include <cassert>
#include <cmath>
#include <limits>

namespace sdm::engine::acquisition {

int argmax_unmeasured(const std::vector<double>& scores, const std::vector<char>& is_measured) {
  assert(scores.size() == is_measured.size());
  int best = -1;
  double best_score = -std::numeric_limits<double>::infinity();
  for (size_t i = 0; i < scores.size(); ++i) {
    if (is_measured[i]) continue;
    const double s = std::isnan(scores[i]) ? -std::numeric_limits<double>::infinity() : scores[i];
    if (best < 0 || s > best_score) {  // strict: an equal later score never replaces the earlier index
      best = static_cast<int>(i);
      best_score = s;
    }
  }
  return best;
}

std::vector<int> unmeasured_candidates(const std::vector<char>& is_measured) {
  std::vector<int> out;
  for (size_t i = 0; i < is_measured.size(); ++i)
    if (!is_measured[i]) out.push_back(static_cast<int>(i));
  return out;
}

int first_unmeasured(const std::vector<int>& order, const std::vector<char>& is_measured) {
  for (int c : order)
    if (c >= 0 && static_cast<size_t>(c) < is_measured.size() && !is_measured[static_cast<size_t>(c)]) return c;
  for (size_t i = 0; i < is_measured.size(); ++i)
    if (!is_measured[i]) return static_cast<int>(i);
  return -1;
}

}  // namespace sdm::engine::acquisition
