#pragma once
// CI regression against a committed baseline (results/baselines/<scenario>.json).
//
// A baseline holds, per strategy, metric and budget, the seed mean of the metric (and the
// per-seed values, for diagnosis), plus one tolerance per metric: a value passes when
//   |current − baseline| ≤ abs + rel·|baseline|
// (both NaN passes; one NaN does not). Any move beyond the tolerance fails, improvements too:
// the check detects change, and `sdm regress --update` accepts a deliberate one by rewriting
// the values (tolerances and their reasons are kept). Metrics that measure this machine rather
// than the algorithm (decision latency, wall times) are never compared.
//
// File layout (JSON):
//   {"scenario": "ci", "about": "...", "written": ISO time, "build": {...},
//    "tolerances": {"<metric>": {"abs": a, "rel": r, "why": "..."}},
//    "values": {"<strategy>": {"<metric>": {"<budget>": {"mean": m, "seeds": [..]}}}}}
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "bench/summary.hpp"

namespace sdm::bench {

struct Tolerance {
  double abs = 0;
  double rel = 0;
  std::string why;
  double allowed(double baseline) const;
};

struct BaselineValue {
  double mean = kNaN;
  std::vector<double> seeds;
};

struct Baseline {
  std::string scenario;
  std::string about;
  nlohmann::json build;
  std::string written;
  std::map<std::string, Tolerance> tolerances;
  /// values[strategy][metric][budget]
  std::map<std::string, std::map<std::string, std::map<int, BaselineValue>>> values;
};

/// Metrics never compared (they time this machine, not the algorithm).
bool excluded_from_regression(const std::string& metric);

/// The tolerances a new baseline starts with (see results/baselines/README.md for the reasons).
std::map<std::string, Tolerance> default_tolerances();

/// The seed means of a summary as baseline values (excluded metrics left out).
Baseline baseline_from_summary(const Summary& summary, const std::map<std::string, Tolerance>& tolerances);

Baseline read_baseline(const std::filesystem::path& file);   ///< throws sdm::Error naming the file
nlohmann::json baseline_json(const Baseline& baseline);
void write_baseline(const std::filesystem::path& file, const Baseline& baseline);

/// One compared value.
struct Deviation {
  std::string strategy, metric;
  int budget = 0;
  double baseline = kNaN, current = kNaN;
  double change = kNaN;      ///< current − baseline
  double tolerance = kNaN;   ///< allowed |change|
  bool beyond = false;       ///< outside the tolerance (or missing)
  std::string status;        ///< "ok", "moved (within tolerance)", "REGRESSED (worse)", "CHANGED (better)", "MISSING", "NEW"
};

struct RegressionReport {
  std::string scenario;
  int compared = 0;          ///< baseline values looked up
  int moved = 0;             ///< changed at all
  int beyond = 0;            ///< outside tolerance or missing
  int added = 0;             ///< in the current run but not in the baseline (not a failure)
  std::vector<Deviation> rows;  ///< every value that moved, missing or new, worst first
  bool passed() const { return beyond == 0; }
};

/// Compares `current` against `baseline` with the baseline's tolerances (a metric without its own
/// tolerance uses the "default" entry, or exact comparison when there is none).
RegressionReport compare_to_baseline(const Baseline& baseline, const Baseline& current);

/// The readable table: what moved, by how much, and the tolerance; `max_within` caps the rows
/// shown that moved but stayed within tolerance.
std::string format_regression(const RegressionReport& report, int max_within = 25);

}  // namespace sdm::bench
