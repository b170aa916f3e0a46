#pragma once
// Non-idealities of the conductive-AFM instrument simulated by the twin.
// Ranges: Bruker cAFM notes; Luchkin, ACS AMI 2017; ../shared/PHYSICS.md.

namespace sdm::core { class ConfigSection; }

namespace sdm::sim {

struct InstrumentConfig {
  // Current amplifier (1 nA/V: ~0.75 pA noise floor, ~10 nA saturation).
  double noise_rms_a = 0.75e-12;        ///< white current noise, A RMS
  double flicker_rms_a = 0.2e-12;       ///< 1/f current noise, A RMS
  double offset_a = 0.0;                ///< amplifier offset, A
  double saturation_a = 10e-9;          ///< |I| clip, A
  int adc_bits = 16;                    ///< quantisation over ±saturation
  double bandwidth_hz = 1000.0;         ///< first-order low-pass of the amplifier, Hz
  // Thermal drift: constant velocity + random walk (1–10 nm/min ambient).
  double drift_speed_m_per_s = 5e-9 / 60.0;       ///< constant drift speed, m/s
  double drift_walk_m_per_sqrt_s = 0.2e-9;        ///< random-walk strength, m/√s
  // Tip wear: contact resistance grows with charge passed.
  double tip_wear_ohm_per_c = 0.0;      ///< series-resistance growth per coulomb, Ω/C
  // Sample perturbation: a sweep changes the local ionic state (dose ∝ ∫|I|dt).
  double perturbation_per_c = 0.0;      ///< fractional change of local state per coulomb
  // Time cost.
  double move_speed_m_per_s = 2e-6;     ///< tip travel speed between spots, m/s
  double settle_time_s = 0.5;           ///< settle after each move, s
  double survey_line_time_s = 1.0;      ///< time per survey scan line, s
};

void read_config(core::ConfigSection& section, InstrumentConfig& config);

}  // namespace sdm::sim
