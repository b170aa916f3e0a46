#pragma once
// CI regression against a committed baseline (results/baselines/<scenario>.json).
//
// A baseline holds, per strategy, metric and budget, the seed mean of the metric (and the
// per-seed values, for diagnosis), plus tolerances: a value passes when
//   |current − baseline| ≤ abs + rel·|baseline|
// (both NaN passes; one NaN does not). Any move beyond the tolerance fails, improvements too:
// the check detects change, and `sdm regress --update` accepts a deliberate one by rewriting
// the values (tolerances and their reasons are kept). Metrics that measure this machine rather
// than the algorithm (decision latency, wall times) are never compared.
//
// Two regimes, chosen by comparing the platform the baseline was recorded on (CPU model,
// OpenBLAS kernel, libtorch, libc) with the current one:
//   same platform   the run is deterministic, so any change of code shows: tolerances are
//                   rounding-level ("same_platform");
//   other platform  a different BLAS kernel changes the DKL's last bits, which flips argmax
//                   decisions of model-driven strategies and sends their campaigns down other
//                   paths; their tolerances ("model_driven/<metric>") are sized from measured
//                   kernel swaps, while model-free strategies stay exact except for the
//                   evaluation DKL's model error ("other_platform").
// Lookup: same platform: same_platform[metric], else same_platform["*"]; other platform: a
// model-driven strategy tries other_platform["model_driven/<metric>"] first, then everyone
// other_platform[metric], then other_platform["*"]; none found: exact.
//
// File layout (JSON):
//   {"scenario": "ci", "about": "...", "written": ISO time, "build": {...}, "platform": {...},
//    "model_driven": ["dn_dkl", ...],
//    "tolerances": {"same_platform": {"*": {"abs": a, "rel": r, "why": "..."}},
//                   "other_platform": {"<metric>" | "model_driven/<metric>" | "*": {...}}},
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

struct Tolerances {
  std::map<std::string, Tolerance> same_platform;
  std::map<std::string, Tolerance> other_platform;
};

struct Baseline {
  std::string scenario;
  std::string about;
  nlohmann::json build;
  nlohmann::json platform;
  std::string written;
  std::vector<std::string> model_driven;   ///< strategy labels whose decisions depend on a DKL
  Tolerances tolerances;
  /// values[strategy][metric][budget]
  std::map<std::string, std::map<std::string, std::map<int, BaselineValue>>> values;
};

/// Metrics never compared (they time this machine, not the algorithm).
bool excluded_from_regression(const std::string& metric);

/// The tolerances a new baseline starts with (see results/baselines/README.md for the reasons).
Tolerances default_tolerances();

/// Strategy names whose decisions depend on a DKL surrogate (dn_dkl, ucb, ei, max_variance,
/// spectral_novelty, beacon): on another BLAS kernel their campaigns take other paths.
bool model_driven_strategy(const std::string& name);

/// What the regime choice compares: CPU model, OpenBLAS kernel, libtorch and libc versions.
nlohmann::json current_platform();

/// The seed means of a summary as baseline values (excluded metrics left out).
Baseline baseline_from_summary(const Summary& summary, const Tolerances& tolerances,
                               const std::vector<std::string>& model_driven_labels);

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
  bool same_platform = true;  ///< which tolerance regime was used
  int compared = 0;          ///< baseline values looked up
  int moved = 0;             ///< changed at all
  int beyond = 0;            ///< outside tolerance or missing
  int added = 0;             ///< in the current run but not in the baseline (not a failure)
  std::vector<Deviation> rows;  ///< every value that moved, missing or new, worst first
  bool passed() const { return beyond == 0; }
};

/// Compares `current` against `baseline` with the baseline's tolerances of the regime.
RegressionReport compare_to_baseline(const Baseline& baseline, const Baseline& current, bool same_platform);
/// The regime: whether the baseline's platform equals `platform`.
bool same_platform(const Baseline& baseline, const nlohmann::json& platform);

/// The readable table: what moved, by how much, and the tolerance; `max_within` caps the rows
/// shown that moved but stayed within tolerance.
std::string format_regression(const RegressionReport& report, int max_within = 25);

}  // namespace sdm::bench
