#include "hardware/twin/twin_backend.hpp"

#include <algorithm>

#include "core/error.hpp"

namespace sdm::hardware::twin {

const std::vector<std::string>& TwinBackend::channel_names() {
  static const std::vector<std::string> names = {"topography", "current"};
  return names;
}

TwinBackend::TwinBackend(std::shared_ptr<sim::Twin> twin, TwinBackendOptions options)
    : twin_(std::move(twin)), options_(options) {
  if (!twin_) throw Error("TwinBackend: no twin given");
}

SurveyImage TwinBackend::survey(const SurveySpec& spec) {
  bool topo = false, current = false;
  for (const std::string& c : spec.channels) {
    if (c == "topography") topo = true;
    else if (c == "current") current = true;
    else throw CallError(StatusCode::refused, "twin survey: unknown channel '" + c + "'; available: topography, current");
  }
  if (spec.channels.empty()) throw CallError(StatusCode::refused, "twin survey: no channel requested; available: topography, current");
  sim::SurveyData d;
  try {
    state_ = "surveying";
    d = twin_->survey(spec.nx, spec.ny, topo, current);
    state_ = "idle";
  } catch (const sdm::Error& e) {
    state_ = "idle";
    throw CallError(StatusCode::refused, std::string("twin ") + e.what());
  }
  SurveyImage img;
  img.axes.nx = d.nx;
  img.axes.ny = d.ny;
  img.axes.dx_m = d.dx_m;
  img.axes.dy_m = d.dy_m;
  img.axes.x0_m = 0.5 * d.dx_m;
  img.axes.y0_m = 0.5 * d.dy_m;
  for (const std::string& c : spec.channels) {  // in the order requested
    if (c == "topography") img.channels.push_back({"topography", "m", d.topography_m});
    else img.channels.push_back({"current", "A", d.current_a});
  }
  return img;
}

Position TwinBackend::move_to(double x_m, double y_m) {
  try {
    const sim::Landing l = twin_->move_to(x_m, y_m);
    const sim::Vec2 p = options_.report_true_position ? l.actual_m : l.commanded_m;
    return {p.x, p.y};
  } catch (const sdm::Error& e) {
    throw CallError(StatusCode::refused, std::string("twin move: ") + e.what());
  }
}

core::IvCurve TwinBackend::iv_sweep(const core::Waveform& waveform) {
  try {
    return twin_->iv_sweep(waveform);
  } catch (const sdm::Error& e) {
    throw CallError(StatusCode::refused, std::string("twin ") + e.what());
  }
}

MicroscopeStatus TwinBackend::status() {
  MicroscopeStatus s;
  const sim::Vec2 p = options_.report_true_position ? twin_->true_position_m() : twin_->position_m();
  s.position = {p.x, p.y};
  s.instrument_clock_s = twin_->clock_s();
  s.connected = true;
  s.state = state_;
  return s;
}

Capabilities TwinBackend::capabilities() {
  Capabilities c;
  c.backend = "twin";
  c.x_min_m = c.y_min_m = 0;
  c.x_max_m = c.y_max_m = twin_->film().scan_size_m();
  c.max_bias_v = twin_->instrument().max_bias_v;
  c.max_current_a = twin_->instrument().saturation_a;
  c.max_sweep_rate_v_per_s = twin_->instrument().max_sweep_rate_v_per_s;
  c.channels = channel_names();
  return c;
}

std::unique_ptr<TwinBackend> make_twin_backend(const sim::FilmConfig& film, const sim::InstrumentConfig& instrument,
                                               std::uint64_t campaign_seed, TwinBackendOptions options) {
  return std::make_unique<TwinBackend>(std::make_shared<sim::Twin>(film, instrument, campaign_seed), options);
}

}  // namespace sdm::hardware::twin
