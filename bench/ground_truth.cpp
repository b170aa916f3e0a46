#include "bench/ground_truth.hpp"

#include <algorithm>
#include <cmath>
#include <random>
#include <thread>

#include "bench/stats/kmeans.hpp"
#include "core/error.hpp"
#include "hardware/replay/dataset.hpp"
#include "sim/film.hpp"

namespace sdm::bench {

double quantile(std::vector<double> v, double q) {
  if (v.empty()) throw Error("quantile of an empty sample");
  std::sort(v.begin(), v.end());
  const double pos = std::clamp(q, 0.0, 1.0) * double(v.size() - 1);
  const std::size_t a = std::size_t(pos);
  if (a + 1 >= v.size()) return v.back();
  return v[a] + (pos - double(a)) * (v[a + 1] - v[a]);
}

void finish_truth(FilmTruth& t, const std::vector<double>& peak, const engine::gp::RowMatrixF& patches,
                  const TruthOptions& o) {
  const std::size_t m = t.target.size();
  if (m == 0) throw Error("ground truth: no candidates");
  if (std::size_t(patches.rows()) != m)
    throw Error("ground truth: " + std::to_string(patches.rows()) + " patches for " + std::to_string(m) + " candidates");
  t.target_name = o.scalarizer.name();
  t.target_unit = o.scalarizer.unit();
  t.target_bins = o.target_bins;
  double s = 0;
  for (double v : t.target) s += v;
  t.target_mean = s / double(m);
  double ss = 0;
  for (double v : t.target) ss += (v - t.target_mean) * (v - t.target_mean);
  t.target_sd = m > 1 ? std::sqrt(ss / double(m - 1)) : 0.0;

  t.hysteresis_edges.clear();
  for (double q : o.hysteresis_quantiles) t.hysteresis_edges.push_back(quantile(t.loop_area, q));
  std::vector<char> present(t.hysteresis_edges.size() + 1, 0);
  for (double a : t.loop_area) present[std::size_t(t.hysteresis_class(a))] = 1;
  t.hysteresis_classes_present = int(std::count(present.begin(), present.end(), 1));

  const double p99 = quantile(peak, 0.99);
  t.curve_scale_a = p99 > 0 && std::isfinite(p99) ? p99 : 1e-12;

  stats::KMeansConfig kc;
  kc.k = std::max(1, std::min<int>(o.patch_clusters, int(m)));
  std::mt19937_64 rng(o.cluster_seed);
  const stats::KMeansResult km = stats::kmeans(patches, kc, rng);
  t.patch_cluster = km.labels;
  t.patch_clusters = kc.k;
}

namespace {
struct SweepTruth {
  double target = 0, loop_area = 0, peak = 0;
};
SweepTruth sweep_truth(const sim::Film& film, int ix, int iy, const TruthOptions& o) {
  static const engine::acquisition::ScalarizerSpec loop{engine::acquisition::ScalarizerKind::loop_area};
  const core::IvCurve c = sim::ground_truth_iv(film, ix, iy, o.sweep);
  SweepTruth s;
  s.target = engine::acquisition::scalarize(c, o.scalarizer);
  s.loop_area = o.scalarizer.kind == engine::acquisition::ScalarizerKind::loop_area ? s.target
                                                                                      : engine::acquisition::scalarize(c, loop);
  for (double i : c.current_a) s.peak = std::max(s.peak, std::abs(i));
  return s;
}
}  // namespace

FilmTruth twin_film_truth(const sim::Film& film, const engine::campaign::CandidateGrid& grid, const hardware::ImageAxes& axes,
                          const engine::gp::RowMatrixF& patches, const TruthOptions& o) {
  o.sweep.validate();
  const std::size_t m = grid.size();
  FilmTruth t;
  t.has_motifs = true;
  for (int k = 0; k < sim::kMotifCount; ++k) t.motif_names.push_back(sim::motif_name(sim::Motif(k)));
  t.target.assign(m, 0);
  t.loop_area.assign(m, 0);
  t.motif.assign(m, -1);
  std::vector<double> peak(m, 0);
  std::vector<std::pair<int, int>> px(m);
  for (std::size_t i = 0; i < m; ++i) {
    const double x = axes.x0_m + grid.ix_px[i] * axes.dx_m, y = axes.y0_m + grid.iy_px[i] * axes.dy_m;
    px[i] = film.pixel_at(x, y);
    t.motif[i] = int(film.motif[film.index(px[i].first, px[i].second)]);
  }
  // Each candidate's sweep is independent, so the split over threads cannot change a value.
  const int threads = std::max(1, std::min<int>(o.threads, int(m / 64) + 1));
  auto work = [&](int w) {
    for (std::size_t i = std::size_t(w); i < m; i += std::size_t(threads)) {
      const SweepTruth s = sweep_truth(film, px[i].first, px[i].second, o);
      t.target[i] = s.target;
      t.loop_area[i] = s.loop_area;
      peak[i] = s.peak;
    }
  };
  if (threads == 1) work(0);
  else {
    std::vector<std::thread> pool;
    for (int w = 0; w < threads; ++w) pool.emplace_back(work, w);
    for (auto& th : pool) th.join();
  }
  t.motif_fraction.assign(t.motif_names.size(), 0);
  for (int lab : t.motif) t.motif_fraction[std::size_t(lab)] += 1.0 / double(m);
  finish_truth(t, peak, patches, o);
  return t;
}

PointTruth twin_point_truth(const sim::Film& film, int ix, int iy, const TruthOptions& o) {
  const SweepTruth s = sweep_truth(film, ix, iy, o);
  PointTruth p;
  p.motif = int(film.motif[film.index(ix, iy)]);
  p.target = s.target;
  p.loop_area = s.loop_area;
  p.x_m = film.x_m(ix);
  p.y_m = film.y_m(iy);
  return p;
}

namespace {
core::IvCurve recorded_curve(const hardware::replay::Dataset& d, int ix, int iy) {
  core::IvCurve c;
  c.bias_v = d.bias_v;
  const double* s = d.spectrum(ix, iy);
  c.current_a.assign(s, s + d.n_points());
  c.time_s.resize(d.n_points());
  for (std::size_t k = 0; k < c.time_s.size(); ++k) c.time_s[k] = double(k);
  return c;
}
SweepTruth curve_truth(const core::IvCurve& c, const TruthOptions& o) {
  static const engine::acquisition::ScalarizerSpec loop{engine::acquisition::ScalarizerKind::loop_area};
  SweepTruth s;
  s.target = engine::acquisition::scalarize(c, o.scalarizer);
  s.loop_area = engine::acquisition::scalarize(c, loop);
  for (double i : c.current_a) s.peak = std::max(s.peak, std::abs(i));
  return s;
}
}  // namespace

FilmTruth dataset_truth(const hardware::replay::Dataset& d, const engine::campaign::CandidateGrid& grid,
                        const hardware::ImageAxes& axes, const engine::gp::RowMatrixF& patches, const TruthOptions& o) {
  const std::size_t m = grid.size();
  FilmTruth t;
  t.has_motifs = false;
  t.target.assign(m, 0);
  t.loop_area.assign(m, 0);
  t.motif.assign(m, -1);
  std::vector<double> peak(m, 0);
  for (std::size_t i = 0; i < m; ++i) {
    int ix = 0, iy = 0;
    d.nearest(axes.x0_m + grid.ix_px[i] * axes.dx_m, axes.y0_m + grid.iy_px[i] * axes.dy_m, ix, iy);
    const SweepTruth s = curve_truth(recorded_curve(d, ix, iy), o);
    t.target[i] = s.target;
    t.loop_area[i] = s.loop_area;
    peak[i] = s.peak;
  }
  finish_truth(t, peak, patches, o);
  return t;
}

PointTruth dataset_point_truth(const hardware::replay::Dataset& d, double x_m, double y_m, const TruthOptions& o) {
  int ix = 0, iy = 0;
  d.nearest(x_m, y_m, ix, iy);
  const SweepTruth s = curve_truth(recorded_curve(d, ix, iy), o);
  PointTruth p;
  p.target = s.target;
  p.loop_area = s.loop_area;
  p.x_m = d.x_m(ix);
  p.y_m = d.y_m(iy);
  return p;
}

}  // namespace sdm::bench
