#pragma once
// Initial designs: the first measurements of a campaign, before a strategy decides
// (the paper: 10 points by Latin hypercube). All work on the candidate lattice
// (columns × rows of engine/patches/candidate_grid.hpp), never return a candidate twice,
// and draw only from the generator passed in.
//
//   lhs     n points, one in each of n column strata and each of n row strata: stratum k
//           of an axis with L lattice positions is [⌊kL/n⌋, ⌊(k+1)L/n⌋); rows are paired
//           with a random permutation of the column strata and each point is uniform inside
//           its (column, row) stratum cell. Needs n ≤ columns and n ≤ rows. Returned in
//           row-stratum order (top to bottom).
//   random  n distinct candidates uniformly at random, in draw order.
//   raster  a regular gx × gy sub-lattice (gy = max(1, round(√(n·rows/columns))), gx = ⌈n/gy⌉,
//           both capped by the lattice), point (a, b) at lattice (⌊(a+½)·columns/gx⌋,
//           ⌊(b+½)·rows/gy⌋), in raster order (row by row) and cut at n. No randomness.
#include <random>
#include <string>
#include <vector>

#include "engine/campaign/record.hpp"

namespace sdm::engine::acquisition {

enum class InitialDesignKind { lhs, random, raster };

/// "lhs" | "random" | "raster"; anything else throws sdm::Error listing them.
InitialDesignKind initial_design_from_name(const std::string& name);
std::string to_string(InitialDesignKind kind);

/// `count` candidate indices (0 ≤ count ≤ grid size, else sdm::Error).
std::vector<int> initial_design(const campaign::CandidateGrid& grid, int count, InitialDesignKind kind, std::mt19937_64& rng);

std::vector<int> latin_hypercube_design(const campaign::CandidateGrid& grid, int count, std::mt19937_64& rng);
std::vector<int> random_design(const campaign::CandidateGrid& grid, int count, std::mt19937_64& rng);
std::vector<int> raster_design(const campaign::CandidateGrid& grid, int count);

/// Lattice strata of an axis of `positions` lattice points cut into `count` strata:
/// stratum k = [⌊k·positions/count⌋, ⌊(k+1)·positions/count⌋). Returns the count + 1 edges.
std::vector<int> lattice_strata(int positions, int count);

}  // namespace sdm::engine::acquisition
