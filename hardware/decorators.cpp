#include "hardware/decorators.hpp"

#include <algorithm>
#include <cmath>
#include <ctime>
#include <iomanip>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "core/error.hpp"
#include "hardware/backend_config.hpp"
#include "hardware/igor/ibw.hpp"

namespace sdm::hardware {
namespace {

std::string num(double v) {
  std::ostringstream s;
  s << std::setprecision(6) << v;
  return s.str();
}

[[noreturn]] void refuse(const std::string& what) { throw CallError(StatusCode::refused, "safety: " + what); }

}  // namespace

Decorator::Decorator(std::unique_ptr<MicroscopeBackend> inner) : inner_(std::move(inner)) {
  if (!inner_) throw Error("decorator: the wrapped backend is null");
}

// ---------------------------------------------------------------- safety

SafetyLimits SafetyLimits::from(const BackendConfig& c) {
  SafetyLimits l;
  l.max_bias_v = c.max_bias_v;
  l.max_current_a = c.max_current_a;
  l.max_sweep_rate_v_per_s = c.max_sweep_rate_v_per_s;
  return l;
}

SafetyDecorator::SafetyDecorator(std::unique_ptr<MicroscopeBackend> inner, SafetyLimits limits)
    : Decorator(std::move(inner)), limits_(limits) {
  if (!(limits_.max_bias_v > 0) || !(limits_.max_current_a > 0) || !(limits_.max_sweep_rate_v_per_s > 0))
    throw Error("safety limits must be positive (max_bias_v, max_current_a, max_sweep_rate_v_per_s)");
}

const Capabilities& SafetyDecorator::inner_capabilities() {
  if (!caps_) caps_ = inner_->capabilities();  // a failure (e.g. disconnected) propagates with its code
  return *caps_;
}

SurveyImage SafetyDecorator::survey(const SurveySpec& spec) {
  if (spec.channels.empty()) refuse("survey asks for no channels");
  if (spec.nx < 0 || spec.ny < 0 || spec.nx > limits_.max_survey_px || spec.ny > limits_.max_survey_px)
    refuse("survey size " + std::to_string(spec.nx) + "x" + std::to_string(spec.ny) + " px is outside 0.." +
           std::to_string(limits_.max_survey_px) + " per side (0 = native)");
  return inner_->survey(spec);
}

Position SafetyDecorator::move_to(double x_m, double y_m) {
  if (!std::isfinite(x_m) || !std::isfinite(y_m)) refuse("move_to(" + num(x_m) + ", " + num(y_m) + ") is not a finite position");
  const Capabilities& c = inner_capabilities();
  double x_lo = c.x_min_m, x_hi = c.x_max_m, y_lo = c.y_min_m, y_hi = c.y_max_m;
  if (limits_.x_min_m) x_lo = std::max(x_lo, *limits_.x_min_m);
  if (limits_.x_max_m) x_hi = std::min(x_hi, *limits_.x_max_m);
  if (limits_.y_min_m) y_lo = std::max(y_lo, *limits_.y_min_m);
  if (limits_.y_max_m) y_hi = std::min(y_hi, *limits_.y_max_m);
  // Tolerance for rounding of grid positions: a billionth of the range.
  const double tx = 1e-9 * std::max(std::abs(x_hi - x_lo), 1e-12), ty = 1e-9 * std::max(std::abs(y_hi - y_lo), 1e-12);
  if (x_m < x_lo - tx || x_m > x_hi + tx || y_m < y_lo - ty || y_m > y_hi + ty)
    refuse("position (" + num(x_m) + ", " + num(y_m) + ") m is outside the allowed scan range x " + num(x_lo) + ".." + num(x_hi) +
           " m, y " + num(y_lo) + ".." + num(y_hi) + " m");
  return inner_->move_to(x_m, y_m);
}

core::IvCurve SafetyDecorator::iv_sweep(const core::Waveform& w) {
  try {
    w.validate();
  } catch (const std::exception& e) {
    refuse(std::string("invalid waveform: ") + e.what());
  }
  const double v = w.max_abs_bias_v();
  if (v > limits_.max_bias_v) refuse("waveform reaches |V| = " + num(v) + " V, above max_bias_v = " + num(limits_.max_bias_v) + " V");
  const double r = w.max_rate_v_per_s();
  if (r > limits_.max_sweep_rate_v_per_s)
    refuse("waveform sweeps at up to " + num(r) + " V/s, above max_sweep_rate_v_per_s = " + num(limits_.max_sweep_rate_v_per_s) + " V/s");
  core::IvCurve curve = inner_->iv_sweep(w);
  if (inner_capabilities().signal_unit == "A") {
    for (std::size_t i = 0; i < curve.current_a.size(); ++i) {
      const double a = curve.current_a[i];
      if (!(std::abs(a) <= limits_.max_current_a))
        throw CallError(StatusCode::tripped, "safety: current limit tripped: |I| = " + num(std::abs(a)) + " A at sample " + std::to_string(i) +
                                               (i < curve.bias_v.size() ? " (V = " + num(curve.bias_v[i]) + " V)" : std::string()) +
                                               " exceeds max_current_a = " + num(limits_.max_current_a) + " A; the curve is withheld");
    }
  }
  return curve;
}

Capabilities SafetyDecorator::capabilities() {
  Capabilities c = inner_->capabilities();
  caps_ = c;
  auto tighten = [](double inner, double limit) { return inner > 0 ? std::min(inner, limit) : limit; };
  c.max_bias_v = tighten(c.max_bias_v, limits_.max_bias_v);
  if (c.signal_unit == "A") c.max_current_a = tighten(c.max_current_a, limits_.max_current_a);
  c.max_sweep_rate_v_per_s = tighten(c.max_sweep_rate_v_per_s, limits_.max_sweep_rate_v_per_s);
  if (limits_.x_min_m) c.x_min_m = std::max(c.x_min_m, *limits_.x_min_m);
  if (limits_.x_max_m) c.x_max_m = std::min(c.x_max_m, *limits_.x_max_m);
  if (limits_.y_min_m) c.y_min_m = std::max(c.y_min_m, *limits_.y_min_m);
  if (limits_.y_max_m) c.y_max_m = std::min(c.y_max_m, *limits_.y_max_m);
  return c;
}

// ---------------------------------------------------------------- journal

namespace {
std::string utc_now() {
  const auto now = std::chrono::system_clock::now();
  const std::time_t t = std::chrono::system_clock::to_time_t(now);
  const auto us = std::chrono::duration_cast<std::chrono::microseconds>(now.time_since_epoch()).count() % 1000000;
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  std::ostringstream s;
  s << buf << '.' << std::setw(6) << std::setfill('0') << us << 'Z';
  return s.str();
}

template <class V>
void add_range(nlohmann::json& j, const char* prefix, const V& v) {
  if (v.empty()) return;
  const auto [lo, hi] = std::minmax_element(v.begin(), v.end());
  j[std::string(prefix) + "_min"] = *lo;
  j[std::string(prefix) + "_max"] = *hi;
}

// Journal bodies are JSON objects without braces, so command and reply share the prefix.
std::string body(const nlohmann::json& j) {
  std::string s = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return s.size() >= 2 ? s.substr(1, s.size() - 2) : std::string();
}

nlohmann::json reply_fields(const SurveyImage& v) {
  nlohmann::json j{{"nx", v.axes.nx}, {"ny", v.axes.ny}, {"dx_m", v.axes.dx_m}, {"dy_m", v.axes.dy_m}};
  nlohmann::json ch = nlohmann::json::array();
  for (const Channel& c : v.channels) ch.push_back(c.name + " [" + c.unit + "]");
  j["channels"] = ch;
  return j;
}
nlohmann::json reply_fields(const Position& p) { return {{"x_m", p.x_m}, {"y_m", p.y_m}}; }
nlohmann::json reply_fields(const core::IvCurve& c) {
  nlohmann::json j{{"points", c.size()}};
  add_range(j, "bias_v", c.bias_v);
  add_range(j, "current_a", c.current_a);
  if (!c.time_s.empty()) j["duration_s"] = c.time_s.back() - c.time_s.front();
  return j;
}
nlohmann::json reply_fields(const MicroscopeStatus& s) {
  return {{"x_m", s.position.x_m}, {"y_m", s.position.y_m}, {"instrument_clock_s", s.instrument_clock_s}, {"connected", s.connected}, {"state", s.state}};
}
nlohmann::json reply_fields(const Capabilities& c) {
  return {{"backend", c.backend}, {"x_min_m", c.x_min_m}, {"x_max_m", c.x_max_m}, {"y_min_m", c.y_min_m}, {"y_max_m", c.y_max_m},
          {"max_bias_v", c.max_bias_v}, {"max_current_a", c.max_current_a}, {"signal", c.signal_name + " [" + c.signal_unit + "]"}};
}
}  // namespace

JournalDecorator::JournalDecorator(std::unique_ptr<MicroscopeBackend> inner, const std::filesystem::path& path)
    : Decorator(std::move(inner)), path_(path), t0_(std::chrono::steady_clock::now()) {
  std::error_code ec;
  if (path.has_parent_path()) std::filesystem::create_directories(path.parent_path(), ec);
  out_.open(path, std::ios::app | std::ios::binary);
  if (!out_) throw Error(path.string() + ": cannot open the command journal for appending");
}

void JournalDecorator::write_line(const std::string& b) {
  const double t = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0_).count();
  std::ostringstream s;
  s << "{\"seq\":" << seq_ << ",\"t_utc\":\"" << utc_now() << "\",\"t_s\":" << std::setprecision(9) << t << ',' << b << "}\n";
  out_ << s.str();
  out_.flush();
}

