#include "sim/amplifier.hpp"

#include <algorithm>
#include <cmath>

#include "core/error.hpp"

namespace sdm::sim {

namespace {
constexpr double kFlickerTau_s[7] = {1e-3, 1e-2, 1e-1, 1.0, 1e1, 1e2, 1e3};  // one per decade
}  // namespace

Amplifier::Amplifier(const InstrumentConfig& c, std::uint64_t seed)
    : config_(c), rng_(seed), lsb_a_(2.0 * c.saturation_a / std::ldexp(1.0, c.adc_bits)) {}

double Amplifier::clip_and_quantise(double i) const {
  const double s = config_.saturation_a;
  i = std::clamp(i, -s, s);
  return std::clamp(std::round(i / lsb_a_) * lsb_a_, -s, s);
}

double Amplifier::flicker_at(double t) {
  if (config_.flicker_rms_a <= 0) return 0.0;
  const double sigma = config_.flicker_rms_a / std::sqrt(double(kFlickerTerms));
  if (!flicker_started_) {  // start in the stationary distribution
    for (double& z : flicker_state_) z = sigma * normal_(rng_);
    flicker_started_ = true;
    flicker_time_s_ = t;
  }
  const double dt = std::max(0.0, t - flicker_time_s_);
  if (dt != flicker_dt_) {  // sweeps sample uniformly: reuse the decay factors
    flicker_dt_ = dt;
    for (int k = 0; k < kFlickerTerms; ++k) {
      flicker_decay_[k] = std::exp(-dt / kFlickerTau_s[k]);
      flicker_kick_[k] = sigma * std::sqrt(std::max(0.0, 1 - flicker_decay_[k] * flicker_decay_[k]));
    }
  }
  double sum = 0;
  for (int k = 0; k < kFlickerTerms; ++k) {
    flicker_state_[k] = flicker_state_[k] * flicker_decay_[k] + flicker_kick_[k] * normal_(rng_);
    sum += flicker_state_[k];
  }
  flicker_time_s_ = std::max(flicker_time_s_, t);
  return sum;
}

std::vector<double> Amplifier::measure(const std::vector<double>& t, const std::vector<double>& in) {
  if (t.size() != in.size()) throw Error("amplifier: time and current sizes differ");
  std::vector<double> out(in.size());
  if (in.empty()) return out;
  const double tau = 1.0 / (2 * M_PI * config_.bandwidth_hz);
  double y = in[0];
  for (std::size_t i = 0; i < in.size(); ++i) {
    if (i) {  // exact first-order response to the linear ramp from in[i−1] to in[i]
      const double h = t[i] - t[i - 1];
      const double slope = (in[i] - in[i - 1]) / h;
      const double a = std::exp(-h / tau);
      y = in[i] - tau * slope + (y - in[i - 1] + tau * slope) * a;
    }
    const double white = config_.noise_rms_a > 0 ? config_.noise_rms_a * normal_(rng_) : 0.0;
    out[i] = clip_and_quantise(y + white + flicker_at(t[i]) + config_.offset_a);
  }
  return out;
}

double Amplifier::measure_dc(double t, double i) {
  const double white = config_.noise_rms_a > 0 ? config_.noise_rms_a * normal_(rng_) : 0.0;
  return clip_and_quantise(i + white + flicker_at(t) + config_.offset_a);
}

}  // namespace sdm::sim
