#include "engine/campaign/campaign.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <iomanip>
#include <optional>
#include <random>
#include <sstream>
#include <thread>

#include "core/error.hpp"
#include "engine/acquisition/initial_design.hpp"
#include "engine/acquisition/seeds.hpp"
#include "engine/acquisition/strategy.hpp"
#include "engine/campaign/campaign_file.hpp"
#include "engine/campaign/checkpoint.hpp"
#include "engine/campaign/spec_json.hpp"
#include "engine/campaign/step_journal.hpp"
#include "engine/patches/candidate_grid.hpp"
#include "engine/patches/patch_extraction.hpp"

namespace sdm::engine::campaign {

const char* to_string(CampaignEnd end) {
  switch (end) {
    case CampaignEnd::completed: return "completed";
    case CampaignEnd::time_budget: return "time_budget";
    case CampaignEnd::instrument_failure: return "instrument_failure";
    case CampaignEnd::interrupted: return "interrupted";
    case CampaignEnd::safety_trip: return "safety_trip";
    case CampaignEnd::refused: return "refused";
  }
  return "unknown";
}

core::Waveform campaign_waveform(const CampaignConfig& c) {
  return c.sweep_shape == "bipolar"
             ? core::Waveform::bipolar(c.sweep_max_bias_v, static_cast<std::size_t>(c.sweep_points), c.sweep_rate_v_per_s)
             : core::Waveform::triangle(c.sweep_max_bias_v, static_cast<std::size_t>(c.sweep_points), c.sweep_rate_v_per_s);
}

std::filesystem::path journal_path(const std::filesystem::path& run_dir) { return run_dir / "steps.journal"; }
std::filesystem::path campaign_file_path(const std::filesystem::path& run_dir) { return run_dir / "campaign.h5"; }

namespace {

using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

std::string resume_hint(const std::filesystem::path& dir) { return "continue with: sdm run --resume " + dir.string(); }

/// An instrument call that failed after every retry (or was abandoned because of a stop
/// request, or not retried because the failure is permanent: a refusal or a safety trip).
struct CallFailure {
  std::string message;
  bool interrupted = false;
  hardware::StatusCode code = hardware::StatusCode::error;  ///< of the last attempt
};

/// A fresh campaign id: 128 random bits, hex. It names the campaign's requests to the
/// instrument (request keys), so it must differ between campaigns, also across machines.
std::string new_campaign_id() {
  std::random_device rd;
  std::ostringstream s;
  s << std::hex;
  for (int i = 0; i < 4; ++i) s << std::setw(8) << std::setfill('0') << rd();
  return s.str();
}

class Session {
 public:
  Session(CampaignSpec spec, hardware::Microscope& scope, const ProgressCallback& progress, const std::atomic<bool>* stop)
      : spec_(std::move(spec)), scope_(scope), progress_(progress), stop_(stop) {}

  /// New campaign: survey, header, then the loop.
  CampaignOutcome start() {
    namespace fs = std::filesystem;
    const fs::path& dir = spec_.directory;
    if (dir.empty()) throw Error("campaign: no run folder given");
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec || !fs::is_directory(dir)) throw Error(dir.string() + ": cannot create the run folder (" + ec.message() + ")");
    if (fs::exists(journal_path(dir)) || fs::exists(campaign_file_path(dir)))
      throw Error(dir.string() + ": already holds a campaign; continue it with `sdm run --resume " + dir.string() +
                  "` or choose another folder");
    t0_ = Clock::now();
    campaign_id_ = new_campaign_id();

