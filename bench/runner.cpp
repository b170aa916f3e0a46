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
#include <thread>

#include "bench/ground_truth.hpp"
#include "bench/microscope_setup.hpp"
#include "bench/model_error.hpp"
#include "bench/plots.hpp"
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

class Logger {
 public:
  explicit Logger(std::ostream* o) : out_(o) {}
  void line(const std::string& s) {
    if (!out_) return;
    std::lock_guard<std::mutex> lock(mutex_);
    *out_ << s << std::endl;
  }

 private:
  std::ostream* out_;
  std::mutex mutex_;
};

std::string seconds(double s) {
  char b[32];
  std::snprintf(b, sizeof b, s < 100 ? "%.1f s" : "%.0f s", s);
  return b;
}

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

void check_bench_inputs(const Scenario& sc, const BenchOptions& o) {
  if (sc.strategies.empty()) throw Error(sc.path.string() + ": no [[strategy]] to run");
  if (sc.backend.kind == "remote")
    throw Error(sc.path.string() + ": [backend] kind = \"remote\" has no ground truth to score against; sdm bench runs "
                                   "twin or replay scenarios (use sdm run for a remote instrument)");
  if (sc.backend.kind == "replay") (void)hardware::load_replay_dataset(sc.backend);  // readable, valid
  if (o.workers < 0) throw Error("--workers must be >= 0 (0: the core count), got " + std::to_string(o.workers));
  if (o.resume.empty()) {
    core::check_writable(o.results_root);
    return;
  }
  std::error_code ec;
  if (!fs::is_directory(o.resume, ec)) throw Error("--resume " + o.resume.string() + ": no such run folder");
  std::ifstream f(o.resume / "manifest.json");
  if (!f) throw Error("--resume " + o.resume.string() + ": no manifest.json, not an sdm bench run folder");
  nlohmann::json m;
  try {
    m = nlohmann::json::parse(f);
  } catch (const std::exception& e) {
    throw Error("--resume " + o.resume.string() + ": unreadable manifest.json: " + e.what());
  }
  const std::string text = m.value("scenario", nlohmann::json::object()).value("text", "");
  if (text != sc.text)
    throw Error("--resume " + o.resume.string() + ": the run was made from a different scenario text than " +
                sc.path.string() + "; resume with the same file, or start a new run");
  core::check_writable(o.resume);
}

CampaignMetrics run_job(const Scenario& sc, const Job& job, TruthCache* cache, const std::atomic<bool>* stop,
                        std::ostream* log) {
  Logger logger(log);
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
                  std::to_string(p.budget) + " measurements, " + seconds(p.elapsed_s));
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

