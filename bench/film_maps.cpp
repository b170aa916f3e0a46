#include "bench/film_maps.hpp"

#include <hdf5.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <sstream>

#include "core/error.hpp"
#include "engine/acquisition/scalarizer.hpp"
#include "viz/figure.hpp"

namespace fs = std::filesystem;

namespace sdm::bench {
namespace {

std::vector<std::string> motif_names() {
  std::vector<std::string> n;
  for (int m = 0; m < sim::kMotifCount; ++m) n.push_back(sim::motif_name(sim::Motif(m)));
  return n;
}

double percentile(std::vector<double> v, double q) {
  if (v.empty()) return 0;
  const std::size_t k = std::min(v.size() - 1, std::size_t(q * double(v.size() - 1) + 0.5));
  std::nth_element(v.begin(), v.begin() + long(k), v.end());
  return v[k];
}

std::string format_bias(double v) {
  std::ostringstream s;
  s << v;
  return s.str();
}

// ---- HDF5 (C API) ----

class H5Error {};

void check(herr_t status, const char* what) {
  if (status < 0) throw H5Error{};
  (void)what;
}
hid_t check_id(hid_t id) {
  if (id < 0) throw H5Error{};
  return id;
}

void attr_string(hid_t obj, const char* name, const std::string& value) {
  const hid_t type = check_id(H5Tcopy(H5T_C_S1));
  check(H5Tset_size(type, std::max<std::size_t>(1, value.size())), "size");
  check(H5Tset_strpad(type, H5T_STR_NULLTERM), "pad");
  const hid_t space = check_id(H5Screate(H5S_SCALAR));
  const hid_t a = check_id(H5Acreate2(obj, name, type, space, H5P_DEFAULT, H5P_DEFAULT));
  check(H5Awrite(a, type, value.c_str()), "write");
  H5Aclose(a);
  H5Sclose(space);
  H5Tclose(type);
}

template <class T>
void attr_number(hid_t obj, const char* name, T value, hid_t type) {
  const hid_t space = check_id(H5Screate(H5S_SCALAR));
  const hid_t a = check_id(H5Acreate2(obj, name, type, space, H5P_DEFAULT, H5P_DEFAULT));
  check(H5Awrite(a, type, &value), "write");
  H5Aclose(a);
  H5Sclose(space);
}

template <class T>
void dataset(hid_t loc, const char* name, const T* data, std::vector<hsize_t> dims, hid_t file_type, hid_t mem_type,
             const std::string& unit, const std::string& description) {
  const hid_t space = check_id(H5Screate_simple(int(dims.size()), dims.data(), nullptr));
  const hid_t d = check_id(H5Dcreate2(loc, name, file_type, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
  check(H5Dwrite(d, mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data), "write");
  attr_string(d, "unit", unit);
  attr_string(d, "description", description);
  H5Dclose(d);
  H5Sclose(space);
}

void map_f64(hid_t loc, const char* name, const std::vector<double>& v, int n, const std::string& unit, const std::string& what) {
  dataset(loc, name, v.data(), {hsize_t(n), hsize_t(n)}, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, unit, what);
}
void map_f32(hid_t loc, const char* name, const std::vector<float>& v, int n, const std::string& unit, const std::string& what) {
  dataset(loc, name, v.data(), {hsize_t(n), hsize_t(n)}, H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, unit, what);
}

// ---- figures ----

void image_figure(const std::vector<double>& values, int n, double size_um, const std::string& title, const std::string& label,
                  viz::Colormap map, std::optional<double> vmin, std::optional<double> vmax, const fs::path& path) {
  viz::Figure fig(1, 1, 640, 560);
  viz::Axes& ax = fig.axes();
  ax.image(values, n, n, 0, size_um, 0, size_um, map, label, vmin, vmax);
  ax.equal_aspect(true);
  ax.title(title);
  ax.xlabel("x (um)");
  ax.ylabel("y (um)");
  fig.save_png(path);
}

}  // namespace

FilmMaps compute_film_maps(const sim::Film& film, const FilmMapsOptions& options) {
  options.sweep.validate();
  const int n = film.size_px;
  FilmMaps m;
  m.current_a = sim::ground_truth_current_map(film, options.current_bias_v);
  m.loop_map_stride = options.loop_map_stride > 0 ? options.loop_map_stride : std::max(1, (n + 511) / 512);
  const int s = m.loop_map_stride;
  const engine::acquisition::ScalarizerSpec loop{engine::acquisition::ScalarizerKind::loop_area};
  m.loop_area_w.assign(film.pixel_count(), 0.0);
  std::vector<std::vector<std::size_t>> computed(sim::kMotifCount);
  for (int iy = 0; iy < n; iy += s)
    for (int ix = 0; ix < n; ix += s) {
      const double a = engine::acquisition::scalarize(sim::ground_truth_iv(film, ix, iy, options.sweep), loop);
      for (int by = iy; by < std::min(n, iy + s); ++by)
        for (int bx = ix; bx < std::min(n, ix + s); ++bx) m.loop_area_w[film.index(bx, by)] = a;
      computed[std::size_t(film.motif[film.index(ix, iy)])].push_back(film.index(ix, iy));
    }
  // Examples: the pixels at evenly spaced quantiles of each motif's loop area.
  for (int mo = 0; mo < sim::kMotifCount; ++mo) {
    std::vector<std::size_t>& px = computed[std::size_t(mo)];
    if (px.empty()) continue;
    std::sort(px.begin(), px.end(), [&](std::size_t a, std::size_t b) {
      return m.loop_area_w[a] < m.loop_area_w[b] || (m.loop_area_w[a] == m.loop_area_w[b] && a < b);
    });
    const int k = std::max(1, options.examples_per_motif);
    std::size_t last = px.size();
    for (int j = 0; j < k; ++j) {
      const std::size_t at = std::min(px.size() - 1, std::size_t(double(j + 1) / (k + 1) * double(px.size())));
      if (at == last) continue;
      last = at;
      const int ix = int(px[at] % std::size_t(n)), iy = int(px[at] / std::size_t(n));
      m.examples.push_back({sim::Motif(mo), ix, iy, sim::ground_truth_iv(film, ix, iy, options.sweep)});
    }
  }
  return m;
}

void write_film_hdf5(const sim::Film& film, const FilmMaps& maps, const FilmMapsOptions& options, const fs::path& path) {
  const int n = film.size_px;
  const fs::path tmp = path.string() + ".tmp";
  H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);  // errors become sdm::Error, not stderr noise
  hid_t file = H5Fcreate(tmp.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  if (file < 0) throw Error("cannot create " + tmp.string() + " (HDF5)");
  try {
    attr_number(file, "size_px", n, H5T_NATIVE_INT);
    attr_number(file, "pixel_m", film.pixel_m, H5T_NATIVE_DOUBLE);
    attr_number(file, "scan_size_m", film.scan_size_m(), H5T_NATIVE_DOUBLE);
    attr_number(file, "x0_m", 0.5 * film.pixel_m, H5T_NATIVE_DOUBLE);
    attr_number(file, "y0_m", 0.5 * film.pixel_m, H5T_NATIVE_DOUBLE);
    attr_number(file, "seed", film.seed, H5T_NATIVE_UINT64);
    attr_number(file, "current_bias_v", options.current_bias_v, H5T_NATIVE_DOUBLE);
    attr_string(file, "layout", "maps are size_px x size_px, row-major (iy slow); pixel (ix, iy) centred at ((ix+0.5)*pixel_m, (iy+0.5)*pixel_m)");
    attr_string(file, "generator", "sdm sim::generate_film (periodic Laguerre film, paraboloid-tip dilation)");

    map_f64(file, "true_height", film.true_height_m, n, "m", "true surface height");
    map_f64(file, "dilated_height", film.dilated_height_m, n, "m", "surface dilated by the paraboloid tip, noiseless");
    map_f64(file, "measured_height", film.measured_height_m, n, "m", "tip-dilated height plus measurement noise");
    {
      std::vector<std::uint8_t> motif(film.motif.size());
      for (std::size_t i = 0; i < motif.size(); ++i) motif[i] = std::uint8_t(film.motif[i]);
      dataset(file, "motif", motif.data(), {hsize_t(n), hsize_t(n)}, H5T_STD_U8LE, H5T_NATIVE_UINT8, "1",
              "motif label: 0 grain_interior, 1 grain_boundary, 2 triple_junction, 3 asymmetric_boundary");
    }
    dataset(file, "grain_id", film.grain_id.data(), {hsize_t(n), hsize_t(n)}, H5T_STD_I32LE, H5T_NATIVE_INT32, "1",
            "index of the grain (row of /grains) owning each pixel");
    map_f64(file, "current_at_bias", maps.current_a, n, "A",
            "noiseless DC current at current_bias_v with the ionic state at rest");
    map_f64(file, "loop_area", maps.loop_area_w, n, "W",
            "ground-truth hysteresis loop area integral |I_up - I_down| dV (A*V) of the sweep in /iv_examples; "
            "computed every loop_map_stride pixels");
    attr_number(file, "loop_map_stride", maps.loop_map_stride, H5T_NATIVE_INT);
    map_f32(file, "boundary_distance", film.boundary_distance_m, n, "m", "distance to the nearest grain boundary");
    map_f32(file, "junction_distance", film.junction_distance_m, n, "m", "distance to the nearest triple junction");
    map_f32(file, "boundary_weight", film.boundary_weight, n, "1", "transport weight of the boundary motif (0..1)");
    map_f32(file, "junction_weight", film.junction_weight, n, "1", "transport weight of the triple-junction motif (0..1)");
    map_f32(file, "asymmetric_weight", film.asymmetric_weight, n, "1", "transport weight of the asymmetric-boundary motif (0..1)");

    // Local transport parameters.
    const hid_t params = check_id(H5Gcreate2(file, "params", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
    struct Field {
      const char* name;
      const char* unit;
      const char* what;
      double sim::LocalParams::*member;
    };
    const Field fields[] = {
        {"conductance_factor", "1", "bulk conductance multiplier g0", &sim::LocalParams::conductance_factor},
        {"trap_density", "m^-3", "trap density n_t", &sim::LocalParams::trap_density_m3},
        {"barrier_pos", "eV", "injection barrier at positive tip bias", &sim::LocalParams::barrier_pos_ev},
        {"barrier_neg", "eV", "injection barrier at negative tip bias", &sim::LocalParams::barrier_neg_ev},
        {"ion_tau", "s", "ionic time constant tau0 at 0 V", &sim::LocalParams::ion_tau_s},
        {"ion_gain", "1", "bulk conductance gain at full ionic state (G_on/G_off - 1)", &sim::LocalParams::ion_gain},
        {"ion_barrier", "eV", "injection-barrier lowering at full ionic state", &sim::LocalParams::ion_barrier_ev},
    };
    const std::vector<sim::LocalParams> all = sim::local_params_map(film);
    std::vector<double> buf(all.size());
    for (const Field& f : fields) {
      for (std::size_t i = 0; i < all.size(); ++i) buf[i] = all[i].*(f.member);
      map_f64(params, f.name, buf, n, f.unit, f.what);
    }
    H5Gclose(params);

    // Grains.
    const hid_t grains = check_id(H5Gcreate2(file, "grains", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
    const hsize_t ng = film.grains.size();
    std::vector<double> gx(ng), gy(ng), ga(ng), gd(ng);
    for (std::size_t i = 0; i < ng; ++i) {
      gx[i] = film.grains[i].seed_m.x, gy[i] = film.grains[i].seed_m.y;
      ga[i] = film.grains[i].area_m2, gd[i] = film.grains[i].diameter_m;
    }
    dataset(grains, "seed_x", gx.data(), {ng}, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, "m", "Laguerre seed x");
    dataset(grains, "seed_y", gy.data(), {ng}, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, "m", "Laguerre seed y");
    dataset(grains, "area", ga.data(), {ng}, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, "m^2", "grain area");
    dataset(grains, "diameter", gd.data(), {ng}, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, "m", "equivalent-circle diameter");
    H5Gclose(grains);

    // Example curves.
    const hid_t ex = check_id(H5Gcreate2(file, "iv_examples", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
    const hsize_t ne = maps.examples.size(), np = options.sweep.size();
    dataset(ex, "bias", options.sweep.bias_v.data(), {np}, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, "V", "sweep bias");
    dataset(ex, "time", options.sweep.time_s.data(), {np}, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, "s", "sweep time");
    if (ne > 0) {
      std::vector<double> cur(ne * np);
      std::vector<std::int32_t> ixs(ne), iys(ne);
      std::vector<std::uint8_t> mot(ne);
      for (std::size_t e = 0; e < ne; ++e) {
        std::copy(maps.examples[e].curve.current_a.begin(), maps.examples[e].curve.current_a.end(), cur.begin() + long(e * np));
        ixs[e] = maps.examples[e].ix, iys[e] = maps.examples[e].iy, mot[e] = std::uint8_t(maps.examples[e].motif);
      }
      dataset(ex, "current", cur.data(), {ne, np}, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, "A", "noiseless current, one row per example");
      dataset(ex, "ix", ixs.data(), {ne}, H5T_STD_I32LE, H5T_NATIVE_INT32, "1", "pixel column");
      dataset(ex, "iy", iys.data(), {ne}, H5T_STD_I32LE, H5T_NATIVE_INT32, "1", "pixel row");
      dataset(ex, "motif", mot.data(), {ne}, H5T_STD_U8LE, H5T_NATIVE_UINT8, "1", "motif label of the pixel");
    }
    H5Gclose(ex);
  } catch (const H5Error&) {
    H5Fclose(file);
    std::error_code ec;
    fs::remove(tmp, ec);
    throw Error("writing " + tmp.string() + " failed (HDF5 error)");
  }
  if (H5Fclose(file) < 0) throw Error("closing " + tmp.string() + " failed (disk full?)");
  std::error_code ec;
  fs::rename(tmp, path, ec);
  if (ec) throw Error("cannot rename " + tmp.string() + " to " + path.string() + ": " + ec.message());
}

std::vector<fs::path> write_film_maps(const sim::Film& film, const FilmMaps& maps, const FilmMapsOptions& options,
                                      const fs::path& dir) {
  const int n = film.size_px;
  const double size_um = film.scan_size_m() * 1e6;
  std::vector<fs::path> files;
  auto nm = [](const std::vector<double>& h) {
    std::vector<double> out(h.size());
    for (std::size_t i = 0; i < h.size(); ++i) out[i] = h[i] * 1e9;
    return out;
  };
  files.push_back(dir / "topography.png");
  image_figure(nm(film.measured_height_m), n, size_um, "Measured topography (tip R = " + format_bias(film.config.tip_radius_m * 1e9) + " nm)",
               "height (nm)", viz::Colormap::viridis, {}, {}, files.back());
  files.push_back(dir / "true_topography.png");
  image_figure(nm(film.true_height_m), n, size_um, "True surface", "height (nm)", viz::Colormap::viridis, {}, {}, files.back());

  {
    viz::Figure fig(1, 1, 720, 560);
    viz::Axes& ax = fig.axes();
    std::vector<int> labels(film.motif.size());
    for (std::size_t i = 0; i < labels.size(); ++i) labels[i] = int(film.motif[i]);
    ax.label_image(labels, n, n, 0, size_um, 0, size_um, motif_names());
    ax.equal_aspect(true);
    ax.title("Motif labels (" + std::to_string(film.grains.size()) + " grains)");
    ax.xlabel("x (um)");
    ax.ylabel("y (um)");
    files.push_back(dir / "motifs.png");
    fig.save_png(files.back());
  }

  std::vector<double> pa(maps.current_a.size());
  for (std::size_t i = 0; i < pa.size(); ++i) pa[i] = maps.current_a[i] * 1e12;
  files.push_back(dir / "current.png");
  image_figure(pa, n, size_um, "Current at " + format_bias(options.current_bias_v) + " V (noiseless, ions at rest)", "current (pA)",
               viz::Colormap::magma, std::min(0.0, percentile(pa, 0.01)), percentile(pa, 0.99), files.back());

  std::vector<double> loop(maps.loop_area_w.size());
  for (std::size_t i = 0; i < loop.size(); ++i) loop[i] = maps.loop_area_w[i] * 1e12;
  files.push_back(dir / "hysteresis_area.png");
  image_figure(loop, n, size_um, "Hysteresis loop area, 0 -> " + format_bias(options.sweep.max_abs_bias_v()) + " V sweep",
               "loop area (pA V)", viz::Colormap::magma, 0.0, percentile(loop, 0.99), files.back());

  {
    viz::Figure fig(2, 2, 560, 420);
    for (int mo = 0; mo < sim::kMotifCount; ++mo) {
      viz::Axes& ax = fig.axes(mo / 2, mo % 2);
      ax.title(sim::motif_name(sim::Motif(mo)));
      ax.xlabel("bias (V)");
      ax.ylabel("current (pA)");
      int k = 0;
      for (const FilmMaps::Example& e : maps.examples) {
        if (e.motif != sim::Motif(mo)) continue;
        std::vector<double> i_pa(e.curve.current_a.size());
        for (std::size_t j = 0; j < i_pa.size(); ++j) i_pa[j] = e.curve.current_a[j] * 1e12;
        ax.line(e.curve.bias_v, i_pa, viz::palette(k++),
                "(" + std::to_string(e.ix) + ", " + std::to_string(e.iy) + ")");
      }
      if (k == 0) ax.text(0.1, 0.5, "no pixel with this motif");
    }
    fig.suptitle("Ground-truth I-V loops per motif (25/50/75 % loop area)");
    files.push_back(dir / "iv_examples.png");
    fig.save_png(files.back());
  }

  files.push_back(dir / "film.h5");
  write_film_hdf5(film, maps, options, files.back());
  return files;
}

}  // namespace sdm::bench
