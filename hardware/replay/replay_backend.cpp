#include "hardware/replay/replay_backend.hpp"

#include <algorithm>
#include <cmath>
#include <sstream>

#include "core/error.hpp"
#include "hardware/decorators.hpp"

namespace sdm::hardware::replay {

ReplayBackend::ReplayBackend(std::shared_ptr<const Dataset> dataset, ReplayOptions options)
    : data_(std::move(dataset)), options_(options) {
  if (!data_) throw Error("replay: no dataset");
  data_->validate();
  if (!(options_.sweep_rate_v_per_s > 0)) throw Error("replay: sweep_rate_v_per_s must be > 0");
  native_ = core::Waveform::arbitrary(data_->bias_v, options_.sweep_rate_v_per_s);
  for (double v : data_->spectra) max_abs_signal_ = std::max(max_abs_signal_, std::abs(v));
  image_.axes = data_->axes;
  image_.channels = data_->channels;
  if (!data_->structure_channel.empty() && !data_->find("topography")) {
    Channel topo = data_->structure();
    topo.name = "topography";
    image_.channels.push_back(std::move(topo));
  }
}

SurveyImage ReplayBackend::survey(const SurveySpec& spec) { return select_survey(image_, spec, "replay " + data_->source); }

Position ReplayBackend::move_to(double x_m, double y_m) {
  const ImageAxes& a = data_->axes;
  const double hx = 0.5 * (a.nx > 1 ? a.dx_m : 0), hy = 0.5 * (a.ny > 1 ? a.dy_m : 0);
  const double x_lo = a.x0_m - hx, x_hi = a.x0_m + (a.nx - 1) * a.dx_m + hx;
  const double y_lo = a.y0_m - hy, y_hi = a.y0_m + (a.ny - 1) * a.dy_m + hy;
  if (!std::isfinite(x_m) || !std::isfinite(y_m) || x_m < x_lo || x_m > x_hi || y_m < y_lo || y_m > y_hi) {
    std::ostringstream s;
    s << "replay: position (" << x_m << ", " << y_m << ") m is off the recorded grid x " << x_lo << ".." << x_hi << " m, y " << y_lo
      << ".." << y_hi << " m";
    throw CallError(StatusCode::refused, s.str());
  }
  const int px = ix_, py = iy_;
  data_->nearest(x_m, y_m, ix_, iy_);
  if (options_.move_speed_m_per_s > 0)
    clock_s_ += std::hypot(data_->x_m(ix_) - data_->x_m(px), data_->y_m(iy_) - data_->y_m(py)) / options_.move_speed_m_per_s;
  return {data_->x_m(ix_), data_->y_m(iy_)};
}

core::IvCurve ReplayBackend::iv_sweep(const core::Waveform& w) {
  try {
    w.validate();
  } catch (const std::exception& e) {
    throw CallError(StatusCode::refused, std::string("replay: ") + e.what());
  }
  core::IvCurve c;
  c.time_s = native_.time_s;
  c.bias_v = native_.bias_v;
  const double* s = data_->spectrum(ix_, iy_);
  c.current_a.assign(s, s + data_->n_points());
  clock_s_ += native_.duration_s();
  ++sweeps_;
  return c;
}

MicroscopeStatus ReplayBackend::status() {
  MicroscopeStatus st;
  st.position = {data_->x_m(ix_), data_->y_m(iy_)};
  st.instrument_clock_s = clock_s_;
  st.connected = true;
  st.state = "idle (replay, pixel " + std::to_string(ix_) + "," + std::to_string(iy_) + ", " + std::to_string(sweeps_) + " sweeps)";
  return st;
}

Capabilities ReplayBackend::capabilities() {
  Capabilities c;
  const ImageAxes& a = data_->axes;
  c.backend = "replay:" + data_->source;
  c.x_min_m = a.x0_m;
  c.x_max_m = a.x0_m + (a.nx - 1) * a.dx_m;
  c.y_min_m = a.y0_m;
  c.y_max_m = a.y0_m + (a.ny - 1) * a.dy_m;
  c.max_bias_v = 0;
  for (double v : data_->bias_v) c.max_bias_v = std::max(c.max_bias_v, std::abs(v));
  c.max_current_a = max_abs_signal_;  // the largest recorded |signal|, in signal_unit
  c.max_sweep_rate_v_per_s = options_.sweep_rate_v_per_s;
  for (const Channel& ch : image_.channels) c.channels.push_back(ch.name);
  c.signal_name = data_->signal_name;
  c.signal_unit = data_->signal_unit;
  c.native_waveform = native_;
  return c;
}

}  // namespace sdm::hardware::replay
