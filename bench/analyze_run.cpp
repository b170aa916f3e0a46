#include "bench/analyze_run.hpp"

#include <hdf5.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <optional>
#include <random>
#include <set>
#include <sstream>

#include "bench/analysis/report.hpp"
#include "bench/scenario.hpp"
#include "core/error.hpp"
#include "core/run_directory.hpp"
#include "engine/acquisition/seeds.hpp"
#include "engine/campaign/campaign.hpp"
#include "engine/campaign/spec_json.hpp"
#include "engine/patches/candidate_grid.hpp"
#include "engine/patches/patch_extraction.hpp"
#include "hardware/backend_factory.hpp"
#include "hardware/replay/dataset.hpp"
#include "hardware/twin/twin_backend.hpp"
#include "sim/film.hpp"
#include "sim/twin.hpp"

namespace sdm::bench {
namespace {

namespace fs = std::filesystem;
namespace C = engine::campaign;
using engine::analysis::AnalysisInputs;

constexpr const char* kFormat = "sdm-analysis";
constexpr int kFormatVersion = 1;

bool finite_curve(const core::IvCurve& c, std::string* why) {
  if (c.current_a.size() < 2) {
    *why = std::to_string(c.current_a.size()) + " samples";
    return false;
  }
  if (c.bias_v.size() != c.current_a.size()) {
    *why = std::to_string(c.bias_v.size()) + " biases for " + std::to_string(c.current_a.size()) + " samples";
    return false;
  }
  for (std::size_t i = 0; i < c.current_a.size(); ++i)
    if (!std::isfinite(c.current_a[i]) || !std::isfinite(c.bias_v[i])) {
      *why = "a non-finite sample at point " + std::to_string(i);
      return false;
    }
  return true;
}

/// Unmeasured candidates in a seeded random order, the first `limit` (0: all), ascending.
std::vector<int> truth_subset(const std::vector<int>& eligible, int limit, std::uint64_t seed) {
  std::vector<int> v = eligible;
  if (limit > 0 && static_cast<int>(v.size()) > limit) {
    std::mt19937_64 rng(engine::acquisition::derive_seed(seed, "analysis truth"));
    std::shuffle(v.begin(), v.end(), rng);
    v.resize(static_cast<std::size_t>(limit));
    std::sort(v.begin(), v.end());
  }
  return v;
}

/// Twin ground truth: labels of every candidate, noiseless curves of a subset of the unmeasured.
void add_twin_truth(const C::CampaignData& data, const Scenario& sc, std::uint64_t campaign_seed, const AnalyzeRunOptions& o,
                    std::uint64_t seed, RunAnalysisInputs& r) {
  if (!sc.backend.survey_path.empty()) {
    r.truth_note = "the survey came from " + sc.backend.survey_path + ", not from the twin: no ground truth";
    r.warnings.push_back(r.truth_note);
    return;
  }
  auto twin = std::make_shared<sim::Twin>(sc.film, sc.instrument, campaign_seed);
  {  // the rebuilt twin must reproduce the recorded survey exactly (its first instrument call)
    hardware::twin::TwinBackend backend(twin);
    const hardware::SurveyImage again = backend.survey(data.survey_request);
    const hardware::Channel* a = again.find(data.survey_channel);
    const hardware::Channel* b = data.survey.find(data.survey_channel);
    if (!a || !b || a->data != b->data || again.axes.nx != data.survey.axes.nx || again.axes.ny != data.survey.axes.ny) {
      r.truth_note = "the twin rebuilt from the recorded scenario and seed " + std::to_string(campaign_seed) +
                     " does not reproduce the recorded survey (scenario, seed or build changed?): no ground truth";
      r.warnings.push_back(r.truth_note);
      return;
    }
  }
  const sim::Film& film = twin->film();
  const auto& grid = data.grid;
  const auto m = static_cast<int>(grid.size());
  std::vector<std::pair<int, int>> pixel(static_cast<std::size_t>(m));
  auto& in = r.inputs;
  in.true_labels.resize(static_cast<std::size_t>(m));
  for (int i = 0; i < m; ++i) {
    const hardware::Position p = engine::patches::candidate_position(grid, data.survey.axes, i);
    pixel[static_cast<std::size_t>(i)] = film.pixel_at(p.x_m, p.y_m);
    const auto [fx, fy] = pixel[static_cast<std::size_t>(i)];
    in.true_labels[static_cast<std::size_t>(i)] = static_cast<int>(film.motif[film.index(fx, fy)]);
  }
  in.label_names.clear();
  for (int l = 0; l < sim::kMotifCount; ++l) in.label_names.push_back(sim::motif_name(static_cast<sim::Motif>(l)));
  const std::set<int> measured(in.measured.begin(), in.measured.end());
  std::vector<int> eligible;
  for (int i = 0; i < m; ++i)
    if (!measured.count(i)) eligible.push_back(i);
  for (int c : truth_subset(eligible, o.truth_points, seed)) {
    const auto [fx, fy] = pixel[static_cast<std::size_t>(c)];
    in.truth_candidates.push_back(c);
    in.true_curves.push_back(sim::ground_truth_iv(film, fx, fy, data.waveform));
  }
  r.truth = "twin";
  r.truth_note = "twin rebuilt from the recorded scenario, seed " + std::to_string(campaign_seed) +
                 ": motif labels of all candidates, noiseless curves at " + std::to_string(in.truth_candidates.size()) +
                 " unmeasured candidates";
}

/// Replay ground truth: the recorded spectra at unmeasured candidates.
void add_replay_truth(const C::CampaignData& data, const Scenario& sc, const AnalyzeRunOptions& o, std::uint64_t seed,
                      const std::vector<int>& used_steps, RunAnalysisInputs& r) {
  std::shared_ptr<const hardware::replay::Dataset> ds;
  try {
    ds = hardware::load_replay_dataset(sc.backend);
  } catch (const Error& e) {
    r.truth_note = std::string("the recorded dataset cannot be reloaded (") + e.what() + "): no ground truth";
    r.warnings.push_back(r.truth_note);
    return;
  }
  const std::size_t L = ds->n_points();
  std::set<std::pair<int, int>> measured_px;
  for (int s : used_steps) {
    const auto& st = data.steps[static_cast<std::size_t>(s)];
    int ix = 0, iy = 0;
    ds->nearest(st.x_requested_m, st.y_requested_m, ix, iy);
    const double* spec = ds->spectrum(ix, iy);
    if (st.curve.current_a.size() != L || !std::equal(spec, spec + L, st.curve.current_a.begin())) {
      r.truth_note = "step " + std::to_string(st.step) + " differs from the spectrum of " + ds->source + " at pixel (" +
                     std::to_string(ix) + ", " + std::to_string(iy) + ") (a different dataset?): no ground truth";
      r.warnings.push_back(r.truth_note);
      return;
    }
    measured_px.emplace(ix, iy);
  }
  const auto& grid = data.grid;
  const auto m = static_cast<int>(grid.size());
  const std::set<int> measured(r.inputs.measured.begin(), r.inputs.measured.end());
  std::vector<int> eligible;
  std::vector<std::pair<int, int>> pixel(static_cast<std::size_t>(m));
  for (int i = 0; i < m; ++i) {
    const hardware::Position p = engine::patches::candidate_position(grid, data.survey.axes, i);
    ds->nearest(p.x_m, p.y_m, pixel[static_cast<std::size_t>(i)].first, pixel[static_cast<std::size_t>(i)].second);
    if (!measured.count(i) && !measured_px.count(pixel[static_cast<std::size_t>(i)])) eligible.push_back(i);
  }
  const auto& ref = data.steps[static_cast<std::size_t>(used_steps.front())].curve;
  for (int c : truth_subset(eligible, o.truth_points, seed)) {
    const auto [ix, iy] = pixel[static_cast<std::size_t>(c)];
    core::IvCurve t;
    t.bias_v = ds->bias_v;
    t.current_a.assign(ds->spectrum(ix, iy), ds->spectrum(ix, iy) + L);
    t.time_s = ref.time_s.size() == L ? ref.time_s : std::vector<double>(L, 0.0);
    r.inputs.truth_candidates.push_back(c);
    r.inputs.true_curves.push_back(std::move(t));
  }
  r.truth = "replay";
  r.truth_note = "recorded spectra of " + ds->source + " at " + std::to_string(r.inputs.truth_candidates.size()) +
                 " unmeasured candidates (no motif labels on recorded data)";
}

/// "twin", "replay:<file>:<dataset>", "remote:<endpoint>" → the part before the first ':'.
std::string backend_kind(const std::string& backend) { return backend.substr(0, backend.find(':')); }

double max_abs(const std::vector<double>& v) {
  double m = 0;
  for (double x : v) m = std::max(m, std::abs(x));
  return m;
}

// ---- output folder

bool is_analysis_folder(const fs::path& dir) {
  std::ifstream f(dir / "analysis.json");
  if (!f) return false;
  try {
    const auto j = nlohmann::json::parse(f);
    return j.value("format", std::string()) == kFormat;
  } catch (const nlohmann::json::exception&) {
    return false;
  }
}

std::string unique_suffix() {
  std::random_device rd;
  std::ostringstream s;
  s << ::getpid() << "-" << std::hex << rd();
  return s.str();
}

/// Hidden siblings of the output that this command uses: ".<name>.partial-<pid>-<x>" (being
/// assembled, or a write probe) and ".<name>.old-<pid>-<x>" (the previous analysis, moved aside).
std::string staging_prefix(const fs::path& final_dir, const char* kind) {
  return "." + final_dir.filename().string() + "." + kind + "-";
}

/// Removes what an earlier `sdm analyze` of the same output left behind when it was killed
/// (SIGKILL, a second Ctrl-C, power loss): staging folders whose process no longer exists.
void remove_stale_staging(const fs::path& final_dir) {
  std::error_code ec;
  const std::string partial = staging_prefix(final_dir, "partial"), old = staging_prefix(final_dir, "old");
  for (const auto& e : fs::directory_iterator(final_dir.parent_path(), ec)) {
    const std::string n = e.path().filename().string();
    const std::string* pre = n.rfind(partial, 0) == 0 ? &partial : n.rfind(old, 0) == 0 ? &old : nullptr;
    if (!pre) continue;
    const std::string rest = n.substr(pre->size());
    const pid_t pid = static_cast<pid_t>(std::strtol(rest.c_str(), nullptr, 10));
    if (pid <= 0 || pid == ::getpid() || (::kill(pid, 0) != 0 && errno == ESRCH)) {
      std::error_code ec2;
      fs::remove_all(e.path(), ec2);
    }
  }
}

/// Refuses an output that is not a folder, a non-empty folder that is not a previous analysis,
/// the run folder itself, or a place where no folder can be created (probed by creating and
/// removing a hidden one, so a read-only or unwritable place is found before the long fit,
/// whatever the permissions say to root). Leaves nothing behind.
void check_output(const fs::path& out, const fs::path& run_dir) {
  std::error_code ec;
  const fs::path abs = fs::weakly_canonical(fs::absolute(out), ec);
  const fs::path run = fs::weakly_canonical(fs::absolute(run_dir), ec);
  if (abs == run) throw Error("--output " + out.string() + " is the run folder itself; use a folder of its own");
  if (fs::exists(out, ec)) {
    if (!fs::is_directory(out, ec)) throw Error("output " + out.string() + " exists and is not a folder");
    if (!fs::is_empty(out, ec) && !is_analysis_folder(out))
      throw Error("output " + out.string() +
                  " is a non-empty folder that does not hold an earlier `sdm analyze` output (no analysis.json); "
                  "refusing to replace it: choose another --output");
  }
  // The staging folder is created next to the output, in its parent (made if missing): probe
  // the nearest existing ancestor of that parent.
  fs::path p = abs.parent_path();
  while (!p.empty() && !fs::exists(p, ec)) p = p.parent_path();
  if (p.empty()) throw Error("output " + out.string() + ": no existing folder above it");
  if (!fs::is_directory(p, ec))
    throw Error("output " + out.string() + ": " + p.string() + " is a file, not a folder");
  const fs::path probe = p / (staging_prefix(abs, "partial") + unique_suffix() + "-probe");
  if (!fs::create_directory(probe, ec))
    throw Error("output " + out.string() + ": cannot create a folder in " + p.string() + " (" +
                (ec ? ec.message() : std::string("it exists")) + "); choose a writable --output");
  fs::remove(probe, ec);
}

/// The /run group of analysis.h5: where the analysis came from, and the truth it used.
void write_run_group(const fs::path& file, const RunAnalysisInputs& p, const fs::path& run_dir, const fs::path& source,
                     const std::vector<int>& steps) {
  const hid_t f = H5Fopen(file.c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
  if (f < 0) throw Error(file.string() + ": cannot reopen to add the /run group");
  bool ok = true;
  const hid_t g = H5Gcreate2(f, "run", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  ok = g >= 0;
  auto str_attr = [&](const char* name, const std::string& v) {
    if (!ok) return;
    const hid_t t = H5Tcopy(H5T_C_S1);
    H5Tset_size(t, std::max<std::size_t>(v.size(), 1));
    H5Tset_strpad(t, H5T_STR_NULLPAD);
    const hid_t s = H5Screate(H5S_SCALAR);
    const hid_t a = H5Acreate2(g, name, t, s, H5P_DEFAULT, H5P_DEFAULT);
    const std::string padded = v.empty() ? std::string(1, '\0') : v;
    ok = a >= 0 && H5Awrite(a, t, padded.data()) >= 0;
    if (a >= 0) H5Aclose(a);
    H5Sclose(s);
    H5Tclose(t);
  };
  auto ints = [&](const char* name, const std::vector<int>& v) {
    if (!ok) return;
    const hsize_t n = v.size();
    const hid_t s = H5Screate_simple(1, &n, nullptr);
    const hid_t d = H5Dcreate2(g, name, H5T_NATIVE_INT, s, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    ok = d >= 0 && (n == 0 || H5Dwrite(d, H5T_NATIVE_INT, H5S_ALL, H5S_ALL, H5P_DEFAULT, v.data()) >= 0);
    if (d >= 0) H5Dclose(d);
    H5Sclose(s);
  };
  str_attr("format", kFormat);
  str_attr("run_dir", fs::absolute(run_dir).lexically_normal().string());
  str_attr("source", source.filename().string());
  str_attr("backend", p.backend);
  str_attr("signal_name", p.signal_name);
  str_attr("signal_unit", p.signal_unit);
  str_attr("truth", p.truth);
  str_attr("truth_note", p.truth_note);
  std::string names;
  for (const auto& s : p.inputs.label_names) names += (names.empty() ? "" : ",") + s;
  str_attr("label_names", names);
  ints("measured_step", steps);          // the step of each measured pair, as /analysis/measured/candidate
  ints("true_label", p.inputs.true_labels);  // every candidate (empty without motif truth)
  if (g >= 0) H5Gclose(g);
  if (H5Fclose(f) < 0) ok = false;
  if (!ok) throw Error(file.string() + ": cannot write the /run group");
}

std::string fmt(double v, const char* f = "%.3f") {
  if (!std::isfinite(v)) return "n/a";
  char b[64];
  std::snprintf(b, sizeof b, f, v);
  return b;
}

/// What the figures call the curves, the survey and the truth, from the record.
analysis::FigureLabels figure_labels(const C::CampaignData& data, const RunAnalysisInputs& p) {
  analysis::FigureLabels l;
  l.signal_name = p.signal_name.empty() ? "signal" : p.signal_name;
  l.signal_unit = p.signal_unit.empty() ? "a.u." : p.signal_unit;
  if (const hardware::Channel* c = data.survey.find(data.survey_channel))
    l.survey_label = "survey " + c->name + (c->unit.empty() ? "" : " (" + c->unit + ")");
  l.truth = p.truth == "twin" ? "the noiseless twin truth" : p.truth == "replay" ? "the recorded spectra" : "the truth";
  return l;
}

/// Removes a folder it created, ignoring errors (used on the way out).
void remove_quietly(const fs::path& p) {
  std::error_code ec;
  fs::remove_all(p, ec);
}

}  // namespace

C::CampaignData read_run_campaign(const fs::path& run_dir, fs::path* source, std::string* note) {
  std::error_code ec;
  if (!fs::is_directory(run_dir, ec)) throw Error(run_dir.string() + ": not a folder (expected a run folder written by `sdm run`)");
  const fs::path h5 = C::campaign_file_path(run_dir), journal = C::journal_path(run_dir);
  const bool has_h5 = fs::exists(h5, ec), has_journal = fs::exists(journal, ec);
  if (!has_h5 && !has_journal)
    throw Error(run_dir.string() + ": not a run folder (neither " + h5.filename().string() + " nor " + journal.filename().string() +
                " is there; `sdm run` writes both)");
  std::optional<C::CampaignData> a, b;
  std::string ea, eb;
  if (has_h5) {
    try {
      a = C::read_campaign_file(h5);
    } catch (const Error& e) {
      ea = e.what();
    }
  } else {
    ea = h5.string() + ": missing";
  }
  std::uint64_t journal_valid = 0;
  if (has_journal) {
    try {
      b = C::read_campaign_journal(journal, &journal_valid);
    } catch (const Error& e) {
      eb = e.what();
    }
  } else {
    eb = journal.string() + ": missing";
  }
  std::string why;
  fs::path used;
  C::CampaignData d;
  if (a && (!b || b->steps.size() <= a->steps.size())) {
    used = h5;
    d = std::move(*a);
  } else if (b) {
    used = journal;
    why = a ? h5.filename().string() + " records " + std::to_string(a->steps.size()) + " steps, " + journal.filename().string() +
                  " " + std::to_string(b->steps.size()) + ": using the journal"
            : "campaign.h5 unusable (" + ea + "): using " + journal.filename().string();
    d = std::move(*b);
  } else {
    throw Error("cannot read the campaign of " + run_dir.string() + ": " + ea + "; " + eb);
  }
  if (used == journal) {  // a torn tail (the writer died mid-record) is dropped: say so
    const auto size = fs::file_size(journal, ec);
    if (!ec && journal_valid < size)
      why += (why.empty() ? "" : "; ") + journal.filename().string() + " ends in " + std::to_string(size - journal_valid) +
             " bytes of a torn record (after " + std::to_string(d.steps.size()) + " complete steps), ignored";
  }
  if (source) *source = used;
  if (note) *note = why;
  return d;
}

RunAnalysisInputs prepare_run_analysis(const C::CampaignData& data, const AnalyzeRunOptions& o, const std::string& origin) {
  RunAnalysisInputs r;
  r.backend = data.backend;
  r.signal_name = data.signal_name;
  r.signal_unit = data.signal_unit;
  const C::CampaignSpec spec = C::spec_from_json(data.spec, origin);
  if (data.status == "running")
    r.warnings.push_back("the campaign is still running, or its process died (status 'running'): analysing the " +
                         std::to_string(data.steps.size()) + " steps recorded so far");

  // The scenario: [vae] and [metrics] settings, and what ground truth needs.
  std::optional<Scenario> sc;
  if (spec.scenario_text.empty()) {
    r.warnings.push_back(origin + " records no scenario text: [vae] defaults, no ground truth");
  } else {
    try {
      sc = parse_scenario(spec.scenario_text, spec.scenario_path.empty() ? origin : spec.scenario_path);
    } catch (const Error& e) {
      r.warnings.push_back(std::string("the recorded scenario does not parse with this build (") + e.what() +
                           "): [vae] defaults, no ground truth");
    }
  }
  auto& cfg = r.config;
  if (sc) {
    cfg.vae = sc->vae;
    cfg.knn_k = sc->metrics.knn_k;
  }
  if (o.epochs >= 0) cfg.vae.epochs = o.epochs;
  if (o.threads >= 0) cfg.vae.threads = o.threads;
  cfg.seed = o.seed >= 0 ? static_cast<std::uint64_t>(o.seed) : spec.seed;
  const double vmax = max_abs(data.waveform.bias_v);
  if (vmax > 0) cfg.scalarizer_bias_v = std::min(cfg.scalarizer_bias_v, vmax);
  if (data.signal_unit != "A") {
    // Read-bias current, on/off ratio and onset threshold assume a current in amperes.
    cfg.scalarizers = {"loop_area", "max_current"};
    r.warnings.push_back("the curves are " + data.signal_name + " in " + data.signal_unit +
                         ", not a current: scalarizers loop_area and max_current only (in " + data.signal_unit + " V and " +
                         data.signal_unit + ")");
  }

  // Candidates and measured pairs.
  auto& in = r.inputs;
  const auto& grid = data.grid;
  if (grid.size() == 0) throw Error(origin + ": the campaign's candidate grid is empty");
  in.patch_side = grid.patch_px;
  in.candidate_patches = engine::patches::extract_patches(data.survey, data.survey_channel, grid);
  in.candidate_ix_px = grid.ix_px;
  in.candidate_iy_px = grid.iy_px;
  in.image_nx = data.survey.axes.nx;
  in.image_ny = data.survey.axes.ny;
  in.survey = data.survey.find(data.survey_channel)->data;
  std::vector<int> used_steps;
  for (std::size_t s = 0; s < data.steps.size(); ++s) {
    const auto& st = data.steps[s];
    std::string why;
    if (st.candidate < 0 || static_cast<std::size_t>(st.candidate) >= grid.size())
      throw Error(origin + ": step " + std::to_string(st.step) + " refers to candidate " + std::to_string(st.candidate) +
                  " of a grid of " + std::to_string(grid.size()));
    if (!finite_curve(st.curve, &why)) {
      r.excluded_steps.push_back(st.step);
      r.warnings.push_back("step " + std::to_string(st.step) + " left out: its curve has " + why);
      continue;
    }
    used_steps.push_back(static_cast<int>(s));
    in.measured.push_back(st.candidate);
    in.measured_curves.push_back(st.curve);
  }
  if (in.measured.size() < 2)
    throw Error(origin + ": " + std::to_string(in.measured.size()) + " usable measured (patch, curve) pair" +
                (in.measured.size() == 1 ? "" : "s") + " (" + std::to_string(data.steps.size()) +
                " steps recorded); the dual VAE needs at least 2");

  // Ground truth, from what recorded the campaign.
  if (!o.ground_truth) {
    r.truth_note = "ground truth off (--no-truth)";
  } else if (!sc) {
    r.truth_note = "no usable scenario: no ground truth";
  } else if (backend_kind(data.backend) == "twin" && sc->backend.kind == "twin") {
    add_twin_truth(data, *sc, spec.seed, o, cfg.seed, r);
  } else if (backend_kind(data.backend) == "replay" && sc->backend.kind == "replay") {
    add_replay_truth(data, *sc, o, cfg.seed, used_steps, r);
  } else {
    r.truth_note = "backend '" + data.backend + "' has no ground truth: figures only";
  }
  return r;
}

AnalyzeRunSummary analyze_run(const fs::path& run_dir, const AnalyzeRunOptions& o) {
  auto phase = [&](const std::string& p, const std::string& detail) {
    if (o.on_phase) o.on_phase(p, detail);
  };
  auto stopped = [&] { return o.stop && o.stop->load(); };
  AnalyzeRunSummary out;
  out.run_dir = run_dir;
  out.output = o.output.empty() ? run_dir / "analysis" : o.output;

  phase("read", run_dir.string());
  std::string source_note;
  const C::CampaignData data = read_run_campaign(run_dir, &out.source, &source_note);
  check_output(out.output, run_dir);
  if (stopped()) return out.interrupted = true, out;

  phase("prepare", std::to_string(data.steps.size()) + " steps, " + std::to_string(data.grid.size()) + " candidates");
  RunAnalysisInputs p = prepare_run_analysis(data, o, out.source.string());
  if (!source_note.empty()) p.warnings.insert(p.warnings.begin(), source_note);
  out.warnings = p.warnings;
  out.truth = p.truth;
  out.pairs = static_cast<int>(p.inputs.measured.size());
  out.candidates = static_cast<int>(p.inputs.candidate_patches.rows());
  if (stopped()) return out.interrupted = true, out;

  phase("fit", std::to_string(out.pairs) + " pairs, " + std::to_string(p.config.vae.epochs) + " epochs, " +
                   std::to_string(out.candidates) + " candidates");
  const engine::analysis::AnalysisResult result = engine::analysis::analyze_structure_property(p.inputs, p.config);
  out.metrics = result.metrics;
  out.clusters = result.mixture.best_k;
  if (stopped()) return out.interrupted = true, out;

  // Everything goes into a hidden sibling first, renamed into place when complete.
  phase("write", out.output.string());
  const fs::path final_dir = fs::absolute(out.output).lexically_normal();
  const fs::path parent = final_dir.parent_path();
  const std::string suffix = unique_suffix();
  const fs::path staging = parent / (staging_prefix(final_dir, "partial") + suffix);
  std::error_code ec;
  fs::create_directories(parent, ec);
  remove_stale_staging(final_dir);
  if (!fs::create_directory(staging, ec))
    throw Error("output " + out.output.string() + ": cannot create its staging folder " + staging.string() + ": " +
                ec.message());
  try {
    std::vector<fs::path> files = analysis::write_analysis_figures(p.inputs, result, staging, figure_labels(data, p));
    if (stopped()) return remove_quietly(staging), out.interrupted = true, out;
    analysis::write_analysis_h5(staging / "analysis.h5", p.inputs, result, p.config, "analysis");
    std::vector<int> steps;
    for (const auto& st : data.steps)
      if (!std::count(p.excluded_steps.begin(), p.excluded_steps.end(), st.step)) steps.push_back(st.step);
    write_run_group(staging / "analysis.h5", p, run_dir, out.source, steps);
    files.push_back(staging / "analysis.h5");
    if (o.save_model && result.model) {
      result.model->save(staging / "dual_vae.pt");
      files.push_back(staging / "dual_vae.pt");
    }
    if (stopped()) return remove_quietly(staging), out.interrupted = true, out;

    nlohmann::json j;
    j["format"] = kFormat;
    j["format_version"] = kFormatVersion;
    j["run_dir"] = fs::absolute(run_dir).lexically_normal().string();
    j["source"] = out.source.filename().string();
    if (!source_note.empty()) j["source_note"] = source_note;
    j["backend"] = p.backend;
    j["signal"] = {{"name", p.signal_name}, {"unit", p.signal_unit}};
    j["truth"] = {{"kind", p.truth}, {"note", p.truth_note}};
    j["campaign_status"] = data.status;
    j["steps"] = data.steps.size();
    j["excluded_steps"] = p.excluded_steps;
    j["options"] = {{"epochs", p.config.vae.epochs},     {"seed", p.config.seed},
                    {"threads", p.config.vae.threads},   {"truth_points", o.truth_points},
                    {"latent_dim", p.config.vae.latent_dim}, {"learning_rate", p.config.vae.learning_rate},
                    {"knn_k", p.config.knn_k},           {"scalarizers", result.scalarizer_names}};
    j["analysis"] = analysis::analysis_summary(result);
    j["warnings"] = p.warnings;
    nlohmann::json names = nlohmann::json::array();
    for (const auto& f : files) names.push_back(f.filename().string());
    names.push_back("analysis.json");
    j["files"] = names;
    j["build"] = core::build_info();
    j["created_utc"] = core::Manifest::now_utc_iso8601();
    core::write_file_atomically(staging / "analysis.json", j.dump(2));
    files.push_back(staging / "analysis.json");
    out.summary = j;
    if (stopped()) return remove_quietly(staging), out.interrupted = true, out;

    // Swap in: the previous analysis (checked above to be one) moves aside, then goes.
    const fs::path old = parent / (staging_prefix(final_dir, "old") + suffix);
    const bool had = fs::exists(final_dir, ec);
    if (had) {
      fs::rename(final_dir, old, ec);
      if (ec) throw Error("cannot move the previous analysis " + final_dir.string() + " aside: " + ec.message());
    }
    fs::rename(staging, final_dir, ec);
    if (ec) {
      std::error_code ec2;
      if (had) fs::rename(old, final_dir, ec2);
      throw Error("cannot move the analysis into " + final_dir.string() + ": " + ec.message());
    }
    if (had) remove_quietly(old);
    for (auto& f : files) out.files.push_back(final_dir / f.filename());
    out.output = final_dir;
  } catch (...) {
    remove_quietly(staging);
    throw;
  }
  phase("done", out.output.string());
  return out;
}

std::string format_summary(const AnalyzeRunSummary& s) {
  std::ostringstream o;
  const auto& m = s.metrics;
  const auto& a = s.summary.contains("analysis") ? s.summary["analysis"] : nlohmann::json::object();
  o << "dual VAE on " << s.pairs << " measured pairs, " << s.candidates << " candidates encoded";
  if (a.contains("training_seconds")) o << " (" << a["epochs"].get<int>() << " epochs, " << fmt(a["training_seconds"].get<double>(), "%.1f") << " s)";
  o << "\n";
  o << "  joint latent: " << s.clusters << " cluster" << (s.clusters == 1 ? "" : "s") << " by BIC; tie residual "
    << fmt(m.tie_residual) << ", latent spread " << fmt(m.latent_spread) << ", latent SNR " << fmt(m.latent_snr, "%.2f")
    << (m.latent_snr < 1 ? " (below 1: a collapsed latent carries little information)" : "") << "\n";
  if (std::isfinite(m.knn_accuracy_measured)) {
    o << "  motif separability (" << m.knn_k << "-NN, leave-one-out): measured pairs " << fmt(m.knn_accuracy_measured, "%.2f")
      << " (majority " << fmt(m.knn_chance_measured, "%.2f") << "), balanced " << fmt(m.knn_balanced_measured, "%.2f")
      << " (chance " << fmt(1.0 / std::max(1, m.knn_labels_measured), "%.2f") << ")\n";
    o << "                              candidates " << fmt(m.knn_accuracy_candidates, "%.2f") << " (majority "
      << fmt(m.knn_chance_candidates, "%.2f") << "), balanced " << fmt(m.knn_balanced_candidates, "%.2f") << " (chance "
      << fmt(1.0 / std::max(1, m.knn_labels_candidates), "%.2f") << "), " << m.knn_candidates_used << " candidates\n";
  }
  if (m.im2spec_evaluated > 0) {
    const std::string sc = a.value("im2spec_scalarizer", std::string("loop_area"));
    o << "  im2spec on " << m.im2spec_evaluated << " unmeasured candidates (" << s.truth << " truth): R^2 of " << sc << " "
      << fmt(m.im2spec_r2) << ", curve NRMSE " << fmt(m.im2spec_nrmse) << "\n";
  }
  if (s.truth == "none") {
    const std::string note = s.summary.contains("truth") ? s.summary["truth"].value("note", std::string()) : std::string();
    o << "  ground truth: none" << (note.empty() ? "" : "; " + note) << "\n";
  }
  o << "  figures, analysis.h5, analysis.json: " << s.output.string() << "\n";
  return o.str();
}

}  // namespace sdm::bench
