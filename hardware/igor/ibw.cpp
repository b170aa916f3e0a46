#include "hardware/igor/ibw.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <sstream>

#include "core/error.hpp"

namespace sdm::hardware::igor {
namespace {

constexpr int kNtCmplx = 1, kNtFp32 = 2, kNtFp64 = 4, kNtI8 = 8, kNtI16 = 0x10, kNtI32 = 0x20, kNtUnsigned = 0x40;

/// Bounds-checked reads in the file's byte order.
class Reader {
 public:
  Reader(const std::string& b, bool big, const std::string& origin) : b_(b), big_(big), origin_(origin) {}
  std::uint64_t u(std::size_t off, int n) const {
    need(off, std::size_t(n), "header field");
    std::uint64_t v = 0;
    for (int i = 0; i < n; ++i) {
      const unsigned char c = static_cast<unsigned char>(b_[off + std::size_t(big_ ? i : n - 1 - i)]);
      v = (v << 8) | c;
    }
    return v;
  }
  std::int16_t i16(std::size_t off) const { return static_cast<std::int16_t>(u(off, 2)); }
  std::int32_t i32(std::size_t off) const { return static_cast<std::int32_t>(u(off, 4)); }
  double f64(std::size_t off) const {
    const std::uint64_t v = u(off, 8);
    double d;
    std::memcpy(&d, &v, 8);
    return d;
  }
  std::string cstr(std::size_t off, std::size_t max) const {
    need(off, max, "header field");
    std::string s = b_.substr(off, max);
    s.erase(std::find(s.begin(), s.end(), '\0'), s.end());
    return s;
  }
  /// Throws a truncation error unless [off, off+n) lies within the file.
  void need(std::size_t off, std::size_t n, const std::string& what) const {
    if (off > b_.size() || n > b_.size() - off)
      throw Error(origin_ + ": truncated: " + what + " (" + std::to_string(n) + " bytes at offset " + std::to_string(off) +
                  ") runs past the end of the file (" + std::to_string(b_.size()) + " bytes)");
  }
  std::size_t size() const { return b_.size(); }
  const std::string& bytes() const { return b_; }

