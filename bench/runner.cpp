#include "bench/runner.hpp"

#include <algorithm>
#include <cctype>
#include <functional>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <fstream>
#include <map>
#include <mutex>
#include <sstream>
#include <random>
#include <thread>
#include <unistd.h>

#include "bench/ground_truth.hpp"
#include "bench/microscope_setup.hpp"
#include "bench/model_error.hpp"
#include "bench/plots.hpp"
#include "bench/regress.hpp"
#include "bench/report.hpp"
#include "bench/vae_metrics.hpp"
#include "core/error.hpp"
#include "core/run_directory.hpp"
#include "engine/acquisition/scalarizer.hpp"
#include "engine/campaign/campaign.hpp"
#include "engine/patches/patch_extraction.hpp"
#include "hardware/backend_factory.hpp"
#include "hardware/replay/dataset.hpp"
#include "sim/film.hpp"
#include "sim/twin.hpp"

namespace fs = std::filesystem;

namespace sdm::bench {

// ---------------------------------------------------------------------------------------------
// Ground truth, once per film.

class TruthCache {
 public:
  /// The truth of `seed`'s film for a campaign whose grid+survey hash to `fingerprint`; computes
  /// it with `make` on first use. A campaign whose survey differs from the cached one (it cannot
  /// on the twin or a replay, but a remote instrument could) gets its own, uncached truth.
  std::shared_ptr<const FilmTruth> get(std::uint64_t seed, std::uint64_t fingerprint,
                                       const std::function<FilmTruth()>& make) {
    std::shared_ptr<Entry> e;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      auto& slot = entries_[seed];
      if (!slot) slot = std::make_shared<Entry>();
      e = slot;
    }
    std::lock_guard<std::mutex> lock(e->mutex);
    if (!e->truth) {
      e->truth = std::make_shared<const FilmTruth>(make());
      e->fingerprint = fingerprint;
    }
    if (e->fingerprint != fingerprint) return std::make_shared<const FilmTruth>(make());
    return e->truth;
  }

 private:
  struct Entry {
    std::mutex mutex;
    std::shared_ptr<const FilmTruth> truth;
    std::uint64_t fingerprint = 0;
  };
  std::mutex mutex_;
  std::map<std::uint64_t, std::shared_ptr<Entry>> entries_;
};

