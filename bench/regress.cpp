#include "bench/regress.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <sstream>

#include "core/error.hpp"
#include "core/run_directory.hpp"

namespace sdm::bench {

double Tolerance::allowed(double b) const { return abs + rel * (std::isfinite(b) ? std::abs(b) : 0.0); }

bool excluded_from_regression(const std::string& metric) {
  return metric == "decision_latency_s" || metric.find("wall") != std::string::npos;
}

std::map<std::string, Tolerance> default_tolerances() {
  // Kept short here; the baseline file carries the full reasons (results/baselines/README.md).
  const std::string counts = "a count averaged over seeds: the smallest real change is one class in one seed";
  return {
      {"default", {0.0, 1e-6, "exact up to rounding when a metric has no tolerance of its own"}},
      {"motif_classes", {0.3, 0, counts}},
      {"hysteresis_classes", {0.3, 0, counts}},
      {"first_asymmetric_boundary", {0.3, 0, "integer measurement counts averaged over seeds"}},
      {"first_triple_junction", {0.3, 0, "integer measurement counts averaged over seeds"}},
      {"first_grain_boundary", {0.3, 0, "integer measurement counts averaged over seeds"}},
      {"target_coverage", {0.005, 0, "fraction of histogram bins; one bin in one seed moves the mean by ~1/(3·occupied bins)"}},
      {"patch_coverage", {0.005, 0, "fraction of clusters; one cluster in one seed moves the mean by 1/(3k)"}},
      {"diversity", {0, 1e-3, "continuous; computed from measured curves (deterministic simulator, no BLAS)"}},
      {"instrument_time_s", {0, 1e-6, "simulated instrument clock: exact up to rounding"}},
      {"model_rmse", {0, 0.02, "DKL evaluation model: float32 torch + LAPACK differ in the last bits across CPUs"}},
      {"model_nlpd", {0.05, 0.02, "DKL evaluation model: float32 torch + LAPACK differ in the last bits across CPUs"}},
      {"vae_knn_accuracy", {0.02, 0, "dual VAE trained in float32 torch"}},
      {"vae_im2spec_nrmse", {0, 0.05, "dual VAE trained in float32 torch"}},
  };
}

Baseline baseline_from_summary(const Summary& s, const std::map<std::string, Tolerance>& tol) {
  Baseline b;
  b.scenario = s.scenario;
  b.tolerances = tol;
  for (const std::string& st : s.strategies)
    for (const std::string& m : s.metrics) {
      if (excluded_from_regression(m)) continue;
      for (int budget : s.budgets_of(m)) {
        const SummaryCell* c = s.cell(st, m, budget);
        if (!c) continue;
        BaselineValue v;
        v.mean = c->ci.n > 0 ? c->ci.mean : kNaN;
        v.seeds = c->values;
        b.values[st][m][budget] = v;
      }
    }
  return b;
}

namespace {
nlohmann::json num(double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr); }
double num(const nlohmann::json& j) { return j.is_number() ? j.get<double>() : kNaN; }
}  // namespace

nlohmann::json baseline_json(const Baseline& b) {
  nlohmann::json j;
  j["scenario"] = b.scenario;
  j["about"] = b.about;
  j["written"] = b.written;
  j["build"] = b.build;
  for (const auto& [m, t] : b.tolerances) j["tolerances"][m] = {{"abs", t.abs}, {"rel", t.rel}, {"why", t.why}};
  j["values"] = nlohmann::json::object();
  for (const auto& [st, metrics] : b.values)
    for (const auto& [m, budgets] : metrics)
      for (const auto& [budget, v] : budgets) {
        nlohmann::json seeds = nlohmann::json::array();
        for (double x : v.seeds) seeds.push_back(num(x));
        j["values"][st][m][std::to_string(budget)] = {{"mean", num(v.mean)}, {"seeds", seeds}};
      }
  return j;
}

void write_baseline(const std::filesystem::path& file, const Baseline& b) {
  std::error_code ec;
  if (file.has_parent_path()) std::filesystem::create_directories(file.parent_path(), ec);
  core::write_file_atomically(file, baseline_json(b).dump(2) + "\n");
}

Baseline read_baseline(const std::filesystem::path& file) {
  std::ifstream f(file);
  if (!f) throw Error(file.string() + ": cannot read the baseline (create it with `sdm regress <scenario> --baseline " +
                      file.string() + " --update`)");
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(f);
  } catch (const nlohmann::json::exception& e) {
    throw Error(file.string() + ": not valid JSON: " + e.what());
  }
  Baseline b;
  try {
    b.scenario = j.at("scenario").get<std::string>();
    b.about = j.value("about", "");
    b.written = j.value("written", "");
    b.build = j.value("build", nlohmann::json::object());
    if (j.contains("tolerances"))
      for (auto it = j["tolerances"].begin(); it != j["tolerances"].end(); ++it) {
        Tolerance t;
        t.abs = it.value().value("abs", 0.0);
        t.rel = it.value().value("rel", 0.0);
        t.why = it.value().value("why", "");
        if (!(t.abs >= 0) || !(t.rel >= 0))
          throw Error(file.string() + ": tolerance of '" + it.key() + "' must have abs >= 0 and rel >= 0");
        b.tolerances[it.key()] = t;
      }
    for (auto s = j.at("values").begin(); s != j.at("values").end(); ++s)
      for (auto m = s.value().begin(); m != s.value().end(); ++m)
        for (auto k = m.value().begin(); k != m.value().end(); ++k) {
          BaselineValue v;
          v.mean = num(k.value().at("mean"));
          if (k.value().contains("seeds"))
            for (const auto& x : k.value()["seeds"]) v.seeds.push_back(num(x));
          b.values[s.key()][m.key()][std::stoi(k.key())] = v;
        }
  } catch (const nlohmann::json::exception& e) {
    throw Error(file.string() + ": malformed baseline: " + e.what());
  } catch (const std::invalid_argument&) {
    throw Error(file.string() + ": malformed baseline: a budget key is not an integer");
  }
  return b;
}

