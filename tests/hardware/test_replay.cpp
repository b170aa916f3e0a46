// Replay datasets and the replay backend.
// NSID: the real BEPS file (shared/data/BEPS_PTO_50x50.h5). Its main dataset and scales
// are contiguous float64 in an HDF5 1.8-style file; the expected values here are read
// straight from the file bytes at their storage offsets (found once with H5Dget_offset and
// cross-checked with numpy.frombuffer): data (X=50, Y=50, Voltage=64) at byte 9112, X at
// 1289112, Y at 1289512, Voltage at 1289912. NumPy: fixtures written by real numpy
// (tests/hardware/data/make_fixtures.py, closed-form values) and files written here.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <nlohmann/json.hpp>

#include "core/error.hpp"
#include "hardware/backend_factory.hpp"
#include "hardware/replay/dataset.hpp"
#include "hardware/replay/replay_backend.hpp"
#include "hardware_test_support.hpp"
#include "sdm_test_support.hpp"

using namespace sdm;
using namespace sdm::hardware;
using sdm::test::le_f64;

namespace {

constexpr std::size_t kData = 9112, kX = 1289112, kY = 1289512, kV = 1289912;

template <class F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const sdm::Error& e) {
    return e.what();
  }
  return "(no error)";
}

/// BEPS raw value at (ix, iy, k): the file's dimension order is (X, Y, Voltage).
double beps_raw(const std::string& b, int ix, int iy, int k) { return le_f64(b, kData + 8 * (std::size_t(ix) * 50 * 64 + std::size_t(iy) * 64 + k)); }

std::filesystem::path fixture(const std::string& name) { return std::filesystem::path(SDM_SOURCE_DIR) / "tests/hardware/data" / name; }

// A minimal .npy (format 1.0) writer and a stored .zip writer with its own CRC-32.
std::string npy_bytes(const std::string& descr, const std::vector<std::size_t>& shape, const std::string& payload, bool fortran = false) {
  std::string sh = "(";
  for (std::size_t s : shape) sh += std::to_string(s) + ",";
  sh += ")";
  std::string h = "{'descr': '" + descr + "', 'fortran_order': " + (fortran ? "True" : "False") + ", 'shape': " + sh + ", }";
  while ((10 + h.size() + 1) % 64) h += ' ';
  h += '\n';
  std::string out = "\x93NUMPY";
  out += char(1);
  out += char(0);
  out += char(h.size() & 0xFF);
  out += char(h.size() >> 8);
  return out + h + payload;
}
std::string f8(const std::vector<double>& v) {
  std::string s(v.size() * 8, '\0');
  std::memcpy(s.data(), v.data(), s.size());
  return s;
}
std::uint32_t crc32_ref(const std::string& s) {
  std::uint32_t c = 0xFFFFFFFFu;
  for (unsigned char ch : s) {
    c ^= ch;
    for (int k = 0; k < 8; ++k) c = (c >> 1) ^ (0xEDB88320u & (0u - (c & 1u)));
  }
  return ~c;
}
std::string zip_stored(const std::vector<std::pair<std::string, std::string>>& members) {
  std::string out, cd;
  auto put = [](std::string& s, std::uint64_t v, int n) {
    for (int i = 0; i < n; ++i) s += char((v >> (8 * i)) & 0xFF);
  };
  for (const auto& [name, data] : members) {
    const std::size_t off = out.size();
    const std::uint32_t crc = crc32_ref(data);
    put(out, 0x04034b50, 4), put(out, 20, 2), put(out, 0, 2), put(out, 0, 2), put(out, 0, 4), put(out, crc, 4);
    put(out, data.size(), 4), put(out, data.size(), 4), put(out, name.size(), 2), put(out, 0, 2);
    out += name + data;
    put(cd, 0x02014b50, 4), put(cd, 20, 2), put(cd, 20, 2), put(cd, 0, 2), put(cd, 0, 2), put(cd, 0, 4), put(cd, crc, 4);
    put(cd, data.size(), 4), put(cd, data.size(), 4), put(cd, name.size(), 2), put(cd, 0, 2), put(cd, 0, 2), put(cd, 0, 2);
    put(cd, 0, 2), put(cd, 0, 4), put(cd, off, 4);
    cd += name;
  }
  const std::size_t cd_off = out.size();
  out += cd;
  put(out, 0x06054b50, 4), put(out, 0, 2), put(out, 0, 2), put(out, members.size(), 2), put(out, members.size(), 2);
  put(out, cd.size(), 4), put(out, cd_off, 4), put(out, 0, 2);
  return out;
}

}  // namespace