namespace {

std::uint64_t fnv1a(const void* data, std::size_t n, std::uint64_t h = 1469598103934665603ULL) {
  const unsigned char* p = static_cast<const unsigned char*>(data);
  for (std::size_t i = 0; i < n; ++i) h = (h ^ p[i]) * 1099511628211ULL;
  return h;
}

std::uint64_t fingerprint(const engine::campaign::CandidateGrid& g, const hardware::SurveyImage& s, const std::string& channel) {
  std::uint64_t h = fnv1a(g.ix_px.data(), g.ix_px.size() * sizeof(int));
  h = fnv1a(g.iy_px.data(), g.iy_px.size() * sizeof(int), h);
  if (const hardware::Channel* c = s.find(channel)) h = fnv1a(c->data.data(), c->data.size() * sizeof(double), h);
  return h;
}

TruthOptions truth_options(const Scenario& sc, std::uint64_t seed, int threads) {
  TruthOptions o;
  o.sweep = engine::campaign::campaign_waveform(sc.campaign);
  o.scalarizer = engine::acquisition::ScalarizerSpec::from_name(sc.metrics.scalarizer, sc.metrics.scalarizer_bias_v,
                                                               sc.metrics.onset_current_a);
  o.target_bins = sc.metrics.target_bins;
  o.patch_clusters = sc.metrics.patch_clusters;
  o.hysteresis_quantiles = sc.metrics.hysteresis_quantiles;
  o.cluster_seed = seed ^ 0x6b6d65616e732b2bULL;  // per film, identical for every strategy
  o.threads = threads;
  return o;
}

std::string safe_name(const std::string& s) {
  std::string o;
  for (char c : s) o += (std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.') ? c : '_';
  return o.empty() ? "strategy" : o;
}

// Forwards every call to the microscope stack and notes where the twin's tip really landed at
// each successful sweep (the Microscope interface hides drift from the engine, as a real one does).
class LandingRecorder : public hardware::MicroscopeBackend {
 public:
  LandingRecorder(hardware::MicroscopeBackend& inner, std::shared_ptr<sim::Twin> twin) : inner_(inner), twin_(std::move(twin)) {}
  hardware::SurveyImage survey(const hardware::SurveySpec& spec) override { return inner_.survey(spec); }
  hardware::Position move_to(double x, double y) override { return inner_.move_to(x, y); }
  core::IvCurve iv_sweep(const core::Waveform& w) override {
    core::IvCurve c = inner_.iv_sweep(w);
    if (twin_) landings.push_back(twin_->last_landing());
    return c;
  }
  hardware::MicroscopeStatus status() override { return inner_.status(); }
  hardware::Capabilities capabilities() override { return inner_.capabilities(); }
  std::vector<sim::Landing> landings;

 private:
  hardware::MicroscopeBackend& inner_;
  std::shared_ptr<sim::Twin> twin_;
};

}  // namespace

// ---------------------------------------------------------------------------------------------

std::vector<Job> plan_jobs(const Scenario& sc, const fs::path& run_dir) {
  std::vector<Job> jobs;
  for (std::size_t i = 0; i < sc.strategies.size(); ++i)
    for (int k = 0; k < sc.campaign.seeds; ++k) {
      Job j;
      j.strategy = i;
      j.seed = sc.campaign.seed + std::uint64_t(k);
      j.label = sc.strategies[i].label;
      j.directory = run_dir / "campaigns" / (safe_name(j.label) + "-seed" + std::to_string(j.seed));
      jobs.push_back(j);
    }
  return jobs;
}

namespace {

// The manifest of an existing run folder; `what` names the folder in messages (e.g. "--resume x").
nlohmann::json read_run_manifest(const fs::path& dir, const std::string& what) {
  std::ifstream f(dir / "manifest.json");
  if (!f) throw Error(what + ": no manifest.json, not an sdm bench run folder");
  try {
    return nlohmann::json::parse(f);
  } catch (const std::exception& e) {
    throw Error(what + ": unreadable manifest.json: " + e.what());
  }
}

std::string manifest_text(const nlohmann::json& m) {
  const nlohmann::json sc = m.value("scenario", nlohmann::json::object());
  return sc.is_object() ? sc.value("text", std::string()) : std::string();
}

// "runs/x/" → "runs/x": a folder named with a trailing separator has an empty filename().
fs::path without_trailing_separator(fs::path p) {
  while (!p.empty() && !p.has_filename() && p.has_parent_path() && p.parent_path() != p) p = p.parent_path();
  return p;
}

bool empty_folder(const fs::path& dir) {
  std::error_code ec;
  return fs::is_directory(dir, ec) && fs::directory_iterator(dir, ec) == fs::directory_iterator();
}

}  // namespace

void check_bench_inputs(const Scenario& sc, const BenchOptions& o) {
  if (sc.strategies.empty()) throw Error(sc.path.string() + ": no [[strategy]] to run");
  if (sc.backend.kind == "remote")
    throw Error(sc.path.string() + ": [backend] kind = \"remote\" has no ground truth to score against; sdm bench runs "
                                   "twin or replay scenarios (use sdm run for a remote instrument)");
  if (sc.backend.kind == "replay") (void)hardware::load_replay_dataset(sc.backend);  // readable, valid
  if (o.workers < 0) throw Error("--workers must be >= 0 (0: the core count), got " + std::to_string(o.workers));
  if (o.shard.count < 1 || o.shard.index < 1 || o.shard.index > o.shard.count)
    throw Error("--shard " + o.shard.to_string() + ": expected K/N with whole numbers 1 <= K <= N");
  if (!o.resume.empty() && !o.run_dir.empty())
    throw Error("--resume and --run-dir both name a run folder; give one (--run-dir also completes an existing run)");
  std::error_code ec;
  if (!o.run_dir.empty()) {
    const fs::path run_dir = without_trailing_separator(o.run_dir);
    const std::string what = "--run-dir " + run_dir.string();
    if (fs::exists(run_dir / "manifest.json", ec)) {
      if (manifest_text(read_run_manifest(run_dir, what)) != sc.text)
        throw Error(what + ": holds a run of a different scenario text than " + sc.path.string() +
                    "; give a new folder, or the scenario file that run was made from");
      core::check_writable(run_dir);
    } else if (fs::exists(run_dir, ec) && !empty_folder(run_dir)) {
      throw Error(what + ": exists and is neither empty nor an sdm bench run folder (no manifest.json)");
    } else {
      const fs::path parent = run_dir.has_parent_path() ? run_dir.parent_path() : fs::path(".");
      core::check_writable(parent);
    }
    return;
  }
  if (o.resume.empty()) {
    core::check_writable(o.results_root);
    return;
  }
  if (!fs::is_directory(o.resume, ec)) throw Error("--resume " + o.resume.string() + ": no such run folder");
  if (manifest_text(read_run_manifest(o.resume, "--resume " + o.resume.string())) != sc.text)
    throw Error("--resume " + o.resume.string() + ": the run was made from a different scenario text than " +
                sc.path.string() + "; resume with the same file, or start a new run");
  core::check_writable(o.resume);
}

CampaignMetrics run_job(const Scenario& sc, const Job& job, TruthCache* cache, const std::atomic<bool>* stop,
                        std::ostream* log) {
  ProgressLog logger(log);
  const auto t0 = std::chrono::steady_clock::now();
  std::error_code ec;
  fs::create_directories(job.directory, ec);
  if (ec) throw Error("cannot create " + job.directory.string() + ": " + ec.message());

  MicroscopeSetup setup = make_microscope(sc, job.seed, job.directory);
  LandingRecorder* recorder = nullptr;
  hardware::Microscope scope([&] {
    auto r = std::make_unique<LandingRecorder>(setup.microscope->backend(), setup.twin);
    recorder = r.get();
    return r;
  }());

  engine::campaign::CampaignSpec spec;
  spec.campaign = sc.campaign;
  spec.strategy = sc.strategies[job.strategy];
  spec.dkl = sc.dkl;
  spec.seed = job.seed;
  spec.directory = job.directory;
  spec.scenario_text = sc.text;
  spec.scenario_path = sc.path.string();
  int next_report = 1;
  const int budget = sc.campaign.budget;
  auto progress = [&](const engine::campaign::Progress& p) {
    // a line at each quarter of the budget
    if (p.step * 4 >= next_report * budget) {
      while (p.step * 4 >= next_report * budget) ++next_report;
      logger.line("  " + job.label + " seed " + std::to_string(job.seed) + ": " + std::to_string(p.step) + "/" +
                  std::to_string(p.budget) + " measurements, " + format_seconds(p.elapsed_s));
    }
  };
  engine::campaign::CampaignOutcome out = engine::campaign::run_campaign(spec, scope, progress, stop);
  const double campaign_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (out.end == engine::campaign::CampaignEnd::interrupted)
    throw Error("interrupted after " + std::to_string(out.steps.size()) + " measurements");

  // ---- metrics ----
  const auto t1 = std::chrono::steady_clock::now();
  const engine::gp::RowMatrixF patches = engine::patches::extract_patches(out.survey, sc.campaign.survey_channel, out.grid);
  const TruthOptions opt = truth_options(sc, job.seed, 1);
  std::shared_ptr<const hardware::replay::Dataset> dataset;
  if (!setup.twin) {
    dataset = setup.dataset;
    if (!dataset) throw Error("no ground truth for backend '" + sc.backend.kind + "' (the harness scores twin and replay campaigns)");
  }
  auto make_truth = [&]() -> FilmTruth {
    if (setup.twin) return twin_film_truth(setup.twin->film(), out.grid, out.survey.axes, patches, opt);
    return dataset_truth(*dataset, out.grid, out.survey.axes, patches, opt);
  };
  std::shared_ptr<const FilmTruth> truth;
  if (cache) truth = cache->get(job.seed, fingerprint(out.grid, out.survey, sc.campaign.survey_channel), make_truth);
  else truth = std::make_shared<const FilmTruth>(make_truth());

  std::vector<std::string> notes;
  std::vector<PointTruth> landed;
  if (setup.twin) {
    // Match the recorded sweeps' landings to the steps by the commanded position the step recorded.
    const sim::Film& film = setup.twin->film();
    std::size_t k = 0;
    bool matched = true;
    for (const auto& s : out.steps) {
      while (k < recorder->landings.size() &&
             !(std::abs(recorder->landings[k].commanded_m.x - s.x_reached_m) <= 1e-12 &&
               std::abs(recorder->landings[k].commanded_m.y - s.y_reached_m) <= 1e-12))
        ++k;
      if (k >= recorder->landings.size()) {
        matched = false;
        break;
      }
      const sim::Landing& l = recorder->landings[k++];
      landed.push_back(twin_point_truth(film, l.ix, l.iy, opt));
    }
    if (!matched) {
      // Cannot happen with the loop as specified; fall back to the reported positions and say so.
      notes.push_back("true landing positions unavailable: truth read at the reported (drift-free) positions");
      landed.clear();
      for (const auto& s : out.steps) {
        const auto [ix, iy] = film.pixel_at(s.x_reached_m, s.y_reached_m);
        landed.push_back(twin_point_truth(film, ix, iy, opt));
      }
    }
  } else {
    for (const auto& s : out.steps) landed.push_back(dataset_point_truth(*dataset, s.x_reached_m, s.y_reached_m, opt));
  }

  CampaignMetrics m = compute_campaign_metrics(out.steps, landed, *truth, sc.metrics);
  m.strategy = job.label;
  m.seed = job.seed;
  m.end = engine::campaign::to_string(out.end);
  m.wall_s = campaign_s;
  for (auto& n : notes) m.notes.push_back(n);
  if (!out.message.empty() && out.end != engine::campaign::CampaignEnd::completed) m.notes.push_back(out.message);

  // Model error of the common evaluation DKL.
  {
    std::vector<int> cand;
    std::vector<double> targets;
    for (const auto& s : out.steps) {
      cand.push_back(s.candidate);
      double v = kNaN;
      try {
        v = engine::acquisition::scalarize(s.curve, opt.scalarizer);
      } catch (const std::exception&) {
      }
      targets.push_back(v);
    }
    const int n = int(out.steps.size());
    const auto at = model_error_steps(n, sc.metrics.model_error_every, sc.metrics.budgets, std::max(3, sc.campaign.initial_points));
    const ModelErrorSeries me = evaluate_model_error(patches, sc.campaign.patch_px, cand, targets, *truth, sc.dkl,
                                                     job.seed ^ 0x65766d6f64656cULL, at);
    auto& rmse = m.series["model_rmse"];
    auto& nlpd = m.series["model_nlpd"];
    rmse.assign(std::size_t(n), kNaN);
    nlpd.assign(std::size_t(n), kNaN);
    for (std::size_t i = 0; i < me.steps.size(); ++i) {
      rmse[std::size_t(me.steps[i] - 1)] = me.rmse[i];
      nlpd[std::size_t(me.steps[i] - 1)] = me.nlpd[i];
    }
  }

  // Dual-VAE metrics on the campaign's measured pairs, scored on the whole film's candidates.
  if (sc.metrics.vae && out.steps.size() >= 2) {
    TruthCurve truth_curve = [&](int c) -> std::vector<double> {
      const double x = out.survey.axes.x0_m + out.grid.ix_px[std::size_t(c)] * out.survey.axes.dx_m;
      const double y = out.survey.axes.y0_m + out.grid.iy_px[std::size_t(c)] * out.survey.axes.dy_m;
      if (setup.twin) {
        const sim::Film& film = setup.twin->film();
        const auto [ix, iy] = film.pixel_at(x, y);
        return sim::ground_truth_iv(film, ix, iy, opt.sweep).current_a;
      }
      int ix = 0, iy = 0;
      dataset->nearest(x, y, ix, iy);
      const double* s = dataset->spectrum(ix, iy);
      return std::vector<double>(s, s + dataset->n_points());
    };
    add_vae_metrics(m, sc, out.steps, patches, *truth, truth_curve, job.seed);
  }

  m.metrics_wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t1).count();
  core::write_file_atomically(job.directory / "metrics.json", m.to_json().dump(1) + "\n");
  return m;
}