    core::Waveform waveform = campaign_waveform(spec_.campaign);
    hardware::SurveySpec request;
    request.channels = {spec_.campaign.survey_channel};
    if (auto caps = call("capabilities", [&] { return scope_.capabilities(); }); caps) {
      data_.backend = caps->backend;
      data_.signal_name = caps->signal_name;
      data_.signal_unit = caps->signal_unit;
      // A backend that can only play a recorded programme (replay) returns it whatever it is
      // asked: the campaign adopts it, so the record says what was really applied.
      if (!caps->native_waveform.bias_v.empty()) waveform = caps->native_waveform;
      for (const std::string& ch : caps->channels)
        if (ch != spec_.campaign.survey_channel) request.channels.push_back(ch);
      if (!caps->channels.empty() &&
          std::find(caps->channels.begin(), caps->channels.end(), spec_.campaign.survey_channel) == caps->channels.end()) {
        std::ostringstream m;
        m << "[campaign] survey_channel = \"" << spec_.campaign.survey_channel << "\" is not offered by backend '"
          << caps->backend << "'; available:";
        for (const auto& c : caps->channels) m << ' ' << c;
        throw Error(m.str());
      }
      if (caps->max_bias_v > 0 && waveform.max_abs_bias_v() > caps->max_bias_v)
        throw Error("[campaign] sweep_max_bias_v = " + std::to_string(spec_.campaign.sweep_max_bias_v) + " V exceeds the backend's " +
                    std::to_string(caps->max_bias_v) + " V");
      if (caps->max_sweep_rate_v_per_s > 0 && waveform.max_rate_v_per_s() > caps->max_sweep_rate_v_per_s * (1 + 1e-9))
        throw Error("[campaign] sweep_rate_v_per_s = " + std::to_string(spec_.campaign.sweep_rate_v_per_s) +
                    " V/s exceeds the backend's " + std::to_string(caps->max_sweep_rate_v_per_s) + " V/s");
    }
    failure_.reset();  // a backend that cannot describe itself may still survey
    scope_.set_request_key(campaign_id_ + "/survey");
    auto survey = call("survey", [&] { return scope_.survey(request); });
    scope_.set_request_key("");
    if (!survey) return not_started();
    if (!survey->find(spec_.campaign.survey_channel))
      throw Error("the survey returned no channel '" + spec_.campaign.survey_channel + "'");

    data_.spec = spec_to_json(spec_);
    data_.survey = std::move(*survey);
    data_.survey_channel = spec_.campaign.survey_channel;
    data_.survey_request = request;
    data_.waveform = waveform;
    data_.grid = patches::make_candidate_grid(data_.survey.axes.nx, data_.survey.axes.ny, spec_.campaign.patch_px,
                                              spec_.campaign.stride_px);
    prepare();  // may throw for a bad configuration: before anything is written

    journal_.emplace(StepJournal::create(journal_path(dir)));
    journal_->append(JournalKind::header, {{"spec", data_.spec},
                                           {"campaign_id", campaign_id_},
                                           {"grid", grid_to_json(data_.grid)},
                                           {"survey", survey_to_json(data_.survey)},
                                           {"survey_channel", data_.survey_channel},
                                           {"survey_request", survey_spec_to_json(data_.survey_request)},
                                           {"waveform", waveform_to_json(data_.waveform)},
                                           {"backend", data_.backend},
                                           {"signal_name", data_.signal_name},
                                           {"signal_unit", data_.signal_unit}});
    writer_ = std::make_unique<CampaignFileWriter>(campaign_file_path(dir), data_);
    if (auto st = call("status", [&] { return scope_.status(); }); st) clock_s_ = st->instrument_clock_s;
    failure_.reset();  // a clock we could not read is not a reason to stop
    return loop();
  }

