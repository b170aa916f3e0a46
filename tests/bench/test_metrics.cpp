// Benchmark metrics against values worked out by hand: hand-made step records on hand-made
// ground truth (histogram bins, clusters, hysteresis classes, curves with closed-form
// distances) and on a small twin film whose motif labels are read directly from the film's
// label map; the model-error score against its closed form.
#include <gtest/gtest.h>

#include <cmath>
#include <numeric>

#include "bench/ground_truth.hpp"
#include "bench/metrics.hpp"
#include "bench/model_error.hpp"
#include "core/error.hpp"
#include "engine/patches/candidate_grid.hpp"
#include "engine/patches/patch_extraction.hpp"
#include "sim/film.hpp"

using namespace sdm::bench;
using sdm::engine::campaign::StepRecord;

namespace {
constexpr double kPi = 3.14159265358979323846;

StepRecord step(int i, int candidate, const std::string& phase = "strategy", std::vector<double> current = {0, 0}) {
  StepRecord s;
  s.step = i;
  s.phase = phase;
  s.candidate = candidate;
  s.curve.current_a = std::move(current);
  s.curve.bias_v.assign(s.curve.current_a.size(), 0.0);
  s.curve.time_s.assign(s.curve.current_a.size(), 0.0);
  s.instrument_clock_s = 10.0 * (i + 1);
  s.decision_latency_s = phase == "initial" ? 0.0 : 0.1 * (i + 1);
  return s;
}

// Hand-made truth: targets 0, 0, 1, 3, 9 on 10 bins over [0, 9]: occupied bins 0, 1, 3, 9.
FilmTruth hand_truth() {
  FilmTruth t;
  t.has_motifs = true;
  t.motif_names = {"grain_interior", "grain_boundary", "triple_junction", "asymmetric_boundary"};
  t.target = {0, 0, 1, 3, 9};
  t.loop_area = {0, 1, 2, 3, 4};
  t.motif = {0, 0, 1, 2, 3};
  t.hysteresis_edges = {1.5, 3.5};  // classes: <1.5 → 0, [1.5, 3.5) → 1, ≥3.5 → 2
  t.patch_cluster = {0, 0, 1, 1, 2};
  t.patch_clusters = 4;            // one cluster never has a candidate
  t.target_bins = 10;
  t.curve_scale_a = 1.0;
  return t;
}

PointTruth at(int motif, double target, double loop) {
  PointTruth p;
  p.motif = motif, p.target = target, p.loop_area = loop;
  return p;
}
}  // namespace

TEST(Metrics, MotifDiscoveryCountsLandedLabelsAndFirstFinds) {
  const FilmTruth t = hand_truth();
  // The candidates are interior ones (0, 1), but the tip lands elsewhere: the landed label counts.
  std::vector<StepRecord> s = {step(0, 0, "initial"), step(1, 1, "initial"), step(2, 0), step(3, 1), step(4, 0), step(5, 1)};
  std::vector<PointTruth> p = {at(0, 0, 0), at(0, 0, 0), at(1, 0, 0), at(2, 0, 0), at(0, 0, 0), at(3, 0, 0)};
  const CampaignMetrics m = compute_campaign_metrics(s, p, t, {});
  EXPECT_EQ(m.series.at("motif_classes"), (std::vector<double>{1, 1, 2, 3, 3, 4}));
  EXPECT_EQ(m.scalars.at("first_grain_interior"), 1);
  EXPECT_EQ(m.scalars.at("first_grain_boundary"), 3);
  EXPECT_EQ(m.scalars.at("first_triple_junction"), 4);
  EXPECT_EQ(m.scalars.at("first_asymmetric_boundary"), 6);
  EXPECT_EQ(m.scalars.at("found_asymmetric_boundary"), 1);
  EXPECT_EQ(m.landed_motif, (std::vector<int>{0, 0, 1, 2, 0, 3}));
}

