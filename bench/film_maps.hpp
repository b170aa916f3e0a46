#pragma once
// The maps of one synthetic film, as `sdm film` writes them: PNG figures and one HDF5 file.
//
// PNG (viz/figure.hpp):
//   topography.png       measured (tip-dilated, noisy) topography, nm
//   true_topography.png  the surface before the tip, nm
//   motifs.png           motif labels (grain interior / boundary / triple junction / asymmetric)
//   current.png          noiseless DC current at current_bias_v from the ionic rest state, pA
//   hysteresis_area.png  loop area ∫|I_up − I_down| dV of the ground-truth sweep, pA·V
//                        (engine/acquisition/scalarizer.hpp, loop_area)
//   iv_examples.png      example I–V loops per motif (the pixels at the 25th, 50th and 75th
//                        percentile of that motif's loop area)
// HDF5 (film.h5, HDF5 C API): every map as a size_px×size_px dataset, row-major (iy slow),
// each with string attributes "unit" and "description"; root attributes size_px, pixel_m,
// scan_size_m, seed, x0_m = y0_m = pixel_m/2; the example curves under /iv_examples; the
// per-grain table under /grains; local transport parameters under /params.
#include <filesystem>
#include <string>
#include <vector>

#include "core/waveform.hpp"
#include "sim/film.hpp"

namespace sdm::bench {

struct FilmMapsOptions {
  double current_bias_v = 1.0;                                         ///< bias of current.png / current_at_bias, V
  core::Waveform sweep = core::Waveform::triangle(1.5, 251, 1.0);      ///< ground-truth sweep of the loop map and examples
  int examples_per_motif = 3;
  /// Loop-area map on every `stride`-th pixel per axis (0: automatic, 1 up to 512 px, so that
  /// at most 512² sweeps are simulated); skipped pixels take the value of the computed one
  /// at the start of their block.
  int loop_map_stride = 0;
};

/// The computed maps (row-major size_px × size_px).
struct FilmMaps {
  std::vector<double> current_a;     ///< DC current at current_bias_v, A
  std::vector<double> loop_area_w;   ///< ∫|I_up − I_down| dV, A·V = W
  int loop_map_stride = 1;
  struct Example {
    sim::Motif motif;
    int ix, iy;
    core::IvCurve curve;
  };
  std::vector<Example> examples;
};

/// Computes the maps (physics only, no I/O). The loop map costs one sweep per computed pixel.
FilmMaps compute_film_maps(const sim::Film& film, const FilmMapsOptions& options);

/// Writes the PNGs and film.h5 into the existing folder `dir`; returns the files written.
/// Throws sdm::Error naming the file on any write failure.
std::vector<std::filesystem::path> write_film_maps(const sim::Film& film, const FilmMaps& maps, const FilmMapsOptions& options,
                                                   const std::filesystem::path& dir);

/// Only the HDF5 file (all maps, attributes with units).
void write_film_hdf5(const sim::Film& film, const FilmMaps& maps, const FilmMapsOptions& options,
                     const std::filesystem::path& path);

}  // namespace sdm::bench