// ------------------------------------------------------------------ NSID (real BEPS file)

TEST(Nsid, RealBepsShapesAxesUnitsAndValues) {
  const std::string raw = sdm::test::read_bytes(sdm::test::beps_path());
  const replay::Dataset d = replay::read_nsid(sdm::test::beps_path());
  EXPECT_EQ(d.nx(), 50);
  EXPECT_EQ(d.ny(), 50);
  ASSERT_EQ(d.n_points(), 64u);
  EXPECT_EQ(d.signal_name, "Piezoresponse");
  EXPECT_EQ(d.signal_unit, "a.u.");
  EXPECT_EQ(d.spectral_name, "Voltage");
  EXPECT_EQ(d.spectral_unit, "V");
  // Axes: uniform, from the X/Y scales in metres (0 .. 2 µm in 49 steps).
  EXPECT_DOUBLE_EQ(d.axes.x0_m, le_f64(raw, kX));
  EXPECT_NEAR(d.axes.dx_m, (le_f64(raw, kX + 8 * 49) - le_f64(raw, kX)) / 49, 1e-22);
  EXPECT_NEAR(d.axes.dy_m, (le_f64(raw, kY + 8 * 49) - le_f64(raw, kY)) / 49, 1e-22);
  EXPECT_NEAR(d.axes.dx_m, 2e-6 / 49, 1e-20);
  for (int k = 0; k < 64; ++k) EXPECT_EQ(d.bias_v[std::size_t(k)], le_f64(raw, kV + 8 * std::size_t(k)));
  // The bias programme printed once with numpy: 0 → 8.5 → −8.5 → −0.53125 V in 0.53125 V steps.
  EXPECT_DOUBLE_EQ(d.bias_v[16], 8.5);
  EXPECT_DOUBLE_EQ(d.bias_v[48], -8.5);
  EXPECT_DOUBLE_EQ(d.bias_v[63], -0.53125);
  // Values at known indices: pixel (ix, iy) holds file element [ix][iy][:].
  struct P { int ix, iy, k; };
  for (const P p : {P{0, 0, 0}, P{3, 7, 10}, P{49, 0, 63}, P{0, 49, 0}, P{12, 34, 40}, P{49, 49, 17}})
    EXPECT_EQ(d.spectrum(p.ix, p.iy)[p.k], beps_raw(raw, p.ix, p.iy, p.k)) << p.ix << "," << p.iy << "," << p.k;
  EXPECT_DOUBLE_EQ(d.spectrum(3, 7)[10], -2.543150993632804e-05);  // as printed by numpy
  EXPECT_DOUBLE_EQ(d.spectrum(49, 0)[63], -0.003413636642964072);
}

