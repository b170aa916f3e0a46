#pragma once
// Thermal drift of the sample relative to the tip: constant velocity + random walk
// (1–10 nm/min ambient; PHYSICS.md). offset(t) = v·t·(cos θ, sin θ) + W(t), with θ drawn
// uniformly from the seed and W a 2-D Brownian motion whose per-axis increments over dt are
// N(0, walk²·dt). The tip lands at commanded position + offset.
#include <cstdint>
#include <random>

#include "sim/tessellation.hpp"

namespace sdm::sim {

class Drift {
 public:
  Drift(double speed_m_per_s, double walk_m_per_sqrt_s, std::uint64_t seed);
  /// Advances the process to instrument time t_s (no-op if t_s ≤ time_s()).
  void advance_to(double t_s);
  double time_s() const { return time_s_; }
  Vec2 offset_m() const;
  double angle_rad() const { return angle_rad_; }
  Vec2 walk_m() const { return walk_; }

 private:
  double speed_, walk_strength_, angle_rad_;
  std::mt19937_64 rng_;
  std::normal_distribution<double> normal_{0.0, 1.0};
  double time_s_ = 0;
  Vec2 walk_;
};

}  // namespace sdm::sim