std::vector<CampaignMetrics> load_campaign_metrics(const std::vector<Job>& jobs) {
  std::vector<CampaignMetrics> out;
  for (const Job& j : jobs) {
    std::ifstream f(j.directory / "metrics.json");
    if (!f) continue;
    try {
      CampaignMetrics m = CampaignMetrics::from_json(nlohmann::json::parse(f));
      if (m.strategy == j.label && m.seed == j.seed) out.push_back(std::move(m));
    } catch (const std::exception&) {
      // an unreadable metrics.json means the job is redone
    }
  }
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

BenchResult run_bench(const Scenario& sc, const BenchOptions& o) {
  check_bench_inputs(sc, o);
  Logger logger(o.log);
  const auto t0 = std::chrono::steady_clock::now();
  BenchResult r;
  r.run_dir = o.resume.empty() ? core::create_run_directory(o.results_root, sc.name) : o.resume;
  core::Manifest manifest(o.command, sc.name, sc.path.string(), sc.text, sc.campaign.seed);
  nlohmann::json& extra = manifest.extra();
  for (const auto& s : sc.strategies) extra["strategies"].push_back(s.label);
  extra["seeds"] = sc.campaign.seeds;
  extra["backend"] = sc.backend.kind;
  if (o.resume.empty()) {
    core::write_file_atomically(r.run_dir / "scenario.toml", sc.text);
    manifest.write(r.run_dir);  // status "running" until finish()
  }

  const std::vector<Job> all = plan_jobs(sc, r.run_dir);
  r.jobs = int(all.size());
  std::vector<Job> todo;
  {
    const std::vector<CampaignMetrics> done = load_campaign_metrics(all);
    for (const Job& j : all) {
      bool have = false;
      for (const CampaignMetrics& m : done) have |= m.strategy == j.label && m.seed == j.seed;
      if (have) {
        ++r.reused;
        continue;
      }
      std::error_code ec;
      fs::remove_all(j.directory, ec);  // a partial campaign is redone from its start
      todo.push_back(j);
    }
  }
  const int cores = int(std::max(1u, std::thread::hardware_concurrency()));
  const int workers = std::max(1, std::min<int>(o.workers > 0 ? o.workers : cores, int(std::max<std::size_t>(1, todo.size()))));
  logger.line("sdm bench: " + sc.name + ": " + std::to_string(sc.strategies.size()) + " strategies x " +
              std::to_string(sc.campaign.seeds) + " seeds = " + std::to_string(all.size()) + " campaigns" +
              (r.reused ? " (" + std::to_string(r.reused) + " already done)" : "") + ", " + std::to_string(workers) +
              " at a time");
  logger.line("run folder: " + r.run_dir.string());

  TruthCache cache;
  std::mutex mutex;
  std::size_t next = 0;
  int finished = 0;
  std::vector<std::string> failures;
  auto worker = [&]() {
    use_one_compute_thread();
    for (;;) {
      Job job;
      {
        std::lock_guard<std::mutex> lock(mutex);
        if (next >= todo.size() || (o.stop && o.stop->load())) return;
        job = todo[next++];
      }
      logger.line("start " + job.label + " seed " + std::to_string(job.seed));
      const auto ts = std::chrono::steady_clock::now();
      try {
        const CampaignMetrics m = run_job(sc, job, &cache, o.stop, o.log);
        std::lock_guard<std::mutex> lock(mutex);
        ++finished;
        ++r.ran;
        logger.line("[" + std::to_string(finished + r.reused) + "/" + std::to_string(all.size()) + "] " + job.label +
                    " seed " + std::to_string(job.seed) + ": " + std::to_string(m.measurements) + " measurements (" +
                    m.end + "), campaign " + seconds(m.wall_s) + " + metrics " + seconds(m.metrics_wall_s));
      } catch (const std::exception& e) {
        const bool stopped = o.stop && o.stop->load();
        const std::string what = job.label + " seed " + std::to_string(job.seed) + ": " + e.what();
        std::error_code ec;
        if (!stopped) core::write_file_atomically(job.directory / "failed.txt", std::string(e.what()) + "\n");
        std::lock_guard<std::mutex> lock(mutex);
        if (!stopped) {
          ++r.failed;
          failures.push_back(what);
          logger.line("FAILED " + what);
        } else {
          logger.line("stopped " + job.label + " seed " + std::to_string(job.seed));
        }
      }
      (void)ts;
    }
  };
  std::vector<std::thread> pool;
  for (int w = 0; w < workers; ++w) pool.emplace_back(worker);
  for (auto& t : pool) t.join();
  r.wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

  if (o.stop && o.stop->load()) {
    r.interrupted = true;
    manifest.extra()["campaigns_done"] = int(load_campaign_metrics(all).size());
    manifest.finish("interrupted");
    manifest.write(r.run_dir);
    logger.line("interrupted: " + std::to_string(load_campaign_metrics(all).size()) + " of " + std::to_string(all.size()) +
                " campaigns done; complete the run with: sdm bench " + sc.path.string() + " --resume " + r.run_dir.string());
    return r;
  }

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
    std::ifstream f(j.directory / "failed.txt");
    if (f) std::getline(f, why);
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
  std::vector<std::string> facts = {
      "Run folder: " + r.run_dir.string(),
      "Wall time of this invocation: " + seconds(r.wall_s) + " with " + std::to_string(workers) + " parallel campaigns",
      "Campaigns: " + std::to_string(r.campaigns.size()) + " of " + std::to_string(all.size()) + " with metrics (" +
          std::to_string(r.ran) + " run now, " + std::to_string(r.reused) + " from an earlier invocation)",
      "Summed campaign time " + seconds(campaign_s) + ", metric time " + seconds(metrics_s),
      "Backend: " + sc.backend.kind,
      "Build: sdm " + build.value("sdm_version", std::string("?")) + ", commit " + build.value("git_commit", std::string("?")),
  };
  r.report = write_outputs(sc, r.run_dir, r.summary, r.campaigns, facts);
  extra["workers"] = workers;
  extra["campaigns_with_metrics"] = r.campaigns.size();
  extra["failed"] = r.summary.failures;
  extra["wall_s"] = r.wall_s;
  manifest.finish(r.summary.failures.empty() ? "ok" : "failed: " + std::to_string(r.summary.failures.size()) + " campaigns");
  manifest.write(r.run_dir);
  logger.line("summary: " + (r.run_dir / "summary.md").string());
  logger.line("report: " + r.report.string());
  return r;
}

}  // namespace sdm::bench
