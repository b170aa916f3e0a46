#include "engine/acquisition/initial_design.hpp"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <numeric>

#include "core/error.hpp"
#include "engine/patches/candidate_grid.hpp"

namespace sdm::engine::acquisition {

namespace {
void check_count(const campaign::CandidateGrid& g, int count, const char* what) {
  if (count < 0 || static_cast<size_t>(count) > g.size())
    throw Error(std::string("initial design '") + what + "': " + std::to_string(count) + " points requested, the grid has " +
                std::to_string(g.size()) + " candidates");
}
}  // namespace

InitialDesignKind initial_design_from_name(const std::string& name) {
  if (name == "lhs") return InitialDesignKind::lhs;
  if (name == "random") return InitialDesignKind::random;
  if (name == "raster") return InitialDesignKind::raster;
  throw Error("initial design '" + name + "' is unknown; allowed: lhs, random, raster");
}

std::string to_string(InitialDesignKind k) {
  switch (k) {
    case InitialDesignKind::lhs: return "lhs";
    case InitialDesignKind::random: return "random";
    case InitialDesignKind::raster: return "raster";
  }
  return "?";
}

std::vector<int> lattice_strata(int positions, int count) {
  if (count < 1 || count > positions)
    throw Error("lattice strata: cannot cut " + std::to_string(positions) + " lattice positions into " + std::to_string(count) +
                " non-empty strata");
  std::vector<int> edges(static_cast<size_t>(count) + 1);
  for (int k = 0; k <= count; ++k)
    edges[k] = static_cast<int>(static_cast<long long>(k) * positions / count);
  return edges;
}

std::vector<int> latin_hypercube_design(const campaign::CandidateGrid& g, int count, std::mt19937_64& rng) {
  check_count(g, count, "lhs");
  if (count == 0) return {};
  const int nc = patches::grid_columns(g), nr = patches::grid_rows(g);
  if (count > nc || count > nr)
    throw Error("initial design 'lhs': " + std::to_string(count) + " points need as many column and row strata, the grid has " +
                std::to_string(nc) + " columns and " + std::to_string(nr) + " rows");
  const std::vector<int> ce = lattice_strata(nc, count), re = lattice_strata(nr, count);
  std::vector<int> perm(count);
  std::iota(perm.begin(), perm.end(), 0);
  for (int k = count - 1; k > 0; --k) {  // Fisher–Yates
    std::uniform_int_distribution<int> pick(0, k);
    std::swap(perm[k], perm[pick(rng)]);
  }
  std::vector<int> out;
  out.reserve(count);
  for (int r = 0; r < count; ++r) {
    const int c = perm[r];
    std::uniform_int_distribution<int> col(ce[c], ce[c + 1] - 1), row(re[r], re[r + 1] - 1);
    const int lc = col(rng);
    const int lr = row(rng);
    out.push_back(patches::candidate_at(g, lc, lr));
  }
  return out;
}

std::vector<int> random_design(const campaign::CandidateGrid& g, int count, std::mt19937_64& rng) {
  check_count(g, count, "random");
  const int m = static_cast<int>(g.size());
  std::vector<int> perm(m);
  std::iota(perm.begin(), perm.end(), 0);
  std::vector<int> out;
  out.reserve(count);
  for (int k = 0; k < count; ++k) {  // partial Fisher–Yates
    std::uniform_int_distribution<int> pick(k, m - 1);
    std::swap(perm[k], perm[pick(rng)]);
    out.push_back(perm[k]);
  }
  return out;
}

std::vector<int> raster_design(const campaign::CandidateGrid& g, int count) {
  check_count(g, count, "raster");
  if (count == 0) return {};
  const int nc = patches::grid_columns(g), nr = patches::grid_rows(g);
  int gy = std::max(1, static_cast<int>(std::lround(std::sqrt(static_cast<double>(count) * nr / nc))));
  gy = std::min(gy, nr);
  int gx = (count + gy - 1) / gy;
  if (gx > nc) {  // a thin lattice: fill columns, add rows
    gx = nc;
    gy = std::min(nr, (count + gx - 1) / gx);
  }
  std::vector<int> out;
  out.reserve(count);
  assert(static_cast<long long>(gx) * gy >= count && gx <= nc && gy <= nr);
  for (int b = 0; b < gy && static_cast<int>(out.size()) < count; ++b)
    for (int a = 0; a < gx && static_cast<int>(out.size()) < count; ++a) {
      const int c = static_cast<int>((a + 0.5) * nc / gx), r = static_cast<int>((b + 0.5) * nr / gy);
      out.push_back(patches::candidate_at(g, c, r));
    }
  return out;
}

std::vector<int> initial_design(const campaign::CandidateGrid& g, int count, InitialDesignKind kind, std::mt19937_64& rng) {
  switch (kind) {
    case InitialDesignKind::lhs: return latin_hypercube_design(g, count, rng);
    case InitialDesignKind::random: return random_design(g, count, rng);
    case InitialDesignKind::raster: return raster_design(g, count);
  }
  throw Error("initial design: unknown kind");
}

}  // namespace sdm::engine::acquisition
