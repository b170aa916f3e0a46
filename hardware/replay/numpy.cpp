// NumPy .npy / .npz readers (the .npz zip container parsed here, deflate via zlib).
#include <zlib.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>

#include "core/error.hpp"
#include "hardware/replay/dataset.hpp"

namespace sdm::hardware::replay {
namespace {

std::string read_file(const std::filesystem::path& path, const char* what) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) throw Error(path.string() + ": " + what + " file not found");
  std::ifstream f(path, std::ios::binary);
  if (!f) throw Error(path.string() + ": cannot open " + what + " file for reading");
  std::ostringstream s;
  s << f.rdbuf();
  return s.str();
}

std::uint64_t le(const std::string& b, std::size_t off, int bytes) {
  std::uint64_t v = 0;
  for (int i = bytes - 1; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(b[off + std::size_t(i)]);
  return v;
}

bool host_little_endian() {
  const std::uint16_t one = 1;
  unsigned char c;
  std::memcpy(&c, &one, 1);
  return c == 1;
}

/// Value of key `'key':` in the header dict, as raw text up to the next top-level comma.
std::string dict_value(const std::string& h, const std::string& key, const std::string& origin) {
  const std::size_t k = h.find("'" + key + "'");
  if (k == std::string::npos) throw Error(origin + ": .npy header has no '" + key + "' (header: " + h + ")");
  std::size_t p = h.find(':', k);
  if (p == std::string::npos) throw Error(origin + ": malformed .npy header: " + h);
  ++p;
  while (p < h.size() && h[p] == ' ') ++p;
  if (p < h.size() && h[p] == '(') {
    const std::size_t e = h.find(')', p);
    if (e == std::string::npos) throw Error(origin + ": malformed .npy shape in header: " + h);
    return h.substr(p, e - p + 1);
  }
  if (p < h.size() && (h[p] == '\'' || h[p] == '"')) {
    const std::size_t e = h.find(h[p], p + 1);
    if (e == std::string::npos) throw Error(origin + ": malformed .npy header string: " + h);
    return h.substr(p + 1, e - p - 1);
  }
  std::size_t e = p;
  while (e < h.size() && h[e] != ',' && h[e] != '}') ++e;
  std::string v = h.substr(p, e - p);
  while (!v.empty() && v.back() == ' ') v.pop_back();
  return v;
}

}  // namespace