std::optional<CampaignMetrics> load_job_metrics(const Job& j) {
  std::ifstream f(j.directory / "metrics.json");
  if (!f) return std::nullopt;
  try {
    CampaignMetrics m = CampaignMetrics::from_json(nlohmann::json::parse(f));
    if (m.strategy == j.label && m.seed == j.seed) return m;
  } catch (const std::exception&) {
    // an unreadable metrics.json means the job is redone
  }
  return std::nullopt;
}

std::vector<CampaignMetrics> load_campaign_metrics(const std::vector<Job>& jobs) {
  std::vector<CampaignMetrics> out;
  for (const Job& j : jobs)
    if (auto m = load_job_metrics(j)) out.push_back(std::move(*m));
  return out;
}

namespace {

PathBackground path_background(const Scenario& sc, std::uint64_t seed) {
  PathBackground bg;
  bg.seed = seed;
  if (sc.backend.kind == "twin") {
    const sim::Film film = sim::generate_film(sc.film, sim::film_seed(sc.film, seed));
    bg.nx = bg.ny = film.size_px;
    bg.image = film.measured_height_m;
    bg.x0_m = bg.y0_m = 0;
    bg.x1_m = bg.y1_m = film.scan_size_m();
    bg.labels.reserve(film.motif.size());
    for (sim::Motif mo : film.motif) bg.labels.push_back(int(mo));
    for (int k = 0; k < sim::kMotifCount; ++k) bg.label_names.push_back(sim::motif_name(sim::Motif(k)));
  } else {
    const auto d = hardware::load_replay_dataset(sc.backend);
    const hardware::Channel& c = d->structure();
    bg.nx = d->nx();
    bg.ny = d->ny();
    bg.image = c.data;
    bg.x0_m = d->axes.x0_m - 0.5 * d->axes.dx_m;
    bg.x1_m = d->axes.x0_m + (d->nx() - 0.5) * d->axes.dx_m;
    bg.y0_m = d->axes.y0_m - 0.5 * d->axes.dy_m;
    bg.y1_m = d->axes.y0_m + (d->ny() - 0.5) * d->axes.dy_m;
    bg.image_scale = 1;
    bg.image_label = c.name + (c.unit.empty() ? "" : " (" + c.unit + ")");
  }
  return bg;
}

std::vector<std::string> ground_truth_notes(const Scenario& sc) {
  std::vector<std::string> g;
  if (sc.backend.kind == "twin")
    g.push_back("Ground truth: the digital twin's film (seed = campaign seed + film.seed). Motif labels, the true "
                "scalarizer and the loop area are read at the pixel the tip actually landed on (thermal drift moves it "
                "off the requested candidate); patch coverage uses the candidate the strategy chose.");
  else
    g.push_back("Ground truth: the full recorded grid of " + sc.backend.path +
                ". The recording has no motif labels, so the motif metrics (classes measured, measurements to first "
                "discovery, VAE motif separability) are skipped for this scenario.");
  g.push_back("Target-space coverage: " + std::to_string(sc.metrics.target_bins) + "-bin histogram of the true " +
              sc.metrics.scalarizer + " at every candidate centre; the fraction of its non-empty bins hit.");
  g.push_back("Patch-space coverage: k-means (k = " + std::to_string(sc.metrics.patch_clusters) +
              ", k-means++ seeded per film) over every candidate patch; the fraction of clusters visited.");
  g.push_back("Model error: a DKL with the scenario's [dkl] settings, refitted from scratch every " +
              std::to_string(sc.metrics.model_error_every) +
              " measurements (and at each budget) on the measured pairs (patch, measured " + sc.metrics.scalarizer +
              " of the measured curve), predicting the true " + sc.metrics.scalarizer +
              " at every candidate centre; the same model and seed for every strategy. RMSE is divided by the film's "
              "sd of the truth (1 = no better than the film mean); NLPD is in standardised units with the learned noise.");
  g.push_back("Behaviour diversity: mean pairwise RMS distance of the measured curves in units of the 99th-percentile "
              "peak current of the film's ground-truth curves. Hysteresis classes: the film's loop areas cut at quantiles "
              "50/90/99 % (low, moderate, high, extreme); the number of classes among the measured points.");
  g.push_back("Cost: instrument time is the instrument clock (moves, settling, sweeps, survey); decision latency is the "
              "wall time from a measurement to the next location, on this machine.");
  if (sc.metrics.vae)
    g.push_back("Dual VAE (when built): fitted after each campaign on its measured (patch, curve) pairs with the [vae] "
                "settings; motif separability is the leave-one-out kNN accuracy (k = " + std::to_string(sc.metrics.knn_k) +
                ") of motif labels in the joint latent of up to " + std::to_string(sc.metrics.vae_eval_candidates) +
                " candidates, im2spec error the NRMSE of the curves it predicts from their patches.");
  return g;
}

}  // namespace