  /// Existing campaign: journal → state (checkpoint + replayed decisions) → the loop.
  CampaignOutcome resume() {
    const std::filesystem::path& dir = spec_.directory;
    t0_ = Clock::now();
    std::uint64_t valid = 0;
    CampaignData recorded = read_campaign_journal(journal_path(dir), &valid);
    const CampaignSpec stored = spec_from_json(recorded.spec, journal_path(dir).string());
    const std::filesystem::path keep_dir = dir;
    spec_ = stored;
    spec_.directory = keep_dir;
    data_ = std::move(recorded);
    // A journal from before campaign ids: this session's requests get a fresh id (a repeat
    // across this resume is then not recognised by the instrument).
    campaign_id_ = data_.campaign_id.empty() ? new_campaign_id() : data_.campaign_id;
    std::vector<StepRecord> steps = std::move(data_.steps);
    data_.steps.clear();
    data_.status = "running";
    data_.message.clear();
    prepare();

    // The strategy: newest checkpoint not beyond the record, then the recorded steps after it
    // are replayed through observe/decide (each decision must reproduce the recorded candidate).
    int from = 0;
    if (auto ck = find_checkpoint(dir); ck && ck->steps <= static_cast<int>(steps.size())) {
      try {
        strategy_->load(ck->folder);
        from = ck->steps;
      } catch (const Error&) {
        strategy_ = make_strategy_();  // unreadable checkpoint: rebuild the strategy from the record alone
        from = 0;
      }
    }
    for (size_t k = 0; k < steps.size(); ++k) {
      const StepRecord& r = steps[k];
      if (static_cast<int>(k) >= from && r.phase == "strategy") {
        const acquisition::Decision d = strategy_->decide(state_);
        if (d.candidate != r.candidate)
          throw Error(dir.string() + ": resume diverged at step " + std::to_string(k) + ": the strategy now chooses candidate " +
                      std::to_string(d.candidate) + ", the record has " + std::to_string(r.candidate) +
                      " (was the build, thread count or checkpoint changed?)");
      }
      add_to_state(r);
      if (static_cast<int>(k) >= from) strategy_->observe(state_);
      data_.steps.push_back(r);
    }
    if (!data_.steps.empty()) {
      wall_offset_s_ = data_.steps.back().wall_clock_s;
      clock_s_ = data_.steps.back().instrument_clock_s;
    }
    resumed_from_ = static_cast<int>(data_.steps.size());
    // The key of the step in flight when the campaign stopped: the same one again (a reply
    // lost then is answered from the instrument's memory, not measured twice), except after
    // a safety trip, which the operator resumes deliberately: that step gets a new key.
    if (data_.end.is_object() && data_.end.value("step", -1) == resumed_from_) {
      key_step_ = resumed_from_;
      key_generation_ = data_.end.value("key_generation", 0) + (data_.end.value("status", std::string()) == "safety_trip" ? 1 : 0);
    }

    journal_.emplace(StepJournal::open(journal_path(dir), valid));
    writer_ = std::make_unique<CampaignFileWriter>(campaign_file_path(dir), data_);  // rebuilt from the journal
    if (from < static_cast<int>(data_.steps.size())) checkpoint();
    return loop();
  }

 private:
  /// Everything derived from the header: patches, initial design, strategy, empty state.
  void prepare() {
    const CampaignConfig& cc = spec_.campaign;
    const hardware::Channel* ch = data_.survey.find(data_.survey_channel);
    if (!ch) throw Error("campaign: the survey has no channel '" + data_.survey_channel + "'");
    const auto& a = data_.survey.axes;
    normalised_ = patches::normalise_min_max(ch->data, a.nx, a.ny, "survey channel '" + data_.survey_channel + "'");
    patches_ = patches::patches_of_normalised(normalised_, data_.grid);
    std::mt19937_64 rng(acquisition::derive_seed(spec_.seed, "initial"));
    const int n0 = std::min({cc.initial_points, cc.budget, static_cast<int>(data_.grid.size())});
    initial_ = acquisition::initial_design(data_.grid, n0, acquisition::initial_design_from_name(cc.initial_design), rng);
    state_ = acquisition::CampaignState{};
    state_.grid = &data_.grid;
    state_.patches = &patches_;
    state_.normalised_image = &normalised_;
    state_.is_measured.assign(data_.grid.size(), 0);
    strategy_ = make_strategy_();
  }