TEST(Metrics, NeverFoundMotifIsCensoredAtBudgetPlusOne) {
  const FilmTruth t = hand_truth();
  std::vector<StepRecord> s = {step(0, 0), step(1, 1), step(2, 2)};
  std::vector<PointTruth> p = {at(0, 0, 0), at(1, 0, 0), at(1, 0, 0)};
  const CampaignMetrics m = compute_campaign_metrics(s, p, t, {});
  EXPECT_EQ(m.scalars.at("first_asymmetric_boundary"), 4);
  EXPECT_EQ(m.scalars.at("found_asymmetric_boundary"), 0);
  EXPECT_EQ(m.scalars.at("first_triple_junction"), 4);
  EXPECT_EQ(m.scalars.at("first_grain_boundary"), 2);
}

TEST(Metrics, TargetCoverageCountsOnlyOccupiedBins) {
  const FilmTruth t = hand_truth();
  // 0.2 → bin 0 (occupied), 5.0 → bin 5 (empty in the film: no credit), 0.5 → bin 0 again, 9 → last bin (closed).
  std::vector<StepRecord> s = {step(0, 0), step(1, 1), step(2, 2), step(3, 3)};
  std::vector<PointTruth> p = {at(0, 0.2, 0), at(0, 5.0, 0), at(0, 0.5, 0), at(0, 9.0, 0)};
  const CampaignMetrics m = compute_campaign_metrics(s, p, t, {});
  EXPECT_EQ(m.series.at("target_coverage"), (std::vector<double>{0.25, 0.25, 0.25, 0.5}));
}

TEST(Metrics, PatchCoverageUsesChosenCandidatesClusters) {
  const FilmTruth t = hand_truth();
  // candidates 0, 1 (cluster 0), 3 (cluster 1), 4 (cluster 2); k = 4
  std::vector<StepRecord> s = {step(0, 0), step(1, 1), step(2, 3), step(3, 4)};
  std::vector<PointTruth> p(4, at(0, 0, 0));
  const CampaignMetrics m = compute_campaign_metrics(s, p, t, {});
  EXPECT_EQ(m.series.at("patch_coverage"), (std::vector<double>{0.25, 0.25, 0.5, 0.75}));
}

TEST(Metrics, HysteresisClassesFromFilmEdges) {
  const FilmTruth t = hand_truth();
  EXPECT_EQ(t.hysteresis_class(0.0), 0);
  EXPECT_EQ(t.hysteresis_class(1.5), 1);  // an edge belongs to the class above it
  EXPECT_EQ(t.hysteresis_class(3.49), 1);
  EXPECT_EQ(t.hysteresis_class(100), 2);
  std::vector<StepRecord> s = {step(0, 0), step(1, 1), step(2, 2), step(3, 3)};
  std::vector<PointTruth> p = {at(0, 0, 0.1), at(0, 0, 1.0), at(0, 0, 4.0), at(0, 0, 2.0)};
  const CampaignMetrics m = compute_campaign_metrics(s, p, t, {});
  EXPECT_EQ(m.series.at("hysteresis_classes"), (std::vector<double>{1, 1, 2, 3}));
}

TEST(Metrics, DiversityClosedForm) {
  // a = 0, b = 1, c = (0, 2, 0, 2): d(a,b) = 1, d(a,c) = √2, d(b,c) = 1.
  const std::vector<std::vector<double>> curves = {{0, 0, 0, 0}, {1, 1, 1, 1}, {0, 2, 0, 2}};
  const auto d = mean_pairwise_distance_series(curves, 1.0);
  ASSERT_EQ(d.size(), 3u);
  EXPECT_TRUE(std::isnan(d[0]));
  EXPECT_DOUBLE_EQ(d[1], 1.0);
  EXPECT_NEAR(d[2], (2.0 + std::sqrt(2.0)) / 3.0, 1e-14);
  // The scale divides every distance.
  const auto h = mean_pairwise_distance_series(curves, 2.0);
  EXPECT_NEAR(h[2], (2.0 + std::sqrt(2.0)) / 6.0, 1e-14);
  // A curve of another length is resampled linearly: (0, 1, 2) ≡ (0, .5, 1, 1.5, 2), distance to 0
  // is sqrt((0 + .25 + 1 + 2.25 + 4)/5) = sqrt(1.5).
  const auto r = mean_pairwise_distance_series({{0, 0, 0, 0, 0}, {0, 1, 2}}, 1.0);
  EXPECT_NEAR(r[1], std::sqrt(1.5), 1e-14);
  EXPECT_THROW(mean_pairwise_distance_series(curves, 0.0), sdm::Error);
}