fs::path write_outputs(const Scenario& sc, const fs::path& run_dir, Summary& summary,
                       const std::vector<CampaignMetrics>& campaigns, const std::vector<std::string>& facts) {
  core::write_file_atomically(run_dir / "summary.csv", summary_csv(summary));
  core::write_file_atomically(run_dir / "comparisons.csv", comparisons_csv(summary));
  core::write_file_atomically(run_dir / "summary.md", summary_markdown(summary));
  const PathBackground bg = path_background(sc, sc.campaign.seed);
  const std::vector<PlotFile> plots = write_plots(summary, campaigns, bg, run_dir);
  ReportContext ctx;
  ctx.scenario_text = sc.text;
  ctx.scenario_path = sc.path.string();
  ctx.facts = facts;
  ctx.ground_truth = ground_truth_notes(sc);
  const fs::path report = run_dir / "report.html";
  core::write_file_atomically(report, report_html(summary, plots, ctx));
  return report;
}

namespace {

double steady_s() { return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count(); }

fs::path shard_record_path(const fs::path& run_dir, const distributed::Shard& shard) {
  return run_dir / "shards" / ("shard-" + std::to_string(shard.index) + "-of-" + std::to_string(shard.count) + ".json");
}

// Creates `dir` holding scenario.toml and manifest.json in one step (a filled sibling folder
// renamed into place), so that a process seeing `dir` always sees its manifest: shards started at
// once on one --run-dir either create it or find a complete one and join. Returns true when
// created here; false when another process created it first (its scenario text is checked).
bool create_or_join(const fs::path& dir, const Scenario& sc, const core::Manifest& manifest) {
  std::error_code ec;
  if (fs::exists(dir / "manifest.json", ec)) return false;
  const fs::path parent = dir.has_parent_path() ? dir.parent_path() : fs::path(".");
  std::random_device rd;
  const fs::path tmp = parent / ("." + dir.filename().string() + ".new-" + std::to_string(::getpid()) + "-" + std::to_string(rd()));
  fs::create_directories(tmp, ec);
  if (ec) throw Error("cannot create " + tmp.string() + ": " + ec.message());
  core::write_file_atomically(tmp / "scenario.toml", sc.text);
  manifest.write(tmp);
  fs::rename(tmp, dir, ec);  // replaces an absent or empty folder; fails if another process filled it
  if (!ec) return true;
  const std::string why = ec.message();
  fs::remove_all(tmp, ec);
  if (!fs::exists(dir / "manifest.json", ec)) throw Error("cannot create run folder " + dir.string() + ": " + why);
  if (manifest_text(read_run_manifest(dir, "--run-dir " + dir.string())) != sc.text)
    throw Error("--run-dir " + dir.string() + ": another process just created it for a different scenario text");
  return false;
}

void write_shard_record(const RunPlan& p, const BenchOptions& o, const std::string& status, const RunTally* t) {
  nlohmann::json j;
  char host[256] = {0};
  ::gethostname(host, sizeof host - 1);
  j["shard"] = o.shard.to_string();
  j["index"] = o.shard.index;
  j["count"] = o.shard.count;
  j["status"] = status;
  j["jobs"] = p.all.size();
  j["owned"] = p.owned;
  j["complete_at_start"] = p.reused;
  j["to_run"] = p.todo.size();
  j["host"] = host;
  j["pid"] = ::getpid();
  j["command"] = o.command;
  j["start_time"] = p.manifest->json().value("start_time", "");
  j["build"] = core::build_info();
  if (t) {
    j["end_time"] = core::Manifest::now_utc_iso8601();
    j["ran"] = t->ran;
    j["failed"] = t->failed;
    j["parallel"] = t->how;
    j["wall_s"] = steady_s() - p.start_s;
  }
  std::error_code ec;
  fs::create_directories(p.run_dir / "shards", ec);
  core::write_file_atomically(shard_record_path(p.run_dir, o.shard), j.dump(2) + "\n");
}

}  // namespace

