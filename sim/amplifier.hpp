#pragma once
// The cAFM current amplifier (transimpedance preamplifier + ADC) of the twin:
//   I_meas = quantise(clip(lowpass(I) + white + 1/f + offset, ±saturation))
// (Bruker cAFM notes; PHYSICS.md). lowpass: first order at bandwidth_hz, integrated exactly
// for the piecewise-linear current between samples. white: N(0, noise_rms²) per sample.
// 1/f: the sum of 7 Ornstein–Uhlenbeck processes with correlation times 1 ms … 1000 s
// (one per decade, equal variances summing to flicker_rms²), whose spectrum is ∝ 1/f
// between ~0.2 mHz and ~160 Hz; it evolves on the instrument clock across calls.
// quantise: round to LSB = 2·saturation/2^adc_bits, after the clip (so |I_meas| ≤ saturation).
#include <array>
#include <cstdint>
#include <random>
#include <vector>

#include "sim/instrument_config.hpp"

namespace sdm::sim {

class Amplifier {
 public:
  Amplifier(const InstrumentConfig& config, std::uint64_t seed);

  /// Measures a current trace sampled at absolute instrument times `time_s` (increasing,
  /// not before the previous call's last time). The low-pass starts settled on current_a[0].
  std::vector<double> measure(const std::vector<double>& time_s, const std::vector<double>& current_a);
  /// One DC reading at instrument time `time_s` (no low-pass: the input is constant).
  double measure_dc(double time_s, double current_a);

  double lsb_a() const { return lsb_a_; }
  /// clip to ±saturation, then round to the LSB.
  double clip_and_quantise(double current_a) const;

 private:
  double flicker_at(double time_s);
  InstrumentConfig config_;
  std::mt19937_64 rng_;
  std::normal_distribution<double> normal_{0.0, 1.0};
  double lsb_a_;
  static constexpr int kFlickerTerms = 7;
  std::array<double, kFlickerTerms> flicker_state_{};
  std::array<double, kFlickerTerms> flicker_decay_{}, flicker_kick_{};
  double flicker_dt_ = -1;
  double flicker_time_s_ = 0;
  bool flicker_started_ = false;
};

}  // namespace sdm::sim
