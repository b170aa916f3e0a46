#pragma once
// Benchmark metrics of one campaign, computed from its step records and the ground truth of
// the film (or recorded grid) it ran on. Every per-step metric is a series over the number of
// measurements n = 1..N (index n − 1); tables read it at the scenario's budgets.
//
// Ground truth per candidate (FilmTruth, once per film; bench/ground_truth.hpp builds it):
//   target_i     the scenario's scalarizer ([metrics] scalarizer) of the noiseless sweep at
//                candidate i's centre pixel (the campaign's own waveform);
//   loop_area_i  ∫|I_up − I_down| dV of the same sweep (hysteresis classes);
//   motif_i      motif label at the centre pixel (twin only);
//   cluster_i    k-means cluster (k = patch_clusters) of candidate i's patch.
// Truth at a measurement (PointTruth) is read at the pixel the tip actually *landed* on (the
// twin's drift moves it away from the requested candidate); patch coverage uses the
// candidate the strategy chose (what it asked to see).
//
// Per-step metrics after n measurements:
//   motif_classes        distinct motif labels among the n landed pixels (0..4)
//   target_coverage      of the non-empty bins of a target_bins-bin histogram of target_i over
//                        all candidates, the fraction hit by the landed pixels' true target
//   patch_coverage       fraction of the patch_clusters k-means clusters holding a chosen candidate
//   diversity            mean over pairs i < j of d_ij = sqrt(mean_k ((I_i,k − I_j,k)/I_ref)²),
//                        the RMS distance of the *measured* curves in units of I_ref, the 99th
//                        percentile of max|I| of the film's ground-truth curves (fixed per film, so
//                        strategies compare on one scale); NaN for n < 2
//   hysteresis_classes   distinct loop-area classes among the landed pixels; the classes cut the
//                        film's loop_area_i at its hysteresis_quantiles (default 50 / 90 / 99 %:
//                        low, moderate, high, extreme = top 1 %)
//   model_rmse, model_nlpd   see bench/model_error.hpp (NaN where not evaluated)
//   instrument_time_s    instrument clock after the n-th measurement, s
//   decision_latency_s   mean decision latency of the strategy-phase steps among the first n, s
//                        (NaN while only initial-design points were measured)
// Campaign-level metrics:
//   first_<motif>        1-based measurement count at which the motif was first landed on;
//                        when never found, N + 1 (censored; `found_<motif>` says 0)
//   vae_knn_accuracy, vae_im2spec_nrmse   dual-VAE metrics (bench/vae_metrics.hpp), when run
#include <cstdint>
#include <limits>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "bench/metrics_config.hpp"
#include "engine/campaign/record.hpp"

namespace sdm::bench {

inline constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

/// One metric as the tables and plots show it.
struct MetricInfo {
  std::string name;         ///< key in CampaignMetrics (series or scalar)
  std::string label;        ///< axis / table label
  std::string unit;         ///< "" when dimensionless
  bool higher_is_better = true;
  bool per_step = true;     ///< a series over measurements (else one campaign-level value)
  std::string description;  ///< one sentence for the report
};
/// Every metric the harness can produce, in report order (motif metrics first).
const std::vector<MetricInfo>& metric_catalogue();
const MetricInfo* find_metric(const std::string& name);

/// Ground truth of one film (or recorded grid) over its candidate grid.
struct FilmTruth {
  bool has_motifs = false;                 ///< false for replay datasets (no motif labels)
  std::vector<std::string> motif_names;    ///< label names, index = label
  std::vector<double> motif_fraction;      ///< fraction of candidate centres per label
  std::vector<double> target;              ///< true scalarizer per candidate
  std::string target_name, target_unit;
  double target_mean = 0, target_sd = 0;   ///< over candidates (sd: sample, n − 1)
  std::vector<double> loop_area;           ///< true loop area per candidate, W
  std::vector<int> motif;                  ///< label per candidate centre (−1 without labels)
  std::vector<double> hysteresis_edges;    ///< loop-area class edges (ascending); class = #edges ≤ value
  int hysteresis_classes_present = 0;      ///< classes holding at least one candidate
  double curve_scale_a = 1;                ///< I_ref of the diversity metric, A
  std::vector<int> patch_cluster;          ///< cluster per candidate
  int patch_clusters = 0;
  int target_bins = 100;

  std::size_t size() const { return target.size(); }
  /// Hysteresis class of a loop area.
  int hysteresis_class(double loop_area_w) const;
};

/// Ground truth at the pixel one measurement landed on.
struct PointTruth {
  int motif = -1;        ///< −1 without labels
  double target = kNaN;
  double loop_area = kNaN;
  double x_m = kNaN, y_m = kNaN;  ///< the landed position (film frame), m
};

/// Metrics of one campaign (also the content of its metrics.json).
struct CampaignMetrics {
  std::string strategy;                            ///< the strategy's label
  std::uint64_t seed = 0;
  std::string end;                                 ///< how the campaign ended (CampaignEnd name)
  int measurements = 0;
  double wall_s = 0;                               ///< campaign wall time (metrics excluded)
  double metrics_wall_s = 0;                       ///< time spent computing metrics
  std::map<std::string, std::vector<double>> series;  ///< per-step metrics, size = measurements
  std::map<std::string, double> scalars;           ///< campaign-level metrics
  std::vector<double> step_latency_s;              ///< raw decision latency of each step
  std::vector<std::string> phase;                  ///< "initial" / "strategy" per step
  // The acquisition path, for plots.
  std::vector<int> candidate;
  std::vector<double> x_requested_m, y_requested_m, x_landed_m, y_landed_m;
  std::vector<int> landed_motif;
  std::vector<std::string> notes;                  ///< e.g. metrics skipped and why

  /// Value of `metric` after n measurements (series) or the scalar; NaN when absent.
  double at(const std::string& metric, int n) const;
  nlohmann::json to_json() const;
  static CampaignMetrics from_json(const nlohmann::json& j);
};

/// Every per-step and campaign-level metric that needs only records + truth (not model error or
/// VAE). `landed` has one entry per step. `steps` curves are the measured ones.
/// Throws sdm::Error on inconsistent sizes or candidate indices outside the truth.
CampaignMetrics compute_campaign_metrics(const std::vector<engine::campaign::StepRecord>& steps,
                                         const std::vector<PointTruth>& landed, const FilmTruth& truth,
                                         const MetricsConfig& config);

/// Mean pairwise RMS distance of curves (each scaled by 1/scale), for n = 1..N, incrementally.
/// Curves of different length are linearly resampled to the first curve's length.
std::vector<double> mean_pairwise_distance_series(const std::vector<std::vector<double>>& curves, double scale);

/// Step counts at which model error is evaluated: multiples of `every`, every budget ≤ n, and n.
std::vector<int> model_error_steps(int measurements, int every, const std::vector<int>& budgets, int min_points);

}  // namespace sdm::bench