std::string plan_line(const Scenario& sc, const RunPlan& p, const BenchOptions& o) {
  std::string s = "sdm bench: " + sc.name + ": " + std::to_string(sc.strategies.size()) + " strategies x " +
                  std::to_string(sc.campaign.seeds) + " seeds = " + std::to_string(p.all.size()) + " campaigns";
  if (o.shard.count > 1) s += ", shard " + o.shard.to_string() + " has " + std::to_string(p.owned);
  if (p.reused) s += " (" + std::to_string(p.reused) + " already done)";
  return s;
}

RunPlan open_run(const Scenario& sc, const BenchOptions& o) {
  check_bench_inputs(sc, o);
  RunPlan p;
  p.start_s = steady_s();
  p.manifest.emplace(o.command, sc.name, sc.path.string(), sc.text, sc.campaign.seed);
  nlohmann::json& extra = p.manifest->extra();
  for (const auto& s : sc.strategies) extra["strategies"].push_back(s.label);
  extra["seeds"] = sc.campaign.seeds;
  extra["backend"] = sc.backend.kind;
  const bool shard = o.shard.count > 1;
  if (shard) {
    // Shards never rewrite manifest.json (several may share the folder): their progress is in
    // shards/, and sdm bench --merge (or a full --resume) writes the final status.
    p.manifest->set_status("shards: see shards/; sdm bench --merge writes the summary");
    extra["shard_runs"] = true;
  }
  if (!o.resume.empty()) {
    p.run_dir = o.resume;
  } else if (!o.run_dir.empty()) {
    p.run_dir = without_trailing_separator(o.run_dir);
    p.created = create_or_join(p.run_dir, sc, *p.manifest);
  } else {
    p.run_dir = core::create_run_directory(o.results_root, sc.name);
    p.created = true;
    core::write_file_atomically(p.run_dir / "scenario.toml", sc.text);
    p.manifest->write(p.run_dir);  // status "running" until finish_run
  }

  p.all = plan_jobs(sc, p.run_dir);
  for (std::size_t i = 0; i < p.all.size(); ++i) {
    if (!o.shard.owns(int(i))) continue;
    ++p.owned;
    if (load_job_metrics(p.all[i])) {
      ++p.reused;
      continue;
    }
    std::error_code ec;
    fs::remove_all(p.all[i].directory, ec);  // a partial campaign is redone from its start
    p.todo.push_back(i);
  }
  // Campaigns differ in cost: the ones that train a model at every step go first, so the cheap
  // ones fill the gaps at the end and no worker is left with a long campaign after the others.
  std::stable_partition(p.todo.begin(), p.todo.end(),
                        [&](std::size_t i) { return model_driven_strategy(sc.strategies[p.all[i].strategy].name); });
  if (shard) write_shard_record(p, o, "running", nullptr);
  return p;
}

