// Regression comparison against a baseline: values inside and outside |Δ| ≤ abs + rel·|base|,
// missing and new entries, NaN handling, the machine-timing metrics never compared, the file
// round trip and the readable table.
#include <gtest/gtest.h>

#include <cmath>

#include "bench/regress.hpp"
#include "core/error.hpp"
#include "sdm_test_support.hpp"

using namespace sdm::bench;

namespace {
Baseline make(double coverage, double rmse) {
  Baseline b;
  b.scenario = "ci";
  b.tolerances.same_platform = {{"target_coverage", {0.01, 0, "bins"}}, {"model_rmse", {0, 0.1, "float"}}, {"*", {0, 0, "exact"}}};
  b.values["dn_dkl"]["target_coverage"][30] = {coverage, {coverage, coverage}};
  b.values["dn_dkl"]["model_rmse"][30] = {rmse, {}};
  b.values["random"]["motif_classes"][30] = {3.0, {}};
  return b;
}
const Deviation* row(const RegressionReport& r, const std::string& metric) {
  for (const Deviation& d : r.rows)
    if (d.metric == metric) return &d;
  return nullptr;
}
}  // namespace

TEST(Regress, ToleranceIsAbsolutePlusRelative) {
  Tolerance t{0.01, 0.1, ""};
  EXPECT_DOUBLE_EQ(t.allowed(2.0), 0.21);
  EXPECT_DOUBLE_EQ(t.allowed(-2.0), 0.21);
  EXPECT_DOUBLE_EQ(t.allowed(std::nan("")), 0.01);
}

TEST(Regress, RegimeChoosesTolerances) {
  Baseline base = make(0.5, 0.8);
  base.model_driven = {"dn_dkl"};
  base.platform = {{"cpu", "A"}, {"blas_core", "SkylakeX"}};
  base.tolerances.other_platform = {{"model_driven/target_coverage", {0.2, 0, "path"}}, {"target_coverage", {0.001, 0, "exact"}},
                                    {"*", {0, 0, "exact"}}};
  base.values["random"]["target_coverage"][30] = {0.5, {}};
  Baseline cur = base;
  cur.values["dn_dkl"]["target_coverage"][30].mean = 0.6;  // model-driven: within 0.2 on another platform
  cur.values["random"]["target_coverage"][30].mean = 0.6;   // model-free: beyond 0.001
  RegressionReport other = compare_to_baseline(base, cur, false);
  EXPECT_FALSE(other.same_platform);
  int beyond_random = 0, beyond_dn = 0;
  for (const Deviation& d : other.rows) {
    if (d.strategy == "random" && d.beyond) ++beyond_random;
    if (d.strategy == "dn_dkl" && d.beyond) ++beyond_dn;
  }
  EXPECT_EQ(beyond_random, 1);
  EXPECT_EQ(beyond_dn, 0);
  // the same platform uses same_platform (0.01): both beyond
  RegressionReport same = compare_to_baseline(base, cur, true);
  EXPECT_EQ(same.beyond, 2);
  EXPECT_NE(format_regression(other).find("OTHER platform"), std::string::npos);
  EXPECT_TRUE(same_platform(base, base.platform));
  EXPECT_FALSE(same_platform(base, {{"cpu", "A"}, {"blas_core", "Haswell"}}));
  // the current platform names the BLAS kernel and libtorch
  const nlohmann::json p = current_platform();
  EXPECT_TRUE(p.contains("blas_core") && p.contains("libtorch") && p.contains("cpu") && p.contains("libc"));
}

TEST(Regress, DefaultTolerancesCoverEveryComparedMetric) {
  const Tolerances t = default_tolerances();
  EXPECT_TRUE(t.same_platform.count("*"));
  EXPECT_TRUE(t.other_platform.count("*"));
  for (const MetricInfo& m : metric_catalogue()) {
    if (excluded_from_regression(m.name)) continue;
    EXPECT_TRUE(t.other_platform.count("model_driven/" + m.name)) << m.name;
  }
  EXPECT_TRUE(model_driven_strategy("dn_dkl"));
  EXPECT_FALSE(model_driven_strategy("random"));
}

TEST(Regress, IdenticalPasses) {
  const RegressionReport r = compare_to_baseline(make(0.5, 0.8), make(0.5, 0.8), true);
  EXPECT_TRUE(r.passed());
  EXPECT_EQ(r.compared, 3);
  EXPECT_EQ(r.moved, 0);
  EXPECT_NE(format_regression(r).find("identical"), std::string::npos);
}

TEST(Regress, WithinToleranceMovesButPasses) {
  // coverage −0.009 (tol 0.01), rmse +0.07 (tol 0.1·0.8 = 0.08)
  const RegressionReport r = compare_to_baseline(make(0.5, 0.8), make(0.491, 0.87), true);
  EXPECT_TRUE(r.passed());
  EXPECT_EQ(r.moved, 2);
  EXPECT_EQ(row(r, "target_coverage")->status, "moved (within tolerance)");
  EXPECT_NEAR(row(r, "model_rmse")->tolerance, 0.08, 1e-15);
}

