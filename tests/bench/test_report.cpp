// Aggregation, tables, plots and the HTML report on hand-made campaign metrics: the means,
// Student-t intervals (t quantiles from published tables) and exact Wilcoxon p-values
// (enumerated by hand for 3 pairs) the tables must show, the curves against measurements and
// instrument time, and a report that is self-contained (every figure embedded as a data URI).
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <regex>
#include <sstream>

#include "bench/plots.hpp"
#include "bench/report.hpp"
#include "bench/summary.hpp"
#include "sdm_test_support.hpp"

using namespace sdm::bench;

namespace {

// Campaign with constant-per-step series chosen by the test.
CampaignMetrics campaign(const std::string& strategy, std::uint64_t seed, int n, double coverage_at_end, double clock_step,
                         int asym_at = 0) {
  CampaignMetrics m;
  m.strategy = strategy;
  m.seed = seed;
  m.end = "completed";
  m.measurements = n;
  auto& cov = m.series["target_coverage"];
  auto& clock = m.series["instrument_time_s"];
  auto& lat = m.series["decision_latency_s"];
  auto& rmse = m.series["model_rmse"];
  auto& motifs = m.series["motif_classes"];
  for (int i = 1; i <= n; ++i) {
    cov.push_back(coverage_at_end * i / n);
    clock.push_back(clock_step * i);
    lat.push_back(i <= 2 ? kNaN : 0.01 * seed);
    rmse.push_back(i % 5 == 0 ? 1.0 / i : kNaN);
    motifs.push_back(asym_at && i >= asym_at ? 2 : 1);
    m.step_latency_s.push_back(i <= 2 ? 0 : 0.01 * seed);
    m.phase.push_back(i <= 2 ? "initial" : "strategy");
    m.candidate.push_back(i);
    m.x_requested_m.push_back(1e-7 * i);
    m.y_requested_m.push_back(2e-7 * (i % 3));
    m.x_landed_m.push_back(1e-7 * i);
    m.y_landed_m.push_back(2e-7 * (i % 3));
    m.landed_motif.push_back(asym_at && i == asym_at ? 3 : 0);
  }
  m.scalars["first_asymmetric_boundary"] = asym_at ? asym_at : n + 1;
  m.scalars["found_asymmetric_boundary"] = asym_at ? 1 : 0;
  return m;
}

std::vector<CampaignMetrics> two_strategies() {
  // a: coverage 0.5, 0.6, 0.7 at n = 10; b: 0.4, 0.45, 0.5 (a − b = 0.1, 0.15, 0.2: all positive).
  // instrument time: a slower (clock step 3 s) than b (2 s).
  return {campaign("a", 1, 10, 0.5, 3, 4), campaign("a", 2, 10, 0.6, 3, 6), campaign("a", 3, 10, 0.7, 3, 0),
          campaign("b", 1, 10, 0.4, 2, 0), campaign("b", 2, 10, 0.45, 2, 9), campaign("b", 3, 10, 0.5, 2, 0)};
}

constexpr double kT975Dof2 = 4.302652729911275;  // Student t, 97.5 % quantile, 2 degrees of freedom

}  // namespace

TEST(Summary, MeansIntervalsAndCounts) {
  const auto c = two_strategies();
  const Summary s = summarise(c, {"a", "b"}, {1, 2, 3}, {5, 10, 99}, 10, "a");
  EXPECT_EQ(s.budgets, (std::vector<int>{5, 10}));  // 99 > budget dropped; the campaign budget kept
  const SummaryCell* a10 = s.cell("a", "target_coverage", 10);
  ASSERT_NE(a10, nullptr);
  EXPECT_EQ(a10->ci.n, 3);
  EXPECT_NEAR(a10->ci.mean, 0.6, 1e-12);
  EXPECT_NEAR(a10->ci.sd, 0.1, 1e-12);
  EXPECT_NEAR(a10->ci.half_width, kT975Dof2 * 0.1 / std::sqrt(3.0), 1e-9);
  const SummaryCell* a5 = s.cell("a", "target_coverage", 5);
  EXPECT_NEAR(a5->ci.mean, 0.3, 1e-12);
  // campaign-level metric at the campaign budget only; not found counts as N + 1 = 11
  const SummaryCell* f = s.cell("a", "first_asymmetric_boundary", 10);
  ASSERT_NE(f, nullptr);
  EXPECT_NEAR(f->ci.mean, (4 + 6 + 11) / 3.0, 1e-12);
  EXPECT_EQ(s.cell("a", "first_asymmetric_boundary", 5), nullptr);
}

