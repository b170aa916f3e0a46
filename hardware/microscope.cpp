#include "hardware/microscope.hpp"

#include <chrono>

#include "core/error.hpp"

namespace sdm::hardware {

const char* to_string(StatusCode code) {
  switch (code) {
    case StatusCode::ok: return "ok";
    case StatusCode::timeout: return "timeout";
    case StatusCode::refused: return "refused";
    case StatusCode::disconnected: return "disconnected";
    case StatusCode::error: return "error";
    case StatusCode::tripped: return "tripped";
  }
  return "unknown";
}

StatusCode status_code_from_string(const std::string& name) {
  for (StatusCode c : {StatusCode::ok, StatusCode::timeout, StatusCode::refused, StatusCode::disconnected, StatusCode::error, StatusCode::tripped})
    if (name == to_string(c)) return c;
  throw Error("unknown status code \"" + name + "\"; expected ok, timeout, refused, disconnected, error or tripped");
}

bool is_retryable(StatusCode code) {
  return code == StatusCode::timeout || code == StatusCode::disconnected || code == StatusCode::error;
}

const Channel* SurveyImage::find(const std::string& name) const {
  for (const Channel& c : channels)
    if (c.name == name) return &c;
  return nullptr;
}

namespace {
template <class T, class F>
Result<T> timed_call(F&& f) {
  Result<T> r;
  const auto t0 = std::chrono::steady_clock::now();
  try {
    r.value = f();
  } catch (const CallError& e) {
    r.status.code = e.code();
    r.status.message = e.what();
  } catch (const std::exception& e) {
    r.status.code = StatusCode::error;
    r.status.message = e.what();
  } catch (...) {
    r.status.code = StatusCode::error;
    r.status.message = "unknown failure (a backend threw a non-standard exception)";
  }
  if (!r.status.ok()) r.value = T{};
  r.status.wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return r;
}
}  // namespace

Microscope::Microscope(std::unique_ptr<MicroscopeBackend> backend) : backend_(std::move(backend)) {}

Result<SurveyImage> Microscope::survey(const SurveySpec& spec) {
  return timed_call<SurveyImage>([&] { return backend_->survey(spec); });
}
Result<Position> Microscope::move_to(double x_m, double y_m) {
  return timed_call<Position>([&] { return backend_->move_to(x_m, y_m); });
}
Result<core::IvCurve> Microscope::iv_sweep(const core::Waveform& waveform) {
  return timed_call<core::IvCurve>([&] { return backend_->iv_sweep(waveform); });
}
Result<MicroscopeStatus> Microscope::status() {
  return timed_call<MicroscopeStatus>([&] { return backend_->status(); });
}
Result<Capabilities> Microscope::capabilities() {
  return timed_call<Capabilities>([&] { return backend_->capabilities(); });
}

}  // namespace sdm::hardware