TEST(Nsid, MeanStructureImageAndLoadDataset) {
  const std::string raw = sdm::test::read_bytes(sdm::test::beps_path());
  const replay::Dataset d = replay::load_dataset(sdm::test::beps_path(), "auto", "mean");
  EXPECT_EQ(d.structure_channel, "mean");
  const Channel& m = d.structure();
  EXPECT_EQ(m.data.size(), 2500u);
  for (const auto& [ix, iy] : {std::pair{0, 0}, std::pair{4, 0}, std::pair{20, 31}}) {
    double s = 0;
    for (int k = 0; k < 64; ++k) s += beps_raw(raw, ix, iy, k);
    EXPECT_NEAR(m.data[std::size_t(iy) * 50 + ix], s / 64, 1e-15) << ix << "," << iy;
  }
  EXPECT_NEAR(m.data[4 * 50 + 0], 0.00707563, 1e-8);  // numpy: d.mean(axis=2)[0, 4]
  // Other derived images and a wrong name.
  replay::Dataset r = replay::read_nsid(sdm::test::beps_path());
  replay::set_structure_channel(r, "range");
  double lo = 1e9, hi = -1e9;
  for (int k = 0; k < 64; ++k) lo = std::min(lo, beps_raw(raw, 5, 6, k)), hi = std::max(hi, beps_raw(raw, 5, 6, k));
  EXPECT_DOUBLE_EQ(r.structure().data[6 * 50 + 5], hi - lo);
  EXPECT_NE(error_of([&] { replay::set_structure_channel(r, "median"); }).find("mean, std"), std::string::npos);
  // Explicit dataset path, and a wrong one.
  replay::NsidOptions o;
  o.dataset = "/Channel_000/generic/generic";
  EXPECT_EQ(replay::read_nsid(sdm::test::beps_path(), o).nx(), 50);
  o.dataset = "/Channel_000/nope";
  EXPECT_NE(error_of([&] { replay::read_nsid(sdm::test::beps_path(), o); }).find("no dataset \"/Channel_000/nope\""), std::string::npos);
}

TEST(Nsid, CorruptCopiesGiveMessagesNamingFileAndProblem) {
  const std::string b = sdm::test::read_bytes(sdm::test::beps_path());
  sdm::test::TempDir dir;
  // 1. Dimension scales detached: rename the DIMENSION_LIST attribute (same length).
  std::string no_scales = b;
  const std::size_t at = no_scales.find("DIMENSION_LIST");
  ASSERT_NE(at, std::string::npos);
  no_scales.replace(at, 14, "DIMENSION_LIS_");
  sdm::test::write_bytes(dir / "no_scales.h5", no_scales);
  std::string msg = error_of([&] { replay::read_nsid(dir / "no_scales.h5"); });
  EXPECT_NE(msg.find("no_scales.h5"), std::string::npos) << msg;
  EXPECT_NE(msg.find("no dimension scales"), std::string::npos) << msg;
  // 2. The spectral axis relabelled SPATIAL: three spatial dimensions, none spectral.
  std::string relabelled = b;
  std::size_t n = 0;
  for (std::size_t p = 0; (p = relabelled.find("SPECTRAL", p)) != std::string::npos; p += 8) {
    if (relabelled[p + 8] == '_') continue;  // SPECTRAL_IMAGE is the data type, keep it
    relabelled.replace(p, 8, std::string("SPATIAL\0", 8));
    ++n;
  }
  ASSERT_GE(n, 1u);
  sdm::test::write_bytes(dir / "relabelled.h5", relabelled);
  msg = error_of([&] { replay::read_nsid(dir / "relabelled.h5"); });
  EXPECT_NE(msg.find("relabelled.h5"), std::string::npos) << msg;
  EXPECT_NE(msg.find("two SPATIAL dimensions and one SPECTRAL"), std::string::npos) << msg;
  // 3. Truncated (the data block cut), 4. not HDF5 at all, 5. missing.
  sdm::test::write_bytes(dir / "truncated.h5", b.substr(0, 200000));
  msg = error_of([&] { replay::read_nsid(dir / "truncated.h5"); });
  EXPECT_NE(msg.find("truncated.h5"), std::string::npos) << msg;
  EXPECT_NE(msg.find("truncated"), std::string::npos) << msg;
  sdm::test::write_bytes(dir / "text.h5", "just text");
  msg = error_of([&] { replay::read_nsid(dir / "text.h5"); });
  EXPECT_NE(msg.find("not an HDF5 file"), std::string::npos) << msg;
  msg = error_of([&] { replay::load_dataset(dir / "absent.h5"); });
  EXPECT_NE(msg.find("not found"), std::string::npos) << msg;
}

// ------------------------------------------------------------------ NumPy