template <class F>
auto JournalDecorator::logged(const char* op, const std::string& command_fields, F&& call) -> decltype(call()) {
  ++seq_;
  write_line("\"dir\":\"command\",\"op\":\"" + std::string(op) + "\"" + (command_fields.empty() ? "" : "," + command_fields));
  const auto t0 = std::chrono::steady_clock::now();
  auto wall = [&] { return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(); };
  try {
    auto value = call();
    nlohmann::json j{{"dir", "reply"}, {"op", op}, {"status", "ok"}, {"wall_s", wall()}};
    j.update(reply_fields(value));
    write_line(body(j));
    return value;
  } catch (const CallError& e) {
    write_line(body({{"dir", "reply"}, {"op", op}, {"status", to_string(e.code())}, {"message", e.what()}, {"wall_s", wall()}}));
    throw;
  } catch (const std::exception& e) {
    write_line(body({{"dir", "reply"}, {"op", op}, {"status", "error"}, {"message", e.what()}, {"wall_s", wall()}}));
    throw;
  }
}

SurveyImage JournalDecorator::survey(const SurveySpec& spec) {
  return logged("survey", body({{"channels", spec.channels}, {"nx", spec.nx}, {"ny", spec.ny}}), [&] { return inner_->survey(spec); });
}
Position JournalDecorator::move_to(double x_m, double y_m) {
  return logged("move_to", body({{"x_m", x_m}, {"y_m", y_m}}), [&] { return inner_->move_to(x_m, y_m); });
}
core::IvCurve JournalDecorator::iv_sweep(const core::Waveform& w) {
  nlohmann::json j{{"points", w.size()}, {"duration_s", w.duration_s()}};
  add_range(j, "bias_v", w.bias_v);
  return logged("iv_sweep", body(j), [&] { return inner_->iv_sweep(w); });
}
MicroscopeStatus JournalDecorator::status() { return logged("status", "", [&] { return inner_->status(); }); }
Capabilities JournalDecorator::capabilities() { return logged("capabilities", "", [&] { return inner_->capabilities(); }); }

