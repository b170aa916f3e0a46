#include "engine/campaign/campaign_file.hpp"

#include <hdf5.h>

#include <array>
#include <cstring>
#include <limits>
#include <mutex>

#include "core/error.hpp"
#include "engine/campaign/spec_json.hpp"
#include "engine/campaign/step_journal.hpp"

namespace sdm::engine::campaign {

namespace {

constexpr int kFormatVersion = 1;
constexpr hsize_t kStepChunk = 64;
constexpr hsize_t kCurveChunk = 4096;

/// The Debian HDF5 build is not thread-safe: every HDF5 call of this file holds this lock, so
/// campaigns may run in parallel threads of one process (their other HDF5 users aside).
std::recursive_mutex& hdf5_lock() {
  static std::recursive_mutex m;
  return m;
}

void quiet_hdf5() {
  static std::once_flag once;
  std::call_once(once, [] { H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr); });  // errors become sdm::Error
}

/// Owns one HDF5 identifier.
class Handle {
 public:
  Handle() = default;
  Handle(hid_t id, herr_t (*close)(hid_t)) : id_(id), close_(close) {}
  Handle(Handle&& o) noexcept : id_(o.id_), close_(o.close_) { o.id_ = -1; }
  Handle& operator=(Handle&& o) noexcept {
    if (this != &o) {
      reset();
      id_ = o.id_;
      close_ = o.close_;
      o.id_ = -1;
    }
    return *this;
  }
  ~Handle() { reset(); }
  void reset() {
    if (id_ >= 0 && close_) close_(id_);
    id_ = -1;
  }
  hid_t get() const { return id_; }
  operator hid_t() const { return id_; }

