#include "bench/distributed/merge.hpp"

#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>

#include "bench/scenario.hpp"
#include "core/error.hpp"
#include "core/run_directory.hpp"
#include "hardware/backend_factory.hpp"

namespace fs = std::filesystem;
using nlohmann::json;

namespace sdm::bench::distributed {

namespace {

struct Source {
  fs::path dir;
  json manifest;
  std::vector<json> shard_records;
  std::vector<Job> jobs;
  std::vector<std::optional<CampaignMetrics>> metrics;
};

std::string read_text(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

// A job's metrics without what measures the machine rather than the campaign (wall times,
// decision latency): what must agree between two runs of the same campaign.
json comparable(const CampaignMetrics& m) {
  json j = m.to_json();
  j.erase("wall_s");
  j.erase("metrics_wall_s");
  j.erase("step_latency_s");
  if (j.contains("series")) j["series"].erase("decision_latency_s");
  return j;
}

// 1-based number of the first differing line of two texts.
int first_difference(const std::string& a, const std::string& b) {
  std::istringstream x(a), y(b);
  std::string la, lb;
  for (int n = 1;; ++n) {
    const bool ga = bool(std::getline(x, la)), gb = bool(std::getline(y, lb));
    if (!ga && !gb) return n;
    if (ga != gb || la != lb) return n;
  }
}

std::string job_name(const Job& j) { return j.label + " seed " + std::to_string(j.seed); }

void copy_campaign(const fs::path& from, const fs::path& to) {
  std::error_code ec;
  fs::create_directories(to.parent_path(), ec);
  fs::copy(from, to, fs::copy_options::recursive | fs::copy_options::create_hard_links, ec);
  if (!ec) return;
  fs::remove_all(to, ec);  // e.g. another file system: plain copies instead
  ec.clear();
  fs::copy(from, to, fs::copy_options::recursive, ec);
  if (ec) throw Error("cannot copy " + from.string() + " to " + to.string() + ": " + ec.message());
}

}  // namespace

BenchResult merge_runs(const MergeOptions& o) {
  auto log = [&](const std::string& s) {
    if (o.log) *o.log << s << std::endl;
  };
  if (o.sources.empty()) throw Error("--merge needs at least one run folder");

  // ---- the folders: readable run folders, none twice, one scenario text ----
  std::vector<Source> src;
  for (const fs::path& d : o.sources) {
    std::error_code ec;
    if (!fs::is_directory(d, ec)) throw Error("--merge " + d.string() + ": no such run folder");
    for (const Source& s : src)
      if (fs::equivalent(s.dir, d, ec))
        throw Error("--merge: " + d.string() + " is given twice (also as " + s.dir.string() + ")");
    Source s;
    s.dir = d;
    std::ifstream f(d / "manifest.json");
    if (!f) throw Error("--merge " + d.string() + ": no manifest.json, not an sdm bench run folder");
    try {
      s.manifest = json::parse(f);
    } catch (const std::exception& e) {
      throw Error("--merge " + d.string() + ": unreadable manifest.json: " + e.what());
    }
    if (!s.manifest.contains("scenario") || !s.manifest["scenario"].contains("text"))
      throw Error("--merge " + d.string() + ": manifest.json records no scenario text");
    if (fs::is_directory(d / "shards", ec))
      for (const auto& e : fs::directory_iterator(d / "shards", ec)) {
        if (e.path().extension() != ".json") continue;
        try {
          s.shard_records.push_back(json::parse(read_text(e.path())));
        } catch (const std::exception&) {
          // a record cut short by a killed shard says nothing reliable; the campaigns do
        }
      }
    src.push_back(std::move(s));
  }
  const std::string text = src[0].manifest["scenario"]["text"];
  for (std::size_t i = 1; i < src.size(); ++i)
    if (src[i].manifest["scenario"]["text"] != text)
      throw Error("--merge: " + src[i].dir.string() + " and " + src[0].dir.string() +
                  " were made from different scenario texts (they differ from line " +
                  std::to_string(first_difference(src[i].manifest["scenario"]["text"], text)) +
                  "); merge only shards of one scenario");

  // ---- the scenario ----
  Scenario sc;
  if (!o.scenario_file.empty()) {
    sc = load_scenario(o.scenario_file);
    if (sc.text != text)
      throw Error("--merge: " + o.scenario_file.string() + " is not the scenario text the folders were made from (differs from line " +
                  std::to_string(first_difference(sc.text, text)) + ")");
  } else {
    const fs::path recorded = src[0].manifest["scenario"].value("path", "");
    std::error_code ec;
    if (!recorded.empty() && fs::is_regular_file(recorded, ec) && read_text(recorded) == text) sc = load_scenario(recorded);
    else sc = parse_scenario(text, (src[0].dir / "scenario.toml").string());
  }
  if (sc.strategies.empty()) throw Error("--merge: the scenario has no [[strategy]]");
  if (sc.backend.kind == "replay") {
    try {
      (void)hardware::load_replay_dataset(sc.backend);
    } catch (const std::exception& e) {
      throw Error(std::string(e.what()) + "; the report needs the recording: give the scenario file, as in `sdm bench " +
                  "<scenario.toml> --merge ...`, so relative paths resolve");
    }
  }

  // ---- which folder holds each campaign ----
  for (Source& s : src) {
    s.jobs = plan_jobs(sc, s.dir);
    for (const Job& j : s.jobs) s.metrics.push_back(load_job_metrics(j));
  }
  const std::size_t n_jobs = src[0].jobs.size();
  std::vector<int> from(n_jobs, -1);
  std::vector<std::string> duplicates;
  for (std::size_t i = 0; i < n_jobs; ++i)
    for (std::size_t k = 0; k < src.size(); ++k) {
      if (!src[k].metrics[i]) continue;
      if (from[i] < 0) {
        from[i] = int(k);
        continue;
      }
      const Source& a = src[std::size_t(from[i])];
      const bool same = comparable(*a.metrics[i]) == comparable(*src[k].metrics[i]);
      duplicates.push_back("  " + job_name(src[k].jobs[i]) + ": complete in " + a.dir.string() + " and " + src[k].dir.string() +
                           (same ? " (identical metrics)" : " (CONFLICT: the metrics differ)"));
    }
  if (!duplicates.empty()) {
    std::string msg = "--merge: " + std::to_string(duplicates.size()) +
                      " campaign(s) are complete in more than one folder; each must come from exactly one (remove the "
                      "extra copy's campaign folder, or leave that folder out):\n";
    for (std::size_t i = 0; i < duplicates.size() && i < 20; ++i) msg += duplicates[i] + "\n";
    if (duplicates.size() > 20) msg += "  ... and " + std::to_string(duplicates.size() - 20) + " more\n";
    throw Error(msg.substr(0, msg.size() - 1));
  }

  // The shard layout, when every record agrees on N: names the owner of a missing campaign.
  int shard_count = 0;
  bool agree = true;
  std::map<int, std::vector<fs::path>> shard_folders;  // K → folders with a record of shard K
  for (const Source& s : src)
    for (const json& r : s.shard_records) {
      const int n = r.value("count", 0), k = r.value("index", 0);
      if (shard_count == 0) shard_count = n;
      agree &= n == shard_count;
      shard_folders[k].push_back(s.dir);
    }
  if (!agree) shard_count = 0;

  // ---- the destination ----
  const bool in_place = src.size() == 1 && o.run_dir.empty();
  fs::path dest = src[0].dir;
  if (!in_place) {
    std::error_code ec;
    if (!o.run_dir.empty()) {
      for (const Source& s : src)
        if (fs::exists(o.run_dir, ec) && fs::equivalent(o.run_dir, s.dir, ec))
          throw Error("--run-dir " + o.run_dir.string() + " is one of the folders to merge; give a new folder");
      if (fs::exists(o.run_dir, ec) && !(fs::is_directory(o.run_dir, ec) && fs::directory_iterator(o.run_dir) == fs::directory_iterator()))
        throw Error("--run-dir " + o.run_dir.string() + ": exists and is not empty; the merged run needs a new folder");
      const fs::path parent = o.run_dir.has_parent_path() ? o.run_dir.parent_path() : fs::path(".");
      core::check_writable(parent);
      fs::create_directories(o.run_dir, ec);
      if (ec) throw Error("cannot create " + o.run_dir.string() + ": " + ec.message());
      dest = o.run_dir;
    } else {
      dest = core::create_run_directory(o.results_root, sc.name);
    }
  } else {
    core::check_writable(dest);
  }

  const std::vector<Job> all = plan_jobs(sc, dest);
  json merged_from = json::array();
  std::vector<int> taken(src.size(), 0);
  for (std::size_t i = 0; i < n_jobs; ++i)
    if (from[i] >= 0) {
      ++taken[std::size_t(from[i])];
      if (!in_place) copy_campaign(src[std::size_t(from[i])].jobs[i].directory, all[i].directory);
    }
  for (std::size_t k = 0; k < src.size(); ++k) {
    json m = src[k].manifest;
    m.erase("scenario");
    merged_from.push_back({{"folder", fs::absolute(src[k].dir).lexically_normal().string()},
                           {"campaigns_taken", taken[k]},
                           {"manifest", m},
                           {"shards", src[k].shard_records}});
  }

  // ---- what is missing, and why ----
  std::map<std::size_t, std::string> why;
  std::set<int> shards_missing;
  for (std::size_t i = 0; i < n_jobs; ++i) {
    if (from[i] >= 0) continue;
    std::string reason = "not run";
    for (const Source& s : src) {
      std::error_code ec;
      const fs::path d = s.jobs[i].directory;
      if (fs::exists(d / "failed.txt", ec)) {
        std::ifstream f(d / "failed.txt");
        std::string line;
        std::getline(f, line);
        reason = "failed in " + s.dir.string() + ": " + line;
        break;
      }
      if (fs::exists(d, ec)) reason = "unfinished in " + s.dir.string() + " (stopped or killed mid-campaign)";
    }
    if (shard_count > 0) {
      const int k = int(i % std::size_t(shard_count)) + 1;
      shards_missing.insert(k);
      reason = "shard " + std::to_string(k) + "/" + std::to_string(shard_count) + ", " + reason;
    }
    why[i] = reason;
  }

  BenchResult r;
  r.run_dir = dest;
  r.jobs = int(n_jobs);
  r.owned = int(n_jobs);
  r.reused = int(n_jobs - why.size());
  r.failed = int(why.size());
  std::string sources_text;
  for (const Source& s : src) sources_text += (sources_text.empty() ? "" : ", ") + s.dir.string();
  const std::vector<std::string> facts = {
      "Merged by sdm bench --merge from " + std::to_string(src.size()) + " folder(s): " + sources_text,
      "Campaigns: " + std::to_string(r.reused) + " of " + std::to_string(n_jobs) + " with metrics",
  };
  log("sdm bench --merge: " + sc.name + ": " + std::to_string(r.reused) + " of " + std::to_string(n_jobs) +
      " campaigns found in " + std::to_string(src.size()) + " folder(s)" + (in_place ? "" : ", merged into " + dest.string()));

  core::Manifest manifest("merge", sc.name, sc.path.string(), sc.text, sc.campaign.seed);
  core::write_file_atomically(dest / "scenario.toml", sc.text);
  manifest.write(dest);  // "running" while the outputs are written
  summarise_run(sc, dest, all, facts, r, [&](const Job& j) {
    for (std::size_t i = 0; i < all.size(); ++i)
      if (all[i].label == j.label && all[i].seed == j.seed) return why.count(i) ? why.at(i) : std::string("no metrics");
    return std::string("no metrics");
  });
  nlohmann::json& extra = manifest.extra();
  for (const auto& s : sc.strategies) extra["strategies"].push_back(s.label);
  extra["seeds"] = sc.campaign.seeds;
  extra["backend"] = sc.backend.kind;
  extra["merged_from"] = merged_from;
  extra["campaigns_with_metrics"] = r.campaigns.size();
  extra["failed"] = r.summary.failures;
  manifest.finish(why.empty() ? "ok" : "incomplete: " + std::to_string(why.size()) + " campaigns missing");
  manifest.write(dest);

  for (const auto& [i, reason] : why) log("missing: " + job_name(all[i]) + " (" + reason + ")");
  for (const Source& s : src)
    for (const json& rec : s.shard_records)
      if (rec.value("status", "") == "running" || rec.value("status", "") == "interrupted")
        log("note: shard " + rec.value("shard", "?") + " in " + s.dir.string() + " last recorded \"" + rec.value("status", "") +
            "\" (started " + rec.value("start_time", "?") + " on " + rec.value("host", "?") + ", pid " +
            std::to_string(rec.value("pid", 0)) + ")" +
            (rec.value("status", "") == "running" ? ": it is still running, or it died" : ""));
  if (!why.empty()) {
    const std::string scen = o.scenario_file.empty() ? sc.path.string() : o.scenario_file.string();
    for (int k : shards_missing) {
      const auto it = shard_folders.find(k);
      log("  re-run shard " + std::to_string(k) + " with: sdm bench " + scen + " --shard " + std::to_string(k) + "/" +
          std::to_string(shard_count) + " --resume " +
          (it != shard_folders.end() && !it->second.empty() ? it->second.front().string() : std::string("<its folder>")) +
          ", then merge again");
    }
    log("  or run the missing campaigns into this folder: sdm bench " + scen + " --resume " + dest.string());
  }
  log("summary: " + (dest / "summary.md").string());
  log("report: " + r.report.string());
  return r;
}

}  // namespace sdm::bench::distributed
