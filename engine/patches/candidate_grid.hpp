#pragma once
// Candidate locations of a campaign: square patches of the survey image on a stride grid.
//
// Convention. Patch top-left corners lie at x0 ∈ {0, s, 2s, …} with x0 + p ≤ nx (same for y),
// so every patch is fully inside the image and there are ⌊(nx − p)/s⌋ + 1 columns and
// ⌊(ny − p)/s⌋ + 1 rows of candidates. Candidate i = row·columns + column (raster order,
// row = y slow). Its centre pixel is top-left + ⌊p/2⌋ on each axis: the exact centre for odd p,
// the lower-right of the four central pixels for even p (the pixel the I–V sweep is taken at;
// atomai's get_imgstack convention, slice [c − p/2, c + p/2)).
//
// Paper check: 256 px survey, 16 px patches, stride 2 ⇒ (256 − 16)/2 + 1 = 121 per side,
// 14,641 candidates. The paper's "14,400 = 120²" counts (256 − 16)/2 positions, i.e. leaves
// out the last column and row of corners (x0 = 240); every patch counted here is fully inside.
#include <vector>

#include "engine/campaign/record.hpp"
#include "hardware/microscope.hpp"

namespace sdm::engine::patches {

using campaign::CandidateGrid;

/// Every p×p patch fully inside an nx×ny image, top-left corners on a stride-s lattice.
/// Throws sdm::Error when p < 1, s < 1 or p exceeds the image.
CandidateGrid make_candidate_grid(int image_nx, int image_ny, int patch_px, int stride_px);

/// Lattice shape of a grid made by make_candidate_grid.
int grid_columns(const CandidateGrid& grid);
int grid_rows(const CandidateGrid& grid);
/// Lattice coordinates (column, row) of candidate i, and back. Throws sdm::Error out of range.
int candidate_column(const CandidateGrid& grid, int candidate);
int candidate_row(const CandidateGrid& grid, int candidate);
int candidate_at(const CandidateGrid& grid, int column, int row);
/// Top-left pixel of candidate i's patch.
int patch_x0_px(const CandidateGrid& grid, int candidate);
int patch_y0_px(const CandidateGrid& grid, int candidate);

/// Candidate whose centre pixel is nearest (Euclidean, in pixels) to the fractional pixel
/// (ix, iy); points outside the lattice snap to its border. Exact ties go to the lower index.
int nearest_candidate(const CandidateGrid& grid, double ix_px, double iy_px);
/// Same for a physical position, using the survey axes (pixel (ix, iy) centred at
/// x0_m + ix·dx_m, y0_m + iy·dy_m). Throws sdm::Error when an axis step is zero or the
/// axes' size differs from the grid's image.
int nearest_candidate(const CandidateGrid& grid, const hardware::ImageAxes& axes, double x_m, double y_m);
/// Physical position of candidate i's centre pixel.
hardware::Position candidate_position(const CandidateGrid& grid, const hardware::ImageAxes& axes, int candidate);

/// Lattice neighbours of candidate i: 4-connectivity (left, right, up, down) or 8
/// (with diagonals); ascending index, i excluded.
std::vector<int> neighbours(const CandidateGrid& grid, int candidate, int connectivity = 8);
/// Every candidate whose centre pixel lies within radius_px (≤, Euclidean) of the fractional
/// pixel (ix, iy); ascending index.
std::vector<int> candidates_within(const CandidateGrid& grid, double ix_px, double iy_px, double radius_px);

}  // namespace sdm::engine::patches