 private:
  hid_t id_ = -1;
  herr_t (*close_)(hid_t) = nullptr;
};

struct Context {
  std::string file;
  [[noreturn]] void fail(const std::string& what) const { throw Error(file + ": " + what); }
  hid_t id(hid_t v, const std::string& what) const {
    if (v < 0) fail(what);
    return v;
  }
  void ok(herr_t s, const std::string& what) const {
    if (s < 0) fail(what);
  }
};

Handle group_create(const Context& c, hid_t loc, const char* name) {
  return {c.id(H5Gcreate2(loc, name, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), std::string("cannot create group ") + name),
          H5Gclose};
}
Handle group_open(const Context& c, hid_t loc, const char* name) {
  return {c.id(H5Gopen2(loc, name, H5P_DEFAULT), std::string("no group '") + name + "' (not a campaign file?)"), H5Gclose};
}

Handle string_type(const Context& c, std::size_t size) {
  Handle t(c.id(H5Tcopy(H5T_C_S1), "string type"), H5Tclose);
  c.ok(H5Tset_size(t, std::max<std::size_t>(1, size)), "string type size");
  c.ok(H5Tset_strpad(t, H5T_STR_NULLTERM), "string type padding");
  c.ok(H5Tset_cset(t, H5T_CSET_UTF8), "string type charset");
  return t;
}
Handle vlen_string_type(const Context& c) {
  Handle t(c.id(H5Tcopy(H5T_C_S1), "string type"), H5Tclose);
  c.ok(H5Tset_size(t, H5T_VARIABLE), "variable string type");
  c.ok(H5Tset_cset(t, H5T_CSET_UTF8), "string type charset");
  return t;
}

void write_attr_string(const Context& c, hid_t obj, const char* name, const std::string& value) {
  if (H5Aexists(obj, name) > 0) c.ok(H5Adelete(obj, name), std::string("cannot replace attribute ") + name);
  Handle type = string_type(c, value.size() + 1);
  Handle space(c.id(H5Screate(H5S_SCALAR), "scalar space"), H5Sclose);
  Handle a(c.id(H5Acreate2(obj, name, type, space, H5P_DEFAULT, H5P_DEFAULT), std::string("cannot create attribute ") + name),
           H5Aclose);
  c.ok(H5Awrite(a, type, value.c_str()), std::string("cannot write attribute ") + name);
}

template <class T>
void write_attr_number(const Context& c, hid_t obj, const char* name, T value, hid_t file_type, hid_t mem_type) {
  if (H5Aexists(obj, name) > 0) c.ok(H5Adelete(obj, name), std::string("cannot replace attribute ") + name);
  Handle space(c.id(H5Screate(H5S_SCALAR), "scalar space"), H5Sclose);
  Handle a(c.id(H5Acreate2(obj, name, file_type, space, H5P_DEFAULT, H5P_DEFAULT), std::string("cannot create attribute ") + name),
           H5Aclose);
  c.ok(H5Awrite(a, mem_type, &value), std::string("cannot write attribute ") + name);
}
void attr_int(const Context& c, hid_t obj, const char* name, long long v) {
  write_attr_number(c, obj, name, static_cast<std::int64_t>(v), H5T_STD_I64LE, H5T_NATIVE_INT64);
}
void attr_double(const Context& c, hid_t obj, const char* name, double v) {
  write_attr_number(c, obj, name, v, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE);
}

std::string read_attr_string(const Context& c, hid_t obj, const char* name) {
  if (H5Aexists(obj, name) <= 0) c.fail(std::string("attribute '") + name + "' is missing");
  Handle a(c.id(H5Aopen(obj, name, H5P_DEFAULT), std::string("cannot open attribute ") + name), H5Aclose);
  Handle ft(c.id(H5Aget_type(a), "attribute type"), H5Tclose);
  if (H5Tget_class(ft) != H5T_STRING) c.fail(std::string("attribute '") + name + "' is not a string");
  if (H5Tis_variable_str(ft) > 0) {
    Handle mt = vlen_string_type(c);
    char* p = nullptr;
    c.ok(H5Aread(a, mt, &p), std::string("cannot read attribute ") + name);
    std::string s = p ? p : "";
    H5free_memory(p);
    return s;
  }
  const std::size_t size = H5Tget_size(ft);
  std::string s(size, '\0');
  Handle mt = string_type(c, size);
  c.ok(H5Aread(a, mt, s.data()), std::string("cannot read attribute ") + name);
  s.resize(std::strlen(s.c_str()));
  return s;
}

std::int64_t read_attr_int(const Context& c, hid_t obj, const char* name) {
  if (H5Aexists(obj, name) <= 0) c.fail(std::string("attribute '") + name + "' is missing");
  Handle a(c.id(H5Aopen(obj, name, H5P_DEFAULT), std::string("cannot open attribute ") + name), H5Aclose);
  std::int64_t v = 0;
  c.ok(H5Aread(a, H5T_NATIVE_INT64, &v), std::string("cannot read attribute ") + name);
  return v;
}
double read_attr_double(const Context& c, hid_t obj, const char* name) {
  if (H5Aexists(obj, name) <= 0) c.fail(std::string("attribute '") + name + "' is missing");
  Handle a(c.id(H5Aopen(obj, name, H5P_DEFAULT), std::string("cannot open attribute ") + name), H5Aclose);
  double v = 0;
  c.ok(H5Aread(a, H5T_NATIVE_DOUBLE, &v), std::string("cannot read attribute ") + name);
  return v;
}

/// A fixed-size dataset of `dims`.
void write_fixed(const Context& c, hid_t loc, const char* name, const void* data, const std::vector<hsize_t>& dims,
                 hid_t file_type, hid_t mem_type) {
  Handle space(c.id(H5Screate_simple(int(dims.size()), dims.data(), nullptr), "dataspace"), H5Sclose);
  Handle d(c.id(H5Dcreate2(loc, name, file_type, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT),
                std::string("cannot create dataset ") + name),
           H5Dclose);
  bool empty = false;
  for (hsize_t n : dims) empty = empty || n == 0;
  if (!empty) c.ok(H5Dwrite(d, mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data), std::string("cannot write dataset ") + name);
}

Handle open_dataset(const Context& c, hid_t loc, const char* name) {
  return {c.id(H5Dopen2(loc, name, H5P_DEFAULT), std::string("dataset '") + name + "' is missing"), H5Dclose};
}

hsize_t dataset_length(const Context& c, hid_t d, const char* name) {
  Handle space(c.id(H5Dget_space(d), "dataspace"), H5Sclose);
  const int rank = H5Sget_simple_extent_ndims(space);
  if (rank < 1) c.fail(std::string("dataset '") + name + "' has no extent");
  std::vector<hsize_t> dims(static_cast<size_t>(rank));
  H5Sget_simple_extent_dims(space, dims.data(), nullptr);
  hsize_t n = 1;
  for (hsize_t x : dims) n *= x;
  return n;
}

/// Reads the first `count` elements of a dataset of `mem_type` (all when count is max).
template <class T>
std::vector<T> read_values(const Context& c, hid_t loc, const char* name, hid_t mem_type,
                           hsize_t count = std::numeric_limits<hsize_t>::max()) {
  Handle d = open_dataset(c, loc, name);
  const hsize_t n = dataset_length(c, d, name);
  if (count == std::numeric_limits<hsize_t>::max()) count = n;
  if (count > n) c.fail(std::string("dataset '") + name + "' has " + std::to_string(n) + " values, " + std::to_string(count) + " expected");
  std::vector<T> v(count);
  if (count == 0) return v;
  if (count == n) {
    c.ok(H5Dread(d, mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, v.data()), std::string("cannot read dataset ") + name);
  } else {  // a 1-D prefix
    Handle file_space(c.id(H5Dget_space(d), "dataspace"), H5Sclose);
    const hsize_t start = 0;
    c.ok(H5Sselect_hyperslab(file_space, H5S_SELECT_SET, &start, nullptr, &count, nullptr), "hyperslab");
    Handle mem_space(c.id(H5Screate_simple(1, &count, nullptr), "dataspace"), H5Sclose);
    c.ok(H5Dread(d, mem_type, mem_space, file_space, H5P_DEFAULT, v.data()), std::string("cannot read dataset ") + name);
  }
  return v;
}

std::vector<std::string> read_strings(const Context& c, hid_t loc, const char* name, hsize_t count) {
  Handle d = open_dataset(c, loc, name);
  const hsize_t n = dataset_length(c, d, name);
  if (count > n) c.fail(std::string("dataset '") + name + "' has " + std::to_string(n) + " rows, " + std::to_string(count) + " expected");
  std::vector<std::string> out;
  if (count == 0) return out;
  Handle mt = vlen_string_type(c);
  Handle file_space(c.id(H5Dget_space(d), "dataspace"), H5Sclose);
  const hsize_t start = 0;
  c.ok(H5Sselect_hyperslab(file_space, H5S_SELECT_SET, &start, nullptr, &count, nullptr), "hyperslab");
  Handle mem_space(c.id(H5Screate_simple(1, &count, nullptr), "dataspace"), H5Sclose);
  std::vector<char*> p(count, nullptr);
  c.ok(H5Dread(d, mt, mem_space, file_space, H5P_DEFAULT, p.data()), std::string("cannot read dataset ") + name);
  for (char* s : p) out.emplace_back(s ? s : "");
  H5Dvlen_reclaim(mt, mem_space, H5P_DEFAULT, p.data());
  return out;
}

/// One extendible 1-D dataset and how to append to it.
struct Column {
  Handle dataset;
  hid_t mem_type = -1;
  hsize_t size = 0;
};

Column create_column(const Context& c, hid_t loc, const char* name, hid_t file_type, hid_t mem_type, hsize_t chunk) {
  const hsize_t zero = 0, unlimited = H5S_UNLIMITED;
  Handle space(c.id(H5Screate_simple(1, &zero, &unlimited), "dataspace"), H5Sclose);
  Handle plist(c.id(H5Pcreate(H5P_DATASET_CREATE), "property list"), H5Pclose);
  c.ok(H5Pset_chunk(plist, 1, &chunk), "chunk size");
  Column col;
  col.dataset = Handle(c.id(H5Dcreate2(loc, name, file_type, space, H5P_DEFAULT, plist, H5P_DEFAULT),
                            std::string("cannot create dataset ") + name),
                       H5Dclose);
  col.mem_type = mem_type;
  return col;
}

void append_values(const Context& c, Column& col, const void* data, hsize_t n, const char* name) {
  if (n == 0) return;
  const hsize_t new_size = col.size + n;
  c.ok(H5Dset_extent(col.dataset, &new_size), std::string("cannot extend dataset ") + name);
  Handle file_space(c.id(H5Dget_space(col.dataset), "dataspace"), H5Sclose);
  c.ok(H5Sselect_hyperslab(file_space, H5S_SELECT_SET, &col.size, nullptr, &n, nullptr), "hyperslab");
  Handle mem_space(c.id(H5Screate_simple(1, &n, nullptr), "dataspace"), H5Sclose);
  c.ok(H5Dwrite(col.dataset, col.mem_type, mem_space, file_space, H5P_DEFAULT, data), std::string("cannot append to ") + name);
  col.size = new_size;
}

const char* const kIntFields[] = {"step", "candidate", "ix_px", "iy_px", "curve_length"};
const char* const kDoubleFields[] = {"x_requested_m",  "y_requested_m",      "x_reached_m",        "y_reached_m",
                                     "score",          "structural_novelty", "predicted_mean",     "predicted_std",
                                     "decision_latency_s", "instrument_clock_s", "wall_clock_s"};
const char* const kCurveFields[] = {"time_s", "bias_v", "current_a"};

std::array<double, 11> double_fields(const StepRecord& r) {
  return {r.x_requested_m,  r.y_requested_m,      r.x_reached_m,    r.y_reached_m,   r.score,
          r.structural_novelty, r.predicted_mean, r.predicted_std,  r.decision_latency_s,
          r.instrument_clock_s, r.wall_clock_s};
}

}  // namespace

