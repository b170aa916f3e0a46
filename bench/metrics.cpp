#include "bench/metrics.hpp"

#include <algorithm>
#include <cmath>
#include <set>

#include "bench/stats/coverage.hpp"
#include "core/error.hpp"

namespace sdm::bench {

const std::vector<MetricInfo>& metric_catalogue() {
  static const std::vector<MetricInfo> c = {
      {"motif_classes", "motif classes measured", "", true, true,
       "distinct motif labels (interior, boundary, triple junction, asymmetric boundary) at the landed pixels"},
      {"first_asymmetric_boundary", "measurements to first asymmetric boundary", "", false, false,
       "1-based count of the measurement that first landed on an asymmetric boundary (N + 1 when never)"},
      {"first_triple_junction", "measurements to first triple junction", "", false, false,
       "1-based count of the measurement that first landed on a triple junction (N + 1 when never)"},
      {"first_grain_boundary", "measurements to first grain boundary", "", false, false,
       "1-based count of the measurement that first landed on a grain boundary (N + 1 when never)"},
      {"target_coverage", "target-space coverage", "", true, true,
       "fraction of the non-empty bins of the film's true-scalarizer histogram hit by the measured points"},
      {"patch_coverage", "patch-space coverage", "", true, true,
       "fraction of the k-means clusters of all candidate patches that hold a measured candidate"},
      {"model_rmse", "model RMSE / film sd", "", false, true,
       "RMSE of the evaluation DKL's prediction of the true scalarizer at every candidate, over the film's sd"},
      {"model_nlpd", "model NLPD (standardised)", "", false, true,
       "mean negative log predictive density of the true scalarizer at every candidate, standardised units"},
      {"diversity", "I-V diversity (mean pairwise RMS / I_ref)", "", true, true,
       "mean pairwise RMS distance of the measured curves, in units of the film's 99th-percentile peak current"},
      {"hysteresis_classes", "hysteresis classes found", "", true, true,
       "distinct loop-area classes (film quantiles 50/90/99 %) among the measured points"},
      {"instrument_time_s", "instrument time", "s", false, true, "instrument clock after the measurement"},
      {"decision_latency_s", "mean decision latency", "s", false, true,
       "mean wall time per strategy decision (initial-design points excluded)"},
      {"vae_knn_accuracy", "VAE motif separability (balanced kNN accuracy)", "", true, false,
       "balanced leave-one-out kNN accuracy of motif labels in the dual VAE's joint latent of the film's candidates "
       "(mean over motifs of the fraction classified right: chance is 1/4 with four motifs)"},
      {"vae_im2spec_nrmse", "VAE im2spec error (NRMSE)", "", false, false,
       "RMSE of I-V curves predicted from patches by the dual VAE, over the span of the true currents"},
  };
  return c;
}

const MetricInfo* find_metric(const std::string& name) {
  for (const MetricInfo& m : metric_catalogue())
    if (m.name == name) return &m;
  return nullptr;
}

int FilmTruth::hysteresis_class(double v) const {
  int c = 0;
  for (double e : hysteresis_edges)
    if (v >= e) ++c;
  return c;
}

double CampaignMetrics::at(const std::string& metric, int n) const {
  if (auto s = scalars.find(metric); s != scalars.end()) return s->second;
  auto it = series.find(metric);
  if (it == series.end() || n < 1 || n > int(it->second.size())) return kNaN;
  return it->second[std::size_t(n - 1)];
}

namespace {
// JSON has no NaN: store it as null.
nlohmann::json num(double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr); }
double num(const nlohmann::json& j) { return j.is_number() ? j.get<double>() : kNaN; }
nlohmann::json nums(const std::vector<double>& v) {
  nlohmann::json a = nlohmann::json::array();
  for (double x : v) a.push_back(num(x));
  return a;
}
std::vector<double> nums(const nlohmann::json& j) {
  std::vector<double> v;
  for (const auto& x : j) v.push_back(num(x));
  return v;
}
}  // namespace

nlohmann::json CampaignMetrics::to_json() const {
  nlohmann::json j;
  j["strategy"] = strategy;
  j["seed"] = seed;
  j["end"] = end;
  j["measurements"] = measurements;
  j["wall_s"] = wall_s;
  j["metrics_wall_s"] = metrics_wall_s;
  for (const auto& [k, v] : series) j["series"][k] = nums(v);
  for (const auto& [k, v] : scalars) j["scalars"][k] = num(v);
  j["step_latency_s"] = nums(step_latency_s);
  j["phase"] = phase;
  j["path"] = {{"candidate", candidate},
               {"x_requested_m", nums(x_requested_m)},
               {"y_requested_m", nums(y_requested_m)},
               {"x_landed_m", nums(x_landed_m)},
               {"y_landed_m", nums(y_landed_m)},
               {"landed_motif", landed_motif}};
  j["notes"] = notes;
  return j;
}

