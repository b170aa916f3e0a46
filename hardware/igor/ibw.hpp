#pragma once
// Igor Pro binary wave (.ibw) reader, for survey images saved by Asylum Research AFMs.
//
// Supports version 5 (Igor Pro 3+, multi-dimensional) and version 2 (1-D) waves, either
// byte order (detected from the version field), numeric types float32/float64 and
// signed/unsigned 8/16/32-bit integers (complex and text waves are rejected). The header
// checksum is verified. Layout of a version-5 file: BinHeader5 (64 bytes), WaveHeader5
// (320 bytes, checksummed together with BinHeader5), data (npnts values, column-major:
// dimension 0 = rows = x, fastest), then formula, wave note, extended units and
// dimension labels (32 bytes each; label 0 of a dimension is its name, 1… its items).
// Asylum's multi-layer image: nDim = {nx, ny, n_channels}, layer labels are the channel
// names ("HeightRetrace", "Amplitude1Retrace", …), the note is "Key: value" lines
// (ScanSize, XOffset, …) separated by CR.
#include <array>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "hardware/microscope.hpp"

namespace sdm::hardware::igor {

struct IgorWave {
  int version = 0;                      ///< 2 or 5
  bool big_endian = false;
  std::string name;                     ///< wave name
  int type = 0;                         ///< Igor NT_* code (2 = float32, 4 = float64, …)
  std::array<int, 4> dims{0, 0, 0, 0};  ///< items per dimension, 0 = unused (rows, cols, layers, chunks)
  std::array<double, 4> sf_a{1, 1, 1, 1};  ///< index value of element e in dimension d: sf_a[d]·e + sf_b[d]
  std::array<double, 4> sf_b{0, 0, 0, 0};
  std::string data_units;               ///< units of the values (extended units when present)
  std::array<std::string, 4> dim_units; ///< units of each dimension's scaling
  std::array<std::vector<std::string>, 4> dim_labels;  ///< [d][0] = dimension name, [d][1+i] = label of item i
  std::string note;                     ///< the wave note as stored (CR-separated for Asylum)
  std::vector<double> data;             ///< npnts values, Igor's column-major order, as doubles

  /// Number of points = product of the non-zero dims.
  std::size_t points() const { return data.size(); }
  /// Value at (row, col, layer), column-major: row fastest.
  double at(int row, int col = 0, int layer = 0) const;
  /// The note's "Key: value" pairs (first occurrence wins; keys trimmed).
  std::map<std::string, std::string> note_fields() const;
};

/// Reads an .ibw file. Throws sdm::Error naming the file and what is wrong: not a
/// binary wave, unsupported version or type, checksum mismatch, truncated data/sections.
IgorWave read_ibw(const std::filesystem::path& path);
/// Same from bytes in memory; `origin` names them in messages.
IgorWave parse_ibw(const std::string& bytes, const std::string& origin);

/// The wave as a survey image: a 2-D wave is one channel, a 3-D wave one channel per
/// layer, named by the layer labels (or "layer<k>"). Axes from the wave scaling
/// (sf_a, sf_b of dimensions 0 and 1, which must be in metres); when the wave's scaling
/// is absent (unit not "m"), from the note's ScanSize (FastScanSize/SlowScanSize) spread
/// over the pixels. Channel units: the wave's data units for height-like channels,
/// "deg" for Phase*, "Hz" for Frequency*, "m" for Height/Amplitude/Deflection/ZSensor*,
/// "A" for Current*, "V" for Potential*/Voltage*, else the wave's data units.
/// Values are as recorded (Igor's float32 widened to double).
SurveyImage to_survey(const IgorWave& wave, const std::string& origin);

/// read_ibw + to_survey.
SurveyImage read_survey(const std::filesystem::path& path);

/// Name of the height channel of an Asylum survey ("HeightRetrace", else "HeightTrace",
/// "Height", "ZSensorRetrace", …), or "" when there is none.
std::string topography_channel(const SurveyImage& image);

}  // namespace sdm::hardware::igor