// ---------------------------------------------------------------------------------------
// Writer

struct CampaignFileWriter::Impl {
  Context c;
  std::filesystem::path path;
  Handle file, steps, curves;
  Column ints[5], doubles[11], phase, model, offset, curve[3];
  Handle vlen;

  void append(const StepRecord& r) {
    const std::int32_t iv[5] = {r.step, r.candidate, r.ix_px, r.iy_px, static_cast<std::int32_t>(r.curve.size())};
    const std::int64_t off = static_cast<std::int64_t>(curve[2].size);
    if (r.curve.time_s.size() != r.curve.size() || r.curve.bias_v.size() != r.curve.size())
      c.fail("step " + std::to_string(r.step) + ": curve arrays differ in length");
    // Curves first, then the per-step columns, then the count: a reader trusts only `count`.
    append_values(c, curve[0], r.curve.time_s.data(), r.curve.size(), kCurveFields[0]);
    append_values(c, curve[1], r.curve.bias_v.data(), r.curve.size(), kCurveFields[1]);
    append_values(c, curve[2], r.curve.current_a.data(), r.curve.size(), kCurveFields[2]);
    for (int k = 0; k < 5; ++k) append_values(c, ints[k], &iv[k], 1, kIntFields[k]);
    const auto dv = double_fields(r);
    for (int k = 0; k < 11; ++k) append_values(c, doubles[k], &dv[static_cast<size_t>(k)], 1, kDoubleFields[k]);
    const char* ph = r.phase.c_str();
    append_values(c, phase, &ph, 1, "phase");
    const char* mj = r.model_json.c_str();
    append_values(c, model, &mj, 1, "model_json");
    append_values(c, offset, &off, 1, "curve_offset");
    attr_int(c, steps, "count", static_cast<long long>(offset.size));
    c.ok(H5Fflush(file, H5F_SCOPE_GLOBAL), "cannot flush");
  }
};