void run_jobs(const Scenario& sc, const std::vector<Job>& all, int workers,
              const std::function<std::optional<std::size_t>()>& next, const std::function<void(const JobOutcome&)>& done,
              const std::atomic<bool>* stop, std::ostream* log, const std::string& who) {
  ProgressLog logger(log);
  TruthCache cache;
  std::mutex mutex;
  auto worker = [&]() {
    use_one_compute_thread();
    for (;;) {
      std::optional<std::size_t> index;
      {
        std::lock_guard<std::mutex> lock(mutex);
        if (stop && stop->load()) return;
        index = next();
      }
      if (!index) return;
      const Job& job = all.at(*index);
      logger.line(who + "start " + job.label + " seed " + std::to_string(job.seed));
      JobOutcome out;
      out.job = *index;
      try {
        out.metrics = run_job(sc, job, &cache, stop, log);
        out.status = JobOutcome::Status::completed;
      } catch (const std::exception& e) {
        out.error = e.what();
        out.status = stop && stop->load() ? JobOutcome::Status::stopped : JobOutcome::Status::failed;
        if (out.status == JobOutcome::Status::failed) {
          try {
            core::write_file_atomically(job.directory / "failed.txt", out.error + "\n");
          } catch (const std::exception&) {
            // the failure is still reported; only its note in the folder is missing
          }
        }
      }
      std::lock_guard<std::mutex> lock(mutex);
      done(out);
    }
  };
  std::vector<std::thread> pool;
  for (int w = 0; w < std::max(1, workers); ++w) pool.emplace_back(worker);
  for (auto& t : pool) t.join();
}

