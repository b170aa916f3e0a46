// Igor binary wave reader on the real Asylum scan (shared/data/scan_0001.ibw) and on
// corrupted, byte-swapped and hand-written copies. Expected values come from the file's
// bytes, read here with a few lines that follow the published Igor layout (BinHeader5 is
// 64 bytes, WaveHeader5 320, data from byte 384, float32 column-major), not from the reader.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "core/error.hpp"
#include "hardware/decorators.hpp"
#include "hardware/igor/ibw.hpp"
#include "hardware_test_support.hpp"
#include "sdm_test_support.hpp"

using namespace sdm;
using namespace sdm::hardware;
using sdm::test::le_f32;
using sdm::test::le_f64;
using sdm::test::le_uint;

namespace {

template <class F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const sdm::Error& e) {
    return e.what();
  }
  return "(no error)";
}

/// Fixes the checksum (the 16-bit sum of the first n bytes must be 0; the field is the
/// short at `at`: 2 in version 5, 14 in version 2) in file byte order.
void fix_checksum(std::string& b, bool big, std::size_t n, std::size_t at = 2) {
  b[at] = b[at + 1] = 0;
  unsigned sum = 0;
  for (std::size_t i = 0; i < n; i += 2) {
    const unsigned lo = static_cast<unsigned char>(b[i + (big ? 1 : 0)]), hi = static_cast<unsigned char>(b[i + (big ? 0 : 1)]);
    sum += lo | (hi << 8);
  }
  const unsigned c = (0x10000 - (sum & 0xFFFF)) & 0xFFFF;
  b[at + (big ? 0 : 1)] = char(c >> 8);
  b[at + (big ? 1 : 0)] = char(c & 0xFF);
}

void swap_field(std::string& b, std::size_t off, int n) { std::reverse(b.begin() + std::ptrdiff_t(off), b.begin() + std::ptrdiff_t(off) + n); }

}  // namespace

TEST(Ibw, RealAsylumScanHeaderAndChannels) {
  const std::string raw = sdm::test::read_bytes(sdm::test::ibw_path());
  ASSERT_EQ(le_uint(raw, 0, 2), 5u);  // version 5, little-endian
  const std::size_t npnts = le_uint(raw, 64 + 12, 4);
  const int nx = int(le_uint(raw, 64 + 68, 4)), ny = int(le_uint(raw, 64 + 72, 4)), nl = int(le_uint(raw, 64 + 76, 4));
  ASSERT_EQ(std::size_t(nx) * ny * nl, npnts);

  const igor::IgorWave w = igor::read_ibw(sdm::test::ibw_path());
  EXPECT_EQ(w.version, 5);
  EXPECT_FALSE(w.big_endian);
  EXPECT_EQ(w.name, "image_after0001");
  EXPECT_EQ(w.type, 2);  // float32
  EXPECT_EQ(w.dims[0], 256);
  EXPECT_EQ(w.dims[1], 256);
  EXPECT_EQ(w.dims[2], 6);
  EXPECT_EQ(w.points(), npnts);
  EXPECT_EQ(w.dim_units[0], "m");
  EXPECT_DOUBLE_EQ(w.sf_a[0], le_f64(raw, 64 + 84));
  const auto notes = w.note_fields();
  EXPECT_EQ(notes.at("ScanSize"), "5e-06");
  EXPECT_EQ(notes.at("ImagingMode"), "PFM Mode");
  EXPECT_EQ(notes.at("ScanPoints"), "256");

  const SurveyImage img = igor::to_survey(w, "scan_0001.ibw");
  EXPECT_EQ(img.axes.nx, 256);
  EXPECT_EQ(img.axes.ny, 256);
  // Pixel pitch: the note's ScanSize over 255 intervals, independently of the wave scaling.
  EXPECT_NEAR(img.axes.dx_m, 5e-6 / 255, 1e-20);
  EXPECT_NEAR(img.axes.dy_m, 5e-6 / 255, 1e-20);
  EXPECT_DOUBLE_EQ(img.axes.x0_m, 0.0);
  const std::vector<std::string> names = {"HeightRetrace", "Amplitude1Retrace", "Amplitude2Retrace", "Phase1Retrace", "Phase2Retrace", "FrequencyRetrace"};
  ASSERT_EQ(img.channels.size(), names.size());
  for (std::size_t k = 0; k < names.size(); ++k) EXPECT_EQ(img.channels[k].name, names[k]);
  EXPECT_EQ(img.find("HeightRetrace")->unit, "m");
  EXPECT_EQ(img.find("Amplitude1Retrace")->unit, "m");
  EXPECT_EQ(img.find("Phase1Retrace")->unit, "deg");
  EXPECT_EQ(img.find("FrequencyRetrace")->unit, "Hz");
  EXPECT_EQ(igor::topography_channel(img), "HeightRetrace");

  // Values at known indices: column-major, x (rows) fastest → offset 384 + 4·(ix + 256·(iy + 256·layer)).
  struct At { int layer, ix, iy; };
  for (const At a : {At{0, 0, 0}, At{0, 2, 0}, At{1, 7, 5}, At{3, 255, 255}, At{5, 100, 31}, At{2, 17, 200}}) {
    const std::size_t idx = std::size_t(a.ix) + 256 * (std::size_t(a.iy) + 256 * std::size_t(a.layer));
    const double want = le_f32(raw, 384 + 4 * idx);
    EXPECT_EQ(img.channels[std::size_t(a.layer)].data[std::size_t(a.iy) * 256 + a.ix], want) << a.layer << " " << a.ix << " " << a.iy;
    EXPECT_EQ(w.at(a.ix, a.iy, a.layer), want);
  }
  // The same values as printed once with numpy (np.frombuffer(..., '<f4', offset=384)).
  EXPECT_FLOAT_EQ(float(img.channels[0].data[0]), -1.3563522e-08f);
  EXPECT_FLOAT_EQ(float(img.channels[1].data[5 * 256 + 7]), 2.1229112e-10f);
  EXPECT_FLOAT_EQ(float(img.channels[3].data[255 * 256 + 255]), 32.03302f);
  // Plausible ranges per channel (height tens of nm, phase in degrees, drive ~375 kHz).
  const auto [hlo, hhi] = std::minmax_element(img.channels[0].data.begin(), img.channels[0].data.end());
  EXPECT_GT(*hlo, -1e-6);
  EXPECT_LT(*hhi, 1e-6);
  const auto [flo, fhi] = std::minmax_element(img.channels[5].data.begin(), img.channels[5].data.end());
  EXPECT_GT(*flo, 3e5);
  EXPECT_LT(*fhi, 4e5);
}

