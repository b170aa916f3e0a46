#pragma once
// Seeds derived from a campaign seed: one independent stream per (purpose, index), so every
// random draw of step k can be reproduced from (campaign seed, k) alone — a resumed
// campaign draws exactly what the uninterrupted one drew, without saving generator state.
//   derive_seed(s, "forest", k) = splitmix64(splitmix64(splitmix64(s) ^ fnv1a("forest")) ^ k)
// splitmix64 (core/splitmix64.hpp) is a bijection, so for one (seed, stream) distinct indices give distinct seeds.
#include <cstdint>
#include <string_view>

#include "core/splitmix64.hpp"

namespace sdm::engine::acquisition {

/// 64-bit FNV-1a hash of a stream name.
constexpr std::uint64_t fnv1a(std::string_view s) {
  std::uint64_t h = 0xCBF29CE484222325ULL;
  for (char c : s) h = (h ^ static_cast<unsigned char>(c)) * 0x100000001B3ULL;
  return h;
}

/// Seed of stream `stream`, draw `index`, of campaign seed `seed`.
constexpr std::uint64_t derive_seed(std::uint64_t seed, std::string_view stream, std::uint64_t index = 0) {
  return core::splitmix64(core::splitmix64(core::splitmix64(seed) ^ fnv1a(stream)) ^ index);
}

}  // namespace sdm::engine::acquisition