  std::unique_ptr<acquisition::Strategy> make_strategy_() const {
    acquisition::StrategyContext ctx;
    ctx.dkl = spec_.dkl;
    ctx.seed = spec_.seed;
    ctx.patch_side_px = spec_.campaign.patch_px;
    ctx.budget = spec_.campaign.budget;
    ctx.initial_points = static_cast<int>(initial_.size());
    return acquisition::make_strategy(spec_.strategy, ctx);
  }

  void add_to_state(const StepRecord& r) {
    state_.measured.push_back(r.candidate);
    state_.curves.push_back(r.curve);
    state_.is_measured[static_cast<size_t>(r.candidate)] = 1;
  }

  void checkpoint() {
    const int n = static_cast<int>(data_.steps.size());
    write_checkpoint(spec_.directory, n, [&](const std::filesystem::path& folder) { strategy_->save(folder); });
  }

  bool stop_requested() const { return stop_ && stop_->load(); }

  /// Sleeps `seconds` in short slices; false when a stop request cut it short.
  bool wait(double seconds) const {
    const auto until = Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
    while (Clock::now() < until) {
      if (stop_requested()) return false;
      const Clock::duration left = until - Clock::now();
      std::this_thread::sleep_for(std::min<Clock::duration>(std::chrono::milliseconds(20), left));
    }
    return !stop_requested();
  }

  /// One instrument call under the retry policy; nullopt (and failure_ set) when it kept failing.
  template <class F>
  auto call(const char* what, F&& f) -> std::optional<decltype(f().value)> {
    const int attempts = 1 + spec_.campaign.retries;
    hardware::CallStatus last;
    for (int a = 0; a < attempts; ++a) {
      auto r = f();
      if (r.ok()) return std::move(r.value);
      last = r.status;
      if (!hardware::is_retryable(last.code)) {  // the same request would be refused again, or trip again
        failure_ = CallFailure{std::string(what) + " " + (last.code == hardware::StatusCode::tripped ? "tripped" : "was refused") + " (" +
                                   hardware::to_string(last.code) + ": " + last.message + "); not retried",
                               false, last.code};
        return std::nullopt;
      }
      if (a + 1 < attempts && !wait(spec_.campaign.retry_delay_s)) {
        failure_ = CallFailure{std::string(what) + " failed (" + hardware::to_string(last.code) + ": " + last.message +
                                   ") and a stop was requested before it could be retried",
                               true, last.code};
        return std::nullopt;
      }
    }
    failure_ = CallFailure{std::string(what) + " failed after " + std::to_string(attempts) + " attempt" +
                               (attempts == 1 ? "" : "s") + " (" + hardware::to_string(last.code) + ": " + last.message + ")",
                           false, last.code};
    return std::nullopt;
  }

  CampaignOutcome not_started() {
    CampaignOutcome o;
    o.end = failure_ && failure_->interrupted                               ? CampaignEnd::interrupted
            : failure_ && failure_->code == hardware::StatusCode::refused  ? CampaignEnd::refused
            : failure_ && failure_->code == hardware::StatusCode::tripped  ? CampaignEnd::safety_trip
                                                                            : CampaignEnd::instrument_failure;
    o.message = "the campaign could not start: " + (failure_ ? failure_->message : std::string("?")) +
                "; nothing was recorded (run it again)";
    return o;
  }