TEST(Ibw, SurveyDecoratorServesTheFileWithTopographyAlias) {
  const SurveyImage img = igor::read_survey(sdm::test::ibw_path());
  SurveySpec spec;
  spec.channels = {"topography", "Phase1Retrace"};
  const SurveyImage s = select_survey(img, spec, "scan");
  ASSERT_EQ(s.channels.size(), 2u);
  EXPECT_EQ(s.channels[0].name, "topography");
  EXPECT_EQ(s.channels[0].data, img.find("HeightRetrace")->data);
  spec.channels = {"Current"};
  try {
    select_survey(img, spec, "scan_0001.ibw");
    FAIL() << "unknown channel accepted";
  } catch (const CallError& e) {
    EXPECT_EQ(e.code(), StatusCode::refused);
    EXPECT_NE(std::string(e.what()).find("HeightRetrace"), std::string::npos) << e.what();
  }
}

TEST(Ibw, BigEndianCopyReadsTheSame) {
  std::string b = sdm::test::read_bytes(sdm::test::ibw_path());
  const std::size_t n = le_uint(b, 64 + 12, 4);
  // BinHeader5: version, checksum (shorts), then 15 longs.
  swap_field(b, 0, 2);
  for (std::size_t off = 4; off < 64; off += 4) swap_field(b, off, 4);
  // WaveHeader5 numeric fields used by readers.
  for (std::size_t off : {4, 8, 12}) swap_field(b, 64 + off, 4);
  swap_field(b, 64 + 16, 2);  // type
  for (int d = 0; d < 4; ++d) swap_field(b, 64 + 68 + 4 * std::size_t(d), 4);
  for (int d = 0; d < 8; ++d) swap_field(b, 64 + 84 + 8 * std::size_t(d), 8);  // sfA, sfB
  for (std::size_t i = 0; i < n; ++i) swap_field(b, 384 + 4 * i, 4);
  fix_checksum(b, true, 384);
  sdm::test::TempDir dir;
  sdm::test::write_bytes(dir / "be.ibw", b);
  const igor::IgorWave be = igor::read_ibw(dir / "be.ibw");
  const igor::IgorWave le = igor::read_ibw(sdm::test::ibw_path());
  EXPECT_TRUE(be.big_endian);
  EXPECT_EQ(be.dims, le.dims);
  EXPECT_EQ(be.sf_a, le.sf_a);
  EXPECT_EQ(be.data, le.data);
  EXPECT_EQ(be.dim_labels[2], le.dim_labels[2]);
}