CampaignFileWriter::CampaignFileWriter(const std::filesystem::path& path, const CampaignData& d) : impl_(std::make_unique<Impl>()) {
  std::lock_guard<std::recursive_mutex> lock(hdf5_lock());
  quiet_hdf5();
  try {
    create(path, d);
  } catch (...) {
    impl_.reset();  // closes what was opened, under the lock
    throw;
  }
}

void CampaignFileWriter::create(const std::filesystem::path& path, const CampaignData& d) {
  Impl& w = *impl_;
  w.path = path;
  const std::filesystem::path tmp = path.string() + ".tmp";
  w.c.file = tmp.string();
  const Context& c = w.c;
  // Attributes in dense storage (HDF5 1.8 format): a compact attribute is limited to 64 KiB, and
  // the spec attribute holds the whole scenario text, which may be longer.
  Handle fcpl(c.id(H5Pcreate(H5P_FILE_CREATE), "file creation properties"), H5Pclose);
  c.ok(H5Pset_attr_phase_change(fcpl, 0, 0), "dense attribute storage");
  Handle fapl(c.id(H5Pcreate(H5P_FILE_ACCESS), "file access properties"), H5Pclose);
  c.ok(H5Pset_libver_bounds(fapl, H5F_LIBVER_V18, H5F_LIBVER_LATEST), "file format bounds");
  w.file = Handle(c.id(H5Fcreate(tmp.c_str(), H5F_ACC_TRUNC, fcpl, fapl), "cannot create the campaign file"), H5Fclose);
  write_attr_string(c, w.file, "format", "sdm-campaign");
  attr_int(c, w.file, "format_version", kFormatVersion);
  write_attr_string(c, w.file, "spec", d.spec.dump());
  write_attr_string(c, w.file, "survey_channel", d.survey_channel);
  write_attr_string(c, w.file, "survey_request", survey_spec_to_json(d.survey_request).dump());
  write_attr_string(c, w.file, "backend", d.backend);
  write_attr_string(c, w.file, "signal_name", d.signal_name);
  write_attr_string(c, w.file, "signal_unit", d.signal_unit);
  write_attr_string(c, w.file, "status", d.status);
  write_attr_string(c, w.file, "message", d.message);

  {
    Handle g = group_create(c, w.file, "grid");
    attr_int(c, g, "patch_px", d.grid.patch_px);
    attr_int(c, g, "stride_px", d.grid.stride_px);
    attr_int(c, g, "image_nx", d.grid.image_nx);
    attr_int(c, g, "image_ny", d.grid.image_ny);
    write_fixed(c, g, "ix_px", d.grid.ix_px.data(), {d.grid.ix_px.size()}, H5T_STD_I32LE, H5T_NATIVE_INT32);
    write_fixed(c, g, "iy_px", d.grid.iy_px.data(), {d.grid.iy_px.size()}, H5T_STD_I32LE, H5T_NATIVE_INT32);
  }
  {
    Handle g = group_create(c, w.file, "survey");
    const auto& a = d.survey.axes;
    attr_int(c, g, "nx", a.nx);
    attr_int(c, g, "ny", a.ny);
    attr_double(c, g, "x0_m", a.x0_m);
    attr_double(c, g, "y0_m", a.y0_m);
    attr_double(c, g, "dx_m", a.dx_m);
    attr_double(c, g, "dy_m", a.dy_m);
    nlohmann::json names = nlohmann::json::array();
    for (const auto& ch : d.survey.channels) {
      if (ch.data.size() != static_cast<size_t>(a.nx) * static_cast<size_t>(a.ny))
        c.fail("survey channel '" + ch.name + "' has " + std::to_string(ch.data.size()) + " values for a " +
               std::to_string(a.nx) + "x" + std::to_string(a.ny) + " image");
      write_fixed(c, g, ch.name.c_str(), ch.data.data(), {hsize_t(a.ny), hsize_t(a.nx)}, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE);
      Handle ds = open_dataset(c, g, ch.name.c_str());
      write_attr_string(c, ds, "unit", ch.unit);
      names.push_back(ch.name);
    }
    write_attr_string(c, g, "channels", names.dump());
  }
  {
    Handle g = group_create(c, w.file, "waveform");
    write_fixed(c, g, "time_s", d.waveform.time_s.data(), {d.waveform.time_s.size()}, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE);
    write_fixed(c, g, "bias_v", d.waveform.bias_v.data(), {d.waveform.bias_v.size()}, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE);
  }
  w.steps = group_create(c, w.file, "steps");
  w.curves = group_create(c, w.steps, "curves");
  w.vlen = vlen_string_type(c);
  for (int k = 0; k < 5; ++k) w.ints[k] = create_column(c, w.steps, kIntFields[k], H5T_STD_I32LE, H5T_NATIVE_INT32, kStepChunk);
  for (int k = 0; k < 11; ++k)
    w.doubles[k] = create_column(c, w.steps, kDoubleFields[k], H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, kStepChunk);
  w.phase = create_column(c, w.steps, "phase", w.vlen, w.vlen, kStepChunk);
  w.model = create_column(c, w.steps, "model_json", w.vlen, w.vlen, kStepChunk);
  w.offset = create_column(c, w.steps, "curve_offset", H5T_STD_I64LE, H5T_NATIVE_INT64, kStepChunk);
  for (int k = 0; k < 3; ++k)
    w.curve[k] = create_column(c, w.curves, kCurveFields[k], H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, kCurveChunk);
  attr_int(c, w.steps, "count", 0);
  for (const StepRecord& r : d.steps) w.append(r);
  c.ok(H5Fflush(w.file, H5F_SCOPE_GLOBAL), "cannot flush");
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);  // the open file follows the rename
  if (ec) throw Error(path.string() + ": cannot move the campaign file into place (" + ec.message() + ")");
  w.c.file = path.string();
}