TEST(Summary, PairedWilcoxonExact) {
  const Summary s = summarise(two_strategies(), {"a", "b"}, {1, 2, 3}, {10}, 10, "a");
  const Comparison* c = s.comparison("target_coverage", 10, "a", "b");
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->pairs, 3);
  EXPECT_NEAR(c->mean_difference, 0.15, 1e-12);
  // All three differences positive: W+ = 6; of the 2³ sign patterns only 1 reaches W+ ≥ 6, so
  // the two-sided p is 2·1/8 = 0.25 — the smallest possible with three pairs.
  EXPECT_DOUBLE_EQ(c->test.w_plus, 6);
  EXPECT_NEAR(c->test.p_value, 0.25, 1e-12);
  EXPECT_NEAR(c->min_p, 0.25, 1e-12);
  const Comparison* r = s.comparison("target_coverage", 10, "b", "a");
  EXPECT_NEAR(r->test.p_value, 0.25, 1e-12);
  EXPECT_NEAR(r->mean_difference, -0.15, 1e-12);
}

TEST(Summary, WinnersRespectDirectionAndSayWhenReferenceLoses) {
  const Summary s = summarise(two_strategies(), {"a", "b"}, {1, 2, 3}, {10}, 10, "a");
  const Winner* cov = nullptr;
  const Winner* time = nullptr;
  for (const Winner& w : s.winners) {
    if (w.metric == "target_coverage") cov = &w;
    if (w.metric == "instrument_time_s") time = &w;
  }
  ASSERT_TRUE(cov && time);
  EXPECT_EQ(cov->best, (std::vector<std::string>{"a"}));   // higher is better
  EXPECT_EQ(time->best, (std::vector<std::string>{"b"}));  // lower is better: b's clock is 20 s, a's 30 s
  EXPECT_EQ(time->reference_rank, 2);
  EXPECT_EQ(time->reference_loses_to, (std::vector<std::string>{"b"}));
  bool said = false;
  for (const std::string& v : verdict_sentences(s))
    said |= v.find("a does NOT beat b") != std::string::npos && v.find("instrument time") != std::string::npos;
  EXPECT_TRUE(said);
}

TEST(Summary, EarlyStoppedCampaignIsMissingAtLaterBudgets) {
  auto c = two_strategies();
  c[0] = campaign("a", 1, 7, 0.5, 3);  // stopped after 7 of 10
  const Summary s = summarise(c, {"a", "b"}, {1, 2, 3}, {5, 10}, 10, "a");
  EXPECT_EQ(s.cell("a", "target_coverage", 5)->ci.n, 3);
  const SummaryCell* a10 = s.cell("a", "target_coverage", 10);
  EXPECT_EQ(a10->ci.n, 2);
  EXPECT_TRUE(std::isnan(a10->values[0]));
  EXPECT_EQ(s.comparison("target_coverage", 10, "a", "b")->pairs, 2);
}

TEST(Summary, CsvAndMarkdown) {
  const Summary s = summarise(two_strategies(), {"a", "b"}, {1, 2, 3}, {5, 10}, 10, "a");
  const std::string csv = summary_csv(s);
  std::istringstream in(csv);
  std::string header;
  std::getline(in, header);
  EXPECT_EQ(header, "strategy,metric,unit,budget,n,mean,sd,ci_low,ci_high,seed_1,seed_2,seed_3");
  EXPECT_NE(csv.find("\na,target_coverage,,10,3,0.6,0.1,"), std::string::npos) << csv;
  EXPECT_NE(csv.find(",0.5,0.6,0.7\n"), std::string::npos);
  const std::string md = summary_markdown(s);
  EXPECT_NE(md.find("smallest possible p-value is 0.25"), std::string::npos);
  EXPECT_NE(md.find("0.6 [0.352, 0.848]"), std::string::npos) << md;  // 0.6 ± 4.3027·0.1/√3
  EXPECT_NE(md.find("Δ +0.15, p 0.25"), std::string::npos);
  const std::string cmp = comparisons_csv(s);
  EXPECT_NE(cmp.find("target_coverage,10,a,b,3,0.6,0.45,0.15,6,0,0.25,1,0.25"), std::string::npos) << cmp;
}

TEST(Summary, CurvesAgainstMeasurementsTimeAndDiscovery) {
  const auto c = two_strategies();
  std::vector<const CampaignMetrics*> a = {&c[0], &c[1], &c[2]};
  const Curve n = curve_vs_measurements(a, "target_coverage");
  ASSERT_EQ(n.x.size(), 10u);
  EXPECT_NEAR(n.mean[9], 0.6, 1e-12);
  // sparse series: only the evaluated steps
  const Curve r = curve_vs_measurements(a, "model_rmse");
  EXPECT_EQ(r.x, (std::vector<double>{5, 10}));
  EXPECT_NEAR(r.mean[0], 0.2, 1e-12);
  // against time: a seed's value at t is the one after its last measurement with clock ≤ t
  CampaignMetrics fast = campaign("x", 1, 4, 0.4, 1), slow = campaign("x", 2, 4, 0.8, 2);
  const Curve t = curve_vs_time({&fast, &slow}, "target_coverage", 4);  // grid over [max first = 2, min last = 4]
  ASSERT_EQ(t.x.size(), 4u);
  EXPECT_NEAR(t.x.front(), 2, 1e-12);
  EXPECT_NEAR(t.x.back(), 4, 1e-12);
  EXPECT_NEAR(t.mean.front(), (0.2 + 0.2) / 2, 1e-12);  // fast after 2 meas. (0.2), slow after 1 (0.2)
  EXPECT_NEAR(t.mean.back(), (0.4 + 0.4) / 2, 1e-12);   // fast after 4 (0.4), slow after 2 (0.4)
  const Curve d = discovery_curve(a, 3);
  EXPECT_NEAR(d.mean[2], 0.0, 1e-12);
  EXPECT_NEAR(d.mean[3], 1.0 / 3, 1e-12);
  EXPECT_NEAR(d.mean[5], 2.0 / 3, 1e-12);
  EXPECT_NEAR(d.mean[9], 2.0 / 3, 1e-12);
}