void summarise_run(const Scenario& sc, const fs::path& run_dir, const std::vector<Job>& all,
                   const std::vector<std::string>& head_facts, BenchResult& r,
                   const std::function<std::string(const Job&)>& why_missing) {
  r.campaigns = load_campaign_metrics(all);
  std::vector<std::string> labels;
  std::string reference;
  for (const auto& s : sc.strategies) {
    labels.push_back(s.label);
    if (reference.empty() && s.name == "dn_dkl") reference = s.label;
  }
  if (reference.empty()) reference = labels.front();
  std::vector<std::uint64_t> seeds;
  for (int k = 0; k < sc.campaign.seeds; ++k) seeds.push_back(sc.campaign.seed + std::uint64_t(k));
  r.summary = summarise(r.campaigns, labels, seeds, sc.metrics.budgets, sc.campaign.budget, reference);
  r.summary.scenario = sc.name;
  r.summary.description = sc.description;
  for (const Job& j : all) {
    bool have = false;
    for (const CampaignMetrics& m : r.campaigns) have |= m.strategy == j.label && m.seed == j.seed;
    if (have) continue;
    std::string why = "no metrics";
    if (why_missing) {
      why = why_missing(j);
    } else {
      std::ifstream f(j.directory / "failed.txt");
      if (f) std::getline(f, why);
    }
    r.summary.failures.push_back(j.label + " seed " + std::to_string(j.seed) + ": " + why);
  }
  for (const CampaignMetrics& m : r.campaigns) {
    if (m.end != "completed")
      r.summary.notes.push_back(m.strategy + " seed " + std::to_string(m.seed) + " ended early (" + m.end + ") after " +
                                std::to_string(m.measurements) + " measurements");
    for (const std::string& n : m.notes)
      if (n.find("motif metrics skipped") != std::string::npos) {
        if (std::find(r.summary.notes.begin(), r.summary.notes.end(), n) == r.summary.notes.end()) r.summary.notes.push_back(n);
      } else {
        r.summary.notes.push_back(m.strategy + " seed " + std::to_string(m.seed) + ": " + n);
      }
  }

  double campaign_s = 0, metrics_s = 0;
  for (const CampaignMetrics& m : r.campaigns) campaign_s += m.wall_s, metrics_s += m.metrics_wall_s;
  const nlohmann::json build = core::build_info();
  std::vector<std::string> facts = {"Run folder: " + run_dir.string()};
  facts.insert(facts.end(), head_facts.begin(), head_facts.end());
  facts.push_back("Summed campaign time " + format_seconds(campaign_s) + ", metric time " + format_seconds(metrics_s));
  facts.push_back("Backend: " + sc.backend.kind);
  facts.push_back("Build: sdm " + build.value("sdm_version", std::string("?")) + ", commit " +
                  build.value("git_commit", std::string("?")));
  r.report = write_outputs(sc, run_dir, r.summary, r.campaigns, facts);
}