CampaignFileWriter::~CampaignFileWriter() {
  try {
    close();
  } catch (...) {
  }
}

void CampaignFileWriter::append(const StepRecord& step) {
  if (!impl_) throw Error("campaign file: append after close");
  std::lock_guard<std::recursive_mutex> lock(hdf5_lock());
  impl_->append(step);
}

void CampaignFileWriter::set_status(const std::string& status, const std::string& message) {
  if (!impl_) throw Error("campaign file: set_status after close");
  std::lock_guard<std::recursive_mutex> lock(hdf5_lock());
  write_attr_string(impl_->c, impl_->file, "status", status);
  write_attr_string(impl_->c, impl_->file, "message", message);
  impl_->c.ok(H5Fflush(impl_->file, H5F_SCOPE_GLOBAL), "cannot flush");
}

void CampaignFileWriter::close() {
  if (!impl_) return;
  std::lock_guard<std::recursive_mutex> lock(hdf5_lock());
  std::unique_ptr<Impl> w = std::move(impl_);
  // Members close in reverse order of declaration: columns, groups, then the file.
  for (auto& col : w->curve) col.dataset.reset();
  w->offset.dataset.reset();
  w->model.dataset.reset();
  w->phase.dataset.reset();
  for (auto& col : w->doubles) col.dataset.reset();
  for (auto& col : w->ints) col.dataset.reset();
  w->vlen.reset();
  w->curves.reset();
  w->steps.reset();
  w->file.reset();
}

