#pragma once
// A synthetic halide-perovskite film: microstructure, topography, motif labels and local
// transport, plus the ground truth the benchmark reads (noiseless I–V at any pixel).
//
// Microstructure: a periodic Laguerre tessellation (sim/tessellation.hpp) whose grain
// areas are drawn so the equivalent-circle diameters d = √(4A/π) follow the lognormal of
// FilmConfig (mean grain_mean_m, shape grain_sigma_ln; ln d ~ N(ln mean − σ²/2, σ²)).
// Grains are drawn until their areas fill the field (the last grain kept or not, whichever
// is closer), then rescaled by the small factor that makes them tile it exactly.
// Every shared cell edge is one boundary segment, typed asymmetric with probability
// asymmetric_fraction (one draw per segment); every cell vertex is a triple junction.
//
// Topography (heights in m, zero = substrate-level reference):
//   h = H_g·(2u − u²)                                    dome, u = min(1, d_b/(0.9·√(A_g/π)))
//     − D·exp(−d_b²/(2 s²))                              groove, s = groove_width/(2√(2 ln 2)) (FWHM = width)
//     − D/2·exp(−d_v²/(2 s_j²))                          deeper pit at junctions, s_j = junction_radius/1.1774
//     + S·exp(−d_a/(0.3·d_g))   on the high grain of an asymmetric segment (a height step S at the boundary)
//     + roughness (Gaussian field, sim/topography.hpp)
// with d_b, d_v, d_a the distances to the nearest boundary, triple junction and asymmetric
// segment; H_g = dome_height·√clamp(d_g/mean, 0.5, 2). The measured image is the
// paraboloid-tip dilation of h plus white noise of height_noise_m.
//
// Labels: triple_junction within r_j = max(junction_radius, pixel/√2) of a vertex; otherwise
// asymmetric_boundary / grain_boundary within h_b = max(groove_width/2, pixel/2) of an
// asymmetric / normal segment; otherwise grain_interior. Transport weights
// w = exp(−ln 2·(d/h)²) (1 on the motif, 1/2 at the label edge) blend the motif multipliers
// of FilmConfig into the per-grain parameters (see Film::params).
//
// Coordinates: pixel (ix, iy) is centred at ((ix + 0.5)·pixel_m, (iy + 0.5)·pixel_m), as
// hardware::ImageAxes with x0 = y0 = pixel_m/2. Maps are row-major, iy slow. The film is
// periodic: positions outside [0, scan_size) wrap.
#include <cstdint>
#include <utility>
#include <vector>

#include "core/waveform.hpp"
#include "sim/film_config.hpp"
#include "sim/motif.hpp"
#include "sim/tessellation.hpp"
#include "sim/transport.hpp"

namespace sdm::sim {

struct Grain {
  Vec2 seed_m;                     ///< Laguerre seed in [0, L)², m
  double area_m2 = 0;              ///< realised area, m²
  double diameter_m = 0;           ///< equivalent-circle diameter √(4A/π), m
  double target_diameter_m = 0;    ///< drawn lognormal diameter (before the tiling rescale), m
  double dome_height_m = 0;        ///< H_g, m
  double conductance_factor = 1;   ///< per-grain bulk-conductance multiplier (lognormal, mean 1)
  double trap_factor = 1;          ///< per-grain trap-density multiplier
  double ion_tau_factor = 1;       ///< per-grain tau0 multiplier
  double barrier_offset_ev = 0;    ///< per-grain shift of phi_B, eV
};

struct BoundarySegment {
  int grain_a = -1, grain_b = -1;  ///< the two grains (grain_a < grain_b)
  Vec2 a_m, b_m;                   ///< endpoints (triple junctions), in grain_a's frame (may lie outside the field)
  double length_m = 0;
  bool asymmetric = false;
  int high_grain = -1;             ///< asymmetric only: the grain on the raised side
};

struct Film {
  FilmConfig config;
  std::uint64_t seed = 0;          ///< the seed generate_film() was given
  int size_px = 0;
  double pixel_m = 0;

  std::vector<double> true_height_m;      ///< the surface, m
  std::vector<double> dilated_height_m;   ///< noiseless tip-dilated image, m (≥ true_height_m)
  std::vector<double> measured_height_m;  ///< dilated + white noise: what one survey sees, m
  std::vector<Motif> motif;               ///< motif label per pixel
  std::vector<std::int32_t> grain_id;     ///< index into grains per pixel
  std::vector<float> boundary_distance_m; ///< distance to the nearest boundary segment, m
  std::vector<float> junction_distance_m; ///< distance to the nearest triple junction, m
  std::vector<float> asymmetric_distance_m; ///< distance to the nearest asymmetric segment of the pixel's grain, m (inf: none)
  std::vector<float> boundary_weight;     ///< transport weight of "boundary" (normal or asymmetric), 0..1
  std::vector<float> junction_weight;     ///< transport weight of "triple junction", 0..1
  std::vector<float> asymmetric_weight;   ///< transport weight of "asymmetric boundary", 0..1

  std::vector<Grain> grains;
  std::vector<BoundarySegment> segments;
  Tessellation tessellation;

  double scan_size_m() const { return pixel_m * size_px; }
  std::size_t pixel_count() const { return std::size_t(size_px) * size_px; }
  std::size_t index(int ix, int iy) const { return std::size_t(iy) * size_px + ix; }
  double x_m(int ix) const { return (ix + 0.5) * pixel_m; }
  double y_m(int iy) const { return (iy + 0.5) * pixel_m; }
  /// The pixel containing (x_m, y_m), wrapped periodically into the field.
  std::pair<int, int> pixel_at(double x_m, double y_m) const;

  /// Local transport parameters of pixel (ix, iy):
  ///   conductance = grain · boundary_conductance^wb · junction_conductance^wj · asymmetric_conductance^wa
  ///   tau0 = ion_tau · grain / (boundary_speedup^wb · junction_speedup^wj)
  ///   gain, dphi = interior value · boundary_strength^wb · junction_strength^wj (dphi ≤ 0.4 eV)
  ///   n_t = trap_density · grain · boundary_trap^wb;  phi_B(+) = barrier + grain + wa·asymmetric_barrier
  ///   phi_B(−) = barrier + grain (the asymmetric barrier is one-sided: it blocks injection at
  ///   positive tip bias only).
  LocalParams params(int ix, int iy) const { return params(index(ix, iy)); }
  LocalParams params(std::size_t pixel) const;
};

/// Builds the film of `seed` (a campaign uses film_seed(config, campaign_seed)). Validates
/// the config first (throws sdm::Error naming the bad key). Same (config, seed) ⇒ bit-identical film.
Film generate_film(const FilmConfig& config, std::uint64_t seed);

// ---- Ground truth (noiseless; for metrics, never for the engine) ----

/// Noiseless I–V of pixel (ix, iy) for `waveform`, starting from the ionic state at rest.
core::IvCurve ground_truth_iv(const Film& film, int ix, int iy, const core::Waveform& waveform);
/// DC current at `bias_v` with the ionic state at rest, A.
double ground_truth_current(const Film& film, int ix, int iy, double bias_v);
/// ground_truth_current at every pixel (row-major), A.
std::vector<double> ground_truth_current_map(const Film& film, double bias_v);
/// Film::params at every pixel (row-major): the local transport parameters as maps.
std::vector<LocalParams> local_params_map(const Film& film);

}  // namespace sdm::sim