TEST(Metrics, DiversityUsesMeasuredCurvesScaledByFilmCurrent) {
  FilmTruth t = hand_truth();
  t.curve_scale_a = 2e-10;
  std::vector<StepRecord> s = {step(0, 0, "strategy", {0, 0}), step(1, 1, "strategy", {2e-10, 2e-10})};
  std::vector<PointTruth> p(2, at(0, 0, 0));
  const CampaignMetrics m = compute_campaign_metrics(s, p, t, {});
  EXPECT_NEAR(m.series.at("diversity")[1], 1.0, 1e-12);
}

TEST(Metrics, CostSeries) {
  const FilmTruth t = hand_truth();
  std::vector<StepRecord> s = {step(0, 0, "initial"), step(1, 1, "initial"), step(2, 2), step(3, 3)};
  std::vector<PointTruth> p(4, at(0, 0, 0));
  const CampaignMetrics m = compute_campaign_metrics(s, p, t, {});
  EXPECT_EQ(m.series.at("instrument_time_s"), (std::vector<double>{10, 20, 30, 40}));
  const auto& lat = m.series.at("decision_latency_s");
  EXPECT_TRUE(std::isnan(lat[0]) && std::isnan(lat[1]));  // initial design only: no strategy decision yet
  EXPECT_NEAR(lat[2], 0.3, 1e-12);
  EXPECT_NEAR(lat[3], (0.3 + 0.4) / 2, 1e-12);
}

TEST(Metrics, WithoutMotifLabelsMotifMetricsAreSkippedAndSaidSo) {
  FilmTruth t = hand_truth();
  t.has_motifs = false;
  std::vector<StepRecord> s = {step(0, 0), step(1, 1)};
  std::vector<PointTruth> p = {at(-1, 0, 0), at(-1, 1, 0)};
  const CampaignMetrics m = compute_campaign_metrics(s, p, t, {});
  EXPECT_EQ(m.series.count("motif_classes"), 0u);
  EXPECT_EQ(m.scalars.count("first_asymmetric_boundary"), 0u);
  ASSERT_FALSE(m.notes.empty());
  EXPECT_NE(m.notes[0].find("motif"), std::string::npos);
}

TEST(Metrics, BadInputsThrow) {
  const FilmTruth t = hand_truth();
  std::vector<StepRecord> s = {step(0, 0), step(1, 7)};
  EXPECT_THROW(compute_campaign_metrics(s, {at(0, 0, 0)}, t, {}), sdm::Error);               // one truth for two steps
  EXPECT_THROW(compute_campaign_metrics(s, {at(0, 0, 0), at(0, 0, 0)}, t, {}), sdm::Error);  // candidate 7 of 5
}