// ---------------------------------------------------------------------------------------
// Readers

CampaignData read_campaign_file(const std::filesystem::path& path) {
  std::lock_guard<std::recursive_mutex> lock(hdf5_lock());
  quiet_hdf5();
  Context c{path.string()};
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) c.fail("campaign file not found");
  Handle file(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), H5Fclose);
  if (file.get() < 0) c.fail("not a readable HDF5 file (a run that crashed: `sdm run --resume` on its folder rebuilds it)");
  CampaignData d;
  if (H5Aexists(file, "format") <= 0 || read_attr_string(c, file, "format") != "sdm-campaign")
    c.fail("not an sdm campaign file (attribute format != \"sdm-campaign\")");
  const auto version = read_attr_int(c, file, "format_version");
  if (version != kFormatVersion)
    c.fail("campaign file format_version " + std::to_string(version) + " (this build reads " + std::to_string(kFormatVersion) + ")");
  try {
    d.spec = nlohmann::json::parse(read_attr_string(c, file, "spec"));
    d.survey_request = survey_spec_from_json(nlohmann::json::parse(read_attr_string(c, file, "survey_request")));
  } catch (const nlohmann::json::exception& e) {
    c.fail(std::string("spec or survey_request attribute is not valid JSON: ") + e.what());
  }
  d.survey_channel = read_attr_string(c, file, "survey_channel");
  d.backend = read_attr_string(c, file, "backend");
  d.signal_name = read_attr_string(c, file, "signal_name");
  d.signal_unit = read_attr_string(c, file, "signal_unit");
  d.status = read_attr_string(c, file, "status");
  d.message = read_attr_string(c, file, "message");
  {
    Handle g = group_open(c, file, "grid");
    d.grid.patch_px = static_cast<int>(read_attr_int(c, g, "patch_px"));
    d.grid.stride_px = static_cast<int>(read_attr_int(c, g, "stride_px"));
    d.grid.image_nx = static_cast<int>(read_attr_int(c, g, "image_nx"));
    d.grid.image_ny = static_cast<int>(read_attr_int(c, g, "image_ny"));
    d.grid.ix_px = read_values<int>(c, g, "ix_px", H5T_NATIVE_INT32);
    d.grid.iy_px = read_values<int>(c, g, "iy_px", H5T_NATIVE_INT32);
    if (d.grid.ix_px.size() != d.grid.iy_px.size()) c.fail("grid ix_px and iy_px differ in length");
  }
  {
    Handle g = group_open(c, file, "survey");
    auto& a = d.survey.axes;
    a.nx = static_cast<int>(read_attr_int(c, g, "nx"));
    a.ny = static_cast<int>(read_attr_int(c, g, "ny"));
    a.x0_m = read_attr_double(c, g, "x0_m");
    a.y0_m = read_attr_double(c, g, "y0_m");
    a.dx_m = read_attr_double(c, g, "dx_m");
    a.dy_m = read_attr_double(c, g, "dy_m");
    std::vector<std::string> names;
    try {
      names = nlohmann::json::parse(read_attr_string(c, g, "channels")).get<std::vector<std::string>>();
    } catch (const nlohmann::json::exception& e) {
      c.fail(std::string("survey channels attribute is not a JSON list: ") + e.what());
    }
    for (const std::string& n : names) {
      hardware::Channel ch;
      ch.name = n;
      ch.data = read_values<double>(c, g, n.c_str(), H5T_NATIVE_DOUBLE);
      if (ch.data.size() != static_cast<size_t>(a.nx) * static_cast<size_t>(a.ny))
        c.fail("survey channel '" + n + "' does not hold nx*ny values");
      Handle ds = open_dataset(c, g, n.c_str());
      ch.unit = read_attr_string(c, ds, "unit");
      d.survey.channels.push_back(std::move(ch));
    }
  }
  {
    Handle g = group_open(c, file, "waveform");
    d.waveform.time_s = read_values<double>(c, g, "time_s", H5T_NATIVE_DOUBLE);
    d.waveform.bias_v = read_values<double>(c, g, "bias_v", H5T_NATIVE_DOUBLE);
  }
  Handle steps = group_open(c, file, "steps");
  const auto count = read_attr_int(c, steps, "count");
  if (count < 0) c.fail("steps count is negative");
  const hsize_t n = static_cast<hsize_t>(count);
  std::vector<std::vector<int>> iv;
  for (const char* f : kIntFields) iv.push_back(read_values<int>(c, steps, f, H5T_NATIVE_INT32, n));
  std::vector<std::vector<double>> dv;
  for (const char* f : kDoubleFields) dv.push_back(read_values<double>(c, steps, f, H5T_NATIVE_DOUBLE, n));
  const std::vector<std::string> phase = read_strings(c, steps, "phase", n);
  const std::vector<std::string> model = read_strings(c, steps, "model_json", n);
  const std::vector<std::int64_t> offset = read_values<std::int64_t>(c, steps, "curve_offset", H5T_NATIVE_INT64, n);
  Handle curves = group_open(c, steps, "curves");
  std::array<std::vector<double>, 3> flat;
  for (int k = 0; k < 3; ++k) flat[static_cast<size_t>(k)] = read_values<double>(c, curves, kCurveFields[k], H5T_NATIVE_DOUBLE);
  d.steps.resize(n);
  for (hsize_t i = 0; i < n; ++i) {
    StepRecord& r = d.steps[i];
    r.step = iv[0][i];
    r.candidate = iv[1][i];
    r.ix_px = iv[2][i];
    r.iy_px = iv[3][i];
    const auto len = static_cast<std::int64_t>(iv[4][i]);
    const std::int64_t off = offset[i];
    for (const auto& f : flat)
      if (off < 0 || len < 0 || static_cast<std::uint64_t>(off + len) > f.size())
        c.fail("step " + std::to_string(i) + ": curve samples [" + std::to_string(off) + ", " + std::to_string(off + len) +
               ") lie outside /steps/curves");
    auto slice = [&](const std::vector<double>& f) { return std::vector<double>(f.begin() + off, f.begin() + off + len); };
    r.curve.time_s = slice(flat[0]);
    r.curve.bias_v = slice(flat[1]);
    r.curve.current_a = slice(flat[2]);
    double* targets[11] = {&r.x_requested_m,  &r.y_requested_m,      &r.x_reached_m,    &r.y_reached_m,
                           &r.score,          &r.structural_novelty, &r.predicted_mean, &r.predicted_std,
                           &r.decision_latency_s, &r.instrument_clock_s, &r.wall_clock_s};
    for (int k = 0; k < 11; ++k) *targets[k] = dv[static_cast<size_t>(k)][i];
    r.phase = phase[i];
    r.model_json = model[i];
  }
  return d;
}