BenchResult finish_run(const Scenario& sc, RunPlan& p, const BenchOptions& o, const RunTally& t) {
  ProgressLog logger(o.log);
  BenchResult r;
  r.run_dir = p.run_dir;
  r.jobs = int(p.all.size());
  r.owned = p.owned;
  r.reused = p.reused;
  r.ran = t.ran;
  r.failed = t.failed;
  r.wall_s = steady_s() - p.start_s;
  r.shard_run = o.shard.count > 1;
  core::Manifest& manifest = *p.manifest;
  nlohmann::json& extra = manifest.extra();
  const std::string resume_hint = "sdm bench " + sc.path.string() +
                                  (r.shard_run ? " --shard " + o.shard.to_string() : std::string()) + " --resume " +
                                  p.run_dir.string();

  if (t.interrupted) {
    r.interrupted = true;
    int done = 0, owned_done = 0;
    for (std::size_t i = 0; i < p.all.size(); ++i)
      if (load_job_metrics(p.all[i])) ++done, owned_done += o.shard.owns(int(i));
    if (r.shard_run) {
      write_shard_record(p, o, "interrupted", &t);
    } else {
      extra["campaigns_done"] = done;
      manifest.finish("interrupted");
      manifest.write(p.run_dir);
    }
    logger.line("interrupted: " + std::to_string(owned_done) + " of " + std::to_string(p.owned) +
                " campaigns done; complete the run with: " + resume_hint);
    return r;
  }

  if (r.shard_run) {
    r.campaigns = load_campaign_metrics(p.all);
    int owned_done = 0;
    std::vector<std::string> missing;
    for (std::size_t i = 0; i < p.all.size(); ++i) {
      if (!o.shard.owns(int(i))) continue;
      if (load_job_metrics(p.all[i])) ++owned_done;
      else missing.push_back(p.all[i].label + " seed " + std::to_string(p.all[i].seed));
    }
    r.failed = p.owned - owned_done;
    write_shard_record(p, o, r.failed ? "failed: " + std::to_string(r.failed) + " campaigns" : "ok", &t);
    for (const std::string& m : missing) r.summary.failures.push_back(m);
    logger.line("shard " + o.shard.to_string() + ": " + std::to_string(owned_done) + " of its " + std::to_string(p.owned) +
                " campaigns done (" + std::to_string(r.campaigns.size()) + " of " + std::to_string(p.all.size()) +
                " in the folder)" + (r.failed ? "; rerun with: " + resume_hint : ""));
    logger.line("when every shard is done: sdm bench --merge " + p.run_dir.string() +
                " [the other shards' folders, if they are separate]");
    return r;
  }

  const std::vector<std::string> facts = {
      "Wall time of this invocation: " + format_seconds(r.wall_s) + " with " + t.how,
      "Campaigns: " + std::to_string(load_campaign_metrics(p.all).size()) + " of " + std::to_string(p.all.size()) +
          " with metrics (" + std::to_string(r.ran) + " run now, " + std::to_string(r.reused) + " from an earlier invocation)",
  };
  summarise_run(sc, p.run_dir, p.all, facts, r);
  extra["workers"] = t.workers;
  extra["parallel"] = t.how;
  extra["campaigns_with_metrics"] = r.campaigns.size();
  extra["failed"] = r.summary.failures;
  extra["wall_s"] = r.wall_s;
  manifest.finish(r.summary.failures.empty() ? "ok" : "failed: " + std::to_string(r.summary.failures.size()) + " campaigns");
  manifest.write(p.run_dir);
  logger.line("summary: " + (p.run_dir / "summary.md").string());
  logger.line("report: " + r.report.string());
  return r;
}

BenchResult run_bench(const Scenario& sc, const BenchOptions& o) {
  RunPlan p = open_run(sc, o);
  ProgressLog logger(o.log);
  const int cores = int(std::max(1u, std::thread::hardware_concurrency()));
  const int workers = std::max(1, std::min<int>(o.workers > 0 ? o.workers : cores, int(std::max<std::size_t>(1, p.todo.size()))));
  logger.line(plan_line(sc, p, o) + ", " + std::to_string(workers) + " at a time");
  logger.line("run folder: " + p.run_dir.string());

  RunTally t;
  t.workers = workers;
  t.how = std::to_string(workers) + " parallel campaigns";
  std::size_t next = 0;
  int finished = 0;
  auto take = [&]() -> std::optional<std::size_t> {
    if (next >= p.todo.size()) return std::nullopt;
    return p.todo[next++];
  };
  auto done = [&](const JobOutcome& out) {
    const Job& job = p.all[out.job];
    const std::string what = job.label + " seed " + std::to_string(job.seed);
    if (out.status == JobOutcome::Status::completed) {
      ++finished;
      ++t.ran;
      const CampaignMetrics& m = *out.metrics;
      logger.line("[" + std::to_string(finished + p.reused) + "/" + std::to_string(p.owned) + "] " + what + ": " +
                  std::to_string(m.measurements) + " measurements (" + m.end + "), campaign " + format_seconds(m.wall_s) +
                  " + metrics " + format_seconds(m.metrics_wall_s));
    } else if (out.status == JobOutcome::Status::failed) {
      ++t.failed;
      logger.line("FAILED " + what + ": " + out.error);
    } else {
      logger.line("stopped " + what);
    }
  };
  run_jobs(sc, p.all, workers, take, done, o.stop, o.log);
  t.interrupted = o.stop && o.stop->load();
  return finish_run(sc, p, o, t);
}

void ProgressLog::line(const std::string& text) {
  if (!out_) return;
  std::lock_guard<std::mutex> lock(mutex_);
  *out_ << text << std::endl;
}

std::string format_seconds(double s) {
  char b[32];
  std::snprintf(b, sizeof b, s < 100 ? "%.1f s" : "%.0f s", s);
  return b;
}

}  // namespace sdm::bench