CampaignMetrics CampaignMetrics::from_json(const nlohmann::json& j) {
  CampaignMetrics m;
  try {
    m.strategy = j.at("strategy").get<std::string>();
    m.seed = j.at("seed").get<std::uint64_t>();
    m.end = j.at("end").get<std::string>();
    m.measurements = j.at("measurements").get<int>();
    m.wall_s = num(j.value("wall_s", nlohmann::json()));
    m.metrics_wall_s = num(j.value("metrics_wall_s", nlohmann::json()));
    if (j.contains("series"))
      for (auto it = j["series"].begin(); it != j["series"].end(); ++it) m.series[it.key()] = nums(it.value());
    if (j.contains("scalars"))
      for (auto it = j["scalars"].begin(); it != j["scalars"].end(); ++it) m.scalars[it.key()] = num(it.value());
    m.step_latency_s = nums(j.at("step_latency_s"));
    m.phase = j.at("phase").get<std::vector<std::string>>();
    const auto& p = j.at("path");
    m.candidate = p.at("candidate").get<std::vector<int>>();
    m.x_requested_m = nums(p.at("x_requested_m"));
    m.y_requested_m = nums(p.at("y_requested_m"));
    m.x_landed_m = nums(p.at("x_landed_m"));
    m.y_landed_m = nums(p.at("y_landed_m"));
    m.landed_motif = p.at("landed_motif").get<std::vector<int>>();
    m.notes = j.value("notes", std::vector<std::string>{});
  } catch (const nlohmann::json::exception& e) {
    throw Error(std::string("campaign metrics JSON is incomplete or malformed: ") + e.what());
  }
  for (const auto& [k, v] : m.series)
    if (int(v.size()) != m.measurements)
      throw Error("campaign metrics JSON: series '" + k + "' has " + std::to_string(v.size()) + " values for " +
                  std::to_string(m.measurements) + " measurements");
  return m;
}

std::vector<double> mean_pairwise_distance_series(const std::vector<std::vector<double>>& curves, double scale) {
  const std::size_t n = curves.size();
  std::vector<double> out(n, kNaN);
  if (n == 0) return out;
  if (!(scale > 0) || !std::isfinite(scale)) throw Error("curve diversity: scale must be positive and finite");
  const std::size_t len = curves[0].size();
  if (len == 0) throw Error("curve diversity: empty curve");
  // Resample every curve linearly (uniform along the sweep) to the first curve's length, scaled.
  std::vector<std::vector<double>> c(n, std::vector<double>(len));
  for (std::size_t i = 0; i < n; ++i) {
    const std::vector<double>& src = curves[i];
    if (src.empty()) throw Error("curve diversity: curve " + std::to_string(i) + " is empty");
    for (std::size_t k = 0; k < len; ++k) {
      double v;
      if (src.size() == len) v = src[k];
      else if (src.size() == 1 || len == 1) v = src[0];
      else {
        const double t = double(k) * double(src.size() - 1) / double(len - 1);
        const std::size_t a = std::min(src.size() - 2, std::size_t(t));
        v = src[a] + (t - double(a)) * (src[a + 1] - src[a]);
      }
      c[i][k] = v / scale;
    }
  }
  double sum = 0;
  for (std::size_t j = 0; j < n; ++j) {
    for (std::size_t i = 0; i < j; ++i) {
      double s2 = 0;
      for (std::size_t k = 0; k < len; ++k) {
        const double d = c[i][k] - c[j][k];
        s2 += d * d;
      }
      sum += std::sqrt(s2 / double(len));
    }
    if (j >= 1) out[j] = sum / (double(j + 1) * double(j) / 2.0);
  }
  return out;
}

std::vector<int> model_error_steps(int measurements, int every, const std::vector<int>& budgets, int min_points) {
  std::set<int> s;
  if (every > 0)
    for (int n = every; n <= measurements; n += every) s.insert(n);
  for (int b : budgets)
    if (b <= measurements) s.insert(b);
  if (measurements > 0) s.insert(measurements);
  std::vector<int> out;
  for (int n : s)
    if (n >= min_points) out.push_back(n);
  return out;
}