namespace {
/// Names the damaged frame, the measurements recorded after it, and the explicit way on.
std::string journal_damage_message(const std::filesystem::path& file, const JournalContents& j) {
  std::size_t steps_before = 0;
  for (const JournalFrame& f : j.frames) steps_before += f.kind == JournalKind::step;
  std::vector<long long> after;
  for (const JournalFrame& f : j.frames_after_damage)
    if (f.kind == JournalKind::step) after.push_back(f.payload.value("step", -1LL));
  std::string m = file.string() + ": frame " + std::to_string(j.frames.size()) + " (at byte " + std::to_string(j.valid_bytes) +
                  ") is damaged, and " + std::to_string(j.frames_after_damage.size()) + " intact frame" +
                  (j.frames_after_damage.size() == 1 ? "" : "s") + " follow it";
  if (!after.empty())
    m += ", holding " + std::to_string(after.size()) + " measurement" + (after.size() == 1 ? "" : "s") + " (steps " +
         std::to_string(after.front()) + (after.size() > 1 ? "–" + std::to_string(after.back()) : "") + ")";
  m += "; the intact start holds " + std::to_string(steps_before) +
       " measurements. Nothing was changed. To accept the loss and continue after measurement " + std::to_string(steps_before) +
       " (the cut-off part is kept beside the journal): sdm run --resume " + file.parent_path().string() +
       " --truncate-journal-at " + std::to_string(steps_before);
  return m;
}
}  // namespace

