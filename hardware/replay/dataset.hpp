#pragma once
// A recorded full-grid dataset: image channels and one spectrum per pixel, with physical
// axes. What the replay backend plays back and what the benchmark harness scores
// coverage against ("the full recorded grid"). Readers: read_nsid (pycroscopy NSID
// HDF5), read_npy / read_npz (NumPy), load_dataset (by format or extension).
//
// Layout: pixel (ix, iy) sits at (axes.x0_m + ix·dx_m, axes.y0_m + iy·dy_m); images are
// row-major ny×nx (iy slow), spectra are ny×nx×n_points (iy slowest, spectral fastest).
// The spectra are whatever was recorded — current for cAFM, piezoresponse for BEPS —
// named by signal_name/signal_unit. The replay backend returns them in
// core::IvCurve::current_a and names them in Capabilities::signal_name/signal_unit.
#include <cstddef>
#include <filesystem>
#include <string>
#include <vector>

#include "core/waveform.hpp"
#include "hardware/microscope.hpp"

namespace sdm::hardware::replay {

struct Dataset {
  std::string source;                 ///< file it came from (for messages)
  ImageAxes axes;                     ///< the spatial grid
  std::vector<Channel> channels;      ///< recorded or derived images, ny×nx each
  std::vector<double> bias_v;         ///< spectral axis, one value per spectrum point
  std::string spectral_name = "bias"; ///< name of the spectral axis in the file (e.g. "Voltage")
  std::string spectral_unit = "V";
  std::string signal_name = "current";  ///< what the spectra measure (e.g. "Piezoresponse")
  std::string signal_unit = "A";
  std::vector<double> spectra;        ///< ny×nx×n_points()
  std::string structure_channel;      ///< channel used as the structure image ("topography")

  int nx() const { return axes.nx; }
  int ny() const { return axes.ny; }
  std::size_t n_points() const { return bias_v.size(); }
  std::size_t n_pixels() const { return std::size_t(axes.nx) * std::size_t(axes.ny); }
  /// Pointer to the n_points() samples of pixel (ix, iy); asserts the indices.
  const double* spectrum(int ix, int iy) const;
  /// Physical position of pixel centres, m.
  double x_m(int ix) const { return axes.x0_m + ix * axes.dx_m; }
  double y_m(int iy) const { return axes.y0_m + iy * axes.dy_m; }
  /// Nearest grid pixel to (x_m, y_m), clamped into the grid.
  void nearest(double x_m, double y_m, int& ix, int& iy) const;
  /// nullptr when absent.
  const Channel* find(const std::string& name) const;
  /// The structure image (structure_channel); throws sdm::Error when unset or missing.
  const Channel& structure() const;

  /// Throws sdm::Error naming `source` if sizes disagree, axes are degenerate or values
  /// are not finite.
  void validate() const;
};

/// Derives an image from the spectra: "mean", "std", "min", "max" or "range" over the
/// spectral axis; the result is named `how` with the signal's unit.
Channel derive_channel(const Dataset& d, const std::string& how);

/// Makes `name` the structure image: an existing channel, or one derived by
/// derive_channel (added to channels). Throws sdm::Error listing the choices.
void set_structure_channel(Dataset& d, const std::string& name);

/// Which HDF5 dataset, how to read it.
struct NsidOptions {
  std::string dataset;  ///< HDF5 path of the main dataset; "" = the only 3-D spectral image in the file
};

/// Reads a pycroscopy/sidpy NSID HDF5 spectral image: a 3-D dataset with two spatial
/// dimension scales (X, Y, in m) and one spectral scale (bias, in V) attached through
/// HDF5 dimension scales (DIMENSION_LIST). Dimension order in the file is free; the
/// dimension_type/name attributes say which is which. Signal name/unit come from the
/// dataset's `quantity`/`units` attributes. No structure channel is set.
/// Throws sdm::Error naming the file and what is wrong (not HDF5, no spectral image,
/// missing or mismatched dimension scales, non-uniform spatial axes, …).
Dataset read_nsid(const std::filesystem::path& path, const NsidOptions& options = {});

/// A NumPy array as read from a .npy: float64 values (converted from the stored dtype),
/// C order, with its shape.
struct NpyArray {
  std::vector<std::size_t> shape;
  std::vector<double> data;
  std::string dtype;  ///< as stored, e.g. "<f4"
  std::vector<std::string> text;  ///< for string dtypes (<U, |S): the strings; data stays empty
};
/// Reads one .npy file (format 1.0/2.0/3.0; dtypes f4, f8, i1..i8, u1..u8, b1, either
/// byte order, C or Fortran order; strings U/S for metadata). Throws sdm::Error naming the file on anything else.
NpyArray read_npy_array(const std::filesystem::path& path);
/// Same from bytes in memory; `origin` names them in messages.
NpyArray parse_npy(const std::string& bytes, const std::string& origin);
/// Every array of a .npz (zip, stored or deflated, as np.savez / np.savez_compressed
/// write), keyed by name without ".npy". CRCs are checked.
std::vector<std::pair<std::string, NpyArray>> read_npz_arrays(const std::filesystem::path& path);

/// A dataset from a .npz holding:
///   spectra  (ny, nx, n)  required — the recorded curves;
///   bias_v   (n)          required — the spectral axis, V (alias: "bias", "voltage");
///   x_m (nx), y_m (ny)    optional — uniform pixel-centre positions, m (default: 0, 1, 2… m
///                         with a note in messages: a bare index grid);
///   signal_name, signal_unit  optional strings — what the spectra measure (default
///                         "signal", "a.u."; write "current", "A" for cAFM data);
///   any other (ny, nx) array — an image channel of that name (unit "a.u.").
Dataset read_npz(const std::filesystem::path& path);

/// A bare .npy holding the spectra (ny, nx, n): axes are pixel indices (dx = dy = 1 m
/// nominal) and bias_v the point index; use .npz for physical axes.
Dataset read_npy(const std::filesystem::path& path);

/// By format "nsid" | "npz" | "npy" | "auto" (from the extension: .h5/.hdf5/.nsid, .npz,
/// .npy), then set_structure_channel(image_channel) and validate().
Dataset load_dataset(const std::filesystem::path& path, const std::string& format = "auto",
                     const std::string& image_channel = "mean", const NsidOptions& nsid = {});

}  // namespace sdm::hardware::replay