NpyArray parse_npy(const std::string& b, const std::string& origin) {
  auto fail = [&](const std::string& what) -> void { throw Error(origin + ": " + what); };
  if (b.size() < 10 || b.compare(0, 6, "\x93NUMPY") != 0) fail("not a .npy array (bad magic)");
  const int major = static_cast<unsigned char>(b[6]);
  if (major < 1 || major > 3) fail(".npy format version " + std::to_string(major) + " is not supported (1, 2 or 3)");
  const std::size_t hlen_bytes = major == 1 ? 2 : 4;
  if (b.size() < 8 + hlen_bytes) fail("truncated .npy header");
  const std::size_t hlen = std::size_t(le(b, 8, int(hlen_bytes)));
  const std::size_t data_off = 8 + hlen_bytes + hlen;
  if (b.size() < data_off) fail("truncated .npy header (declares " + std::to_string(hlen) + " bytes)");
  const std::string h = b.substr(8 + hlen_bytes, hlen);

  NpyArray a;
  a.dtype = dict_value(h, "descr", origin);
  const std::string fortran = dict_value(h, "fortran_order", origin);
  if (fortran != "False" && fortran != "True") fail("bad fortran_order '" + fortran + "' in .npy header");
  const std::string shape = dict_value(h, "shape", origin);
  {
    std::string inner = shape.substr(1, shape.size() - 2);
    std::stringstream ss(inner);
    std::string tok;
    while (std::getline(ss, tok, ',')) {
      tok.erase(std::remove(tok.begin(), tok.end(), ' '), tok.end());
      if (tok.empty()) continue;
      char* end = nullptr;
      const unsigned long long v = std::strtoull(tok.c_str(), &end, 10);
      if (!end || *end || tok[0] == '-') fail("bad .npy shape " + shape);
      a.shape.push_back(std::size_t(v));
    }
  }
  std::size_t count = 1;
  for (std::size_t s : a.shape) {
    if (s && count > (std::size_t(1) << 40) / s) fail(".npy shape " + shape + " is too large");
    count *= s;
  }
  if (a.dtype.size() < 2) fail("unsupported .npy dtype '" + a.dtype + "'");
  char order = a.dtype[0];
  std::string t = a.dtype;
  if (order == '<' || order == '>' || order == '|' || order == '=') t = a.dtype.substr(1);
  else order = '=';
  if (order == '=') order = host_little_endian() ? '<' : '>';
  const char kind = t[0];
  const int size = std::atoi(t.c_str() + 1);
  const bool swap = (order == '>') == host_little_endian() && order != '|';
  auto need = [&](std::size_t bytes) {
    if (b.size() - data_off < bytes)
      fail("truncated .npy data: " + std::to_string(b.size() - data_off) + " bytes for " + std::to_string(count) + " values of " +
           a.dtype + " (needs " + std::to_string(bytes) + ")");
  };

  if (kind == 'U' || kind == 'S') {  // strings, for metadata
    if (size <= 0) fail("bad string dtype '" + a.dtype + "'");
    const std::size_t w = kind == 'U' ? 4 * std::size_t(size) : std::size_t(size);
    need(w * count);
    for (std::size_t i = 0; i < count; ++i) {
      std::string s;
      for (int c = 0; c < size; ++c) {
        std::uint32_t ch = kind == 'U' ? std::uint32_t(le(b, data_off + i * w + 4 * std::size_t(c), 4))
                                       : static_cast<unsigned char>(b[data_off + i * w + std::size_t(c)]);
        if (kind == 'U' && swap) ch = __builtin_bswap32(ch);
        if (ch == 0) break;
        if (ch < 0x80) s += char(ch);
        else if (ch < 0x800) s += char(0xC0 | (ch >> 6)), s += char(0x80 | (ch & 0x3F));
        else s += char(0xE0 | ((ch >> 12) & 0x0F)), s += char(0x80 | ((ch >> 6) & 0x3F)), s += char(0x80 | (ch & 0x3F));
      }
      a.text.push_back(s);
    }
    return a;
  }
  const bool ok_kind = (kind == 'f' && (size == 4 || size == 8)) || ((kind == 'i' || kind == 'u') && (size == 1 || size == 2 || size == 4 || size == 8)) ||
                       (kind == 'b' && size == 1);
  if (!ok_kind) fail("unsupported .npy dtype '" + a.dtype + "' (use float32/float64 or integers)");
  need(std::size_t(size) * count);
  a.data.resize(count);
  const char* p = b.data() + data_off;
  for (std::size_t i = 0; i < count; ++i) {
    unsigned char raw[8];
    std::memcpy(raw, p + i * std::size_t(size), std::size_t(size));
    if (swap) std::reverse(raw, raw + size);
    double v = 0;
    if (kind == 'f' && size == 8) { double x; std::memcpy(&x, raw, 8); v = x; }
    else if (kind == 'f') { float x; std::memcpy(&x, raw, 4); v = x; }
    else if (kind == 'b') v = raw[0] ? 1.0 : 0.0;
    else if (kind == 'i' && size == 1) { std::int8_t x; std::memcpy(&x, raw, 1); v = x; }
    else if (kind == 'i' && size == 2) { std::int16_t x; std::memcpy(&x, raw, 2); v = x; }
    else if (kind == 'i' && size == 4) { std::int32_t x; std::memcpy(&x, raw, 4); v = x; }
    else if (kind == 'i') { std::int64_t x; std::memcpy(&x, raw, 8); v = double(x); }
    else if (size == 1) v = raw[0];
    else if (size == 2) { std::uint16_t x; std::memcpy(&x, raw, 2); v = x; }
    else if (size == 4) { std::uint32_t x; std::memcpy(&x, raw, 4); v = x; }
    else { std::uint64_t x; std::memcpy(&x, raw, 8); v = double(x); }
    a.data[i] = v;
  }
  if (fortran == "True" && a.shape.size() > 1) {  // to C order
    std::vector<double> c(count);
    const std::size_t r = a.shape.size();
    std::vector<std::size_t> idx(r, 0);
    for (std::size_t f = 0; f < count; ++f) {  // f walks Fortran order: first index fastest
      std::size_t ci = 0;
      for (std::size_t k = 0; k < r; ++k) ci = ci * a.shape[k] + idx[k];
      c[ci] = a.data[f];
      for (std::size_t k = 0; k < r; ++k) {
        if (++idx[k] < a.shape[k]) break;
        idx[k] = 0;
      }
    }
    a.data.swap(c);
  }
  return a;
}

