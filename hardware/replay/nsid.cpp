// pycroscopy / sidpy NSID HDF5 reader (HDF5 C API; dimension scales read from the
// DIMENSION_LIST attribute directly, so only libhdf5 is needed).
#include <hdf5.h>

#include <algorithm>
#include <cmath>
#include <optional>

#include "core/error.hpp"
#include "hardware/replay/dataset.hpp"

namespace sdm::hardware::replay {
namespace {

/// Closes an HDF5 identifier with the right function when it goes out of scope.
class Id {
 public:
  Id() = default;
  explicit Id(hid_t id) : id_(id) {}
  Id(const Id&) = delete;
  Id& operator=(const Id&) = delete;
  Id(Id&& o) noexcept : id_(o.id_) { o.id_ = -1; }
  Id& operator=(Id&& o) noexcept {
    std::swap(id_, o.id_);
    return *this;
  }
  ~Id() {
    if (id_ < 0) return;
    switch (H5Iget_type(id_)) {
      case H5I_FILE: H5Fclose(id_); break;
      case H5I_GROUP: H5Gclose(id_); break;
      case H5I_DATASET: H5Dclose(id_); break;
      case H5I_ATTR: H5Aclose(id_); break;
      case H5I_DATATYPE: H5Tclose(id_); break;
      case H5I_DATASPACE: H5Sclose(id_); break;
      default: H5Idec_ref(id_); break;
    }
  }
  hid_t get() const { return id_; }
  bool valid() const { return id_ >= 0; }

 private:
  hid_t id_ = -1;
};

/// Silences HDF5's own error printing for the reader's lifetime (we report our own).
class QuietHdf5 {
 public:
  QuietHdf5() {
    H5Eget_auto2(H5E_DEFAULT, &func_, &data_);
    H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
  }
  ~QuietHdf5() { H5Eset_auto2(H5E_DEFAULT, func_, data_); }

 private:
  H5E_auto2_t func_ = nullptr;
  void* data_ = nullptr;
};

/// String attribute (fixed or variable length, any charset; first element of an array).
std::optional<std::vector<std::string>> read_string_attr(hid_t obj, const char* name) {
  if (H5Aexists(obj, name) <= 0) return std::nullopt;
  Id a(H5Aopen(obj, name, H5P_DEFAULT));
  if (!a.valid()) return std::nullopt;
  Id t(H5Aget_type(a.get()));
  if (H5Tget_class(t.get()) != H5T_STRING) return std::nullopt;
  Id sp(H5Aget_space(a.get()));
  const hssize_t n = H5Sget_simple_extent_npoints(sp.get());
  if (n <= 0) return std::vector<std::string>{};
  std::vector<std::string> out;
  if (H5Tis_variable_str(t.get()) > 0) {
    Id mt(H5Tcopy(H5T_C_S1));
    H5Tset_size(mt.get(), H5T_VARIABLE);
    H5Tset_cset(mt.get(), H5Tget_cset(t.get()));
    std::vector<char*> v(std::size_t(n), nullptr);
    if (H5Aread(a.get(), mt.get(), v.data()) < 0) return std::nullopt;
    for (char* s : v) out.emplace_back(s ? s : "");
    H5Dvlen_reclaim(mt.get(), sp.get(), H5P_DEFAULT, v.data());
  } else {
    const std::size_t sz = H5Tget_size(t.get());
    std::string buf(sz * std::size_t(n), '\0');
    if (H5Aread(a.get(), t.get(), buf.data()) < 0) return std::nullopt;
    for (hssize_t i = 0; i < n; ++i) {
      std::string s = buf.substr(std::size_t(i) * sz, sz);
      s.erase(std::find(s.begin(), s.end(), '\0'), s.end());
      out.push_back(s);
    }
  }
  return out;
}

std::string string_attr(hid_t obj, const char* name, const std::string& fallback = "") {
  auto v = read_string_attr(obj, name);
  return v && !v->empty() ? v->front() : fallback;
}

std::string object_name(hid_t obj) {
  const ssize_t n = H5Iget_name(obj, nullptr, 0);
  if (n <= 0) return "?";
  std::string s(std::size_t(n) + 1, '\0');
  H5Iget_name(obj, s.data(), s.size());
  s.resize(std::size_t(n));
  return s;
}

struct Candidate {
  std::string path;
  bool spectral_image = false;
};

herr_t visit_cb(hid_t loc, const char* name, const H5O_info_t* info, void* op) {
  if (info->type != H5O_TYPE_DATASET) return 0;
  Id d(H5Dopen2(loc, name, H5P_DEFAULT));
  if (!d.valid()) return 0;
  Id sp(H5Dget_space(d.get()));
  if (H5Sget_simple_extent_ndims(sp.get()) != 3) return 0;
  Candidate c{std::string("/") + name, false};
  c.spectral_image = string_attr(d.get(), "data_type") == "SPECTRAL_IMAGE";
  if (c.spectral_image || H5Aexists(d.get(), "DIMENSION_LIST") > 0) static_cast<std::vector<Candidate>*>(op)->push_back(c);
  return 0;
}

/// Metres per unit for a length unit, nullopt if it is not one.
std::optional<double> metres_per(const std::string& u) {
  if (u == "m") return 1.0;
  if (u == "mm") return 1e-3;
  if (u == "um" || u == "µm" || u == "\xc2\xb5m" || u == "micron" || u == "microns") return 1e-6;
  if (u == "nm") return 1e-9;
  if (u == "pm") return 1e-12;
  if (u == "A" || u == "Å" || u == "angstrom") return 1e-10;
  return std::nullopt;
}

struct Scale {
  std::string name, units, type, quantity;
  std::vector<double> values;
};

}  // namespace

Dataset read_nsid(const std::filesystem::path& path, const NsidOptions& options) {
  const std::string file = path.string();
  auto fail = [&](const std::string& what) -> void { throw Error(file + ": " + what); };
  QuietHdf5 quiet;
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) fail("file not found");
  const htri_t is = H5Fis_hdf5(file.c_str());
  if (is <= 0) fail("not an HDF5 file (bad signature or unreadable); expected a pycroscopy NSID .h5");
  Id f(H5Fopen(file.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT));
  if (!f.valid()) fail("cannot open as HDF5 (truncated or corrupt?)");