// ---------------------------------------------------------------- latency

namespace {
void pause(double s) {
  if (s > 0) std::this_thread::sleep_for(std::chrono::duration<double>(s));
}
}  // namespace

LatencyDecorator::LatencyDecorator(std::unique_ptr<MicroscopeBackend> inner, LatencyConfig latency)
    : Decorator(std::move(inner)), latency_(latency) {
  for (double s : {latency.survey_s, latency.move_s, latency.sweep_s, latency.status_s, latency.capabilities_s})
    if (!(s >= 0) || !std::isfinite(s)) throw Error("latency: delays must be finite and >= 0 s, got " + num(s));
}
SurveyImage LatencyDecorator::survey(const SurveySpec& spec) {
  pause(latency_.survey_s);
  return inner_->survey(spec);
}
Position LatencyDecorator::move_to(double x_m, double y_m) {
  pause(latency_.move_s);
  return inner_->move_to(x_m, y_m);
}
core::IvCurve LatencyDecorator::iv_sweep(const core::Waveform& w) {
  pause(latency_.sweep_s);
  return inner_->iv_sweep(w);
}
MicroscopeStatus LatencyDecorator::status() {
  pause(latency_.status_s);
  return inner_->status();
}
Capabilities LatencyDecorator::capabilities() {
  pause(latency_.capabilities_s);
  return inner_->capabilities();
}

