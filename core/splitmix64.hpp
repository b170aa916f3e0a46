#pragma once
// The one splitmix64 finaliser of the project (Steele, Lea & Flood, OOPSLA 2014; Vigna's
// reference constants): a bijective 64-bit mix used to derive independent seeds
// (sim/rng.hpp streams, engine/acquisition/seeds.hpp, engine/gp).
#include <cstdint>

namespace sdm::core {

constexpr std::uint64_t splitmix64(std::uint64_t x) {
  x += 0x9E3779B97F4A7C15ULL;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
  return x ^ (x >> 31);
}

}  // namespace sdm::core
