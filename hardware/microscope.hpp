#pragma once
// The one microscope interface the engine sees. Shaped like OpenCV's
// VideoCapture/IVideoCapture and ros2_control: backends implement the small abstract
// `MicroscopeBackend`; the engine calls the non-virtual `Microscope`, which times every
// call, catches failures and returns a `CallStatus`. A twin, a replayed dataset and a
// remote instrument are indistinguishable through it. Physical units throughout.
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/waveform.hpp"

namespace sdm::hardware {

/// What became of one instrument call. Every backend and decorator uses them alike:
/// - ok: done; the value is valid.
/// - timeout: no answer in time (the instrument may or may not have acted).
/// - refused: not executed: a safety limit, an invalid request (bad waveform, unknown
///   channel, position off the scan range), a wrong token. Nothing reached the hardware.
/// - disconnected: no link to the instrument (server down, connection lost mid-call).
/// - error: executed or attempted and failed (instrument fault, malformed reply,
///   internal failure).
/// - tripped: executed, and a safety interlock stopped it (current limit): the sample felt
///   it, so a caller must never repeat the call on its own.
/// Retrying is only ever sensible for timeout, disconnected and error (see is_retryable).
enum class StatusCode { ok, timeout, refused, disconnected, error, tripped };
const char* to_string(StatusCode code);
/// Inverse of to_string; throws sdm::Error on an unknown name.
StatusCode status_code_from_string(const std::string& name);
/// True for the failures a retry may cure (timeout, disconnected, error); false for ok, a
/// refusal (the same request is refused again) and a safety trip (repeating it is unsafe).
bool is_retryable(StatusCode code);

/// Outcome of one instrument call, with its wall-clock duration.
struct CallStatus {
  StatusCode code = StatusCode::ok;
  std::string message;
  double wall_s = 0.0;  ///< wall time the call took, s
  bool ok() const { return code == StatusCode::ok; }
};

/// A call's status and, when ok, its value.
template <class T>
struct Result {
  CallStatus status;
  T value{};
  bool ok() const { return status.ok(); }
};

/// What a backend throws to report a failed call; the wrapper turns it into a CallStatus.
class CallError : public std::runtime_error {
 public:
  CallError(StatusCode code, const std::string& message) : std::runtime_error(message), code_(code) {}
  StatusCode code() const { return code_; }

 private:
  StatusCode code_;
};

/// Physical axes of a rectangular image: pixel (ix, iy) is centred at
/// (x0_m + ix·dx_m, y0_m + iy·dy_m). Row-major storage, iy slow.
struct ImageAxes {
  int nx = 0, ny = 0;
  double x0_m = 0, y0_m = 0;
  double dx_m = 0, dy_m = 0;
};

/// One named channel of a survey, ny×nx values, row-major.
struct Channel {
  std::string name;   ///< e.g. "topography", "current", "amplitude"
  std::string unit;   ///< SI unit, e.g. "m", "A", "V"
  std::vector<double> data;
};

struct SurveyImage {
  ImageAxes axes;
  std::vector<Channel> channels;
  /// nullptr when absent.
  const Channel* find(const std::string& name) const;
};

struct SurveySpec {
  std::vector<std::string> channels = {"topography"};
  int nx = 0, ny = 0;  ///< 0: the backend's native resolution
};

struct Position {
  double x_m = 0, y_m = 0;
};

struct Capabilities {
  std::string backend;                 ///< "twin", "replay", "remote:<endpoint>", ...
  double x_min_m = 0, x_max_m = 0, y_min_m = 0, y_max_m = 0;  ///< reachable scan range
  double max_bias_v = 0;
  double max_current_a = 0;
  double max_sweep_rate_v_per_s = 0;
  std::vector<std::string> channels;   ///< survey channels available
  /// What iv_sweep returns in IvCurve::current_a, and its unit. A cAFM (twin, most
  /// remote instruments) returns "current" in "A"; a replayed dataset returns whatever
  /// was recorded, e.g. "Piezoresponse" in "a.u." for band-excitation PFM. The engine
  /// treats the curve as opaque, so only reports and safety checks look at this.
  std::string signal_name = "current";
  std::string signal_unit = "A";
  /// Empty for backends that play any waveform. Non-empty when the backend can only
  /// return a fixed recorded programme (replay): iv_sweep then returns this bias_v/time_s
  /// whatever it is asked, and a campaign can adopt it as its waveform.
  core::Waveform native_waveform;
};

struct MicroscopeStatus {
  Position position;                   ///< where the tip is believed to be
  double instrument_clock_s = 0;       ///< instrument time consumed so far, s
  bool connected = true;
  std::string state;                   ///< free text ("idle", "sweeping", ...)
};

/// What backends and decorators implement. Throw CallError (or anything) on failure.
class MicroscopeBackend {
 public:
  virtual ~MicroscopeBackend() = default;
  virtual SurveyImage survey(const SurveySpec& spec) = 0;
  /// Moves the tip; returns the position actually reached (drift, clamping).
  virtual Position move_to(double x_m, double y_m) = 0;
  virtual core::IvCurve iv_sweep(const core::Waveform& waveform) = 0;
  virtual MicroscopeStatus status() = 0;
  virtual Capabilities capabilities() = 0;
  /// Names the mutating calls (survey, move_to, iv_sweep) that follow, until the next call
  /// of this: an idempotency key such as "<campaign id>/<step>" ("" = none). A backend
  /// that can lose a reply (remote) sends it along, so that a repeat of the same call is
  /// answered from the server's memory instead of being executed twice. Others ignore it.
  virtual void set_request_key(const std::string& key) { (void)key; }
};

/// The non-virtual front every caller uses: times each call and never throws for
/// instrument failures (they come back as a CallStatus).
class Microscope {
 public:
  explicit Microscope(std::unique_ptr<MicroscopeBackend> backend);
  Result<SurveyImage> survey(const SurveySpec& spec);
  Result<Position> move_to(double x_m, double y_m);
  Result<core::IvCurve> iv_sweep(const core::Waveform& waveform);
  Result<MicroscopeStatus> status();
  Result<Capabilities> capabilities();
  /// See MicroscopeBackend::set_request_key.
  void set_request_key(const std::string& key) { backend_->set_request_key(key); }
  MicroscopeBackend& backend() { return *backend_; }

 private:
  std::unique_ptr<MicroscopeBackend> backend_;
};

}  // namespace sdm::hardware
