#include "sim/drift.hpp"

#include <cmath>

namespace sdm::sim {

Drift::Drift(double speed, double walk, std::uint64_t seed) : speed_(speed), walk_strength_(walk), rng_(seed) {
  angle_rad_ = std::uniform_real_distribution<double>(0.0, 2 * M_PI)(rng_);
}

void Drift::advance_to(double t) {
  if (!(t > time_s_)) return;
  const double dt = t - time_s_;
  if (walk_strength_ > 0) {
    const double s = walk_strength_ * std::sqrt(dt);
    walk_.x += s * normal_(rng_);
    walk_.y += s * normal_(rng_);
  }
  time_s_ = t;
}

Vec2 Drift::offset_m() const {
  return {speed_ * time_s_ * std::cos(angle_rad_) + walk_.x, speed_ * time_s_ * std::sin(angle_rad_) + walk_.y};
}

}  // namespace sdm::sim
