#include "engine/patches/patch_extraction.hpp"

#include <cmath>
#include <string>

#include "core/error.hpp"

namespace sdm::engine::patches {

namespace {
void check_grid_matches(const CandidateGrid& g, int nx, int ny, const std::string& what) {
  if (g.image_nx != nx || g.image_ny != ny)
    throw Error(what + ": image is " + std::to_string(nx) + "×" + std::to_string(ny) +
                " px but the candidate grid was made for " + std::to_string(g.image_nx) + "×" + std::to_string(g.image_ny) + " px");
  if (g.ix_px.size() != g.iy_px.size()) throw Error(what + ": candidate grid has mismatched ix_px/iy_px sizes");
}
}  // namespace

std::vector<double> normalise_min_max(const std::vector<double>& image, int nx, int ny, const std::string& what) {
  if (nx < 1 || ny < 1 || image.size() != static_cast<size_t>(nx) * static_cast<size_t>(ny))
    throw Error(what + ": " + std::to_string(image.size()) + " values do not make a " + std::to_string(nx) + "×" +
                std::to_string(ny) + " px image");
  double lo = INFINITY, hi = -INFINITY;
  size_t bad = 0, first_bad = 0;
  for (size_t k = 0; k < image.size(); ++k) {
    const double v = image[k];
    if (!std::isfinite(v)) {
      if (bad++ == 0) first_bad = k;
      continue;
    }
    lo = v < lo ? v : lo;
    hi = v > hi ? v : hi;
  }
  if (bad > 0)
    throw Error(what + ": pixel (ix " + std::to_string(first_bad % nx) + ", iy " + std::to_string(first_bad / nx) + ") is " +
                (std::isnan(image[first_bad]) ? "NaN" : "infinite") + "; " + std::to_string(bad) + " of " +
                std::to_string(image.size()) + " pixels are not finite (patches need a complete survey image)");
  std::vector<double> out(image.size(), 0.0);
  const double range = hi - lo;
  if (range > 0)
    for (size_t k = 0; k < image.size(); ++k) out[k] = (image[k] - lo) / range;
  return out;
}

gp::RowMatrixF patches_of_normalised(const std::vector<double>& img, const CandidateGrid& g) {
  const int nx = g.image_nx;
  if (img.size() != static_cast<size_t>(g.image_nx) * static_cast<size_t>(g.image_ny))
    throw Error("patches: image has " + std::to_string(img.size()) + " values, the candidate grid expects " +
                std::to_string(g.image_nx) + "×" + std::to_string(g.image_ny));
  const int p = g.patch_px, h = p / 2;
  gp::RowMatrixF out(static_cast<Eigen::Index>(g.size()), static_cast<Eigen::Index>(p) * p);
  for (size_t i = 0; i < g.size(); ++i) {
    const int x0 = g.ix_px[i] - h, y0 = g.iy_px[i] - h;
    if (x0 < 0 || y0 < 0 || x0 + p > g.image_nx || y0 + p > g.image_ny)
      throw Error("patches: candidate " + std::to_string(i) + " (centre " + std::to_string(g.ix_px[i]) + ", " +
                  std::to_string(g.iy_px[i]) + ") is not fully inside the image");
    float* row = out.row(static_cast<Eigen::Index>(i)).data();
    for (int r = 0; r < p; ++r) {
      const double* src = img.data() + static_cast<size_t>(y0 + r) * nx + x0;
      for (int c = 0; c < p; ++c) row[r * p + c] = static_cast<float>(src[c]);
    }
  }
  return out;
}

gp::RowMatrixF extract_patches(const std::vector<double>& image, int nx, int ny, const CandidateGrid& grid,
                               const std::string& what) {
  check_grid_matches(grid, nx, ny, what);
  return patches_of_normalised(normalise_min_max(image, nx, ny, what), grid);
}

gp::RowMatrixF extract_patches(const hardware::SurveyImage& survey, const std::string& channel, const CandidateGrid& grid) {
  const hardware::Channel* ch = survey.find(channel);
  if (!ch) {
    std::string names;
    for (const auto& c : survey.channels) names += (names.empty() ? "" : ", ") + c.name;
    throw Error("survey image: no channel '" + channel + "' (channels present: " + (names.empty() ? "none" : names) + ")");
  }
  return extract_patches(ch->data, survey.axes.nx, survey.axes.ny, grid, "survey channel '" + channel + "'");
}

}  // namespace sdm::engine::patches
