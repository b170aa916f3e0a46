#pragma once
// Candidate patches of a survey image, as the models see them (the paper's preprocessing):
// the whole image is min-max normalised to [0, 1] once, then each candidate's p×p patch is
// flattened row-major (patch row slow) into one float row of a m × p² matrix.
#include <string>
#include <vector>

#include "engine/gp/dkl.hpp"
#include "engine/patches/candidate_grid.hpp"
#include "hardware/microscope.hpp"

namespace sdm::engine::patches {

/// (v − min)/(max − min) over the whole ny×nx row-major image (any physical unit).
/// A constant image maps to all zeros. Throws sdm::Error when the size is not nx·ny or a
/// pixel is not finite, naming `what`, the first bad pixel (ix, iy) and how many are bad.
std::vector<double> normalise_min_max(const std::vector<double>& image, int nx, int ny,
                                      const std::string& what = "survey image");

/// Min-max normalises `image` (see normalise_min_max) and extracts every candidate's patch:
/// row i = candidate i, column r·p + c = pixel (x0 + c, y0 + r). The grid must have been made
/// for an nx×ny image (else sdm::Error).
gp::RowMatrixF extract_patches(const std::vector<double>& image, int nx, int ny, const CandidateGrid& grid,
                               const std::string& what = "survey image");

/// Same, from one named channel of a survey (error names the channel; missing channel listed).
gp::RowMatrixF extract_patches(const hardware::SurveyImage& survey, const std::string& channel,
                               const CandidateGrid& grid);

/// Patches of an image that is already normalised (no rescaling; values copied as float).
gp::RowMatrixF patches_of_normalised(const std::vector<double>& normalised, const CandidateGrid& grid);

}  // namespace sdm::engine::patches