  std::string main_path = options.dataset;
  if (main_path.empty()) {
    std::vector<Candidate> cands;
    if (H5Ovisit(f.get(), H5_INDEX_NAME, H5_ITER_NATIVE, visit_cb, &cands) < 0) fail("cannot walk the HDF5 tree (truncated or corrupt?)");
    std::vector<Candidate> spectral;
    for (const Candidate& c : cands)
      if (c.spectral_image) spectral.push_back(c);
    const std::vector<Candidate>& use = spectral.empty() ? cands : spectral;
    if (use.empty()) fail("no 3-D spectral image found (NSID needs a 3-D dataset with data_type SPECTRAL_IMAGE or attached dimension scales)");
    if (use.size() > 1) {
      std::string list;
      for (const Candidate& c : use) list += " " + c.path;
      fail("several spectral images (" + list + " ); choose one with [backend] dataset = \"<path>\"");
    }
    main_path = use.front().path;
  }
  Id d(H5Dopen2(f.get(), main_path.c_str(), H5P_DEFAULT));
  if (!d.valid()) fail("no dataset \"" + main_path + "\"");
  const std::string where = file + ":" + main_path;
  auto dfail = [&](const std::string& what) -> void { throw Error(where + ": " + what); };

  Id sp(H5Dget_space(d.get()));
  const int rank = H5Sget_simple_extent_ndims(sp.get());
  if (rank != 3) dfail("expected a 3-D spectral image (x, y, spectral), found rank " + std::to_string(rank));
  hsize_t dims[3];
  H5Sget_simple_extent_dims(sp.get(), dims, nullptr);
  for (int k = 0; k < 3; ++k)
    if (dims[k] == 0) dfail("dimension " + std::to_string(k) + " is empty");
  {
    Id t(H5Dget_type(d.get()));
    const H5T_class_t cls = H5Tget_class(t.get());
    if (cls != H5T_FLOAT && cls != H5T_INTEGER) dfail("data must be numeric (float or integer), found HDF5 type class " + std::to_string(int(cls)));
  }

  // Dimension scales: DIMENSION_LIST is a per-dimension variable-length list of object references.
  if (H5Aexists(d.get(), "DIMENSION_LIST") <= 0)
    dfail("no dimension scales attached (attribute DIMENSION_LIST missing); NSID needs X and Y in metres and a spectral axis");
  std::vector<Scale> scales(3);
  {
    Id a(H5Aopen(d.get(), "DIMENSION_LIST", H5P_DEFAULT));
    Id asp(H5Aget_space(a.get()));
    if (H5Sget_simple_extent_npoints(asp.get()) != 3) dfail("DIMENSION_LIST must have one entry per dimension (3)");
    Id mt(H5Tvlen_create(H5T_STD_REF_OBJ));
    hvl_t lists[3] = {};
    if (H5Aread(a.get(), mt.get(), lists) < 0) dfail("cannot read DIMENSION_LIST (corrupt dimension-scale references)");
    std::string problem;
    for (int k = 0; k < 3 && problem.empty(); ++k) {
      if (lists[k].len < 1 || !lists[k].p) {
        problem = "dimension " + std::to_string(k) + " has no dimension scale attached";
        break;
      }
      hobj_ref_t ref = static_cast<hobj_ref_t*>(lists[k].p)[0];
      Id s(H5Rdereference2(d.get(), H5P_DEFAULT, H5R_OBJECT, &ref));
      if (!s.valid() || H5Iget_type(s.get()) != H5I_DATASET) {
        problem = "dimension " + std::to_string(k) + ": its dimension scale reference does not resolve to a dataset";
        break;
      }
      Scale& sc = scales[std::size_t(k)];
      sc.name = string_attr(s.get(), "name", string_attr(s.get(), "NAME", object_name(s.get())));
      sc.units = string_attr(s.get(), "units");
      sc.type = string_attr(s.get(), "dimension_type");
      sc.quantity = string_attr(s.get(), "quantity");
      Id ssp(H5Dget_space(s.get()));
      const hssize_t n = H5Sget_simple_extent_npoints(ssp.get());
      if (H5Sget_simple_extent_ndims(ssp.get()) != 1 || n != hssize_t(dims[k])) {
        problem = "dimension scale \"" + sc.name + "\" (" + object_name(s.get()) + ") has " + std::to_string(n) +
                  " values but dimension " + std::to_string(k) + " has " + std::to_string(dims[k]);
        break;
      }
      sc.values.resize(std::size_t(n));
      if (H5Dread(s.get(), H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, sc.values.data()) < 0)
        problem = "cannot read dimension scale \"" + sc.name + "\" (truncated file?)";
    }
    H5Dvlen_reclaim(mt.get(), asp.get(), H5P_DEFAULT, lists);
    if (!problem.empty()) dfail(problem);
  }