 private:
  const std::string& b_;
  bool big_;
  const std::string& origin_;
};

int bytes_per_point(int type, const std::string& origin) {
  if (type == 0) throw Error(origin + ": text waves are not supported (need a numeric image)");
  if (type & kNtCmplx) throw Error(origin + ": complex waves are not supported");
  switch (type & ~kNtUnsigned) {
    case kNtFp32: return 4;
    case kNtFp64: return 8;
    case kNtI8: return 1;
    case kNtI16: return 2;
    case kNtI32: return 4;
    default: throw Error(origin + ": unsupported Igor number type " + std::to_string(type));
  }
}

double value_at(const Reader& r, std::size_t off, int type) {
  const bool uns = type & kNtUnsigned;
  switch (type & ~kNtUnsigned) {
    case kNtFp32: {
      const std::uint32_t v = std::uint32_t(r.u(off, 4));
      float f;
      std::memcpy(&f, &v, 4);
      return f;
    }
    case kNtFp64: return r.f64(off);
    case kNtI8: return uns ? double(std::uint8_t(r.u(off, 1))) : double(std::int8_t(r.u(off, 1)));
    case kNtI16: return uns ? double(std::uint16_t(r.u(off, 2))) : double(std::int16_t(r.u(off, 2)));
    default: return uns ? double(std::uint32_t(r.u(off, 4))) : double(std::int32_t(r.u(off, 4)));
  }
}

void check_sum(const Reader& r, std::size_t n, const std::string& origin) {
  r.need(0, n, "header");
  unsigned sum = 0;
  for (std::size_t i = 0; i + 1 < n; i += 2) sum += unsigned(r.u(i, 2));
  if ((sum & 0xFFFF) != 0)
    throw Error(origin + ": header checksum mismatch (corrupt file, or not an Igor binary wave)");
}

void read_data(const Reader& r, IgorWave& w, std::size_t off, std::size_t npnts, const std::string& origin) {
  const int bpp = bytes_per_point(w.type, origin);
  if (npnts > (std::size_t(1) << 34) / std::size_t(bpp)) throw Error(origin + ": implausible point count " + std::to_string(npnts));
  r.need(off, npnts * std::size_t(bpp), "wave data");
  w.data.resize(npnts);
  for (std::size_t i = 0; i < npnts; ++i) w.data[i] = value_at(r, off + i * std::size_t(bpp), w.type);
}

std::int32_t section(const Reader& r, std::size_t off, const char* what, const std::string& origin) {
  const std::int32_t v = r.i32(off);
  if (v < 0) throw Error(origin + ": corrupt header: negative " + std::string(what) + " size " + std::to_string(v));
  return v;
}

IgorWave parse_v5(const Reader& r, const std::string& origin) {
  IgorWave w;
  w.version = 5;
  check_sum(r, 384, origin);
  const std::int32_t wfm = section(r, 4, "wave", origin), formula = section(r, 8, "formula", origin), note = section(r, 12, "note", origin);
  const std::int32_t deu = section(r, 16, "extended data units", origin);
  std::int32_t dimeu[4], diml[4];
  for (int d = 0; d < 4; ++d) {
    dimeu[d] = section(r, 20 + 4 * std::size_t(d), "extended dimension units", origin);
    diml[d] = section(r, 36 + 4 * std::size_t(d), "dimension labels", origin);
  }
  const std::size_t h = 64;
  const std::int32_t npnts = r.i32(h + 12);
  w.type = r.i16(h + 16);
  w.name = r.cstr(h + 28, 32);
  std::size_t product = 1;
  bool any = false;
  for (int d = 0; d < 4; ++d) {
    w.dims[std::size_t(d)] = r.i32(h + 68 + 4 * std::size_t(d));
    if (w.dims[std::size_t(d)] < 0) throw Error(origin + ": corrupt header: dimension " + std::to_string(d) + " has negative size");
    w.sf_a[std::size_t(d)] = r.f64(h + 84 + 8 * std::size_t(d));
    w.sf_b[std::size_t(d)] = r.f64(h + 116 + 8 * std::size_t(d));
    w.dim_units[std::size_t(d)] = r.cstr(h + 152 + 4 * std::size_t(d), 4);
  }
  for (int d = 0; d < 4 && w.dims[std::size_t(d)] > 0; ++d) product *= std::size_t(w.dims[std::size_t(d)]), any = true;
  if (npnts < 0 || (any ? product : 0) != std::size_t(npnts))
    throw Error(origin + ": corrupt header: npnts " + std::to_string(npnts) + " does not match the dimensions " + std::to_string(w.dims[0]) +
                "x" + std::to_string(w.dims[1]) + "x" + std::to_string(w.dims[2]) + "x" + std::to_string(w.dims[3]));
  w.data_units = r.cstr(h + 148, 4);
  const int bpp = bytes_per_point(w.type, origin);
  if (std::size_t(wfm) < 320 + std::size_t(npnts) * std::size_t(bpp))
    throw Error(origin + ": corrupt header: wfmSize " + std::to_string(wfm) + " is smaller than the wave header plus its data");
  read_data(r, w, 384, std::size_t(npnts), origin);

  std::size_t off = 64 + std::size_t(wfm);
  r.need(off, std::size_t(formula), "dependency formula");
  off += std::size_t(formula);
  r.need(off, std::size_t(note), "wave note");
  w.note = r.bytes().substr(off, std::size_t(note));
  off += std::size_t(note);
  r.need(off, std::size_t(deu), "extended data units");
  if (deu > 0) w.data_units = r.bytes().substr(off, std::size_t(deu));
  off += std::size_t(deu);
  for (int d = 0; d < 4; ++d) {
    r.need(off, std::size_t(dimeu[d]), "extended dimension units");
    if (dimeu[d] > 0) w.dim_units[std::size_t(d)] = r.bytes().substr(off, std::size_t(dimeu[d]));
    off += std::size_t(dimeu[d]);
  }
  for (int d = 0; d < 4; ++d) {
    r.need(off, std::size_t(diml[d]), "dimension labels");
    for (std::size_t k = 0; k + 32 <= std::size_t(diml[d]); k += 32) w.dim_labels[std::size_t(d)].push_back(r.cstr(off + k, 32));
    off += std::size_t(diml[d]);
  }
  return w;
}

IgorWave parse_v2(const Reader& r, const std::string& origin) {
  IgorWave w;
  w.version = 2;
  check_sum(r, 16 + 110, origin);
  const std::int32_t wfm = section(r, 2, "wave", origin), note = section(r, 6, "note", origin);
  const std::size_t h = 16;
  w.type = r.i16(h + 0);
  w.name = r.cstr(h + 6, 20);
  w.data_units = r.cstr(h + 34, 4);
  w.dim_units[0] = r.cstr(h + 38, 4);
  const std::int32_t npnts = r.i32(h + 42);
  if (npnts < 0) throw Error(origin + ": corrupt header: negative npnts");
  w.sf_a[0] = r.f64(h + 48);
  w.sf_b[0] = r.f64(h + 56);
  w.dims = {npnts, 0, 0, 0};
  const int bpp = bytes_per_point(w.type, origin);
  if (std::size_t(wfm) < 110 + std::size_t(npnts) * std::size_t(bpp))
    throw Error(origin + ": corrupt header: wfmSize " + std::to_string(wfm) + " is smaller than the wave header plus its data");
  read_data(r, w, 126, std::size_t(npnts), origin);
  const std::size_t off = 16 + std::size_t(wfm);
  r.need(off, std::size_t(note), "wave note");
  w.note = r.bytes().substr(off, std::size_t(note));
  return w;
}

std::string trim(std::string s) {
  const auto issp = [](unsigned char c) { return std::isspace(c); };
  s.erase(s.begin(), std::find_if_not(s.begin(), s.end(), issp));
  s.erase(std::find_if_not(s.rbegin(), s.rend(), issp).base(), s.end());
  return s;
}

bool starts(const std::string& s, const char* p) { return s.rfind(p, 0) == 0; }

std::string unit_for(const std::string& channel, const std::string& data_units) {
  if (starts(channel, "Phase")) return "deg";
  if (starts(channel, "Frequency")) return "Hz";
  if (starts(channel, "Height") || starts(channel, "Amplitude") || starts(channel, "Deflection") || starts(channel, "ZSensor")) return "m";
  if (starts(channel, "Current")) return "A";
  if (starts(channel, "Potential") || starts(channel, "Voltage") || starts(channel, "UserIn")) return "V";
  return data_units;
}

}  // namespace

double IgorWave::at(int row, int col, int layer) const {
  const std::size_t nr = std::size_t(std::max(dims[0], 1)), nc = std::size_t(std::max(dims[1], 1));
  return data.at(std::size_t(row) + nr * (std::size_t(col) + nc * std::size_t(layer)));
}

std::map<std::string, std::string> IgorWave::note_fields() const {
  std::map<std::string, std::string> out;
  std::string line;
  std::istringstream s(note);
  for (std::string chunk; std::getline(s, chunk, '\r');) {
    std::istringstream lines(chunk);
    while (std::getline(lines, line, '\n')) {
      const std::size_t c = line.find(':');
      if (c == std::string::npos) continue;
      const std::string k = trim(line.substr(0, c));
      if (!k.empty() && !out.count(k)) out[k] = trim(line.substr(c + 1));
    }
  }
  return out;
}

IgorWave parse_ibw(const std::string& bytes, const std::string& origin) {
  if (bytes.size() < 8) throw Error(origin + ": truncated: " + std::to_string(bytes.size()) + " bytes is too short for an Igor binary wave");
  const unsigned lo = static_cast<unsigned char>(bytes[0]), hi = static_cast<unsigned char>(bytes[1]);
  // The version (a short) is 1, 2, 3 or 5: a little-endian file has it in the first byte.
  bool big;
  unsigned version;
  if (hi == 0 && lo != 0) big = false, version = lo;
  else if (lo == 0 && hi != 0) big = true, version = hi;
  else throw Error(origin + ": not an Igor binary wave (version field " + std::to_string(lo) + "," + std::to_string(hi) + ")");
  Reader r(bytes, big, origin);
  IgorWave w;
  if (version == 5) w = parse_v5(r, origin);
  else if (version == 2) w = parse_v2(r, origin);
  else if (version == 1 || version == 3)
    throw Error(origin + ": Igor binary wave version " + std::to_string(version) + " is not supported (versions 2 and 5 are)");
  else throw Error(origin + ": not an Igor binary wave (version field " + std::to_string(version) + ")");
  w.big_endian = big;
  return w;
}

IgorWave read_ibw(const std::filesystem::path& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) throw Error(path.string() + ": Igor wave file not found");
  std::ifstream f(path, std::ios::binary);
  if (!f) throw Error(path.string() + ": cannot open for reading");
  std::ostringstream s;
  s << f.rdbuf();
  return parse_ibw(s.str(), path.string());
}