// ---------------------------------------------------------------- survey from a file

namespace {
const Channel* find_alias(const SurveyImage& img, const std::string& name) {
  if (const Channel* c = img.find(name)) return c;
  if (name != "topography") return nullptr;
  // An AFM's height channel under its vendor names, retrace preferred.
  const std::string h = igor::topography_channel(img);
  return h.empty() ? nullptr : img.find(h);
}
}  // namespace

SurveyImage resample(const SurveyImage& img, int nx, int ny) {
  const ImageAxes& a = img.axes;
  if (nx <= 0 || ny <= 0) throw CallError(StatusCode::refused, "resample: target size must be positive");
  if (nx == a.nx && ny == a.ny) return img;
  if (a.nx < 1 || a.ny < 1) throw CallError(StatusCode::error, "resample: empty source image");
  SurveyImage out;
  out.axes.nx = nx;
  out.axes.ny = ny;
  out.axes.x0_m = a.x0_m;
  out.axes.y0_m = a.y0_m;
  out.axes.dx_m = nx > 1 ? a.dx_m * (a.nx - 1) / (nx - 1) : a.dx_m * a.nx;
  out.axes.dy_m = ny > 1 ? a.dy_m * (a.ny - 1) / (ny - 1) : a.dy_m * a.ny;
  for (const Channel& c : img.channels) {
    Channel o{c.name, c.unit, std::vector<double>(std::size_t(nx) * ny)};
    for (int iy = 0; iy < ny; ++iy) {
      const double fy = ny > 1 ? double(iy) * (a.ny - 1) / (ny - 1) : 0.5 * (a.ny - 1);
      const int y0 = std::min(int(fy), a.ny - 1), y1 = std::min(y0 + 1, a.ny - 1);
      const double wy = fy - y0;
      for (int ix = 0; ix < nx; ++ix) {
        const double fx = nx > 1 ? double(ix) * (a.nx - 1) / (nx - 1) : 0.5 * (a.nx - 1);
        const int x0 = std::min(int(fx), a.nx - 1), x1 = std::min(x0 + 1, a.nx - 1);
        const double wx = fx - x0;
        auto at = [&](int x, int y) { return c.data[std::size_t(y) * a.nx + x]; };
        o.data[std::size_t(iy) * nx + ix] =
            (1 - wy) * ((1 - wx) * at(x0, y0) + wx * at(x1, y0)) + wy * ((1 - wx) * at(x0, y1) + wx * at(x1, y1));
      }
    }
    out.channels.push_back(std::move(o));
  }
  return out;
}

SurveyImage select_survey(const SurveyImage& img, const SurveySpec& spec, const std::string& source) {
  SurveyImage out;
  out.axes = img.axes;
  for (const std::string& name : spec.channels) {
    const Channel* c = find_alias(img, name);
    if (!c) {
      std::string have;
      for (const Channel& h : img.channels) have += (have.empty() ? "" : ", ") + h.name;
      throw CallError(StatusCode::refused, source + ": no survey channel \"" + name + "\"; available: " + have);
    }
    out.channels.push_back(*c);
    out.channels.back().name = name;  // answered under the name asked for
  }
  const int nx = spec.nx > 0 ? spec.nx : img.axes.nx, ny = spec.ny > 0 ? spec.ny : img.axes.ny;
  return (nx == img.axes.nx && ny == img.axes.ny) ? out : resample(out, nx, ny);
}

SurveyFileDecorator::SurveyFileDecorator(std::unique_ptr<MicroscopeBackend> inner, SurveyImage image, std::string source)
    : Decorator(std::move(inner)), image_(std::move(image)), source_(std::move(source)) {
  if (image_.channels.empty()) throw Error(source_ + ": survey image has no channels");
}

SurveyImage SurveyFileDecorator::survey(const SurveySpec& spec) { return select_survey(image_, spec, source_); }

Capabilities SurveyFileDecorator::capabilities() {
  Capabilities c = inner_->capabilities();
  c.channels.clear();
  for (const Channel& ch : image_.channels) c.channels.push_back(ch.name);
  if (find_alias(image_, "topography") && !image_.find("topography")) c.channels.push_back("topography");
  return c;
}

}  // namespace sdm::hardware