  CampaignOutcome loop() {
    const CampaignConfig& cc = spec_.campaign;
    const double time_budget = cc.time_budget_s;
    double observe_s = 0;  // the previous observe, counted into the next decision's latency
    while (true) {
      const int k = static_cast<int>(data_.steps.size());
      if (k >= cc.budget) return finish(CampaignEnd::completed, "campaign complete: " + std::to_string(k) + " measurements");
      if (time_budget > 0 && clock_s_ >= time_budget) return finish_time_budget();
      if (stop_requested()) return finish_resumable(CampaignEnd::interrupted, "interrupted");

      // Decide.
      const auto t_decide = Clock::now();
      StepRecord r;
      r.step = k;
      acquisition::Decision d;
      if (k < static_cast<int>(initial_.size())) {
        r.phase = "initial";
        d.candidate = initial_[static_cast<size_t>(k)];
      } else {
        r.phase = "strategy";
        d = strategy_->decide(state_);
      }
      r.decision_latency_s = observe_s + seconds_since(t_decide);
      if (d.candidate < 0)
        return finish(CampaignEnd::completed, "every candidate is measured: " + std::to_string(k) + " measurements");
      if (static_cast<size_t>(d.candidate) >= data_.grid.size() || state_.is_measured[static_cast<size_t>(d.candidate)])
        throw Error("strategy '" + spec_.strategy.name + "' chose candidate " + std::to_string(d.candidate) +
                    (static_cast<size_t>(d.candidate) < data_.grid.size() ? ", which is already measured" : ", which does not exist"));
      r.candidate = d.candidate;
      r.ix_px = data_.grid.ix_px[static_cast<size_t>(d.candidate)];
      r.iy_px = data_.grid.iy_px[static_cast<size_t>(d.candidate)];
      r.score = d.score;
      r.structural_novelty = d.structural_novelty;
      r.predicted_mean = d.predicted_mean;
      r.predicted_std = d.predicted_std;
      r.model_json = d.model.is_null() ? "" : d.model.dump();
      const hardware::Position target = patches::candidate_position(data_.grid, data_.survey.axes, d.candidate);
      r.x_requested_m = target.x_m;
      r.y_requested_m = target.y_m;

      // Measure, under this step's request key (exactly-once on an instrument that may lose replies).
      scope_.set_request_key(request_key(k));
      auto reached = call("move_to", [&] { return scope_.move_to(target.x_m, target.y_m); });
      if (!reached) return finish_failure(k);
      r.x_reached_m = reached->x_m;
      r.y_reached_m = reached->y_m;
      auto curve = call("iv_sweep", [&] { return scope_.iv_sweep(data_.waveform); });
      if (!curve) return finish_failure(k);
      r.curve = std::move(*curve);
      scope_.set_request_key("");
      auto st = call("status", [&] { return scope_.status(); });
      r.instrument_clock_s = st ? st->instrument_clock_s : std::nan("");
      if (st) clock_s_ = st->instrument_clock_s;
      r.wall_clock_s = wall_offset_s_ + seconds_since(t0_);

      // Record (journal first: it is what a resume trusts), then observe and checkpoint.
      journal_->append(JournalKind::step, step_to_json(r));
      writer_->append(r);
      add_to_state(r);
      data_.steps.push_back(r);
      const auto t_observe = Clock::now();
      strategy_->observe(state_);
      observe_s = seconds_since(t_observe);
      checkpoint();
      ++session_steps_;
      report(r);
      if (!st) return finish_failure(k + 1);  // the measurement is kept; the instrument stopped answering
    }
  }

  void report(const StepRecord& r) const {
    if (!progress_) return;
    Progress p;
    p.step = static_cast<int>(data_.steps.size());
    p.budget = spec_.campaign.budget;
    p.elapsed_s = wall_offset_s_ + seconds_since(t0_);
    const double per_step = session_steps_ > 0 ? seconds_since(t0_) / session_steps_ : 0.0;
    p.eta_s = per_step * std::max(0, p.budget - p.step);
    p.decision_latency_s = r.decision_latency_s;
    p.instrument_clock_s = r.instrument_clock_s;
    progress_(p);
  }

  std::string where() const {
    return std::to_string(data_.steps.size()) + " of " + std::to_string(spec_.campaign.budget) + " measurements are recorded in " +
           spec_.directory.string();
  }

  CampaignOutcome finish_time_budget() {
    std::ostringstream m;
    m << "instrument time budget of " << spec_.campaign.time_budget_s << " s spent (instrument clock " << clock_s_ << " s); "
      << where();
    return finish(CampaignEnd::time_budget, m.str());
  }

