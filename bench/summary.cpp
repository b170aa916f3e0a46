#include "bench/summary.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <set>
#include <sstream>

#include "core/error.hpp"

namespace sdm::bench {

std::string format_value(double v) {
  if (!std::isfinite(v)) return "–";
  char buf[64];
  const double a = std::abs(v);
  if (a != 0 && (a < 1e-3 || a >= 1e6)) std::snprintf(buf, sizeof buf, "%.3g", v);
  else if (a >= 100 || a == std::round(a)) std::snprintf(buf, sizeof buf, "%.0f", v);
  else std::snprintf(buf, sizeof buf, "%.3g", v);
  return buf;
}

namespace {

std::string fmt_p(double p) {
  if (!std::isfinite(p)) return "–";
  char buf[32];
  std::snprintf(buf, sizeof buf, p < 0.001 ? "%.1e" : "%.3g", p);
  return buf;
}

std::string fmt_ci(const stats::MeanCi& c) {
  if (c.n == 0) return "–";
  if (c.n < 2 || !std::isfinite(c.lower)) return format_value(c.mean) + " (n=" + std::to_string(c.n) + ")";
  return format_value(c.mean) + " [" + format_value(c.lower) + ", " + format_value(c.upper) + "]";
}

std::string metric_title(const MetricInfo& m) {
  std::string t = m.label;
  if (!m.unit.empty()) t += " (" + m.unit + ")";
  return t;
}

bool better(double a, double b, bool higher) { return higher ? a > b : a < b; }

}  // namespace

const SummaryCell* Summary::cell(const std::string& strategy, const std::string& metric, int budget) const {
  auto s = cells.find(strategy);
  if (s == cells.end()) return nullptr;
  auto m = s->second.find(metric);
  if (m == s->second.end()) return nullptr;
  auto b = m->second.find(budget);
  return b == m->second.end() ? nullptr : &b->second;
}

const Comparison* Summary::comparison(const std::string& metric, int budget, const std::string& a, const std::string& b) const {
  for (const Comparison& c : comparisons)
    if (c.metric == metric && c.budget == budget && c.a == a && c.b == b) return &c;
  return nullptr;
}

std::vector<int> Summary::budgets_of(const std::string& metric) const {
  const MetricInfo* m = find_metric(metric);
  if (m && !m->per_step) return {campaign_budget};
  return budgets;
}

Summary summarise(const std::vector<CampaignMetrics>& campaigns, const std::vector<std::string>& strategies,
                  const std::vector<std::uint64_t>& seeds, const std::vector<int>& budgets_in, int campaign_budget,
                  const std::string& reference) {
  Summary s;
  s.strategies = strategies;
  s.seeds = seeds;
  s.reference = reference;
  s.campaign_budget = campaign_budget;
  if (std::find(strategies.begin(), strategies.end(), reference) == strategies.end())
    throw Error("summary: reference strategy '" + reference + "' is not among the strategies");
  std::set<int> b;
  for (int x : budgets_in)
    if (x >= 1 && x <= campaign_budget) b.insert(x);
  b.insert(campaign_budget);
  s.budgets.assign(b.begin(), b.end());

  // campaign lookup
  std::map<std::string, std::map<std::uint64_t, const CampaignMetrics*>> by;
  for (const CampaignMetrics& c : campaigns) by[c.strategy][c.seed] = &c;
  for (const std::string& st : strategies) {
    int k = 0;
    for (std::uint64_t sd : seeds) k += by[st].count(sd) ? 1 : 0;
    s.campaigns[st] = k;
  }

  // metrics present in any campaign
  std::vector<std::string> extra;
  for (const MetricInfo& m : metric_catalogue()) {
    bool any = false;
    for (const CampaignMetrics& c : campaigns) any |= m.per_step ? c.series.count(m.name) > 0 : c.scalars.count(m.name) > 0;
    if (any) s.metrics.push_back(m.name);
  }
  for (const CampaignMetrics& c : campaigns)
    for (const auto& [k, v] : c.scalars)
      if (k.rfind("found_", 0) == 0 && std::find(extra.begin(), extra.end(), k) == extra.end()) extra.push_back(k);

  auto fill = [&](const std::string& metric, const std::vector<int>& at) {
    for (const std::string& st : strategies)
      for (int budget : at) {
        SummaryCell cell;
        std::vector<double> finite;
        for (std::uint64_t sd : seeds) {
          double v = kNaN;
          auto it = by[st].find(sd);
          if (it != by[st].end()) {
            const CampaignMetrics& c = *it->second;
            if (c.scalars.count(metric)) v = c.scalars.at(metric);
            else if (c.measurements >= budget) v = c.at(metric, budget);
          }
          cell.values.push_back(v);
          if (std::isfinite(v)) finite.push_back(v);
        }
        cell.ci = stats::mean_ci(finite);
        s.cells[st][metric][budget] = std::move(cell);
      }
  };
  for (const std::string& m : s.metrics) fill(m, s.budgets_of(m));
  for (const std::string& m : extra) fill(m, {campaign_budget});

  // paired comparisons, every pair, every metric, every budget
  for (const std::string& m : s.metrics)
    for (int budget : s.budgets_of(m))
      for (std::size_t i = 0; i < strategies.size(); ++i)
        for (std::size_t j = 0; j < strategies.size(); ++j) {
          if (i == j) continue;
          const SummaryCell* ca = s.cell(strategies[i], m, budget);
          const SummaryCell* cb = s.cell(strategies[j], m, budget);
          Comparison c;
          c.metric = m, c.budget = budget, c.a = strategies[i], c.b = strategies[j];
          std::vector<double> x, y;
          for (std::size_t k = 0; k < seeds.size(); ++k)
            if (std::isfinite(ca->values[k]) && std::isfinite(cb->values[k])) {
              x.push_back(ca->values[k]);
              y.push_back(cb->values[k]);
            }
          c.pairs = int(x.size());
          if (c.pairs > 0) {
            double sa = 0, sb = 0;
            for (std::size_t k = 0; k < x.size(); ++k) sa += x[k], sb += y[k];
            c.mean_a = sa / c.pairs, c.mean_b = sb / c.pairs;
            c.mean_difference = c.mean_a - c.mean_b;
            c.test = stats::wilcoxon_signed_rank(x, y);
            c.min_p = std::min(1.0, 2.0 / std::pow(2.0, c.pairs));
          } else {
            c.test.p_value = kNaN;
          }
          s.comparisons.push_back(c);
        }

  // winners at the campaign budget
  for (const std::string& m : s.metrics) {
    const MetricInfo& info = *find_metric(m);
    Winner w;
    w.metric = m;
    w.budget = campaign_budget;
    std::vector<std::pair<double, std::string>> ranked;
    for (const std::string& st : strategies) {
      const SummaryCell* c = s.cell(st, m, campaign_budget);
      if (c && c->ci.n > 0) ranked.push_back({c->ci.mean, st});
    }
    if (ranked.empty()) continue;
    std::stable_sort(ranked.begin(), ranked.end(), [&](const auto& a, const auto& b) {
      return better(a.first, b.first, info.higher_is_better);
    });
    w.best_mean = ranked[0].first;
    std::size_t k = 0;
    while (k < ranked.size() && ranked[k].first == w.best_mean) w.best.push_back(ranked[k++].second);
    if (k < ranked.size()) {
      w.runner_up = ranked[k].second;
      w.runner_up_mean = ranked[k].first;
      if (const Comparison* c = s.comparison(m, campaign_budget, w.best[0], w.runner_up)) w.p_vs_runner_up = c->test.p_value;
    }
    double ref_mean = kNaN;
    for (std::size_t r = 0; r < ranked.size(); ++r)
      if (ranked[r].second == reference) ref_mean = ranked[r].first;
    if (std::isfinite(ref_mean)) {
      int rank = 1;
      for (const auto& [v, st] : ranked)
        if (better(v, ref_mean, info.higher_is_better)) ++rank;
      w.reference_rank = rank;
      for (const auto& [v, st] : ranked) {
        if (st == reference) continue;
        if (better(ref_mean, v, info.higher_is_better)) w.reference_beats.push_back(st);
        else w.reference_loses_to.push_back(st);  // ties count as "does not beat"
      }
    }
    s.winners.push_back(w);
  }
  return s;
}

Curve curve_vs_measurements(const std::vector<const CampaignMetrics*>& seeds, const std::string& metric) {
  Curve c;
  c.seeds = int(seeds.size());
  int nmax = 0;
  for (const CampaignMetrics* m : seeds) nmax = std::max(nmax, m->measurements);
  for (int n = 1; n <= nmax; ++n) {
    std::vector<double> v;
    bool all = true;
    for (const CampaignMetrics* m : seeds) {
      if (n > m->measurements) continue;
      const double x = m->at(metric, n);
      if (std::isfinite(x)) v.push_back(x);
      else all = false;
    }
    if (!all || v.empty()) continue;
    const stats::MeanCi ci = stats::mean_ci(v);
    c.x.push_back(n);
    c.mean.push_back(ci.mean);
    c.lower.push_back(std::isfinite(ci.lower) ? ci.lower : ci.mean);
    c.upper.push_back(std::isfinite(ci.upper) ? ci.upper : ci.mean);
  }
  return c;
}

Curve curve_vs_time(const std::vector<const CampaignMetrics*>& seeds, const std::string& metric, int points) {
  Curve c;
  c.seeds = int(seeds.size());
  if (seeds.empty()) return c;
  double t0 = 0, t1 = std::numeric_limits<double>::infinity();
  for (const CampaignMetrics* m : seeds) {
    auto it = m->series.find("instrument_time_s");
    if (it == m->series.end() || it->second.empty()) return c;
    // first time this seed has a finite value of the metric
    double first = kNaN;
    for (int n = 1; n <= m->measurements; ++n)
      if (std::isfinite(m->at(metric, n))) {
        first = it->second[std::size_t(n - 1)];
        break;
      }
    if (!std::isfinite(first)) return c;
    t0 = std::max(t0, first);
    t1 = std::min(t1, it->second.back());
  }
  if (!(t1 >= t0)) return c;
  for (int k = 0; k < points; ++k) {
    const double t = points == 1 ? t1 : t0 + (t1 - t0) * double(k) / double(points - 1);
    std::vector<double> v;
    for (const CampaignMetrics* m : seeds) {
      const auto& clock = m->series.at("instrument_time_s");
      double last = kNaN;
      for (int n = 1; n <= m->measurements && clock[std::size_t(n - 1)] <= t + 1e-9; ++n) {
        const double x = m->at(metric, n);
        if (std::isfinite(x)) last = x;
      }
      if (std::isfinite(last)) v.push_back(last);
    }
    if (int(v.size()) != c.seeds) continue;
    const stats::MeanCi ci = stats::mean_ci(v);
    c.x.push_back(t);
    c.mean.push_back(ci.mean);
    c.lower.push_back(std::isfinite(ci.lower) ? ci.lower : ci.mean);
    c.upper.push_back(std::isfinite(ci.upper) ? ci.upper : ci.mean);
  }
  return c;
}

Curve discovery_curve(const std::vector<const CampaignMetrics*>& seeds, int motif) {
  Curve c;
  c.seeds = int(seeds.size());
  int nmax = 0;
  for (const CampaignMetrics* m : seeds) nmax = std::max(nmax, m->measurements);
  for (int n = 1; n <= nmax; ++n) {
    int found = 0;
    for (const CampaignMetrics* m : seeds) {
      bool f = false;
      for (int i = 0; i < std::min(n, int(m->landed_motif.size())); ++i) f |= m->landed_motif[std::size_t(i)] == motif;
      found += f;
    }
    const double frac = seeds.empty() ? kNaN : double(found) / double(seeds.size());
    c.x.push_back(n);
    c.mean.push_back(frac);
    c.lower.push_back(frac);
    c.upper.push_back(frac);
  }
  return c;
}

namespace {
std::string csv_num(double v) {
  if (!std::isfinite(v)) return "";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.10g", v);
  return buf;
}
}  // namespace

std::string summary_csv(const Summary& s) {
  std::ostringstream o;
  o << "strategy,metric,unit,budget,n,mean,sd,ci_low,ci_high";
  for (std::uint64_t sd : s.seeds) o << ",seed_" << sd;
  o << "\n";
  std::vector<std::string> all = s.metrics;
  for (const auto& [st, metrics] : s.cells)
    for (const auto& [m, cells] : metrics)
      if (std::find(all.begin(), all.end(), m) == all.end()) all.push_back(m);
  for (const std::string& st : s.strategies)
    for (const std::string& m : all) {
      const MetricInfo* info = find_metric(m);
      for (int b : s.budgets_of(m)) {
        const SummaryCell* c = s.cell(st, m, b);
        if (!c) continue;
        o << st << ',' << m << ',' << (info ? info->unit : "") << ',' << b << ',' << c->ci.n << ',' << csv_num(c->ci.mean)
          << ',' << csv_num(c->ci.sd) << ',' << csv_num(c->ci.lower) << ',' << csv_num(c->ci.upper);
        for (double v : c->values) o << ',' << csv_num(v);
        o << "\n";
      }
    }
  return o.str();
}

std::string comparisons_csv(const Summary& s) {
  std::ostringstream o;
  o << "metric,budget,strategy_a,strategy_b,pairs,mean_a,mean_b,mean_a_minus_b,w_plus,w_minus,p_value,exact,min_possible_p\n";
  for (const Comparison& c : s.comparisons)
    o << c.metric << ',' << c.budget << ',' << c.a << ',' << c.b << ',' << c.pairs << ',' << csv_num(c.mean_a) << ','
      << csv_num(c.mean_b) << ',' << csv_num(c.mean_difference) << ',' << csv_num(c.test.w_plus) << ','
      << csv_num(c.test.w_minus) << ',' << csv_num(c.test.p_value) << ',' << (c.test.exact ? 1 : 0) << ','
      << csv_num(c.min_p) << "\n";
  return o.str();
}

namespace {
// Two means printed side by side: more digits when 3 would make different values look equal.
std::pair<std::string, std::string> format_pair(double a, double b) {
  std::string x = format_value(a), y = format_value(b);
  if (x == y && a != b && std::isfinite(a) && std::isfinite(b)) {
    char p[32], q[32];
    std::snprintf(p, sizeof p, "%.5g", a);
    std::snprintf(q, sizeof q, "%.5g", b);
    x = p, y = q;
  }
  return {x, y};
}
}  // namespace

std::string statistics_note(const Summary& s) {
  const int nseeds = int(s.seeds.size());
  const double min_p = std::min(1.0, 2.0 / std::pow(2.0, nseeds));
  std::ostringstream o;
  o << "Cells are the mean over seeds and its 95 % Student-t confidence interval. Comparisons are paired two-sided "
       "Wilcoxon signed-rank tests (exact). With "
    << nseeds << " paired seeds the smallest possible p-value is " << fmt_p(min_p)
    << (min_p > 0.05 ? ", so no difference in this run can be significant at 0.05, however large it is" : "")
    << ". \"Best\" means the best mean across seeds, nothing more.";
  return o.str();
}

std::vector<std::string> verdict_sentences(const Summary& s) {
  std::vector<std::string> out;
  for (const Winner& w : s.winners) {
    const MetricInfo& info = *find_metric(w.metric);
    std::ostringstream o;
    o << info.label << ": ";
    if (w.best.size() == s.strategies.size() && s.strategies.size() > 1) o << "all strategies tie (" << format_value(w.best_mean) << ")";
    else {
      for (std::size_t i = 0; i < w.best.size(); ++i) o << (i ? " and " : "") << w.best[i];
      const auto [best, runner] = format_pair(w.best_mean, w.runner_up_mean);
      o << (w.best.size() > 1 ? " tie for the best mean (" : " has the best mean (") << best << ")";
      if (!w.runner_up.empty())
        o << ", ahead of " << w.runner_up << " (" << runner << ", paired p = " << fmt_p(w.p_vs_runner_up) << ")";
    }
    o << ".";
    out.push_back(o.str());
  }
  {
    std::vector<std::string> wins;
    for (const Winner& w : s.winners)
      if (std::find(w.best.begin(), w.best.end(), s.reference) != w.best.end()) wins.push_back(find_metric(w.metric)->label);
    std::ostringstream o;
    o << s.reference << " has the best (or tied best) mean on " << wins.size() << " of " << s.winners.size() << " metrics";
    if (!wins.empty()) {
      o << ": ";
      for (std::size_t i = 0; i < wins.size(); ++i) o << (i ? "; " : "") << wins[i];
    }
    o << ".";
    out.push_back(o.str());
  }
  for (const std::string& st : s.strategies) {
    if (st == s.reference) continue;
    std::vector<std::string> not_beaten;
    for (const Winner& w : s.winners)
      if (std::find(w.reference_loses_to.begin(), w.reference_loses_to.end(), st) != w.reference_loses_to.end())
        not_beaten.push_back(find_metric(w.metric)->label);
    std::ostringstream o;
    if (not_beaten.empty()) o << s.reference << " beats " << st << " on every metric (by mean).";
    else {
      o << s.reference << " does NOT beat " << st << " (worse or tied mean) on: ";
      for (std::size_t i = 0; i < not_beaten.size(); ++i) o << (i ? "; " : "") << not_beaten[i];
      o << ".";
    }
    out.push_back(o.str());
  }
  return out;
}

std::vector<Table> summary_tables(const Summary& s) {
  std::vector<Table> tables;
  const int nseeds = int(s.seeds.size());
  const double min_p = std::min(1.0, 2.0 / std::pow(2.0, nseeds));
  {
    Table t;
    t.id = "verdict";
    t.title = "Verdict at " + std::to_string(s.campaign_budget) + " measurements";
    t.caption = "Best mean per metric across " + std::to_string(nseeds) + " seeds; p: paired Wilcoxon, best vs runner-up.";
    t.header = {"metric", "better", "best (mean)", "runner-up (mean)", "p best vs runner-up", s.reference + " rank",
                s.reference + " does not beat"};
    for (const Winner& w : s.winners) {
      const MetricInfo& info = *find_metric(w.metric);
      const auto [bm, rm] = format_pair(w.best_mean, w.runner_up_mean);
      std::string best;
      for (std::size_t i = 0; i < w.best.size(); ++i) best += (i ? ", " : "") + w.best[i];
      best += " (" + bm + ")";
      std::string loses;
      for (std::size_t i = 0; i < w.reference_loses_to.size(); ++i) loses += (i ? ", " : "") + w.reference_loses_to[i];
      if (loses.empty()) loses = w.reference_rank ? "(beats all)" : "–";
      t.rows.push_back({metric_title(info), info.higher_is_better ? "higher" : "lower", best,
                        w.runner_up.empty() ? "–" : w.runner_up + " (" + rm + ")",
                        fmt_p(w.p_vs_runner_up),
                        w.reference_rank ? std::to_string(w.reference_rank) + "/" + std::to_string(s.strategies.size()) : "–",
                        loses});
    }
    tables.push_back(std::move(t));
  }
  for (const std::string& m : s.metrics) {
    const MetricInfo& info = *find_metric(m);
    if (!info.per_step) continue;
    Table t;
    t.id = "metric-" + m;
    t.title = metric_title(info) + " — " + (info.higher_is_better ? "higher" : "lower") + " is better";
    t.caption = info.description + ". Mean [95 % CI] over seeds at each budget.";
    t.header = {"strategy"};
    for (int b : s.budgets) t.header.push_back("n = " + std::to_string(b));
    for (const std::string& st : s.strategies) {
      std::vector<std::string> row = {st};
      for (int b : s.budgets) {
        const SummaryCell* c = s.cell(st, m, b);
        row.push_back(c ? fmt_ci(c->ci) : "–");
      }
      t.rows.push_back(std::move(row));
    }
    tables.push_back(std::move(t));
  }
  std::vector<std::string> scalars;
  for (const std::string& m : s.metrics)
    if (!find_metric(m)->per_step) scalars.push_back(m);
  if (!scalars.empty()) {
    Table t;
    t.id = "campaign-level";
    t.title = "Campaign-level metrics (campaign of " + std::to_string(s.campaign_budget) + " measurements)";
    t.caption = "Measurements to first discovery: the 1-based count of the measurement that first landed on the motif; a "
                "campaign that never found it counts as N + 1, and 'found' says in how many seeds it was found. Lower is "
                "better for those; see the verdict for the VAE metrics' direction.";
    t.header = {"strategy"};
    for (const std::string& m : scalars) {
      t.header.push_back(find_metric(m)->label);
      if (m.rfind("first_", 0) == 0) t.header.push_back("found");
    }
    for (const std::string& st : s.strategies) {
      std::vector<std::string> row = {st};
      for (const std::string& m : scalars) {
        const SummaryCell* c = s.cell(st, m, s.campaign_budget);
        row.push_back(c ? fmt_ci(c->ci) : "–");
        if (m.rfind("first_", 0) == 0) {
          const SummaryCell* f = s.cell(st, "found_" + m.substr(6), s.campaign_budget);
          int found = 0, n = 0;
          if (f)
            for (double v : f->values)
              if (std::isfinite(v)) ++n, found += v > 0.5;
          row.push_back(std::to_string(found) + "/" + std::to_string(n));
        }
      }
      t.rows.push_back(std::move(row));
    }
    tables.push_back(std::move(t));
  }
  for (const std::string& m : s.metrics) {
    const MetricInfo& info = *find_metric(m);
    const std::vector<int> bs = s.budgets_of(m);
    Table t;
    t.id = "compare-" + m;
    t.title = "Paired comparison with " + s.reference + ": " + metric_title(info);
    t.caption = "Mean difference (" + s.reference + " − other) over paired seeds and the two-sided exact Wilcoxon p "
                "(smallest possible with " + std::to_string(nseeds) + " seeds: " + fmt_p(min_p) + ").";
    t.header = {"vs"};
    for (int b : bs) t.header.push_back("n = " + std::to_string(b));
    for (const std::string& st : s.strategies) {
      if (st == s.reference) continue;
      std::vector<std::string> row = {st};
      for (int b : bs) {
        const Comparison* c = s.comparison(m, b, s.reference, st);
        if (!c || c->pairs == 0) row.push_back("–");
        else
          row.push_back("Δ " + std::string(c->mean_difference > 0 ? "+" : "") + format_value(c->mean_difference) + ", p " +
                        fmt_p(c->test.p_value));
      }
      t.rows.push_back(std::move(row));
    }
    tables.push_back(std::move(t));
  }
  return tables;
}

std::string summary_markdown(const Summary& s) {
  std::ostringstream o;
  o << "# Benchmark: " << s.scenario << "\n\n";
  if (!s.description.empty()) o << s.description << "\n\n";
  o << "- Strategies: ";
  for (std::size_t i = 0; i < s.strategies.size(); ++i) o << (i ? ", " : "") << s.strategies[i];
  o << " (reference: **" << s.reference << "**)\n- Seeds: ";
  for (std::size_t i = 0; i < s.seeds.size(); ++i) o << (i ? ", " : "") << s.seeds[i];
  o << " (a seed fixes the film and the instrument noise: the same seed is a paired comparison across strategies)\n";
  o << "- Budgets (measurements): ";
  for (std::size_t i = 0; i < s.budgets.size(); ++i) o << (i ? ", " : "") << s.budgets[i];
  int total = 0;
  for (const auto& [st, k] : s.campaigns) total += k;
  o << "\n- Campaigns with metrics: " << total << " of " << s.strategies.size() * s.seeds.size() << "\n";
  for (const std::string& f : s.failures) o << "  - FAILED: " << f << "\n";
  for (const std::string& n : s.notes) o << "- Note: " << n << "\n";
  o << "\n> **Statistics.** " << statistics_note(s) << "\n\n";
  const std::vector<Table> tables = summary_tables(s);
  for (const Table& t : tables) {
    o << "## " << t.title << "\n\n" << t.caption << "\n\n|";
    for (const std::string& h : t.header) o << " " << h << " |";
    o << "\n|";
    for (std::size_t i = 0; i < t.header.size(); ++i) o << "---|";
    o << "\n";
    for (const auto& r : t.rows) {
      o << "|";
      for (const std::string& c : r) o << " " << c << " |";
      o << "\n";
    }
    o << "\n";
    if (t.id == "verdict") {
      for (const std::string& v : verdict_sentences(s)) o << "- " << v << "\n";
      o << "\n";
    }
  }
  return o.str();
}

}  // namespace sdm::bench