CampaignMetrics compute_campaign_metrics(const std::vector<engine::campaign::StepRecord>& steps,
                                         const std::vector<PointTruth>& landed, const FilmTruth& truth,
                                         const MetricsConfig& config) {
  const int n = int(steps.size());
  if (landed.size() != steps.size())
    throw Error("campaign metrics: " + std::to_string(landed.size()) + " landing truths for " + std::to_string(n) + " steps");
  if (truth.size() == 0) throw Error("campaign metrics: the ground truth has no candidates");
  if (truth.patch_cluster.size() != truth.size() || truth.loop_area.size() != truth.size())
    throw Error("campaign metrics: ground-truth arrays differ in size");
  CampaignMetrics m;
  m.measurements = n;
  for (int i = 0; i < n; ++i) {
    const auto& s = steps[std::size_t(i)];
    if (s.candidate < 0 || std::size_t(s.candidate) >= truth.size())
      throw Error("campaign metrics: step " + std::to_string(i) + " has candidate " + std::to_string(s.candidate) +
                  " outside the " + std::to_string(truth.size()) + " candidates");
  }

  auto& motif_classes = m.series["motif_classes"];
  auto& target_cov = m.series["target_coverage"];
  auto& patch_cov = m.series["patch_coverage"];
  auto& hyst = m.series["hysteresis_classes"];
  auto& clock = m.series["instrument_time_s"];
  auto& latency = m.series["decision_latency_s"];
  for (auto* v : {&motif_classes, &target_cov, &patch_cov, &hyst, &clock, &latency}) v->assign(std::size_t(n), kNaN);

  const stats::Histogram hist = stats::histogram(truth.target, truth.target_bins);
  int occupied = 0;
  for (long c : hist.counts) occupied += c > 0;
  std::vector<char> bin_hit(hist.counts.size(), 0), cluster_hit(std::size_t(std::max(1, truth.patch_clusters)), 0);
  std::vector<char> motif_hit(truth.motif_names.size(), 0), class_hit(truth.hysteresis_edges.size() + 1, 0);
  std::vector<int> first(truth.motif_names.size(), 0);
  int bins_hit = 0, clusters_hit = 0, motifs_hit = 0, classes_hit = 0, strategy_steps = 0;
  double latency_sum = 0;
  std::vector<std::vector<double>> curves;
  curves.reserve(std::size_t(n));

  for (int i = 0; i < n; ++i) {
    const auto& s = steps[std::size_t(i)];
    const PointTruth& p = landed[std::size_t(i)];
    const std::size_t k = std::size_t(i);
    if (truth.has_motifs && p.motif >= 0 && std::size_t(p.motif) < motif_hit.size() && !motif_hit[std::size_t(p.motif)]) {
      motif_hit[std::size_t(p.motif)] = 1;
      first[std::size_t(p.motif)] = i + 1;
      ++motifs_hit;
    }
    if (truth.has_motifs) motif_classes[k] = motifs_hit;
    if (std::isfinite(p.target)) {
      const int b = hist.bin(p.target);
      if (b >= 0 && hist.counts[std::size_t(b)] > 0 && !bin_hit[std::size_t(b)]) {
        bin_hit[std::size_t(b)] = 1;
        ++bins_hit;
      }
    }
    target_cov[k] = double(bins_hit) / double(occupied);
    const int cl = truth.patch_cluster[std::size_t(s.candidate)];
    if (cl >= 0 && cl < int(cluster_hit.size()) && !cluster_hit[std::size_t(cl)]) {
      cluster_hit[std::size_t(cl)] = 1;
      ++clusters_hit;
    }
    patch_cov[k] = double(clusters_hit) / double(truth.patch_clusters);
    if (std::isfinite(p.loop_area)) {
      const int c = truth.hysteresis_class(p.loop_area);
      if (!class_hit[std::size_t(c)]) {
        class_hit[std::size_t(c)] = 1;
        ++classes_hit;
      }
    }
    hyst[k] = classes_hit;
    clock[k] = s.instrument_clock_s;
    if (s.phase != "initial") {
      ++strategy_steps;
      latency_sum += s.decision_latency_s;
    }
    latency[k] = strategy_steps ? latency_sum / strategy_steps : kNaN;
    m.step_latency_s.push_back(s.decision_latency_s);
    m.phase.push_back(s.phase);
    m.candidate.push_back(s.candidate);
    m.x_requested_m.push_back(s.x_requested_m);
    m.y_requested_m.push_back(s.y_requested_m);
    m.x_landed_m.push_back(std::isfinite(p.x_m) ? p.x_m : s.x_reached_m);
    m.y_landed_m.push_back(std::isfinite(p.y_m) ? p.y_m : s.y_reached_m);
    m.landed_motif.push_back(p.motif);
    curves.push_back(s.curve.current_a);
  }
  if (!truth.has_motifs) {
    m.series.erase("motif_classes");
    m.notes.push_back("no motif labels in this ground truth (recorded dataset): motif metrics skipped");
  } else {
    for (std::size_t mo = 0; mo < first.size(); ++mo) {
      m.scalars["first_" + truth.motif_names[mo]] = first[mo] > 0 ? first[mo] : n + 1;
      m.scalars["found_" + truth.motif_names[mo]] = first[mo] > 0 ? 1 : 0;
    }
  }
  if (n > 0) m.series["diversity"] = mean_pairwise_distance_series(curves, truth.curve_scale_a);
  else m.series["diversity"] = {};
  (void)config;
  return m;
}

}  // namespace sdm::bench