  // Which dimension is x, y, spectral: dimension_type first, names as a fallback.
  auto upper = [](std::string s) {
    std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return char(std::toupper(c)); });
    return s;
  };
  std::vector<int> spatial, spectral;
  for (int k = 0; k < 3; ++k) {
    const std::string t = upper(scales[std::size_t(k)].type), n = upper(scales[std::size_t(k)].name);
    const bool is_spatial = t.empty() ? (n == "X" || n == "Y") : t == "SPATIAL";
    (is_spatial ? spatial : spectral).push_back(k);
  }
  if (spatial.size() != 2 || spectral.size() != 1) {
    std::string desc;
    for (const Scale& s : scales) desc += " " + s.name + "(" + (s.type.empty() ? "no dimension_type" : s.type) + ")";
    dfail("expected two SPATIAL dimensions and one SPECTRAL, found:" + desc);
  }
  int kx = spatial[0], ky = spatial[1];
  if (upper(scales[std::size_t(kx)].name) == "Y" || upper(scales[std::size_t(ky)].name) == "X") std::swap(kx, ky);
  const int ks = spectral[0];

  Dataset out;
  out.source = where;
  auto axis = [&](int k, double& v0, double& dv) {
    const Scale& s = scales[std::size_t(k)];
    const auto per = metres_per(s.units);
    if (!per) dfail("spatial dimension \"" + s.name + "\" has units \"" + s.units + "\"; expected a length (m, um, nm, …)");
    const std::size_t n = s.values.size();
    for (double v : s.values)
      if (!std::isfinite(v)) dfail("spatial dimension \"" + s.name + "\" has non-finite values");
    v0 = s.values[0] * *per;
    dv = n > 1 ? (s.values[n - 1] - s.values[0]) / double(n - 1) * *per : 0.0;
    if (n > 1 && !(dv > 0)) dfail("spatial dimension \"" + s.name + "\" must increase");
    for (std::size_t i = 1; i < n; ++i) {
      const double step = (s.values[i] - s.values[i - 1]) * *per;
      if (std::abs(step - dv) > 1e-6 * std::abs(dv))
        dfail("spatial dimension \"" + s.name + "\" is not uniformly spaced (step " + std::to_string(i) + " differs from the mean)");
    }
  };
  out.axes.nx = int(dims[kx]);
  out.axes.ny = int(dims[ky]);
  axis(kx, out.axes.x0_m, out.axes.dx_m);
  axis(ky, out.axes.y0_m, out.axes.dy_m);
  const Scale& s = scales[std::size_t(ks)];
  out.spectral_name = s.name;
  out.spectral_unit = s.units.empty() ? "V" : s.units;
  out.bias_v = s.values;
  if (out.spectral_unit == "mV") {
    for (double& v : out.bias_v) v *= 1e-3;
    out.spectral_unit = "V";
  }
  out.signal_name = string_attr(d.get(), "quantity", "signal");
  out.signal_unit = string_attr(d.get(), "units", "a.u.");

  // The data, in file order, then permuted to [iy][ix][k].
  const std::size_t total = std::size_t(dims[0]) * dims[1] * dims[2];
  std::vector<double> raw(total);
  if (H5Dread(d.get(), H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, raw.data()) < 0)
    dfail("cannot read the data (truncated or corrupt file?)");
  const std::size_t nx = dims[kx], ny = dims[ky], nk = dims[ks];
  std::size_t stride[3] = {std::size_t(dims[1]) * dims[2], std::size_t(dims[2]), 1};
  out.spectra.resize(total);
  std::size_t bad = 0;
  for (std::size_t iy = 0; iy < ny; ++iy)
    for (std::size_t ix = 0; ix < nx; ++ix) {
      const std::size_t base = ix * stride[kx] + iy * stride[ky];
      double* dst = out.spectra.data() + (iy * nx + ix) * nk;
      for (std::size_t k = 0; k < nk; ++k) {
        dst[k] = raw[base + k * stride[ks]];
        bad += !std::isfinite(dst[k]);
      }
    }
  if (bad) dfail(std::to_string(bad) + " non-finite values in the spectra; replay needs complete data");
  return out;
}

}  // namespace sdm::hardware::replay
