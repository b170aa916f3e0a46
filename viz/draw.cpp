#include "viz/draw.hpp"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <system_error>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "core/error.hpp"

namespace sdm::viz::draw {

cv::Size text_size(const std::string& utf8, const Font& font) {
  int baseline = 0;
  return cv::getTextSize(to_ascii(utf8), font.face, font.scale, font.thickness, &baseline);
}

void text(cv::Mat3b& img, const std::string& utf8, cv::Point2d anchor, HAlign h, VAlign v, const Font& font, Color color,
          bool vertical) {
  const std::string s = to_ascii(utf8);
  if (s.empty() || img.empty()) return;
  int baseline = 0;
  const cv::Size size = cv::getTextSize(s, font.face, font.scale, font.thickness, &baseline);
  const int pad = 2 + font.thickness;
  cv::Mat1b mask = cv::Mat1b::zeros(size.height + baseline + 2 * pad, size.width + 2 * pad);
  cv::putText(mask, s, cv::Point(pad, pad + size.height), font.face, font.scale, cv::Scalar(255), font.thickness,
              cv::LINE_AA);
  // The cap-height box inside the mask, which alignment refers to.
  cv::Rect2d box(pad, pad, size.width, size.height);
  if (vertical) {
    const int mask_w = mask.cols;
    cv::rotate(mask, mask, cv::ROTATE_90_COUNTERCLOCKWISE);
    box = cv::Rect2d(pad, mask_w - pad - size.width, size.height, size.width);
  }
  double bx = anchor.x, by = anchor.y;
  if (h == HAlign::center) bx -= box.width / 2;
  if (h == HAlign::right) bx -= box.width;
  if (v == VAlign::middle) by -= box.height / 2;
  if (v == VAlign::bottom) by -= box.height;
  const int ox = static_cast<int>(std::lround(bx - box.x)), oy = static_cast<int>(std::lround(by - box.y));
  const cv::Vec3b c = bgr(color);
  for (int r = 0; r < mask.rows; ++r) {
    const int y = oy + r;
    if (y < 0 || y >= img.rows) continue;
    const unsigned char* m = mask.ptr<unsigned char>(r);
    cv::Vec3b* dst = img.ptr<cv::Vec3b>(y);
    for (int q = 0; q < mask.cols; ++q) {
      const int x = ox + q;
      if (m[q] == 0 || x < 0 || x >= img.cols) continue;
      const int a = m[q];
      for (int k = 0; k < 3; ++k) dst[x][k] = static_cast<unsigned char>((dst[x][k] * (255 - a) + c[k] * a + 127) / 255);
    }
  }
}

std::vector<unsigned char> encode_png(const cv::Mat3b& img, const std::string& who) {
  std::vector<unsigned char> bytes;
  // Fixed compression settings so the same image always gives the same bytes.
  const std::vector<int> params = {cv::IMWRITE_PNG_COMPRESSION, 6, cv::IMWRITE_PNG_STRATEGY, cv::IMWRITE_PNG_STRATEGY_DEFAULT};
  if (!cv::imencode(".png", img, bytes, params))
    throw Error(who + ": PNG encoding of a " + std::to_string(img.cols) + "x" + std::to_string(img.rows) + " image failed");
  return bytes;
}

void write_file_atomic(const std::filesystem::path& path, const std::vector<unsigned char>& bytes, const std::string& who) {
  namespace fs = std::filesystem;
  const fs::path tmp = path.string() + ".tmp-" + std::to_string(::getpid());
  auto fail = [&](const std::string& why) {
    std::error_code ec;
    fs::remove(tmp, ec);
    throw Error(who + ": cannot write '" + path.string() + "': " + why);
  };
  std::FILE* f = std::fopen(tmp.c_str(), "wb");
  if (!f) fail(std::strerror(errno));
  const bool ok = std::fwrite(bytes.data(), 1, bytes.size(), f) == bytes.size();
  const int err = errno;
  if (std::fclose(f) != 0 || !ok) fail(std::strerror(ok ? errno : err));
  std::error_code ec;
  fs::rename(tmp, path, ec);
  if (ec) fail(ec.message());
}

}  // namespace sdm::viz::draw
