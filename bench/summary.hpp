#pragma once
// Aggregation of a benchmark: per strategy, the mean and 95 % Student-t confidence interval of
// every metric across seeds at each budget, paired Wilcoxon signed-rank tests between
// strategies (pairs = the same seed, hence the same film), the per-metric winners, and the
// curves the plots draw (against measurements and against instrument time).
//
// Budgets: the scenario's [metrics] budgets not above the campaign budget, plus the campaign
// budget itself. A campaign that stopped before a budget has no value there (n counts the
// seeds that do). Campaign-level metrics (first_<motif>, vae_*) are reported at the campaign
// budget only.
//
// Honesty notes the report repeats: with n paired seeds the smallest two-sided exact Wilcoxon
// p is 2/2^n (0.25 for 3 seeds, 0.0625 for 5), so small seed counts cannot show significance at
// 0.05 however large the difference; "best" below means the best mean, nothing more.
#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "bench/metrics.hpp"
#include "bench/stats/confidence.hpp"
#include "bench/stats/wilcoxon.hpp"

namespace sdm::bench {

/// One (strategy, metric, budget) cell.
struct SummaryCell {
  std::vector<double> values;  ///< per seed (Summary::seeds order); NaN where undefined
  stats::MeanCi ci;            ///< over the finite values (n = 0: all NaN)
};

/// A paired comparison of strategies a and b on one metric at one budget.
struct Comparison {
  std::string metric;
  int budget = 0;
  std::string a, b;
  int pairs = 0;                 ///< seeds where both are defined
  double mean_a = kNaN, mean_b = kNaN;
  double mean_difference = kNaN; ///< mean over pairs of a − b
  stats::WilcoxonResult test;    ///< exact for ≤ 25 nonzero differences
  double min_p = kNaN;           ///< the smallest two-sided exact p possible with `pairs` pairs: 2/2^pairs
};

/// The best strategy of one metric at the campaign budget.
struct Winner {
  std::string metric;
  int budget = 0;
  std::vector<std::string> best;   ///< best mean (several when tied)
  double best_mean = kNaN;
  std::string runner_up;
  double runner_up_mean = kNaN;
  double p_vs_runner_up = kNaN;    ///< Wilcoxon p of the best against the runner-up
  int reference_rank = 0;          ///< 1-based rank of the reference strategy (0: not ranked)
  std::vector<std::string> reference_beats, reference_loses_to;  ///< by mean
};

/// Mean and CI of a metric over seeds on a common x grid (measurements or instrument time).
struct Curve {
  std::vector<double> x, mean, lower, upper;
  int seeds = 0;
};

struct Summary {
  std::string scenario, description;
  std::vector<std::string> strategies;   ///< labels, scenario order
  std::string reference;                 ///< the strategy others are compared with (dn_dkl when present)
  std::vector<std::uint64_t> seeds;
  std::vector<int> budgets;              ///< ascending; the last is the campaign budget
  int campaign_budget = 0;
  std::vector<std::string> metrics;      ///< metrics present, catalogue order
  /// cells[strategy][metric][budget]
  std::map<std::string, std::map<std::string, std::map<int, SummaryCell>>> cells;
  std::vector<Comparison> comparisons;   ///< every pair of strategies, metric, budget
  std::vector<Winner> winners;           ///< one per metric, at the campaign budget
  std::map<std::string, int> campaigns;  ///< per strategy: campaigns with metrics
  std::vector<std::string> failures;     ///< "label seed s: message" of campaigns without metrics
  std::vector<std::string> notes;

  const SummaryCell* cell(const std::string& strategy, const std::string& metric, int budget) const;
  const Comparison* comparison(const std::string& metric, int budget, const std::string& a, const std::string& b) const;
  /// Budgets at which `metric` is tabulated.
  std::vector<int> budgets_of(const std::string& metric) const;
};

/// Aggregates campaigns. `strategies` and `seeds` fix the order (campaigns of other labels or
/// seeds are ignored); `reference` must be one of the strategies.
Summary summarise(const std::vector<CampaignMetrics>& campaigns, const std::vector<std::string>& strategies,
                  const std::vector<std::uint64_t>& seeds, const std::vector<int>& budgets, int campaign_budget,
                  const std::string& reference);

/// Curve of a per-step metric against the number of measurements: at each n where every seed
/// that reached n has a finite value (and at least one seed did).
Curve curve_vs_measurements(const std::vector<const CampaignMetrics*>& seeds, const std::string& metric);
/// Against instrument time on `points` grid points over the interval every seed covers: each
/// seed's value at t is the metric after its last measurement with clock ≤ t.
Curve curve_vs_time(const std::vector<const CampaignMetrics*>& seeds, const std::string& metric, int points = 120);
/// Fraction of seeds that have landed on `motif` within n measurements, n = 1..max.
Curve discovery_curve(const std::vector<const CampaignMetrics*>& seeds, int motif);

/// A rendered table (cells as text), shared by summary.md and report.html.
struct Table {
  std::string id;       ///< anchor, e.g. "verdict", "metric-target_coverage"
  std::string title;
  std::string caption;
  std::vector<std::string> header;
  std::vector<std::vector<std::string>> rows;
};

/// The report's tables in order: verdict, one per per-step metric (rows strategies, columns
/// budgets, "mean [lo, hi]"), campaign-level metrics, paired comparisons with the reference.
std::vector<Table> summary_tables(const Summary& s);
/// Plain sentences saying which strategy won which metric and where the reference does not beat
/// a baseline.
std::vector<std::string> verdict_sentences(const Summary& s);
/// The statistics caveat (p-value floor for this many seeds).
std::string statistics_note(const Summary& s);

/// summary.csv: strategy, metric, unit, budget, n, mean, sd, ci_low, ci_high, then the per-seed values.
std::string summary_csv(const Summary& s);
/// comparisons.csv: every paired comparison.
std::string comparisons_csv(const Summary& s);
/// summary.md: verdict, tables of mean [95 % CI] per budget, discovery table, comparisons with the reference.
std::string summary_markdown(const Summary& s);

/// Formats a value with 3 significant digits ("–" for NaN).
std::string format_value(double v);

}  // namespace sdm::bench
