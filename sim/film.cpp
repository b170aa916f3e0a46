#include "sim/film.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>

#include "core/error.hpp"
#include "sim/rng.hpp"
#include "sim/topography.hpp"

namespace sdm::sim {
namespace {

double segment_distance2(Vec2 p, Vec2 a, Vec2 b) {
  const double ex = b.x - a.x, ey = b.y - a.y;
  const double l2 = ex * ex + ey * ey;
  double t = l2 > 0 ? ((p.x - a.x) * ex + (p.y - a.y) * ey) / l2 : 0.0;
  t = std::clamp(t, 0.0, 1.0);
  const double dx = p.x - (a.x + t * ex), dy = p.y - (a.y + t * ey);
  return dx * dx + dy * dy;  // squared
}

double wrap(double v, double m) {
  double r = std::fmod(v, m);
  if (r < 0) r += m;
  return r >= m ? r - m : r;
}

}  // namespace

std::pair<int, int> Film::pixel_at(double x, double y) const {
  const double L = scan_size_m();
  const int ix = std::min(size_px - 1, int(wrap(x, L) / pixel_m));
  const int iy = std::min(size_px - 1, int(wrap(y, L) / pixel_m));
  return {ix, iy};
}

LocalParams Film::params(std::size_t i) const {
  const FilmConfig& c = config;
  const Grain& g = grains[std::size_t(grain_id[i])];
  const double wb = boundary_weight[i], wj = junction_weight[i], wa = asymmetric_weight[i];
  LocalParams p;
  p.area_m2 = M_PI * c.contact_radius_m * c.contact_radius_m;
  p.thickness_m = c.thickness_m;
  p.permittivity_f_per_m = c.relative_permittivity * kVacuumPermittivity_f_per_m;
  p.mobility_m2_per_vs = c.mobility_cm2_per_vs * 1e-4;
  p.carrier_density_m3 = c.carrier_density_cm3 * 1e6;
  p.trap_density_m3 = c.trap_density_cm3 * 1e6 * g.trap_factor * std::pow(c.boundary_trap_factor, wb);
  p.trap_exponent = c.trap_exponent;
  p.conductance_factor = g.conductance_factor * std::pow(c.boundary_conductance_factor, wb) *
                         std::pow(c.junction_conductance_factor, wj) * std::pow(c.asymmetric_conductance_factor, wa);
  p.barrier_neg_ev = c.barrier_ev + g.barrier_offset_ev;
  p.barrier_pos_ev = p.barrier_neg_ev + wa * c.asymmetric_barrier_ev;
  p.ideality = c.ideality;
  p.richardson_a_per_m2k2 = c.richardson_a_per_cm2k2 * 1e4;
  p.temperature_k = c.temperature_k;
  p.series_ohm = c.series_resistance_ohm;
  p.capacitance_f = c.capacitance_f;
  const double speedup = std::pow(c.boundary_ion_speedup, wb) * std::pow(c.junction_ion_speedup, wj);
  const double strength = std::pow(c.boundary_ion_strength, wb) * std::pow(c.junction_ion_strength, wj);
  p.ion_tau_s = c.ion_tau_s * g.ion_tau_factor / speedup;
  p.ion_v0_v = c.ion_v0_v;
  p.ion_vw_v = c.ion_vw_v;
  p.ion_vtau_v = c.ion_vtau_v;
  p.ion_gain = c.ion_gain * strength;
  p.ion_barrier_ev = std::min(0.4, c.ion_barrier_ev * strength);
  return p;
}

Film generate_film(const FilmConfig& config, std::uint64_t seed) {
  validate(config);
  Film f;
  f.config = config;
  f.seed = seed;
  f.size_px = config.size_px;
  f.pixel_m = config.scan_size_m / config.size_px;
  const int n = f.size_px;
  const double L = config.scan_size_m;
  const double sigma = config.grain_sigma_ln;

  // Grain diameters: lognormal with the requested mean; fill the field's area.
  std::mt19937_64 rng_tess = make_rng(seed, Stream::tessellation);
  std::normal_distribution<double> normal(0.0, 1.0);
  const double mu = std::log(config.grain_mean_m) - 0.5 * sigma * sigma;
  std::vector<double> diam, areas;
  double sum = 0;
  while (sum < L * L) {
    const double d = std::exp(mu + sigma * normal(rng_tess));
    diam.push_back(d);
    areas.push_back(M_PI / 4 * d * d);
    sum += areas.back();
  }
  if (areas.size() > 2 && std::abs(sum - areas.back() - L * L) < std::abs(sum - L * L)) {
    diam.pop_back();
    areas.pop_back();
  }
  f.tessellation = laguerre_tessellation(L, areas, config.lloyd_iterations, rng_tess);
  const Tessellation& t = f.tessellation;

  // Per-grain properties.
  std::mt19937_64 rng_grain = make_rng(seed, Stream::grain_properties);
  const double gv = config.grain_variation;
  f.grains.resize(t.cells.size());
  for (std::size_t i = 0; i < t.cells.size(); ++i) {
    Grain& g = f.grains[i];
    g.seed_m = t.cells[i].seed_m;
    g.area_m2 = t.cells[i].area_m2;
    g.diameter_m = std::sqrt(4 * g.area_m2 / M_PI);
    g.target_diameter_m = diam[i];
    g.dome_height_m = config.dome_height_m * std::sqrt(std::clamp(g.diameter_m / config.grain_mean_m, 0.5, 2.0));
    const double n1 = normal(rng_grain), n2 = normal(rng_grain), n3 = normal(rng_grain), n4 = normal(rng_grain);
    g.conductance_factor = std::exp(gv * n1 - 0.5 * gv * gv);
    g.trap_factor = std::exp(gv * n2 - 0.5 * gv * gv);
    g.ion_tau_factor = std::exp(gv * n3 - 0.5 * gv * gv);
    g.barrier_offset_ev = 0.1 * gv * n4;
  }

  // Boundary segments and their types (two uniform draws per segment, in segment order,
  // so a film with a smaller asymmetric_fraction has a subset of the asymmetric segments).
  std::mt19937_64 rng_seg = make_rng(seed, Stream::segment_types);
  std::uniform_real_distribution<double> uniform(0.0, 1.0);
  f.segments.resize(t.segments.size());
  for (std::size_t s = 0; s < t.segments.size(); ++s) {
    const Segment& ts = t.segments[s];
    BoundarySegment& b = f.segments[s];
    b.grain_a = ts.grain_a;
    b.grain_b = ts.grain_b;
    b.a_m = ts.a_m;
    b.b_m = ts.b_m;
    b.length_m = ts.length_m;
    const double u1 = uniform(rng_seg), u2 = uniform(rng_seg);
    b.asymmetric = u1 < config.asymmetric_fraction;
    b.high_grain = b.asymmetric ? (u2 < 0.5 ? b.grain_a : b.grain_b) : -1;
  }

  // Per-pixel geometry, labels, weights and the noiseless surface without roughness.
  const std::size_t np = f.pixel_count();
  f.true_height_m.assign(np, 0.0);
  f.motif.assign(np, Motif::grain_interior);
  f.grain_id.assign(np, 0);
  f.boundary_distance_m.assign(np, 0.f);
  f.junction_distance_m.assign(np, 0.f);
  f.asymmetric_distance_m.assign(np, 0.f);
  f.boundary_weight.assign(np, 0.f);
  f.junction_weight.assign(np, 0.f);
  f.asymmetric_weight.assign(np, 0.f);
  const double h_b = std::max(0.5 * config.groove_width_m, 0.5 * f.pixel_m);
  const double r_j = std::max(config.junction_radius_m, f.pixel_m / std::sqrt(2.0));
  const double s_g = config.groove_width_m / (2 * std::sqrt(2 * std::log(2.0)));
  const double s_j = config.junction_radius_m / std::sqrt(2 * std::log(2.0));
  const double inf = std::numeric_limits<double>::infinity();
  const double ln2 = std::log(2.0);
  for (int iy = 0; iy < n; ++iy) {
    for (int ix = 0; ix < n; ++ix) {
      const std::size_t i = f.index(ix, iy);
      Vec2 local;
      const int c = t.owner({f.x_m(ix), f.y_m(iy)}, &local);
      const Cell& cell = t.cells[std::size_t(c)];
      double d_b = inf, d_v = inf, d_a = inf, d_step = inf;  // squared distances first
      for (const CellEdge& e : cell.edges) {
        if (e.segment < 0) continue;
        const double d = segment_distance2(local, e.a_m, e.b_m);
        d_b = std::min(d_b, d);
        const double ax = local.x - e.a_m.x, ay = local.y - e.a_m.y, bx = local.x - e.b_m.x, by = local.y - e.b_m.y;
        d_v = std::min({d_v, ax * ax + ay * ay, bx * bx + by * by});
        const BoundarySegment& seg = f.segments[std::size_t(e.segment)];
        if (seg.asymmetric) {
          d_a = std::min(d_a, d);
          if (seg.high_grain == c) d_step = std::min(d_step, d);
        }
      }
      d_b = std::sqrt(d_b), d_v = std::sqrt(d_v), d_a = std::sqrt(d_a), d_step = std::sqrt(d_step);
      f.grain_id[i] = c;
      f.boundary_distance_m[i] = float(d_b);
      f.junction_distance_m[i] = float(d_v);
      f.asymmetric_distance_m[i] = float(d_a);
      const double wb = std::exp(-ln2 * (d_b / h_b) * (d_b / h_b));
      const double wj = std::exp(-ln2 * (d_v / r_j) * (d_v / r_j));
      const double wa = std::exp(-ln2 * (d_a / h_b) * (d_a / h_b));
      f.boundary_weight[i] = float(wb);
      f.junction_weight[i] = float(wj);
      f.asymmetric_weight[i] = float(wa);
      if (d_v <= r_j) f.motif[i] = Motif::triple_junction;
      else if (d_a <= h_b) f.motif[i] = Motif::asymmetric_boundary;
      else if (d_b <= h_b) f.motif[i] = Motif::grain_boundary;

      const Grain& g = f.grains[std::size_t(c)];
      const double rho = 0.9 * std::sqrt(g.area_m2 / M_PI);
      const double u = std::min(1.0, d_b / rho);
      double h = g.dome_height_m * (2 * u - u * u);
      h -= config.groove_depth_m * std::exp(-0.5 * (d_b / s_g) * (d_b / s_g));
      h -= 0.5 * config.groove_depth_m * std::exp(-0.5 * (d_v / s_j) * (d_v / s_j));
      if (d_step < inf) h += config.asymmetric_step_m * std::exp(-d_step / (0.3 * g.diameter_m));
      f.true_height_m[i] = h;
    }
  }

  // Roughness, tip dilation, measurement noise.
  std::mt19937_64 rng_rough = make_rng(seed, Stream::roughness);
  if (config.roughness_rms_m > 0) {
    const std::vector<double> r = correlated_roughness(n, f.pixel_m, config.roughness_rms_m, config.roughness_corr_m, rng_rough);
    for (std::size_t i = 0; i < np; ++i) f.true_height_m[i] += r[i];
  }
  f.dilated_height_m = dilate_paraboloid(f.true_height_m, n, f.pixel_m, config.tip_radius_m);
  f.measured_height_m = f.dilated_height_m;
  std::mt19937_64 rng_noise = make_rng(seed, Stream::height_noise);
  if (config.height_noise_m > 0) {
    std::normal_distribution<double> noise(0.0, config.height_noise_m);
    for (double& h : f.measured_height_m) h += noise(rng_noise);
  }
  return f;
}

core::IvCurve ground_truth_iv(const Film& film, int ix, int iy, const core::Waveform& waveform) {
  if (ix < 0 || iy < 0 || ix >= film.size_px || iy >= film.size_px)
    throw Error("ground_truth_iv: pixel (" + std::to_string(ix) + ", " + std::to_string(iy) + ") outside the " +
                std::to_string(film.size_px) + "×" + std::to_string(film.size_px) + " film");
  return rest_sweep(film.params(ix, iy), waveform);
}

double ground_truth_current(const Film& film, int ix, int iy, double bias_v) {
  if (ix < 0 || iy < 0 || ix >= film.size_px || iy >= film.size_px)
    throw Error("ground_truth_current: pixel outside the film");
  const LocalParams p = film.params(ix, iy);
  return dc_current(p, bias_v, rest_ion_state(p));
}

std::vector<double> ground_truth_current_map(const Film& film, double bias_v) {
  std::vector<double> m(film.pixel_count());
  for (std::size_t i = 0; i < m.size(); ++i) {
    const LocalParams p = film.params(i);
    m[i] = dc_current(p, bias_v, rest_ion_state(p));
  }
  return m;
}

std::vector<LocalParams> local_params_map(const Film& film) {
  std::vector<LocalParams> m(film.pixel_count());
  for (std::size_t i = 0; i < m.size(); ++i) m[i] = film.params(i);
  return m;
}

}  // namespace sdm::sim