TEST(Regress, BeyondToleranceFailsEitherWay) {
  RegressionReport r = compare_to_baseline(make(0.5, 0.8), make(0.48, 0.8), true);  // coverage down 0.02: worse
  EXPECT_FALSE(r.passed());
  const Deviation* d = row(r, "target_coverage");
  ASSERT_NE(d, nullptr);
  EXPECT_TRUE(d->beyond);
  EXPECT_EQ(d->status, "REGRESSED (worse)");
  EXPECT_NEAR(d->change, -0.02, 1e-12);
  r = compare_to_baseline(make(0.5, 0.8), make(0.5, 0.6), true);  // rmse down 0.2 > 0.08: better, still a change
  EXPECT_FALSE(r.passed());
  EXPECT_EQ(row(r, "model_rmse")->status, "CHANGED (better)");
  const std::string table = format_regression(r);
  EXPECT_NE(table.find("dn_dkl"), std::string::npos);
  EXPECT_NE(table.find("model_rmse"), std::string::npos);
  EXPECT_NE(table.find("0.8"), std::string::npos);
  EXPECT_NE(table.find("0.6"), std::string::npos);
  EXPECT_NE(table.find("0.08"), std::string::npos);
  EXPECT_NE(table.find("FAILED"), std::string::npos);
}

TEST(Regress, MissingNewAndNaN) {
  Baseline cur = make(0.5, 0.8);
  cur.values["random"].erase("motif_classes");
  cur.values["lhs"]["target_coverage"][30] = {0.4, {}};
  RegressionReport r = compare_to_baseline(make(0.5, 0.8), cur, true);
  EXPECT_FALSE(r.passed());
  EXPECT_EQ(row(r, "motif_classes")->status, "MISSING");
  EXPECT_EQ(r.added, 1);
  // NaN on both sides agrees; NaN on one side does not
  Baseline a = make(0.5, std::nan("")), b = make(0.5, std::nan(""));
  EXPECT_TRUE(compare_to_baseline(a, b, true).passed());
  EXPECT_FALSE(compare_to_baseline(a, make(0.5, 0.8), true).passed());
  // a new entry alone does not fail
  Baseline only_new = make(0.5, 0.8);
  only_new.values["lhs"]["target_coverage"][30] = {0.4, {}};
  EXPECT_TRUE(compare_to_baseline(make(0.5, 0.8), only_new, true).passed());
}

TEST(Regress, MachineTimingNeverCompared) {
  EXPECT_TRUE(excluded_from_regression("decision_latency_s"));
  EXPECT_FALSE(excluded_from_regression("instrument_time_s"));
  Baseline a = make(0.5, 0.8), b = make(0.5, 0.8);
  a.values["dn_dkl"]["decision_latency_s"][30] = {0.1, {}};
  b.values["dn_dkl"]["decision_latency_s"][30] = {9.0, {}};
  EXPECT_TRUE(compare_to_baseline(a, b, true).passed());
}

TEST(Regress, FileRoundTripAndErrors) {
  sdm::test::TempDir dir;
  Baseline b = make(0.5, std::nan(""));
  b.about = "why";
  b.model_driven = {"dn_dkl"};
  b.platform = {{"cpu", "x"}, {"blas_core", "Haswell"}};
  write_baseline(dir / "sub" / "ci.json", b);
  const Baseline r = read_baseline(dir / "sub" / "ci.json");
  EXPECT_EQ(r.scenario, "ci");
  EXPECT_EQ(r.about, "why");
  EXPECT_EQ(r.tolerances.same_platform.at("target_coverage").abs, 0.01);
  EXPECT_EQ(r.tolerances.same_platform.at("model_rmse").why, "float");
  EXPECT_EQ(r.model_driven, b.model_driven);
  EXPECT_EQ(r.platform, b.platform);
  EXPECT_EQ(r.values.at("dn_dkl").at("target_coverage").at(30).mean, 0.5);
  EXPECT_EQ(r.values.at("dn_dkl").at("target_coverage").at(30).seeds.size(), 2u);
  EXPECT_TRUE(std::isnan(r.values.at("dn_dkl").at("model_rmse").at(30).mean));
  EXPECT_TRUE(compare_to_baseline(b, r, true).passed());
  EXPECT_THROW(read_baseline(dir / "none.json"), sdm::Error);
  sdm::test::write_text(dir / "bad.json", "{\"scenario\": 1");
  EXPECT_THROW(read_baseline(dir / "bad.json"), sdm::Error);
  sdm::test::write_text(dir / "neg.json", R"({"scenario":"x","tolerances":{"same_platform":{"m":{"abs":-1}}},"values":{}})");
  EXPECT_THROW(read_baseline(dir / "neg.json"), sdm::Error);
}

TEST(Regress, BaselineFromSummaryLeavesOutLatency) {
  CampaignMetrics m;
  m.strategy = "a";
  m.seed = 1;
  m.end = "completed";
  m.measurements = 2;
  m.series["target_coverage"] = {0.1, 0.2};
  m.series["decision_latency_s"] = {0.5, 0.5};
  m.step_latency_s = {0.5, 0.5};
  m.phase = {"strategy", "strategy"};
  const Summary s = summarise({m}, {"a"}, {1}, {1, 2}, 2, "a");
  const Baseline b = baseline_from_summary(s, default_tolerances(), {});
  EXPECT_EQ(b.values.at("a").count("decision_latency_s"), 0u);
  EXPECT_EQ(b.values.at("a").at("target_coverage").at(2).mean, 0.2);
  EXPECT_EQ(b.values.at("a").at("target_coverage").at(1).mean, 0.1);
}
