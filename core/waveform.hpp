#pragma once
// Bias waveforms for I–V sweeps and the recorded sweep they produce.
// Shared by sim (the twin), hardware (every backend) and engine (the campaign).
#include <cstddef>
#include <vector>

namespace sdm::core {

/// A bias programme: bias_v[i] applied at time_s[i] (time_s[0] = 0, strictly increasing).
struct Waveform {
  std::vector<double> time_s;
  std::vector<double> bias_v;

  std::size_t size() const { return bias_v.size(); }
  double duration_s() const { return time_s.empty() ? 0.0 : time_s.back(); }
  /// Largest |dV/dt| between consecutive points, V/s.
  double max_rate_v_per_s() const;
  double max_abs_bias_v() const;
  /// Throws sdm::Error if sizes differ, fewer than 2 points, time not increasing or values not finite.
  void validate() const;

  /// 0 → v_max → 0 in `points` samples (odd count puts v_max on the middle sample),
  /// at constant |dV/dt| = rate. The paper's default: 1.5 V, 251 points, 1 V/s.
  static Waveform triangle(double v_max = 1.5, std::size_t points = 251, double rate_v_per_s = 1.0);
  /// 0 → +v_max → −v_max → 0 at constant |dV/dt| = rate.
  static Waveform bipolar(double v_max = 1.5, std::size_t points = 501, double rate_v_per_s = 1.0);
  /// Any sequence of biases visited piecewise-linearly at constant |dV/dt| = rate
  /// (consecutive equal biases are held for the time of one step of `hold_s`).
  static Waveform arbitrary(const std::vector<double>& bias_v, double rate_v_per_s = 1.0, double hold_s = 1e-3);
};

/// A measured (or simulated) sweep: current_a[i] at bias_v[i], time_s[i].
struct IvCurve {
  std::vector<double> time_s;
  std::vector<double> bias_v;
  std::vector<double> current_a;
  std::size_t size() const { return current_a.size(); }
};

}  // namespace sdm::core
