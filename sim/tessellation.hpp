#pragma once
// Laguerre (power) tessellation of the periodic square [0, L)² with prescribed cell areas.
//
// Cell i = { x : |x − s_i|² − w_i ≤ |x − s_j|² − w_j for every seed j and periodic image }.
// For any seed positions and any positive areas summing to L² there are weights that
// realise those areas (Aurenhammer, Hoffmann & Aronov, Algorithmica 20, 61 (1998)); they
// maximise a concave function whose gradient is (target − area) and whose Hessian is the
// graph Laplacian H_ij = −l_ij/(2 d_ij) (l: shared edge length, d: seed distance). We
// solve it by damped Newton (Kitagawa, Mérigot & Thibert, JEMS 21, 2603 (2019)) and
// alternate with Lloyd steps (seeds to their cell centroids), the scheme of Bourne, Kok,
// Roper & Spanjer, Phil. Mag. 100, 2677 (2020) for polycrystals of given grain volumes.
// Plain Poisson–Voronoi cells cannot reach a lognormal size distribution
// (cond-mat/0406116); the weights can. Cells are computed exactly by clipping a square
// with the half-planes of nearby seeds (a bucket grid bounds the search).
#include <cstdint>
#include <random>
#include <vector>

namespace sdm::sim {

struct Vec2 {
  double x = 0, y = 0;
};

/// One edge of a cell, counter-clockwise, in the cell's local frame (relative to its seed).
struct CellEdge {
  Vec2 a_m, b_m;
  int neighbor = -1;      ///< the cell across the edge
  int shift_x = 0, shift_y = 0;  ///< the neighbour's periodic image: its seed + shift·L
  int segment = -1;       ///< index into Tessellation::segments; −1 when the cell borders its own image
};

struct Cell {
  Vec2 seed_m;                 ///< seed position in [0, L)²
  double weight_m2 = 0;        ///< power weight w_i, m²
  double target_area_m2 = 0;   ///< requested area, m²
  double area_m2 = 0;          ///< realised area, m²
  Vec2 centroid_m;             ///< centroid, relative to the seed
  double max_radius_m = 0;     ///< largest vertex distance from the seed, m
  std::vector<CellEdge> edges;
};

/// A boundary segment shared by two cells, in grain_a's frame (absolute, unwrapped coordinates).
struct Segment {
  int grain_a = -1, grain_b = -1;   ///< grain_a < grain_b (or equal for a self-image, never stored)
  int shift_x = 0, shift_y = 0;     ///< image of grain_b's seed seen from grain_a
  Vec2 a_m, b_m;                    ///< endpoints (triple junctions), absolute, in grain_a's frame
  double length_m = 0;
};

struct Tessellation {
  double size_m = 0;
  std::vector<Cell> cells;
  std::vector<Segment> segments;
  double max_relative_area_error = 0;  ///< max_i |area − target|/target after the last fit
  int newton_steps = 0;                ///< total Newton steps over all fits (diagnostic)

  /// The cell containing point p (any real coordinates, wrapped periodically); `local`
  /// receives p relative to that cell's seed image. Ties go to the lower index.
  int owner(Vec2 p, Vec2* local = nullptr) const;
  /// Prepares the owner() lookup grid; laguerre_tessellation() calls it.
  void build_lookup();

 private:
  struct Candidate {
    int cell;
    int shift_x, shift_y;
  };
  int lookup_n_ = 0;
  double lookup_bucket_m_ = 0;
  std::vector<std::vector<Candidate>> lookup_;
};

/// Laguerre tessellation of the periodic square [0, size_m)² whose cell areas equal
/// `target_areas_m2` (rescaled to sum exactly to size_m²). Seeds start uniformly random
/// from `rng`; `lloyd_iterations` centroidal steps follow, each followed by a weight fit
/// to a relative area error below `tolerance`. Throws sdm::Error on bad input.
Tessellation laguerre_tessellation(double size_m, std::vector<double> target_areas_m2, int lloyd_iterations,
                                   std::mt19937_64& rng, double tolerance = 1e-3);

}  // namespace sdm::sim