NpyArray read_npy_array(const std::filesystem::path& path) { return parse_npy(read_file(path, ".npy"), path.string()); }

std::vector<std::pair<std::string, NpyArray>> read_npz_arrays(const std::filesystem::path& path) {
  const std::string origin = path.string();
  const std::string b = read_file(path, ".npz");
  auto fail = [&](const std::string& what) -> void { throw Error(origin + ": " + what); };
  // End of central directory: last occurrence of its signature within the final 64 KiB + 22 bytes.
  if (b.size() < 22) fail("not a .npz (zip) archive: too short");
  std::size_t eocd = std::string::npos;
  for (std::size_t i = b.size() - 22 + 1; i-- > 0 && b.size() - i <= 65557;) {
    if (le(b, i, 4) == 0x06054b50) {
      eocd = i;
      break;
    }
  }
  if (eocd == std::string::npos) fail("not a .npz (zip) archive, or truncated: no end-of-central-directory record");
  std::uint64_t entries = le(b, eocd + 10, 2), cd_size = le(b, eocd + 12, 4), cd_off = le(b, eocd + 16, 4);
  if (cd_off == 0xFFFFFFFFu || entries == 0xFFFF) {  // zip64
    if (eocd < 20 || le(b, eocd - 20, 4) != 0x07064b50) fail("zip64 archive without a zip64 locator");
    const std::uint64_t z = le(b, eocd - 20 + 8, 8);
    if (z + 56 > b.size() || le(b, std::size_t(z), 4) != 0x06064b50) fail("bad zip64 end-of-central-directory record");
    entries = le(b, std::size_t(z) + 32, 8);
    cd_size = le(b, std::size_t(z) + 40, 8);
    cd_off = le(b, std::size_t(z) + 48, 8);
  }
  if (cd_off + cd_size > b.size()) fail("truncated .npz: central directory beyond the end of the file");
  std::vector<std::pair<std::string, NpyArray>> out;
  std::size_t p = std::size_t(cd_off);
  for (std::uint64_t e = 0; e < entries; ++e) {
    if (p + 46 > b.size() || le(b, p, 4) != 0x02014b50) fail("corrupt .npz central directory (entry " + std::to_string(e) + ")");
    const unsigned method = unsigned(le(b, p + 10, 2));
    const std::uint32_t crc = std::uint32_t(le(b, p + 16, 4));
    std::uint64_t csize = le(b, p + 20, 4), usize = le(b, p + 24, 4);
    const std::size_t nlen = std::size_t(le(b, p + 28, 2)), xlen = std::size_t(le(b, p + 30, 2)), clen = std::size_t(le(b, p + 32, 2));
    std::uint64_t loff = le(b, p + 42, 4);
    if (p + 46 + nlen + xlen + clen > b.size()) fail("corrupt .npz central directory (entry " + std::to_string(e) + ")");
    std::string name = b.substr(p + 46, nlen);
    // zip64 extra field: the 0xFFFFFFFF fields, in order usize, csize, offset.
    for (std::size_t x = p + 46 + nlen; x + 4 <= p + 46 + nlen + xlen;) {
      const unsigned id = unsigned(le(b, x, 2)), sz = unsigned(le(b, x + 2, 2));
      if (id == 0x0001) {
        std::size_t q = x + 4;
        if (usize == 0xFFFFFFFFu && q + 8 <= x + 4 + sz) usize = le(b, q, 8), q += 8;
        if (csize == 0xFFFFFFFFu && q + 8 <= x + 4 + sz) csize = le(b, q, 8), q += 8;
        if (loff == 0xFFFFFFFFu && q + 8 <= x + 4 + sz) loff = le(b, q, 8);
      }
      x += 4 + sz;
    }
    p += 46 + nlen + xlen + clen;
    if (loff + 30 > b.size() || le(b, std::size_t(loff), 4) != 0x04034b50) fail("corrupt .npz: bad local header for \"" + name + "\"");
    const std::size_t data = std::size_t(loff) + 30 + std::size_t(le(b, std::size_t(loff) + 26, 2)) + std::size_t(le(b, std::size_t(loff) + 28, 2));
    if (data + csize > b.size()) fail("truncated .npz: member \"" + name + "\" runs past the end of the file");
    std::string bytes;
    if (method == 0) {
      bytes = b.substr(data, std::size_t(csize));
    } else if (method == 8) {
      if (usize > (std::uint64_t(1) << 36)) fail("member \"" + name + "\" is too large");
      bytes.resize(std::size_t(usize));
      z_stream zs{};
      if (inflateInit2(&zs, -15) != Z_OK) fail("zlib initialisation failed");
      zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(b.data() + data));
      zs.avail_in = uInt(csize);
      zs.next_out = reinterpret_cast<Bytef*>(bytes.data());
      zs.avail_out = uInt(usize);
      const int rc = inflate(&zs, Z_FINISH);
      const std::uint64_t produced = zs.total_out;
      inflateEnd(&zs);
      if (rc != Z_STREAM_END || produced != usize) fail("member \"" + name + "\": corrupt deflate stream");
    } else {
      fail("member \"" + name + "\" uses zip compression method " + std::to_string(method) + "; only stored and deflate are supported");
    }
    if (bytes.size() != usize) fail("member \"" + name + "\": size mismatch");
    const std::uint32_t got = std::uint32_t(crc32(0L, reinterpret_cast<const Bytef*>(bytes.data()), uInt(bytes.size())));
    if (got != crc) fail("member \"" + name + "\": CRC mismatch (corrupt archive)");
    if (name.size() > 4 && name.compare(name.size() - 4, 4, ".npy") == 0) name.resize(name.size() - 4);
    out.emplace_back(name, parse_npy(bytes, origin + ":" + name));
  }
  return out;
}

