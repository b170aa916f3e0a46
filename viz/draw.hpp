#pragma once
// Internal drawing helpers of sdm::viz (OpenCV types; not part of the public API): anti-aliased
// text with alignment and rotation, and PNG encoding / atomic writing.
#include <filesystem>
#include <string>
#include <vector>

#include <opencv2/core.hpp>

#include "viz/figure.hpp"

namespace sdm::viz::draw {

enum class HAlign { left, center, right };
enum class VAlign { top, middle, bottom };

struct Font {
  int face;          ///< cv::HersheyFonts
  double scale;      ///< cv::putText fontScale
  int thickness = 1;
};

inline cv::Vec3b bgr(Color c) { return {c.b, c.g, c.r}; }
inline cv::Scalar scalar(Color c) { return {static_cast<double>(c.b), static_cast<double>(c.g), static_cast<double>(c.r)}; }

/// Width and cap height (baseline to top, descenders excluded) of the transliterated text.
cv::Size text_size(const std::string& utf8, const Font& font);

/// Draws text anchored at `anchor` (continuous pixel coordinates) with the given alignment of its
/// cap-height box, blending anti-aliased glyphs over `img`; `vertical` rotates it 90° (reads upward).
void text(cv::Mat3b& img, const std::string& utf8, cv::Point2d anchor, HAlign h, VAlign v, const Font& font, Color color,
          bool vertical = false);

/// PNG bytes of a BGR image; `who` names the caller in errors.
std::vector<unsigned char> encode_png(const cv::Mat3b& img, const std::string& who);

/// Writes bytes to `path` via a temporary file in the same folder and a rename; throws sdm::Error
/// naming `who` and the path on failure.
void write_file_atomic(const std::filesystem::path& path, const std::vector<unsigned char>& bytes, const std::string& who);

}  // namespace sdm::viz::draw
