#pragma once
// Seed derivation for the twin: one explicitly seeded std::mt19937_64 per random stream
// (tessellation, roughness, noise, drift, ...), so adding draws to one stream never shifts
// another. splitmix64 (Steele, Lea & Flood, OOPSLA 2014) (core/splitmix64.hpp) mixes (seed, stream) into a seed.
#include <cstdint>
#include <random>

#include "core/splitmix64.hpp"

namespace sdm::sim {

/// Named random streams derived from one seed.
enum class Stream : std::uint64_t {
  tessellation = 1, grain_properties = 2, segment_types = 3, roughness = 4, height_noise = 5,
  drift = 101, amplifier = 102, survey_noise = 103,
};

inline std::uint64_t stream_seed(std::uint64_t seed, Stream stream) {
  return core::splitmix64(core::splitmix64(seed) ^ (static_cast<std::uint64_t>(stream) * 0xD1B54A32D192ED03ull));
}

inline std::mt19937_64 make_rng(std::uint64_t seed, Stream stream) { return std::mt19937_64(stream_seed(seed, stream)); }

/// A uniform number in [0, 1) from a 64-bit hash (53 mantissa bits).
inline double hash_uniform(std::uint64_t h) { return double(h >> 11) * 0x1.0p-53; }

}  // namespace sdm::sim