TEST(Report, Base64AndEscaping) {
  auto b = [](const std::string& s) { return base64(std::vector<unsigned char>(s.begin(), s.end())); };
  // RFC 4648 §10 test vectors
  EXPECT_EQ(b(""), "");
  EXPECT_EQ(b("f"), "Zg==");
  EXPECT_EQ(b("fo"), "Zm8=");
  EXPECT_EQ(b("foo"), "Zm9v");
  EXPECT_EQ(b("foob"), "Zm9vYg==");
  EXPECT_EQ(b("fooba"), "Zm9vYmE=");
  EXPECT_EQ(b("foobar"), "Zm9vYmFy");
  EXPECT_EQ(html_escape("<a href=\"x\">&'"), "&lt;a href=&quot;x&quot;&gt;&amp;&#39;");
}

TEST(Report, PlotsAndSelfContainedHtml) {
  sdm::test::TempDir dir;
  const auto c = two_strategies();
  Summary s = summarise(c, {"a", "b"}, {1, 2, 3}, {5, 10}, 10, "a");
  s.scenario = "unit";
  PathBackground bg;
  bg.nx = bg.ny = 8;
  bg.image.assign(64, 1e-9);
  for (int i = 0; i < 64; ++i) bg.image[std::size_t(i)] = 1e-9 * (i % 7);
  bg.x1_m = bg.y1_m = 1.2e-6;
  bg.labels.assign(64, 0);
  bg.labels[9] = 1, bg.labels[10] = 2, bg.labels[11] = 3;
  bg.label_names = {"grain_interior", "grain_boundary", "triple_junction", "asymmetric_boundary"};
  bg.seed = 1;
  const std::vector<PlotFile> plots = write_plots(s, c, bg, dir.path());
  std::set<std::string> names;
  for (const PlotFile& p : plots) {
    names.insert(p.path.filename().string());
    std::ifstream f(p.path, std::ios::binary);
    char sig[8] = {};
    f.read(sig, 8);
    EXPECT_EQ(std::string(sig, 8), std::string("\x89PNG\r\n\x1a\n", 8)) << p.path;
    EXPECT_FALSE(p.caption.empty());
  }
  for (const char* want : {"metric_target_coverage.png", "metric_model_rmse.png", "metric_motif_classes.png",
                           "metric_decision_latency_s.png", "discovery.png", "paths.png", "latency.png"})
    EXPECT_EQ(names.count(want), 1u) << want;

  ReportContext ctx;
  ctx.scenario_text = "[scenario]\nname = \"unit\" # <b>not markup</b>\n";
  ctx.scenario_path = "unit.toml";
  ctx.facts = {"Run folder: x"};
  const std::string html = report_html(s, plots, ctx);
  // every plot embedded, nothing fetched from elsewhere
  std::size_t embedded = 0, at = 0;
  while ((at = html.find("src=\"data:image/png;base64,", at)) != std::string::npos) ++embedded, ++at;
  EXPECT_EQ(embedded, plots.size());
  EXPECT_EQ(std::regex_search(html, std::regex("(src|href)=\"(?!data:)")), false);
  EXPECT_EQ(html.find("<link"), std::string::npos);
  EXPECT_EQ(html.find("<script"), std::string::npos);
  // the scenario text is shown escaped, the verdict and the statistics caveat are there
  EXPECT_NE(html.find("&lt;b&gt;not markup&lt;/b&gt;"), std::string::npos);
  EXPECT_NE(html.find("a does NOT beat b"), std::string::npos);
  EXPECT_NE(html.find("smallest possible p-value is 0.25"), std::string::npos);
  // the embedded bytes are the file's bytes
  const std::size_t p0 = html.find("base64,") + 7;
  const std::string b64 = html.substr(p0, html.find('"', p0) - p0);
  std::ifstream f(plots[0].path, std::ios::binary);
  const std::vector<unsigned char> bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  EXPECT_EQ(b64, base64(bytes));
}
