#pragma once
// Axis tick placement and labelling shared by every sdm::viz panel and colour bar.
#include <string>
#include <vector>

namespace sdm::viz {

/// "Nice" linear ticks inside [lo, hi]: multiples of a step 1, 2 or 5 × 10^k chosen so that
/// about `target_count` ticks fall in the range (never fewer than 2 when lo < hi).
std::vector<double> nice_ticks(double lo, double hi, int target_count);

/// Ticks of a logarithmic axis over [lo, hi] (lo > 0): decades 10^k, every n-th decade when the
/// range spans many, or 1-2-5 × 10^k when it spans less than about two decades.
std::vector<double> log_ticks(double lo, double hi, int target_count);

/// Compact labels for one axis's linear ticks, all in one style: fixed-point with the decimals the
/// step needs (0.5 → "0.5", "1.0") when every |tick| lies in [1e-3, 1e5), otherwise scientific with
/// trailing zeros trimmed ("1e-10", "2.5e-10"); exact zero is "0".
std::vector<std::string> tick_labels(const std::vector<double>& ticks);

/// Labels for logarithmic-axis ticks: fixed ("0.01", "100") when all lie in [1e-3, 1e5), else "1e-10".
std::vector<std::string> log_tick_labels(const std::vector<double>& ticks);

}  // namespace sdm::viz
