#include "engine/patches/candidate_grid.hpp"

#include <algorithm>
#include <cmath>
#include <string>

#include "core/error.hpp"

namespace sdm::engine::patches {

namespace {
void check_grid(const CandidateGrid& g) {
  if (g.patch_px < 1 || g.stride_px < 1 || g.patch_px > g.image_nx || g.patch_px > g.image_ny)
    throw Error("candidate grid: invalid (patch " + std::to_string(g.patch_px) + " px, stride " +
                std::to_string(g.stride_px) + " px, image " + std::to_string(g.image_nx) + "×" +
                std::to_string(g.image_ny) + " px)");
}
int lattice_count(int n_px, int patch_px, int stride_px) { return (n_px - patch_px) / stride_px + 1; }
void check_index(const CandidateGrid& g, int i) {
  if (i < 0 || static_cast<size_t>(i) >= g.size())
    throw Error("candidate grid: candidate " + std::to_string(i) + " out of range [0, " + std::to_string(g.size()) + ")");
}
// Nearest lattice index to fractional coordinate u (in lattice steps), clamped; ties go down.
int nearest_lattice(double u, int count) {
  const double r = std::ceil(u - 0.5);
  if (!(r > 0)) return 0;  // also catches NaN
  return r >= count - 1 ? count - 1 : static_cast<int>(r);
}
}  // namespace

CandidateGrid make_candidate_grid(int image_nx, int image_ny, int patch_px, int stride_px) {
  if (patch_px < 1) throw Error("candidate grid: patch_px = " + std::to_string(patch_px) + " must be ≥ 1");
  if (stride_px < 1) throw Error("candidate grid: stride_px = " + std::to_string(stride_px) + " must be ≥ 1");
  if (patch_px > image_nx || patch_px > image_ny)
    throw Error("candidate grid: patch_px = " + std::to_string(patch_px) + " does not fit the " + std::to_string(image_nx) +
                "×" + std::to_string(image_ny) + " px survey image");
  CandidateGrid g;
  g.patch_px = patch_px;
  g.stride_px = stride_px;
  g.image_nx = image_nx;
  g.image_ny = image_ny;
  const int nc = lattice_count(image_nx, patch_px, stride_px);
  const int nr = lattice_count(image_ny, patch_px, stride_px);
  g.ix_px.reserve(static_cast<size_t>(nc) * nr);
  g.iy_px.reserve(static_cast<size_t>(nc) * nr);
  for (int r = 0; r < nr; ++r)
    for (int c = 0; c < nc; ++c) {
      g.ix_px.push_back(c * stride_px + patch_px / 2);
      g.iy_px.push_back(r * stride_px + patch_px / 2);
    }
  return g;
}

int grid_columns(const CandidateGrid& g) {
  check_grid(g);
  return lattice_count(g.image_nx, g.patch_px, g.stride_px);
}
int grid_rows(const CandidateGrid& g) {
  check_grid(g);
  return lattice_count(g.image_ny, g.patch_px, g.stride_px);
}
int candidate_column(const CandidateGrid& g, int i) {
  check_index(g, i);
  return i % grid_columns(g);
}
int candidate_row(const CandidateGrid& g, int i) {
  check_index(g, i);
  return i / grid_columns(g);
}
int candidate_at(const CandidateGrid& g, int column, int row) {
  const int nc = grid_columns(g), nr = grid_rows(g);
  if (column < 0 || column >= nc || row < 0 || row >= nr)
    throw Error("candidate grid: lattice position (" + std::to_string(column) + ", " + std::to_string(row) +
                ") outside " + std::to_string(nc) + "×" + std::to_string(nr));
  return row * nc + column;
}
int patch_x0_px(const CandidateGrid& g, int i) {
  check_index(g, i);
  return g.ix_px[i] - g.patch_px / 2;
}
int patch_y0_px(const CandidateGrid& g, int i) {
  check_index(g, i);
  return g.iy_px[i] - g.patch_px / 2;
}

int nearest_candidate(const CandidateGrid& g, double ix_px, double iy_px) {
  const int nc = grid_columns(g), nr = grid_rows(g);
  const double half = g.patch_px / 2;
  const int c = nearest_lattice((ix_px - half) / g.stride_px, nc);
  const int r = nearest_lattice((iy_px - half) / g.stride_px, nr);
  return r * nc + c;
}

int nearest_candidate(const CandidateGrid& g, const hardware::ImageAxes& axes, double x_m, double y_m) {
  if (axes.dx_m == 0 || axes.dy_m == 0) throw Error("candidate grid: survey axes have a zero pixel step");
  if (axes.nx != g.image_nx || axes.ny != g.image_ny)
    throw Error("candidate grid: survey axes are " + std::to_string(axes.nx) + "×" + std::to_string(axes.ny) +
                " px but the grid was made for " + std::to_string(g.image_nx) + "×" + std::to_string(g.image_ny));
  return nearest_candidate(g, (x_m - axes.x0_m) / axes.dx_m, (y_m - axes.y0_m) / axes.dy_m);
}

hardware::Position candidate_position(const CandidateGrid& g, const hardware::ImageAxes& axes, int i) {
  check_index(g, i);
  return {axes.x0_m + g.ix_px[i] * axes.dx_m, axes.y0_m + g.iy_px[i] * axes.dy_m};
}

std::vector<int> neighbours(const CandidateGrid& g, int i, int connectivity) {
  if (connectivity != 4 && connectivity != 8)
    throw Error("candidate grid: connectivity " + std::to_string(connectivity) + " must be 4 or 8");
  const int nc = grid_columns(g), nr = grid_rows(g);
  const int c0 = candidate_column(g, i), r0 = candidate_row(g, i);
  std::vector<int> out;
  for (int dr = -1; dr <= 1; ++dr)
    for (int dc = -1; dc <= 1; ++dc) {
      if (dr == 0 && dc == 0) continue;
      if (connectivity == 4 && dr != 0 && dc != 0) continue;
      const int c = c0 + dc, r = r0 + dr;
      if (c >= 0 && c < nc && r >= 0 && r < nr) out.push_back(r * nc + c);
    }
  return out;  // loops run row-major, so already ascending
}

std::vector<int> candidates_within(const CandidateGrid& g, double ix_px, double iy_px, double radius_px) {
  const int nc = grid_columns(g), nr = grid_rows(g);
  std::vector<int> out;
  if (!(radius_px >= 0) || !std::isfinite(ix_px) || !std::isfinite(iy_px)) return out;
  const double half = g.patch_px / 2, s = g.stride_px;
  // Lattice bounding box of the disc (clamped in double, so far-away points cannot overflow),
  // then the exact distance test.
  auto lattice_lo = [&](double v, int count) { return static_cast<int>(std::clamp(std::floor((v - half) / s), 0.0, count - 1.0)); };
  auto lattice_hi = [&](double v, int count) { return static_cast<int>(std::clamp(std::ceil((v - half) / s), 0.0, count - 1.0)); };
  const int c_lo = lattice_lo(ix_px - radius_px, nc), c_hi = lattice_hi(ix_px + radius_px, nc);
  const int r_lo = lattice_lo(iy_px - radius_px, nr), r_hi = lattice_hi(iy_px + radius_px, nr);
  const double r2 = radius_px * radius_px;
  for (int r = r_lo; r <= r_hi; ++r)
    for (int c = c_lo; c <= c_hi; ++c) {
      const double dx = c * s + half - ix_px, dy = r * s + half - iy_px;
      if (dx * dx + dy * dy <= r2) out.push_back(r * nc + c);
    }
  return out;
}

}  // namespace sdm::engine::patches