CampaignData read_campaign_journal(const std::filesystem::path& journal_file, std::uint64_t* valid_bytes) {
  std::error_code ec;
  if (!std::filesystem::exists(journal_file, ec)) throw Error(journal_file.string() + ": campaign journal not found");
  const JournalContents j = read_journal(journal_file);
  if (valid_bytes) *valid_bytes = j.valid_bytes;
  if (!j.frames_after_damage.empty()) throw Error(journal_damage_message(journal_file, j));
  if (j.frames.empty() || j.frames[0].kind != JournalKind::header)
    throw Error(journal_file.string() + ": the campaign journal has no header (the campaign never got past its survey)");
  CampaignData d;
  try {
    const nlohmann::json& h = j.frames[0].payload;
    d.spec = h.at("spec");
    d.grid = grid_from_json(h.at("grid"));
    d.survey = survey_from_json(h.at("survey"));
    d.survey_channel = h.at("survey_channel").get<std::string>();
    d.survey_request = survey_spec_from_json(h.at("survey_request"));
    d.waveform = waveform_from_json(h.at("waveform"));
    d.backend = h.value("backend", std::string());
    d.signal_name = h.value("signal_name", std::string("current"));
    d.signal_unit = h.value("signal_unit", std::string("A"));
    d.campaign_id = h.value("campaign_id", std::string());
    for (size_t i = 1; i < j.frames.size(); ++i) {
      const JournalFrame& f = j.frames[i];
      if (f.kind == JournalKind::step) {
        StepRecord r = step_from_json(f.payload);
        if (r.step != static_cast<int>(d.steps.size()))
          throw Error(journal_file.string() + ": step record " + std::to_string(r.step) + " found where step " +
                      std::to_string(d.steps.size()) + " was expected");
        d.steps.push_back(std::move(r));
      } else if (f.kind == JournalKind::end) {
        d.status = f.payload.at("status").get<std::string>();
        d.message = f.payload.at("message").get<std::string>();
        d.end = f.payload;
      } else {
        throw Error(journal_file.string() + ": a second header frame at frame " + std::to_string(i));
      }
    }
  } catch (const nlohmann::json::exception& e) {
    throw Error(journal_file.string() + ": malformed journal frame (" + e.what() + ")");
  }
  if (d.status != "running" && !d.steps.empty() && j.frames.back().kind == JournalKind::step) d.status = "running";
  return d;
}

}  // namespace sdm::engine::campaign