TEST(Metrics, JsonRoundTripKeepsNaN) {
  const FilmTruth t = hand_truth();
  std::vector<StepRecord> s = {step(0, 0, "initial"), step(1, 3)};
  std::vector<PointTruth> p = {at(0, 0, 0), at(2, 3, 2)};
  CampaignMetrics m = compute_campaign_metrics(s, p, t, {});
  m.strategy = "x";
  m.seed = 7;
  m.end = "completed";
  m.series["model_rmse"] = {sdm::bench::kNaN, 0.5};
  const CampaignMetrics r = CampaignMetrics::from_json(nlohmann::json::parse(m.to_json().dump()));
  EXPECT_EQ(r.strategy, "x");
  EXPECT_EQ(r.seed, 7u);
  EXPECT_TRUE(std::isnan(r.series.at("model_rmse")[0]));
  EXPECT_EQ(r.series.at("model_rmse")[1], 0.5);
  EXPECT_EQ(r.series.at("target_coverage"), m.series.at("target_coverage"));
  EXPECT_EQ(r.scalars.at("first_triple_junction"), 2);
  EXPECT_EQ(r.phase, m.phase);
  EXPECT_EQ(r.at("motif_classes", 2), 2);
  EXPECT_TRUE(std::isnan(r.at("motif_classes", 3)));
  nlohmann::json bad = m.to_json();
  bad["series"]["diversity"] = {1.0};
  EXPECT_THROW(CampaignMetrics::from_json(bad), sdm::Error);
}

TEST(Metrics, ModelErrorStepsIncludeBudgetsAndEnd) {
  EXPECT_EQ(model_error_steps(60, 10, {25, 40, 60, 100}, 3), (std::vector<int>{10, 20, 25, 30, 40, 50, 60}));
  EXPECT_EQ(model_error_steps(33, 10, {}, 15), (std::vector<int>{20, 30, 33}));
}

TEST(Metrics, ScorePredictionClosedForm) {
  // Perfect mean, predictive variance v: RMSE 0, NLPD = ½ ln(2π v/s²).
  const std::vector<double> y = {1, 2, 3, 4};
  const double sd = std::sqrt(5.0 / 3.0);
  Eigen::VectorXd mu(4), var(4);
  mu << 1, 2, 3, 4;
  var.setConstant(0.25);
  PredictionScore p = score_prediction(y, mu, var, sd);
  EXPECT_NEAR(p.rmse, 0.0, 1e-15);
  EXPECT_NEAR(p.nlpd, 0.5 * std::log(2 * kPi * 0.25 / (sd * sd)), 1e-12);
  // Predicting the mean 2.5 with the film variance: RMSE = sqrt(1.25)/sd, NLPD = ½ln(2π) + ½·mean(r²)/1.
  mu.setConstant(2.5);
  var.setConstant(sd * sd);
  p = score_prediction(y, mu, var, sd);
  EXPECT_NEAR(p.rmse, std::sqrt(1.25) / sd, 1e-12);
  EXPECT_NEAR(p.nlpd, 0.5 * std::log(2 * kPi) + 0.5 * (1.25 / (sd * sd)), 1e-12);
  EXPECT_THROW(score_prediction({1, 2}, mu, var, sd), sdm::Error);
}

TEST(GroundTruth, QuantileMatchesNumpyLinear) {
  EXPECT_DOUBLE_EQ(quantile({1, 2, 3, 4}, 0.5), 2.5);          // numpy.quantile([1,2,3,4], .5)
  EXPECT_DOUBLE_EQ(quantile({4, 1, 3, 2}, 0.9), 3.7);          // sorted 1..4, position 0.9·3 = 2.7: 3 + 0.7
  EXPECT_DOUBLE_EQ(quantile({5}, 0.99), 5);
}

namespace {
struct SmallFilm {
  sdm::sim::Film film;
  sdm::engine::campaign::CandidateGrid grid;
  sdm::hardware::ImageAxes axes;
  sdm::engine::gp::RowMatrixF patches;
  TruthOptions options;
  SmallFilm() {
    sdm::sim::FilmConfig c;
    c.size_px = 48;
    c.scan_size_m = 0.75e-6;
    c.grain_mean_m = 0.25e-6;
    c.asymmetric_fraction = 0.5;
    film = sdm::sim::generate_film(c, 11);
    grid = sdm::engine::patches::make_candidate_grid(48, 48, 8, 2);
    axes = {48, 48, 0.5 * film.pixel_m, 0.5 * film.pixel_m, film.pixel_m, film.pixel_m};
    patches = sdm::engine::patches::extract_patches(film.measured_height_m, 48, 48, grid);
    options.sweep = sdm::core::Waveform::triangle(1.5, 101, 1.0);
    options.patch_clusters = 12;
    options.target_bins = 20;
    options.cluster_seed = 5;
  }
};
}  // namespace

