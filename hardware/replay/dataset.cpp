#include "hardware/replay/dataset.hpp"

#include <algorithm>
#include <cassert>
#include <cmath>

#include "core/error.hpp"

namespace sdm::hardware::replay {

const double* Dataset::spectrum(int ix, int iy) const {
  assert(ix >= 0 && ix < axes.nx && iy >= 0 && iy < axes.ny);
  return spectra.data() + (std::size_t(iy) * axes.nx + ix) * n_points();
}

void Dataset::nearest(double x, double y, int& ix, int& iy) const {
  auto idx = [](double v, double v0, double dv, int n) {
    if (n <= 1 || dv == 0) return 0;
    const double f = std::round((v - v0) / dv);
    if (!(f >= 0)) return 0;  // also NaN
    return f >= n - 1 ? n - 1 : int(f);
  };
  ix = idx(x, axes.x0_m, axes.dx_m, axes.nx);
  iy = idx(y, axes.y0_m, axes.dy_m, axes.ny);
}

const Channel* Dataset::find(const std::string& name) const {
  for (const Channel& c : channels)
    if (c.name == name) return &c;
  return nullptr;
}

const Channel& Dataset::structure() const {
  const Channel* c = find(structure_channel);
  if (!c) throw Error(source + ": no structure channel \"" + structure_channel + "\" in the dataset");
  return *c;
}

void Dataset::validate() const {
  auto fail = [&](const std::string& what) { throw Error(source + ": " + what); };
  if (axes.nx < 1 || axes.ny < 1) fail("empty spatial grid (" + std::to_string(axes.nx) + "x" + std::to_string(axes.ny) + ")");
  if (!std::isfinite(axes.x0_m) || !std::isfinite(axes.y0_m) || !std::isfinite(axes.dx_m) || !std::isfinite(axes.dy_m))
    fail("non-finite spatial axes");
  if ((axes.nx > 1 && !(axes.dx_m > 0)) || (axes.ny > 1 && !(axes.dy_m > 0)))
    fail("spatial axes must increase (dx_m = " + std::to_string(axes.dx_m) + ", dy_m = " + std::to_string(axes.dy_m) + ")");
  if (bias_v.size() < 2) fail("needs at least 2 points on the spectral axis, has " + std::to_string(bias_v.size()));
  for (double v : bias_v)
    if (!std::isfinite(v)) fail("non-finite value on the spectral axis");
  if (spectra.size() != n_pixels() * n_points())
    fail("spectra hold " + std::to_string(spectra.size()) + " values, expected " + std::to_string(axes.ny) + "x" +
         std::to_string(axes.nx) + "x" + std::to_string(n_points()));
  for (const Channel& c : channels)
    if (c.data.size() != n_pixels())
      fail("channel \"" + c.name + "\" has " + std::to_string(c.data.size()) + " values, expected " + std::to_string(n_pixels()));
  if (!structure_channel.empty() && !find(structure_channel)) fail("structure channel \"" + structure_channel + "\" is missing");
}

Channel derive_channel(const Dataset& d, const std::string& how) {
  const std::size_t n = d.n_points();
  if (n == 0) throw Error(d.source + ": cannot derive \"" + how + "\": no spectra");
  Channel c{how, d.signal_unit, std::vector<double>(d.n_pixels())};
  for (std::size_t p = 0; p < d.n_pixels(); ++p) {
    const double* s = d.spectra.data() + p * n;
    double v;
    if (how == "mean" || how == "std") {
      double m = 0;
      for (std::size_t k = 0; k < n; ++k) m += s[k];
      m /= double(n);
      if (how == "mean") {
        v = m;
      } else {
        double q = 0;
        for (std::size_t k = 0; k < n; ++k) q += (s[k] - m) * (s[k] - m);
        v = std::sqrt(q / double(n));
      }
    } else if (how == "min") {
      v = *std::min_element(s, s + n);
    } else if (how == "max") {
      v = *std::max_element(s, s + n);
    } else if (how == "range") {
      const auto [lo, hi] = std::minmax_element(s, s + n);
      v = *hi - *lo;
    } else {
      throw Error(d.source + ": unknown derived image \"" + how + "\"; use mean, std, min, max or range");
    }
    c.data[p] = v;
  }
  return c;
}

void set_structure_channel(Dataset& d, const std::string& name) {
  if (d.find(name)) {
    d.structure_channel = name;
    return;
  }
  for (const char* how : {"mean", "std", "min", "max", "range"}) {
    if (name == how) {
      d.channels.push_back(derive_channel(d, name));
      d.structure_channel = name;
      return;
    }
  }
  std::string have;
  for (const Channel& c : d.channels) have += ", \"" + c.name + "\"";
  throw Error(d.source + ": image_channel \"" + name + "\" is neither a channel of the file nor a derived image; choose mean, std, min, max, range" + have);
}

Dataset load_dataset(const std::filesystem::path& path, const std::string& format, const std::string& image_channel,
                     const NsidOptions& nsid) {
  std::string f = format;
  if (f == "auto") {
    std::string ext = path.extension().string();
    std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return char(std::tolower(c)); });
    if (ext == ".h5" || ext == ".hdf5" || ext == ".nsid" || ext == ".hdf") f = "nsid";
    else if (ext == ".npz") f = "npz";
    else if (ext == ".npy") f = "npy";
    else throw Error(path.string() + ": cannot tell the dataset format from the extension \"" + ext + "\"; set format = nsid, npz or npy");
  }
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) throw Error(path.string() + ": dataset file not found");
  Dataset d;
  if (f == "nsid") d = read_nsid(path, nsid);
  else if (f == "npz") d = read_npz(path);
  else if (f == "npy") d = read_npy(path);
  else throw Error(path.string() + ": unknown dataset format \"" + format + "\"; use auto, nsid, npz or npy");
  set_structure_channel(d, image_channel);
  d.validate();
  return d;
}

}  // namespace sdm::hardware::replay