TEST(Numpy, RealNumpyFixturesCompressedAndStored) {
  for (const char* f : {"small_compressed.npz", "small_stored.npz"}) {
    const replay::Dataset d = replay::load_dataset(fixture(f), "auto", "height");
    EXPECT_EQ(d.nx(), 3) << f;
    EXPECT_EQ(d.ny(), 4);
    ASSERT_EQ(d.n_points(), 5u);
    EXPECT_EQ(d.signal_name, "current");
    EXPECT_EQ(d.signal_unit, "A");
    EXPECT_DOUBLE_EQ(d.axes.x0_m, 0.0);
    EXPECT_NEAR(d.axes.dx_m, 1e-7, 1e-22);
    EXPECT_NEAR(d.axes.y0_m, 1e-6, 1e-21);
    EXPECT_NEAR(d.axes.dy_m, 2e-7, 1e-21);
    for (int k = 0; k < 5; ++k) EXPECT_DOUBLE_EQ(d.bias_v[std::size_t(k)], -1 + 0.5 * k);
    for (int iy = 0; iy < 4; ++iy)
      for (int ix = 0; ix < 3; ++ix) {
        for (int k = 0; k < 5; ++k) EXPECT_DOUBLE_EQ(d.spectrum(ix, iy)[k], 0.5 * (iy * 15 + ix * 5 + k));
        EXPECT_DOUBLE_EQ(d.structure().data[std::size_t(iy) * 3 + ix], 1e-9 * (ix + 10 * iy));
      }
  }
}

TEST(Numpy, NpyDtypesOrdersAndFortranLayout) {
  // Big-endian float32, Fortran order, written by numpy.
  const replay::NpyArray a = replay::read_npy_array(fixture("spectra_fortran_f4be.npy"));
  ASSERT_EQ(a.shape, (std::vector<std::size_t>{4, 3, 5}));
  for (int iy = 0; iy < 4; ++iy)
    for (int ix = 0; ix < 3; ++ix)
      for (int k = 0; k < 5; ++k) EXPECT_DOUBLE_EQ(a.data[(std::size_t(iy) * 3 + ix) * 5 + k], 0.5 * (iy * 15 + ix * 5 + k));
  // A bare .npy dataset: pixel-index axes.
  const replay::Dataset d = replay::load_dataset(fixture("spectra_fortran_f4be.npy"), "npy", "mean");
  EXPECT_EQ(d.nx(), 3);
  EXPECT_DOUBLE_EQ(d.axes.dx_m, 1.0);
  EXPECT_DOUBLE_EQ(d.structure().data[0], 0.5 * 2);  // mean of 0, 0.5, …, 2
  // Hand-written little-endian int16 2-D.
  std::string p;
  for (std::int16_t v : {std::int16_t(-3), std::int16_t(7), std::int16_t(300), std::int16_t(-32768)}) p.append(reinterpret_cast<const char*>(&v), 2);
  const replay::NpyArray i = replay::parse_npy(npy_bytes("<i2", {2, 2}, p), "mem");
  EXPECT_EQ(i.data, (std::vector<double>{-3, 7, 300, -32768}));
  EXPECT_NE(error_of([&] { replay::parse_npy(npy_bytes("<c16", {1}, std::string(16, '\0')), "mem"); }).find("unsupported"), std::string::npos);
  EXPECT_NE(error_of([&] { replay::parse_npy(npy_bytes("<f8", {4}, f8({1, 2, 3})), "mem"); }).find("truncated"), std::string::npos);
  EXPECT_NE(error_of([&] { replay::parse_npy("garbage!!!!!", "mem"); }).find("bad magic"), std::string::npos);
}

