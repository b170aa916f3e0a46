// Mosaics of equally sized grayscale tiles (decoded-patch manifolds, cluster galleries).
#include <algorithm>
#include <cmath>

#include <opencv2/imgproc.hpp>

#include "core/error.hpp"
#include "viz/draw.hpp"
#include "viz/figure.hpp"

namespace sdm::viz {

void save_tile_grid(const std::filesystem::path& path, const std::vector<std::vector<double>>& tiles, int side, int rows,
                    int cols, double vmin, double vmax, int gap_px, const std::string& title, int scale) {
  const std::string fn = "viz::save_tile_grid('" + path.string() + "')";
  if (side < 1 || rows < 1 || cols < 1)
    throw Error(fn + ": side, rows and cols must be positive, got side=" + std::to_string(side) + " rows=" +
                std::to_string(rows) + " cols=" + std::to_string(cols));
  if (scale < 1 || scale > 64) throw Error(fn + ": scale must be in [1, 64], got " + std::to_string(scale));
  if (gap_px < 0 || gap_px > 100) throw Error(fn + ": gap_px must be in [0, 100], got " + std::to_string(gap_px));
  if (!std::isfinite(vmin) || !std::isfinite(vmax) || !(vmin < vmax))
    throw Error(fn + ": needs finite vmin < vmax, got " + std::to_string(vmin) + " and " + std::to_string(vmax));
  if (tiles.empty()) throw Error(fn + ": no tiles");
  if (tiles.size() > static_cast<std::size_t>(rows) * cols)
    throw Error(fn + ": " + std::to_string(tiles.size()) + " tiles do not fit a " + std::to_string(rows) + "x" +
                std::to_string(cols) + " grid");
  const std::size_t n = static_cast<std::size_t>(side) * side;
  for (std::size_t i = 0; i < tiles.size(); ++i)
    if (tiles[i].size() != n)
      throw Error(fn + ": tile " + std::to_string(i) + " has " + std::to_string(tiles[i].size()) + " values, expected side*side = " +
                  std::to_string(n));
  const long long tile_px = static_cast<long long>(side) * scale;
  const long long grid_w = cols * tile_px + (cols + 1LL) * gap_px, grid_h = rows * tile_px + (rows + 1LL) * gap_px;
  if (grid_w > 20000 || grid_h > 20000)
    throw Error(fn + ": a " + std::to_string(grid_w) + "x" + std::to_string(grid_h) + " px mosaic is too large (max 20000)");

  const double s = std::clamp(grid_w / 800.0, 0.6, 2.0);
  const draw::Font font{cv::FONT_HERSHEY_DUPLEX, 0.6 * s, s > 1.6 ? 2 : 1};
  const int strip = title.empty() ? 0 : draw::text_size("Ag", font).height + static_cast<int>(std::lround(18 * s));
  cv::Mat3b img(static_cast<int>(grid_h) + strip, static_cast<int>(grid_w), cv::Vec3b(255, 255, 255));
  if (strip) draw::text(img, title, {img.cols / 2.0, strip / 2.0 + 2}, draw::HAlign::center, draw::VAlign::middle, font, {0, 0, 0});
  for (std::size_t t = 0; t < tiles.size(); ++t) {
    const int r = static_cast<int>(t) / cols, c = static_cast<int>(t) % cols;
    const int ox = gap_px + c * static_cast<int>(tile_px + gap_px), oy = strip + gap_px + r * static_cast<int>(tile_px + gap_px);
    for (int y = 0; y < tile_px; ++y) {
      cv::Vec3b* dst = img.ptr<cv::Vec3b>(oy + y) + ox;
      const double* src = tiles[t].data() + static_cast<std::size_t>(y / scale) * side;
      for (int x = 0; x < tile_px; ++x) {
        const double v = src[x / scale];
        if (!std::isfinite(v)) continue;  // non-finite pixels stay white
        const auto g = static_cast<unsigned char>(std::lround(std::clamp((v - vmin) / (vmax - vmin), 0.0, 1.0) * 255.0));
        dst[x] = cv::Vec3b(g, g, g);
      }
    }
  }
  draw::write_file_atomic(path, draw::encode_png(img, fn), fn);
}

}  // namespace sdm::viz
