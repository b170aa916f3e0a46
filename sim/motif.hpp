#pragma once
// The structural motifs of a perovskite film that the twin labels per pixel
// (Gong et al., arXiv 2603.17028: grain interiors, grain boundaries, triple junctions,
// asymmetric boundaries).
#include <cstdint>

namespace sdm::sim {

enum class Motif : std::uint8_t {
  grain_interior = 0,
  grain_boundary = 1,
  triple_junction = 2,
  asymmetric_boundary = 3,
};

inline constexpr int kMotifCount = 4;

/// "grain_interior", "grain_boundary", "triple_junction", "asymmetric_boundary".
const char* motif_name(Motif motif);

}  // namespace sdm::sim