TEST(Numpy, HandWrittenNpzAndItsFaults) {
  sdm::test::TempDir dir;
  std::vector<double> spectra(2 * 2 * 3);
  for (std::size_t i = 0; i < spectra.size(); ++i) spectra[i] = double(i);
  const std::string good_spectra = npy_bytes("<f8", {2, 2, 3}, f8(spectra));
  const std::string bias = npy_bytes("<f8", {3}, f8({0, 1, 2}));
  sdm::test::write_bytes(dir / "ok.npz", zip_stored({{"spectra.npy", good_spectra}, {"bias_v.npy", bias}}));
  const replay::Dataset d = replay::load_dataset(dir / "ok.npz", "auto", "max");
  EXPECT_EQ(d.signal_name, "signal");
  EXPECT_DOUBLE_EQ(d.structure().data[3], 11.0);
  EXPECT_DOUBLE_EQ(d.spectrum(1, 0)[2], 5.0);

  struct Case {
    std::string name, bytes, expect;
  };
  std::string crc_bad = zip_stored({{"spectra.npy", good_spectra}, {"bias_v.npy", bias}});
  crc_bad[60] ^= 1;  // inside the first member's data
  const std::vector<Case> cases = {
      {"wrong_bias.npz", zip_stored({{"spectra.npy", good_spectra}, {"bias_v.npy", npy_bytes("<f8", {4}, f8({0, 1, 2, 3}))}}), "'bias_v' has 4 values but 'spectra' has 3"},
      {"flat.npz", zip_stored({{"spectra.npy", npy_bytes("<f8", {12}, f8(spectra))}, {"bias_v.npy", bias}}), "must be 3-D"},
      {"no_spectra.npz", zip_stored({{"bias_v.npy", bias}}), "no 'spectra' array"},
      {"bad_image.npz", zip_stored({{"spectra.npy", good_spectra}, {"bias_v.npy", bias}, {"h.npy", npy_bytes("<f8", {3}, f8({1, 2, 3}))}}), "image channels must be (ny, nx)"},
      {"crc.npz", crc_bad, "CRC mismatch"},
      {"cut.npz", zip_stored({{"spectra.npy", good_spectra}, {"bias_v.npy", bias}}).substr(0, 150), "end-of-central-directory"},
  };
  for (const Case& c : cases) {
    sdm::test::write_bytes(dir / c.name, c.bytes);
    const std::string msg = error_of([&] { replay::load_dataset(dir / c.name); });
    EXPECT_NE(msg.find(c.name), std::string::npos) << c.name << ": " << msg;
    EXPECT_NE(msg.find(c.expect), std::string::npos) << c.name << ": " << msg;
  }
  EXPECT_NE(error_of([&] { replay::load_dataset(dir / "x.tiff"); }).find("cannot tell the dataset format"), std::string::npos);
}

// ------------------------------------------------------------------ the replay backend

TEST(ReplayBackend, SweepReturnsTheRecordedSpectrumAtTheNearestPixel) {
  const std::string raw = sdm::test::read_bytes(sdm::test::beps_path());
  auto data = std::make_shared<const replay::Dataset>(replay::load_dataset(sdm::test::beps_path()));
  Microscope scope(std::make_unique<replay::ReplayBackend>(data));
  const double dx = 2e-6 / 49;
  // Slightly off pixel (3, 7): snaps to it.
  auto pos = scope.move_to(3 * dx + 0.3 * dx, 7 * dx - 0.4 * dx);
  ASSERT_TRUE(pos.ok()) << pos.status.message;
  EXPECT_NEAR(pos.value.x_m, 3 * dx, 1e-18);
  EXPECT_NEAR(pos.value.y_m, 7 * dx, 1e-18);
  auto iv = scope.iv_sweep(core::Waveform::triangle());
  ASSERT_TRUE(iv.ok()) << iv.status.message;
  ASSERT_EQ(iv.value.size(), 64u);
  for (int k = 0; k < 64; ++k) {
    EXPECT_EQ(iv.value.current_a[std::size_t(k)], beps_raw(raw, 3, 7, k));
    EXPECT_EQ(iv.value.bias_v[std::size_t(k)], le_f64(raw, kV + 8 * std::size_t(k)));
    // Constant 0.53125 V steps played at 1 V/s.
    EXPECT_NEAR(iv.value.time_s[std::size_t(k)], 0.53125 * k, 1e-12);
  }
  auto st = scope.status();
  ASSERT_TRUE(st.ok());
  EXPECT_NEAR(st.value.instrument_clock_s, 0.53125 * 63, 1e-12);
  EXPECT_NEAR(st.value.position.x_m, 3 * dx, 1e-18);
  // Capabilities name the recorded signal and the native programme.
  auto caps = scope.capabilities();
  ASSERT_TRUE(caps.ok());
  EXPECT_EQ(caps.value.signal_name, "Piezoresponse");
  EXPECT_EQ(caps.value.signal_unit, "a.u.");
  EXPECT_DOUBLE_EQ(caps.value.max_bias_v, 8.5);
  EXPECT_EQ(caps.value.native_waveform.bias_v, iv.value.bias_v);
  EXPECT_NEAR(caps.value.x_max_m, 2e-6, 1e-18);
  // Off the grid: refused; invalid waveform: refused.
  auto off = scope.move_to(3e-6, 0);
  EXPECT_EQ(off.status.code, StatusCode::refused);
  EXPECT_NE(off.status.message.find("off the recorded grid"), std::string::npos) << off.status.message;
  core::Waveform bad;
  bad.time_s = {0, 0};
  bad.bias_v = {0, 1};
  EXPECT_EQ(scope.iv_sweep(bad).status.code, StatusCode::refused);
}

