#include "sim/twin.hpp"

#include <algorithm>
#include <cmath>
#include <sstream>
#include <tuple>

#include "core/error.hpp"
#include "sim/rng.hpp"

namespace sdm::sim {
namespace {

int wrap_index(int i, int n) {
  i %= n;
  return i < 0 ? i + n : i;
}

/// Bilinear sample of a periodic n×n map whose pixel centres are at (k + ½)·pixel.
double sample_periodic(const std::vector<double>& map, int n, double pixel_m, double x, double y) {
  const double fx = x / pixel_m - 0.5, fy = y / pixel_m - 0.5;
  const double x0 = std::floor(fx), y0 = std::floor(fy);
  const double tx = fx - x0, ty = fy - y0;
  const int ix = wrap_index(int(x0), n), iy = wrap_index(int(y0), n);
  const int ix1 = wrap_index(ix + 1, n), iy1 = wrap_index(iy + 1, n);
  const auto at = [&](int a, int b) { return map[std::size_t(b) * n + a]; };
  return (1 - ty) * ((1 - tx) * at(ix, iy) + tx * at(ix1, iy)) + ty * ((1 - tx) * at(ix, iy1) + tx * at(ix1, iy1));
}

std::string num(double v) {
  std::ostringstream s;
  s << v;
  return s.str();
}

}  // namespace

Twin::Twin(const FilmConfig& film, const InstrumentConfig& instrument, std::uint64_t campaign_seed)
    : Twin(std::make_shared<const Film>(generate_film(film, film_seed(film, campaign_seed))), instrument, campaign_seed) {}

Twin::Twin(std::shared_ptr<const Film> film, const InstrumentConfig& instrument, std::uint64_t campaign_seed)
    : film_(std::move(film)),
      instrument_(instrument),
      seed_(campaign_seed),
      drift_(instrument.drift_speed_m_per_s, instrument.drift_walk_m_per_sqrt_s, stream_seed(campaign_seed, Stream::drift)),
      amplifier_(instrument, stream_seed(campaign_seed, Stream::amplifier)),
      survey_rng_(stream_seed(campaign_seed, Stream::survey_noise)) {
  if (!film_) throw Error("Twin: no film");
  const double c = 0.5 * film_->scan_size_m();
  landing_.target_m = landing_.commanded_m = landing_.actual_m = {c, c};
  std::tie(landing_.ix, landing_.iy) = film_->pixel_at(c, c);
}

void Twin::advance(double seconds) {
  if (seconds > 0) clock_s_ += seconds;
  drift_.advance_to(clock_s_);
}

void Twin::wait(double seconds) {
  if (!(seconds >= 0) || !std::isfinite(seconds)) throw Error("Twin::wait: time must be a non-negative number of seconds");
  advance(seconds);
}

Vec2 Twin::true_position_m() const {
  const Vec2 d = drift_.offset_m();
  return {landing_.commanded_m.x + d.x, landing_.commanded_m.y + d.y};
}

double Twin::series_resistance_ohm() const {
  return film_->config.series_resistance_ohm + instrument_.tip_wear_ohm_per_c * tip_charge_c_;
}

Landing Twin::move_to(double x, double y) {
  if (!std::isfinite(x) || !std::isfinite(y)) throw Error("Twin::move_to: position must be finite, got (" + num(x) + ", " + num(y) + ") m");
  const double L = film_->scan_size_m();
  Landing l;
  l.target_m = {x, y};
  l.commanded_m = {std::clamp(x, 0.0, L), std::clamp(y, 0.0, L)};
  const double dist = std::hypot(l.commanded_m.x - landing_.commanded_m.x, l.commanded_m.y - landing_.commanded_m.y);
  advance(dist / instrument_.move_speed_m_per_s + instrument_.settle_time_s);
  const Vec2 d = drift_.offset_m();
  l.actual_m = {l.commanded_m.x + d.x, l.commanded_m.y + d.y};
  std::tie(l.ix, l.iy) = film_->pixel_at(l.actual_m.x, l.actual_m.y);
  l.time_s = clock_s_;
  landing_ = l;
  return l;
}

LocalParams Twin::effective_params(int ix, int iy) const {
  LocalParams p = film_->params(ix, iy);
  p.series_ohm = series_resistance_ohm();
  const auto it = spots_.find(film_->index(ix, iy));
  if (it != spots_.end()) p.conductance_factor *= 1.0 + instrument_.perturbation_per_c * it->second.dose_c;
  return p;
}

double Twin::ion_state_at(int ix, int iy) const {
  const LocalParams p = film_->params(ix, iy);
  const double rest = rest_ion_state(p);
  const auto it = spots_.find(film_->index(ix, iy));
  if (it == spots_.end()) return rest;
  // Relaxation at zero bias with tau(0) = tau0.
  return rest + (it->second.ion_state - rest) * std::exp(-(clock_s_ - it->second.time_s) / p.ion_tau_s);
}

double Twin::dose_at(int ix, int iy) const {
  const auto it = spots_.find(film_->index(ix, iy));
  return it == spots_.end() ? 0.0 : it->second.dose_c;
}

core::IvCurve Twin::iv_sweep(const core::Waveform& waveform) {
  waveform.validate();
  if (waveform.max_abs_bias_v() > instrument_.max_bias_v)
    throw Error("iv_sweep: |bias| " + num(waveform.max_abs_bias_v()) + " V exceeds the instrument's max_bias_v = " +
                num(instrument_.max_bias_v) + " V");
  if (waveform.max_rate_v_per_s() > instrument_.max_sweep_rate_v_per_s * (1 + 1e-12))
    throw Error("iv_sweep: sweep rate " + num(waveform.max_rate_v_per_s()) + " V/s exceeds max_sweep_rate_v_per_s = " +
                num(instrument_.max_sweep_rate_v_per_s) + " V/s");
  // The landing point now (the sample may have drifted since the move).
  const Vec2 pos = true_position_m();
  const auto [ix, iy] = film_->pixel_at(pos.x, pos.y);
  landing_.actual_m = pos;
  landing_.ix = ix;
  landing_.iy = iy;
  const LocalParams p = effective_params(ix, iy);
  last_sweep_ = simulate_sweep(p, waveform, ion_state_at(ix, iy));
  const double t0 = clock_s_;
  std::vector<double> t(waveform.time_s);
  for (double& v : t) v += t0;
  core::IvCurve out;
  out.time_s = waveform.time_s;
  out.bias_v = waveform.bias_v;
  out.current_a = amplifier_.measure(t, last_sweep_.curve.current_a);
  advance(waveform.duration_s());
  // Perturbation of every pixel under the contact.
  tip_charge_c_ += last_sweep_.charge_c;
  const Film& f = *film_;
  const double r = std::max(f.config.contact_radius_m, 0.5 * f.pixel_m);
  const int reach = int(std::ceil(r / f.pixel_m));
  for (int dy = -reach; dy <= reach; ++dy)
    for (int dx = -reach; dx <= reach; ++dx) {
      const int jx = wrap_index(ix + dx, f.size_px), jy = wrap_index(iy + dy, f.size_px);
      // Distance from the landing point to that pixel's centre (periodic images are adjacent here).
      const double cx = (ix + dx + 0.5) * f.pixel_m, cy = (iy + dy + 0.5) * f.pixel_m;
      const double lx = pos.x - std::floor(pos.x / f.scan_size_m()) * f.scan_size_m();
      const double ly = pos.y - std::floor(pos.y / f.scan_size_m()) * f.scan_size_m();
      if (dx != 0 || dy != 0)
        if (std::hypot(cx - lx, cy - ly) > r) continue;
      Spot& s = spots_[f.index(jx, jy)];
      s.ion_state = last_sweep_.final_ion_state;
      s.time_s = clock_s_;
      s.dose_c += last_sweep_.charge_c;
    }
  return out;
}

SurveyData Twin::survey(int nx, int ny, bool want_topo, bool want_current) {
  const Film& f = *film_;
  if ((nx == 0) != (ny == 0))
    throw Error("survey: give both nx and ny, or neither (native " + std::to_string(f.size_px) + "×" + std::to_string(f.size_px) + ")");
  if (nx == 0) nx = ny = f.size_px;
  if (nx < 2 || ny < 2 || nx > 4096 || ny > 4096)
    throw Error("survey: " + std::to_string(nx) + "×" + std::to_string(ny) + " samples; allowed: 2 to 4096 per axis");
  const int n = f.size_px;
  const double L = f.scan_size_m();
  SurveyData s;
  s.nx = nx;
  s.ny = ny;
  s.dx_m = L / nx;
  s.dy_m = L / ny;
  s.bias_v = instrument_.survey_bias_v;
  s.start_s = clock_s_;
  const bool native = nx == n && ny == n;
  // Noise: the first survey shows the film's own measured map; later ones draw fresh noise.
  const bool fresh_noise = surveys_ > 0 && f.config.height_noise_m > 0;
  std::normal_distribution<double> noise(0.0, f.config.height_noise_m > 0 ? f.config.height_noise_m : 1.0);
  const std::vector<double>& topo_src = surveys_ > 0 ? f.dilated_height_m : f.measured_height_m;
  if (want_current && (survey_cache_ohm_ != series_resistance_ohm() || survey_cache_bias_ != s.bias_v)) {
    survey_current_cache_.resize(f.pixel_count());
    const double r_s = series_resistance_ohm();
    for (std::size_t i = 0; i < f.pixel_count(); ++i) {
      LocalParams p = f.params(i);
      p.series_ohm = r_s;
      survey_current_cache_[i] = dc_current(p, s.bias_v, rest_ion_state(p));
    }
    survey_cache_ohm_ = r_s;
    survey_cache_bias_ = s.bias_v;
  }
  if (want_topo) s.topography_m.resize(std::size_t(nx) * ny);
  if (want_current) s.current_a.resize(std::size_t(nx) * ny);
  const double line_s = instrument_.survey_line_time_s;
  for (int iy = 0; iy < ny; ++iy) {
    drift_.advance_to(clock_s_ + (iy + 0.5) * line_s);  // drift sampled once per line
    const Vec2 d = drift_.offset_m();
    for (int ix = 0; ix < nx; ++ix) {
      const double x = (ix + 0.5) * s.dx_m + d.x, y = (iy + 0.5) * s.dy_m + d.y;
      const std::size_t k = std::size_t(iy) * nx + ix;
      const bool exact = native && d.x == 0 && d.y == 0;
      if (want_topo) {
        s.topography_m[k] = exact ? topo_src[k] : sample_periodic(topo_src, n, f.pixel_m, x, y);
        if (fresh_noise) s.topography_m[k] += noise(survey_rng_);
      }
      if (want_current) {
        const double i_true = exact ? survey_current_cache_[k] : sample_periodic(survey_current_cache_, n, f.pixel_m, x, y);
        s.current_a[k] = amplifier_.measure_dc(clock_s_ + (iy + (ix + 0.5) / nx) * line_s, i_true);
      }
    }
  }
  advance(ny * line_s);
  s.duration_s = ny * line_s;
  ++surveys_;
  (void)L;
  return s;
}

}  // namespace sdm::sim