TEST(Ibw, Version2WaveWrittenByHand) {
  // BinHeader2 (16 bytes) + WaveHeader2 (110 bytes) + 5 float64 + 16 bytes padding + note.
  const std::string note = "Who: test\rScanSize: 1e-06";
  const std::size_t n = 5, wfm = 110 + 8 * n + 16;
  std::string b(16 + wfm + note.size(), '\0');
  auto put = [&](std::size_t off, std::uint64_t v, int bytes) {
    for (int i = 0; i < bytes; ++i) b[off + std::size_t(i)] = char((v >> (8 * i)) & 0xFF);
  };
  auto put_f64 = [&](std::size_t off, double d) {
    std::uint64_t u;
    std::memcpy(&u, &d, 8);
    put(off, u, 8);
  };
  put(0, 2, 2);
  put(2, wfm, 4);
  put(6, note.size(), 4);
  put(16 + 0, 4, 2);  // NT_FP64
  std::memcpy(&b[16 + 6], "ramp", 4);
  std::memcpy(&b[16 + 34], "A", 1);
  std::memcpy(&b[16 + 38], "s", 1);
  put(16 + 42, n, 4);
  put_f64(16 + 48, 0.5);   // hsA
  put_f64(16 + 56, -1.0);  // hsB
  for (std::size_t i = 0; i < n; ++i) put_f64(126 + 8 * i, 1e-9 * double(i * i));
  std::memcpy(&b[16 + wfm], note.data(), note.size());
  fix_checksum(b, false, 126, 14);
  sdm::test::TempDir dir;
  sdm::test::write_bytes(dir / "v2.ibw", b);
  const igor::IgorWave w = igor::read_ibw(dir / "v2.ibw");
  EXPECT_EQ(w.version, 2);
  EXPECT_EQ(w.name, "ramp");
  EXPECT_EQ(w.data_units, "A");
  EXPECT_EQ(w.dim_units[0], "s");
  EXPECT_DOUBLE_EQ(w.sf_a[0], 0.5);
  EXPECT_DOUBLE_EQ(w.sf_b[0], -1.0);
  ASSERT_EQ(w.data.size(), n);
  for (std::size_t i = 0; i < n; ++i) EXPECT_DOUBLE_EQ(w.data[i], 1e-9 * double(i * i));
  EXPECT_EQ(w.note_fields().at("Who"), "test");
  // 1-D: not a survey image.
  EXPECT_NE(error_of([&] { igor::to_survey(w, "v2.ibw"); }).find("not an image"), std::string::npos);
  // Truncated version-2 data.
  sdm::test::write_bytes(dir / "v2t.ibw", b.substr(0, 140));
  EXPECT_NE(error_of([&] { igor::read_ibw(dir / "v2t.ibw"); }).find("truncated"), std::string::npos);
}

TEST(Ibw, CorruptAndTruncatedCopiesNameTheFileAndTheProblem) {
  const std::string b = sdm::test::read_bytes(sdm::test::ibw_path());
  sdm::test::TempDir dir;
  struct Case {
    std::string name, bytes, expect;
  };
  std::string flipped = b;
  flipped[64 + 70] ^= 0x10;  // nDim[0] changes: checksum no longer 0
  std::string bad_dims = b;  // consistent checksum but npnts ≠ product of dims
  bad_dims[64 + 68] = char(255);
  fix_checksum(bad_dims, false, 384);
  const std::size_t note_off = 64 + le_uint(b, 4, 4) + le_uint(b, 8, 4);
  const std::vector<Case> cases = {
      {"empty.ibw", "", "too short"},
      {"text.ibw", "hello, this is not a wave at all", "not an Igor binary wave"},
      {"header_only.ibw", b.substr(0, 200), "truncated"},
      {"half_data.ibw", b.substr(0, 384 + 700000), "wave data"},
      {"no_note.ibw", b.substr(0, note_off + 100), "wave note"},
      {"flipped.ibw", flipped, "checksum"},
      {"bad_dims.ibw", bad_dims, "npnts"},
  };
  for (const Case& c : cases) {
    sdm::test::write_bytes(dir / c.name, c.bytes);
    const std::string msg = error_of([&] { igor::read_ibw(dir / c.name); });
    EXPECT_NE(msg.find(c.name), std::string::npos) << c.name << ": " << msg;
    EXPECT_NE(msg.find(c.expect), std::string::npos) << c.name << ": " << msg;
  }
  EXPECT_NE(error_of([&] { igor::read_ibw(dir / "missing.ibw"); }).find("not found"), std::string::npos);
}