namespace {
void set_axis(const NpyArray* a, std::size_t n, double& v0, double& dv, const std::string& origin, const char* key) {
  if (!a) {
    v0 = 0;
    dv = 1;
    return;
  }
  if (a->shape.size() != 1 || a->data.size() != n)
    throw Error(origin + ": '" + key + "' must be 1-D with " + std::to_string(n) + " values (one per pixel), has " + std::to_string(a->data.size()));
  v0 = a->data[0];
  dv = n > 1 ? (a->data[n - 1] - a->data[0]) / double(n - 1) : 1.0;
  for (std::size_t i = 1; i < n; ++i)
    if (std::abs(a->data[i] - a->data[i - 1] - dv) > 1e-6 * std::abs(dv))
      throw Error(origin + ": '" + key + "' is not uniformly spaced");
}

void check_spectra(const NpyArray& s, const std::string& origin) {
  if (s.shape.size() != 3) {
    std::string sh;
    for (std::size_t v : s.shape) sh += (sh.empty() ? "" : ", ") + std::to_string(v);
    throw Error(origin + ": 'spectra' must be 3-D (ny, nx, n_points), has shape (" + sh + ")");
  }
  if (!s.text.empty()) throw Error(origin + ": 'spectra' must be numeric");
  std::size_t bad = 0;
  for (double v : s.data) bad += !std::isfinite(v);
  if (bad) throw Error(origin + ": " + std::to_string(bad) + " non-finite values in 'spectra'; replay needs complete data");
}
}  // namespace

