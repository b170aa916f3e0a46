#pragma once
// Non-idealities of the conductive-AFM instrument simulated by the twin.
// Ranges: Bruker cAFM application notes (current amplifier at 1 nA/V: ~0.75 pA noise
// floor, ~10–12 nA saturation; ramps <= ~1 V/s); Luchkin et al., ACS Appl. Mater.
// Interfaces 9 (2017) (tip-induced changes of perovskites); thermal drift 1–10 nm/min
// ambient (../shared/PHYSICS.md).
#include <string>

namespace sdm::core { class ConfigSection; }

namespace sdm::sim {

struct InstrumentConfig {
  // Current amplifier (1 nA/V: ~0.75 pA noise floor, ~10 nA saturation).
  // I_meas = quantise(clip(lowpass(I) + white + 1/f + offset, ±saturation)).
  double noise_rms_a = 0.75e-12;        ///< white current noise, A RMS per sample
  double flicker_rms_a = 0.2e-12;       ///< 1/f current noise, A RMS (sum of OU processes, 1 ms–1000 s)
  double offset_a = 0.0;                ///< amplifier offset, A
  double saturation_a = 10e-9;          ///< |I| clip, A
  int adc_bits = 16;                    ///< quantisation over ±saturation (LSB = 2·saturation/2^bits)
  double bandwidth_hz = 1000.0;         ///< first-order low-pass of the amplifier, Hz
  // Thermal drift: constant velocity + random walk (1–10 nm/min ambient).
  double drift_speed_m_per_s = 5e-9 / 60.0;       ///< constant drift speed, m/s (direction drawn from the seed)
  double drift_walk_m_per_sqrt_s = 0.2e-9;        ///< random-walk strength: per-axis sigma after t is this·√t, m/√s
  // Tip wear: contact resistance grows with charge passed.
  double tip_wear_ohm_per_c = 0.0;      ///< series-resistance growth per coulomb through the tip, Ω/C
  // Sample perturbation: a sweep changes the local ionic state (always: the ionic state
  // left by a sweep relaxes back with tau0), and a dose ∝ ∫|I|dt changes the spot.
  double perturbation_per_c = 0.0;      ///< fractional change of the spot's bulk conductance per coulomb
  // Time cost.
  double move_speed_m_per_s = 2e-6;     ///< tip travel speed between spots, m/s
  double settle_time_s = 0.5;           ///< settle after each move, s
  double survey_line_time_s = 1.0;      ///< time per survey scan line (trace + retrace), s
  // Survey current channel and limits.
  double survey_bias_v = 1.0;           ///< DC bias of the survey "current" channel, V
  double max_bias_v = 10.0;             ///< largest |bias| the instrument applies, V
  double max_sweep_rate_v_per_s = 10.0; ///< fastest |dV/dt| the instrument applies, V/s
};

void read_config(core::ConfigSection& section, InstrumentConfig& config);

/// Parses an [instrument] table from TOML text (for tools and tests).
InstrumentConfig parse_instrument_config(const std::string& toml_text, const std::string& origin = "instrument config");

}  // namespace sdm::sim