  /// "<campaign id>/<step>", with ".<n>" once the step has been resumed after n safety trips.
  std::string request_key(int step) const {
    std::string key = campaign_id_ + "/" + std::to_string(step);
    if (step == key_step_ && key_generation_ > 0) key += "." + std::to_string(key_generation_);
    return key;
  }

  CampaignOutcome finish_failure(int step) {
    scope_.set_request_key("");
    if (failure_ && failure_->code == hardware::StatusCode::tripped && !failure_->interrupted)
      return finish(CampaignEnd::safety_trip,
                    "safety trip at measurement " + std::to_string(step) + ": " + failure_->message +
                        "; the campaign stopped so the spot is not exposed again; " + where() +
                        "; check the tip and sample, then " + resume_hint(spec_.directory) + " (it measures this spot again)");
    if (failure_ && failure_->code == hardware::StatusCode::refused && !failure_->interrupted)
      return finish(CampaignEnd::refused, "the instrument refused measurement " + std::to_string(step) + ": " + failure_->message +
                                               "; the same request would be refused again, so the campaign stopped; " + where() +
                                               "; fix the cause (limits, scan range, token), then " + resume_hint(spec_.directory));
    if (failure_ && failure_->interrupted)
      return finish_resumable(CampaignEnd::interrupted, "interrupted at measurement " + std::to_string(step) + ": " + failure_->message);
    return finish_resumable(CampaignEnd::instrument_failure, "instrument failure at measurement " + std::to_string(step) + ": " +
                                                                 (failure_ ? failure_->message : std::string("?")));
  }

  CampaignOutcome finish_resumable(CampaignEnd end, const std::string& why) {
    return finish(end, why + "; " + where() + "; " + resume_hint(spec_.directory));
  }

  CampaignOutcome finish(CampaignEnd end, std::string message) {
    if (end == CampaignEnd::completed) message += " in " + spec_.directory.string();
    const int in_flight = static_cast<int>(data_.steps.size());
    journal_->append(JournalKind::end, {{"status", to_string(end)},
                                        {"message", message},
                                        {"step", in_flight},
                                        {"key_generation", in_flight == key_step_ ? key_generation_ : 0}});
    writer_->set_status(to_string(end), message);
    writer_->close();
    CampaignOutcome o;
    o.end = end;
    o.message = std::move(message);
    o.file = campaign_file_path(spec_.directory);
    o.grid = data_.grid;
    o.survey = data_.survey;
    o.steps = data_.steps;
    o.resumed_from = resumed_from_;
    return o;
  }

  CampaignSpec spec_;
  hardware::Microscope& scope_;
  ProgressCallback progress_;
  const std::atomic<bool>* stop_;

  CampaignData data_;
  std::vector<double> normalised_;
  gp::RowMatrixF patches_;
  std::vector<int> initial_;
  std::unique_ptr<acquisition::Strategy> strategy_;
  acquisition::CampaignState state_;
  std::optional<StepJournal> journal_;
  std::unique_ptr<CampaignFileWriter> writer_;
  std::optional<CallFailure> failure_;
  Clock::time_point t0_;
  double wall_offset_s_ = 0;
  double clock_s_ = 0;
  int session_steps_ = 0;
  int resumed_from_ = -1;
  std::string campaign_id_;
  int key_step_ = -1;       ///< the step whose request key carries key_generation_
  int key_generation_ = 0;
};

}  // namespace

CampaignOutcome run_campaign(const CampaignSpec& spec, hardware::Microscope& microscope, const ProgressCallback& progress,
                             const std::atomic<bool>* stop) {
  Session s(spec, microscope, progress, stop);
  return s.start();
}

CampaignOutcome resume_campaign(const std::filesystem::path& directory, hardware::Microscope& microscope,
                                const ProgressCallback& progress, const std::atomic<bool>* stop) {
  CampaignSpec spec;
  spec.directory = directory;
  Session s(spec, microscope, progress, stop);
  return s.resume();
}

}  // namespace sdm::engine::campaign