SurveyImage to_survey(const IgorWave& w, const std::string& origin) {
  const int nx = w.dims[0], ny = w.dims[1], layers = std::max(w.dims[2], 1);
  if (nx < 1 || ny < 1) throw Error(origin + ": wave \"" + w.name + "\" is not an image (dimensions " + std::to_string(w.dims[0]) + "x" + std::to_string(w.dims[1]) + ")");
  if (w.dims[3] > 1) throw Error(origin + ": 4-D waves are not survey images");
  SurveyImage img;
  img.axes.nx = nx;
  img.axes.ny = ny;
  if (w.dim_units[0] == "m" && w.dim_units[1] == "m" && w.sf_a[0] > 0 && w.sf_a[1] > 0) {
    img.axes.x0_m = w.sf_b[0];
    img.axes.dx_m = w.sf_a[0];
    img.axes.y0_m = w.sf_b[1];
    img.axes.dy_m = w.sf_a[1];
  } else {
    const auto f = w.note_fields();
    auto num = [&](const char* k) -> double {
      auto it = f.find(k);
      if (it == f.end()) return NAN;
      char* end = nullptr;
      const double v = std::strtod(it->second.c_str(), &end);
      return end != it->second.c_str() ? v : NAN;
    };
    double fast = num("FastScanSize"), slow = num("SlowScanSize");
    if (!(fast > 0)) fast = num("ScanSize");
    if (!(slow > 0)) slow = num("ScanSize");
    if (!(fast > 0) || !(slow > 0))
      throw Error(origin + ": the wave has no metric scaling and its note gives no ScanSize; cannot place the image in metres");
    img.axes.dx_m = nx > 1 ? fast / (nx - 1) : fast;
    img.axes.dy_m = ny > 1 ? slow / (ny - 1) : slow;
  }
  const std::vector<std::string>& labels = w.dim_labels[2];
  const std::size_t plane = std::size_t(nx) * std::size_t(ny);
  for (int k = 0; k < layers; ++k) {
    Channel c;
    const std::size_t li = std::size_t(k) + 1;
    c.name = w.dims[2] > 0 ? (li < labels.size() && !labels[li].empty() ? labels[li] : "layer" + std::to_string(k)) : (w.name.empty() ? "image" : w.name);
    c.unit = unit_for(c.name, w.data_units);
    // Igor is column-major with rows = x fastest: each layer is already ny×nx row-major.
    c.data.assign(w.data.begin() + std::ptrdiff_t(plane * std::size_t(k)), w.data.begin() + std::ptrdiff_t(plane * std::size_t(k + 1)));
    img.channels.push_back(std::move(c));
  }
  return img;
}

SurveyImage read_survey(const std::filesystem::path& path) { return to_survey(read_ibw(path), path.string()); }

std::string topography_channel(const SurveyImage& img) {
  for (const char* n : {"topography", "HeightRetrace", "HeightTrace", "Height", "ZSensorRetrace", "ZSensorTrace", "ZSensor", "height"})
    if (img.find(n)) return n;
  return "";
}

}  // namespace sdm::hardware::igor
