#pragma once
// Scalarizers: one number per I–V curve, the targets of ucb / ei / max_variance / beacon,
// of the benchmark's target-space metrics and of the structure–property map colouring.
//
// A sweep is split into its up-going points (bias rising) and down-going points (bias
// falling); each branch is a function I(V) over the biases it visits. With
// ΔI(V) = I_up(V) − I_down(V) on the biases both branches cover:
//   loop_area       ∫ |ΔI(V)| dV                        (A·V = W; 0 without hysteresis)
//   current_at_bias ½·(I_up(V_b) + I_down(V_b))          (A; the branch present when only one is)
//   max_current     max |I|                              (A)
//   on_off_ratio    max(|I_up|,|I_down|) / min(...) at V_b, ≥ 1 (the smaller is floored at 1 fA)
//   onset_voltage   first |V| on the up-going branch where |I| ≥ onset_current_a
//                   (V, linearly interpolated; max |V| of the sweep when never reached)
#include <string>

#include "core/waveform.hpp"

namespace sdm::engine::acquisition {

enum class ScalarizerKind { loop_area, current_at_bias, max_current, on_off_ratio, onset_voltage };

struct ScalarizerSpec {
  ScalarizerKind kind = ScalarizerKind::loop_area;
  double bias_v = 1.0;             ///< read bias V_b of current_at_bias and on_off_ratio, V
  double onset_current_a = 10e-12; ///< threshold of onset_voltage, A
  /// By name (one of scalarizer_names()); throws sdm::Error listing the allowed names.
  static ScalarizerSpec from_name(const std::string& name, double bias_v = 1.0, double onset_current_a = 10e-12);
  std::string name() const;
  std::string unit() const;        ///< SI unit of the value ("W", "A", "1", "V")
};

/// The scalarizer's value for one curve. Curves with fewer than 2 points throw sdm::Error.
double scalarize(const core::IvCurve& curve, const ScalarizerSpec& spec);

}  // namespace sdm::engine::acquisition