RegressionReport compare_to_baseline(const Baseline& base, const Baseline& cur) {
  RegressionReport r;
  r.scenario = base.scenario;
  auto tol_of = [&](const std::string& m) -> Tolerance {
    if (auto it = base.tolerances.find(m); it != base.tolerances.end()) return it->second;
    if (auto it = base.tolerances.find("default"); it != base.tolerances.end()) return it->second;
    return {};
  };
  for (const auto& [st, metrics] : base.values)
    for (const auto& [m, budgets] : metrics) {
      if (excluded_from_regression(m)) continue;
      for (const auto& [budget, v] : budgets) {
        ++r.compared;
        Deviation d;
        d.strategy = st, d.metric = m, d.budget = budget, d.baseline = v.mean;
        const Tolerance t = tol_of(m);
        d.tolerance = t.allowed(v.mean);
        const BaselineValue* c = nullptr;
        if (auto a = cur.values.find(st); a != cur.values.end())
          if (auto b = a->second.find(m); b != a->second.end())
            if (auto k = b->second.find(budget); k != b->second.end()) c = &k->second;
        if (!c) {
          d.status = "MISSING";
          d.beyond = true;
          ++r.beyond;
          r.rows.push_back(d);
          continue;
        }
        d.current = c->mean;
        const bool nb = std::isnan(d.baseline), nc = std::isnan(d.current);
        if (nb && nc) continue;
        if (nb != nc) {
          d.status = nc ? "MISSING (now undefined)" : "CHANGED (now defined)";
          d.beyond = true;
          ++r.beyond, ++r.moved;
          r.rows.push_back(d);
          continue;
        }
        d.change = d.current - d.baseline;
        if (d.change == 0) continue;
        ++r.moved;
        d.beyond = std::abs(d.change) > d.tolerance;
        if (d.beyond) {
          ++r.beyond;
          const MetricInfo* info = find_metric(m);
          const bool worse = info ? (info->higher_is_better ? d.change < 0 : d.change > 0) : true;
          d.status = worse ? "REGRESSED (worse)" : "CHANGED (better)";
        } else {
          d.status = "moved (within tolerance)";
        }
        r.rows.push_back(d);
      }
    }
  for (const auto& [st, metrics] : cur.values)
    for (const auto& [m, budgets] : metrics)
      for (const auto& [budget, v] : budgets) {
        bool known = false;
        if (auto a = base.values.find(st); a != base.values.end())
          if (auto b = a->second.find(m); b != a->second.end()) known = b->second.count(budget) > 0;
        if (known || excluded_from_regression(m)) continue;
        Deviation d;
        d.strategy = st, d.metric = m, d.budget = budget, d.current = v.mean, d.status = "NEW (not in baseline)";
        ++r.added;
        r.rows.push_back(d);
      }
  std::stable_sort(r.rows.begin(), r.rows.end(), [](const Deviation& a, const Deviation& b) {
    if (a.beyond != b.beyond) return a.beyond;
    const double ra = std::isfinite(a.change) && a.tolerance > 0 ? std::abs(a.change) / a.tolerance : 1e300;
    const double rb = std::isfinite(b.change) && b.tolerance > 0 ? std::abs(b.change) / b.tolerance : 1e300;
    return ra > rb;
  });
  return r;
}

std::string format_regression(const RegressionReport& r, int max_within) {
  auto f = [](double v) {
    if (!std::isfinite(v)) return std::string("–");
    char buf[40];
    std::snprintf(buf, sizeof buf, "%.6g", v);
    return std::string(buf);
  };
  std::ostringstream o;
  o << "sdm regress: scenario '" << r.scenario << "': " << r.compared << " baseline values compared, " << r.moved
    << " moved, " << r.beyond << " outside tolerance" << (r.added ? ", " + std::to_string(r.added) + " new" : "") << "\n";
  if (r.rows.empty()) {
    o << "every value is identical to the baseline\n";
    return o.str();
  }
  char line[512];
  std::snprintf(line, sizeof line, "%-20s %-26s %6s %13s %13s %13s %12s  %s\n", "strategy", "metric", "budget", "baseline",
                "current", "change", "tolerance", "status");
  o << line;
  int within = 0, hidden = 0;
  for (const Deviation& d : r.rows) {
    if (!d.beyond && d.status.rfind("NEW", 0) != 0 && ++within > max_within) {
      ++hidden;
      continue;
    }
    std::snprintf(line, sizeof line, "%-20s %-26s %6d %13s %13s %13s %12s  %s\n", d.strategy.c_str(), d.metric.c_str(),
                  d.budget, f(d.baseline).c_str(), f(d.current).c_str(), f(d.change).c_str(), f(d.tolerance).c_str(),
                  d.status.c_str());
    o << line;
  }
  if (hidden) o << "(" << hidden << " more values moved within their tolerance)\n";
  o << (r.passed() ? "PASSED: every metric is within its tolerance of the baseline\n"
                   : "FAILED: metrics left their tolerance; if the change is intended, rerun with --update and commit the "
                     "new baseline\n");
  return o.str();
}

}  // namespace sdm::bench