TEST(ReplayBackend, SurveyTopographyIsTheStructureImage) {
  auto data = std::make_shared<const replay::Dataset>(replay::load_dataset(sdm::test::beps_path(), "nsid", "std"));
  replay::ReplayBackend b(data);
  SurveySpec spec;  // default: {"topography"}
  const SurveyImage s = b.survey(spec);
  ASSERT_EQ(s.channels.size(), 1u);
  EXPECT_EQ(s.channels[0].name, "topography");
  EXPECT_EQ(s.channels[0].data, data->find("std")->data);
  EXPECT_EQ(s.axes.nx, 50);
  spec.channels = {"std", "topography"};
  spec.nx = spec.ny = 99;  // resampled: corners keep their values (bilinear through the grid)
  const SurveyImage r = b.survey(spec);
  EXPECT_EQ(r.axes.nx, 99);
  EXPECT_NEAR(r.axes.dx_m * 98, data->axes.dx_m * 49, 1e-18);
  EXPECT_DOUBLE_EQ(r.channels[0].data[0], data->find("std")->data[0]);
  EXPECT_DOUBLE_EQ(r.channels[0].data[99 * 99 - 1], data->find("std")->data[2499]);
  // Midpoint between pixels (0,0) and (1,0) is their average.
  EXPECT_NEAR(r.channels[0].data[1], 0.5 * (data->find("std")->data[0] + data->find("std")->data[1]), 1e-15);
  spec.channels = {"current"};
  try {
    b.survey(spec);
    FAIL() << "unknown channel served";
  } catch (const CallError& e) {
    EXPECT_EQ(e.code(), StatusCode::refused);
  }
}

TEST(ReplayBackend, FactoryBuildsReplayFromBackendConfig) {
  BackendConfig c;
  c.kind = "replay";
  c.path = sdm::test::beps_path().string();
  c.image_channel = "mean";
  auto d = load_replay_dataset(c);
  EXPECT_EQ(d->structure_channel, "mean");
  auto rb = make_replay_backend(c);
  auto grid = rb->shared_dataset();  // what the harness keeps as ground truth
  EXPECT_EQ(grid->n_pixels() * grid->n_points(), 50u * 50u * 64u);
  sdm::test::TempDir dir;
  Microscope scope(wrap_backend(make_backend(c), c, {dir.path(), true}));
  EXPECT_TRUE(scope.move_to(1e-6, 1e-6).ok());
  auto iv = scope.iv_sweep(core::Waveform::triangle(1.5, 251, 1.0));
  EXPECT_TRUE(iv.ok()) << iv.status.message;
  EXPECT_TRUE(std::filesystem::exists(dir / "journal.log"));
  c.kind = "twin";
  EXPECT_NE(error_of([&] { make_backend(c); }).find("make_twin_backend"), std::string::npos);
  c.kind = "replay";
  c.path = (dir / "nothing.h5").string();
  EXPECT_NE(error_of([&] { make_backend(c); }).find("not found"), std::string::npos);
}