TEST(GroundTruth, TwinTruthAtCandidateCentresAndLabels) {
  SmallFilm f;
  const FilmTruth t = twin_film_truth(f.film, f.grid, f.axes, f.patches, f.options);
  ASSERT_EQ(t.size(), f.grid.size());
  const sdm::engine::acquisition::ScalarizerSpec loop{};
  for (std::size_t i = 0; i < t.size(); i += 37) {
    const int ix = f.grid.ix_px[i], iy = f.grid.iy_px[i];
    EXPECT_EQ(t.motif[i], int(f.film.motif[f.film.index(ix, iy)]));
    const double a = sdm::engine::acquisition::scalarize(sdm::sim::ground_truth_iv(f.film, ix, iy, f.options.sweep), loop);
    EXPECT_EQ(t.target[i], a);
    EXPECT_EQ(t.loop_area[i], a);
  }
  double frac = 0;
  for (double x : t.motif_fraction) frac += x;
  EXPECT_NEAR(frac, 1.0, 1e-12);
  EXPECT_EQ(t.patch_clusters, 12);
  EXPECT_EQ(t.patch_cluster.size(), t.size());
  EXPECT_EQ(t.hysteresis_edges.size(), 3u);
  EXPECT_GT(t.target_sd, 0);
  EXPECT_GT(t.curve_scale_a, 0);
  // The thread count does not change any value.
  TruthOptions o3 = f.options;
  o3.threads = 3;
  const FilmTruth t3 = twin_film_truth(f.film, f.grid, f.axes, f.patches, o3);
  EXPECT_EQ(t3.target, t.target);
  EXPECT_EQ(t3.patch_cluster, t.patch_cluster);
}

TEST(GroundTruth, LandedLabelsComeFromTheLandingPixel) {
  SmallFilm f;
  const FilmTruth t = twin_film_truth(f.film, f.grid, f.axes, f.patches, f.options);
  // Pick one pixel of each motif straight from the label map, and land on them in a fixed order
  // while the chosen candidate stays candidate 0.
  std::vector<std::pair<int, int>> px(sdm::sim::kMotifCount, {-1, -1});
  for (int iy = 0; iy < f.film.size_px; ++iy)
    for (int ix = 0; ix < f.film.size_px; ++ix) {
      auto& p = px[std::size_t(f.film.motif[f.film.index(ix, iy)])];
      if (p.first < 0) p = {ix, iy};
    }
  for (const auto& p : px) ASSERT_GE(p.first, 0) << "the test film lacks a motif";
  const int order[] = {0, 0, 2, 1, 3};
  std::vector<StepRecord> s;
  std::vector<PointTruth> l;
  for (int i = 0; i < 5; ++i) {
    s.push_back(step(i, 0));
    l.push_back(twin_point_truth(f.film, px[std::size_t(order[i])].first, px[std::size_t(order[i])].second, f.options));
  }
  const CampaignMetrics m = compute_campaign_metrics(s, l, t, {});
  EXPECT_EQ(m.series.at("motif_classes"), (std::vector<double>{1, 1, 2, 3, 4}));
  EXPECT_EQ(m.scalars.at("first_triple_junction"), 3);
  EXPECT_EQ(m.scalars.at("first_grain_boundary"), 4);
  EXPECT_EQ(m.scalars.at("first_asymmetric_boundary"), 5);
  // patch coverage: always candidate 0 → one cluster of 12.
  EXPECT_DOUBLE_EQ(m.series.at("patch_coverage").back(), 1.0 / 12.0);
  EXPECT_DOUBLE_EQ(l[0].x_m, f.film.x_m(px[0].first));
}