Dataset read_npz(const std::filesystem::path& path) {
  const std::string origin = path.string();
  auto arrays = read_npz_arrays(path);
  std::map<std::string, const NpyArray*> by;
  for (const auto& [k, v] : arrays) by[k] = &v;
  auto get = [&](std::initializer_list<const char*> names) -> const NpyArray* {
    for (const char* n : names)
      if (by.count(n)) return by[n];
    return nullptr;
  };
  auto list = [&] {
    std::string s;
    for (const auto& [k, v] : arrays) s += (s.empty() ? "" : ", ") + k;
    return s;
  };
  const NpyArray* s = get({"spectra"});
  if (!s) throw Error(origin + ": no 'spectra' array (ny, nx, n_points); arrays present: " + list());
  check_spectra(*s, origin);
  const NpyArray* bias = get({"bias_v", "bias", "voltage"});
  if (!bias) throw Error(origin + ": no 'bias_v' array (the spectral axis, V); arrays present: " + list());
  Dataset d;
  d.source = origin;
  d.axes.ny = int(s->shape[0]);
  d.axes.nx = int(s->shape[1]);
  if (bias->shape.size() != 1 || bias->data.size() != s->shape[2])
    throw Error(origin + ": 'bias_v' has " + std::to_string(bias->data.size()) + " values but 'spectra' has " + std::to_string(s->shape[2]) +
                " points per spectrum");
  d.bias_v = bias->data;
  d.spectral_name = "bias";
  d.spectra = s->data;
  set_axis(get({"x_m"}), s->shape[1], d.axes.x0_m, d.axes.dx_m, origin, "x_m");
  set_axis(get({"y_m"}), s->shape[0], d.axes.y0_m, d.axes.dy_m, origin, "y_m");
  d.signal_name = "signal";
  d.signal_unit = "a.u.";
  if (const NpyArray* n = get({"signal_name"}); n && !n->text.empty()) d.signal_name = n->text[0];
  if (const NpyArray* u = get({"signal_unit"}); u && !u->text.empty()) d.signal_unit = u->text[0];
  for (const auto& [k, v] : arrays) {
    if (by[k] == s || by[k] == bias || k == "x_m" || k == "y_m" || k == "signal_name" || k == "signal_unit") continue;
    if (v.shape.size() == 2 && v.shape[0] == s->shape[0] && v.shape[1] == s->shape[1] && v.text.empty()) {
      d.channels.push_back(Channel{k, "a.u.", v.data});
    } else {
      std::string sh;
      for (std::size_t x : v.shape) sh += (sh.empty() ? "" : ", ") + std::to_string(x);
      throw Error(origin + ": array '" + k + "' has shape (" + sh + "); image channels must be (ny, nx) = (" + std::to_string(s->shape[0]) + ", " +
                  std::to_string(s->shape[1]) + ")");
    }
  }
  return d;
}

Dataset read_npy(const std::filesystem::path& path) {
  const std::string origin = path.string();
  NpyArray s = read_npy_array(path);
  check_spectra(s, origin);
  Dataset d;
  d.source = origin;
  d.axes.ny = int(s.shape[0]);
  d.axes.nx = int(s.shape[1]);
  d.axes.dx_m = d.axes.dy_m = 1.0;  // a bare .npy has no scale: pixel indices
  d.bias_v.resize(s.shape[2]);
  for (std::size_t k = 0; k < s.shape[2]; ++k) d.bias_v[k] = double(k);
  d.spectral_name = "index";
  d.spectral_unit = "1";
  d.signal_name = "signal";
  d.signal_unit = "a.u.";
  d.spectra = std::move(s.data);
  return d;
}

}  // namespace sdm::hardware::replay
