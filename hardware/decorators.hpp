#pragma once
// Decorators: MicroscopeBackends that wrap another backend and add one concern.
//   SafetyDecorator  refuses out-of-limit commands before they reach the instrument;
//   JournalDecorator appends every command and reply to a log file (JSON lines);
//   LatencyDecorator injects a delay per call (tests of timeouts and pacing);
//   SurveyFileDecorator answers survey() from a recorded file (an Igor .ibw scan).
// Usual stack (outermost first): journal → safety → latency → survey file → backend, so
// the journal records refusals too. `wrap_backend` (backend_factory.hpp) builds it.
#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <string>

#include "hardware/microscope.hpp"

namespace sdm::hardware {

struct BackendConfig;

/// Base of every decorator: forwards each call to the wrapped backend.
class Decorator : public MicroscopeBackend {
 public:
  explicit Decorator(std::unique_ptr<MicroscopeBackend> inner);
  SurveyImage survey(const SurveySpec& spec) override { return inner_->survey(spec); }
  Position move_to(double x_m, double y_m) override { return inner_->move_to(x_m, y_m); }
  core::IvCurve iv_sweep(const core::Waveform& waveform) override { return inner_->iv_sweep(waveform); }
  MicroscopeStatus status() override { return inner_->status(); }
  Capabilities capabilities() override { return inner_->capabilities(); }
  void set_request_key(const std::string& key) override { inner_->set_request_key(key); }
  MicroscopeBackend& inner() { return *inner_; }

 protected:
  std::unique_ptr<MicroscopeBackend> inner_;
};

/// Limits the safety decorator enforces. Positions: the scan range the wrapped backend
/// reports in capabilities(), intersected with the optional box given here.
struct SafetyLimits {
  double max_bias_v = 10.0;               ///< |V| of every waveform point
  double max_current_a = 1e-6;            ///< |I| of every returned sample (checked after the sweep)
  double max_sweep_rate_v_per_s = 10.0;   ///< max |dV/dt| between consecutive waveform points
  std::optional<double> x_min_m, x_max_m, y_min_m, y_max_m;  ///< extra position box, m
  int max_survey_px = 8192;               ///< refuse surveys larger than this per side
  static SafetyLimits from(const BackendConfig& config);
};

/// Refuses (StatusCode::refused, nothing forwarded) a waveform that is invalid, exceeds
/// max_bias_v or max_sweep_rate_v_per_s, a move to a non-finite position or one off the
/// scan range, and a survey with no channels or an absurd size. After a sweep, a sample
/// with |I| > max_current_a makes the call fail with StatusCode::tripped ("current limit
/// tripped": the curve is withheld; a caller never repeats it) — the current is measured, it cannot be pre-checked.
/// The current check applies only when the backend's signal unit is "A".
class SafetyDecorator : public Decorator {
 public:
  SafetyDecorator(std::unique_ptr<MicroscopeBackend> inner, SafetyLimits limits);
  SurveyImage survey(const SurveySpec& spec) override;
  Position move_to(double x_m, double y_m) override;
  core::IvCurve iv_sweep(const core::Waveform& waveform) override;
  /// The inner capabilities with limits tightened to the configured ones.
  Capabilities capabilities() override;
  const SafetyLimits& limits() const { return limits_; }

 private:
  const Capabilities& inner_capabilities();  ///< fetched once, on first need
  SafetyLimits limits_;
  std::optional<Capabilities> caps_;
};

/// Appends one JSON object per line for every command and every reply:
///   {"seq":3,"t_utc":"2025-01-02T03:04:05.123456Z","t_s":1.234,"dir":"command","op":"iv_sweep","points":251,...}
///   {"seq":3,"t_utc":"…","t_s":1.240,"dir":"reply","op":"iv_sweep","status":"ok","wall_s":0.006,...}
/// t_s is monotonic seconds since the journal opened. Arrays are summarised (count,
/// range), not dumped: the campaign record holds the data. Each line is flushed at once.
class JournalDecorator : public Decorator {
 public:
  /// Opens `path` for appending (creating folders); throws sdm::Error naming it on failure.
  JournalDecorator(std::unique_ptr<MicroscopeBackend> inner, const std::filesystem::path& path);
  SurveyImage survey(const SurveySpec& spec) override;
  Position move_to(double x_m, double y_m) override;
  core::IvCurve iv_sweep(const core::Waveform& waveform) override;
  MicroscopeStatus status() override;
  Capabilities capabilities() override;
  const std::filesystem::path& path() const { return path_; }

 private:
  template <class F>
  auto logged(const char* op, const std::string& command_fields, F&& call) -> decltype(call());
  void write_line(const std::string& json_object_body);
  std::filesystem::path path_;
  std::ofstream out_;
  std::chrono::steady_clock::time_point t0_;
  unsigned long long seq_ = 0;
};

/// Delay added before each call is forwarded, s.
struct LatencyConfig {
  double survey_s = 0, move_s = 0, sweep_s = 0, status_s = 0, capabilities_s = 0;
  static LatencyConfig uniform(double s) { return {s, s, s, s, s}; }
};

class LatencyDecorator : public Decorator {
 public:
  LatencyDecorator(std::unique_ptr<MicroscopeBackend> inner, LatencyConfig latency);
  SurveyImage survey(const SurveySpec& spec) override;
  Position move_to(double x_m, double y_m) override;
  core::IvCurve iv_sweep(const core::Waveform& waveform) override;
  MicroscopeStatus status() override;
  Capabilities capabilities() override;

 private:
  LatencyConfig latency_;
};

/// Answers survey() from an image recorded earlier (e.g. the instrument's own Igor .ibw
/// survey, so a remote campaign starts from it); every other call goes to the backend.
/// The requested channels are looked up by name; "topography" falls back to the file's
/// height channel (see igor::topography_channel). nx/ny other than 0 or the native size
/// resample the image bilinearly. Unknown channels are refused, listing what the file has.
class SurveyFileDecorator : public Decorator {
 public:
  SurveyFileDecorator(std::unique_ptr<MicroscopeBackend> inner, SurveyImage image, std::string source);
  SurveyImage survey(const SurveySpec& spec) override;
  Capabilities capabilities() override;

 private:
  SurveyImage image_;
  std::string source_;
};

/// Picks the channels `spec` asks for from `image` (aliases: "topography" → a height
/// channel when absent) and resamples to spec.nx × spec.ny when they are non-zero.
/// Throws CallError(refused) naming the missing channel and the available ones.
SurveyImage select_survey(const SurveyImage& image, const SurveySpec& spec, const std::string& source);

/// Bilinear resampling of every channel onto nx × ny pixels spanning the same extent.
SurveyImage resample(const SurveyImage& image, int nx, int ny);

}  // namespace sdm::hardware
