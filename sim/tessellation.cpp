#include "sim/tessellation.hpp"

#include <Eigen/SparseCholesky>
#include <Eigen/SparseCore>
#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <numeric>
#include <string>
#include <tuple>

#include "core/error.hpp"

namespace sdm::sim {
namespace {

struct Vertex {
  Vec2 p;
  int neighbor;  // label of the edge that starts at this vertex
  int sx, sy;
};

double floor_mod(double v, double m) {
  double r = std::fmod(v, m);
  if (r < 0) r += m;
  if (r >= m) r -= m;
  return r;
}

int floor_div(int a, int n) { return a >= 0 ? a / n : -((-a + n - 1) / n); }

/// Seeds in a uniform grid of buckets over the torus.
struct SeedGrid {
  int n = 1;
  double bucket_m = 0;
  std::vector<std::vector<int>> buckets;

  void build(const std::vector<Cell>& cells, double size_m) {
    n = std::max(1, int(std::floor(std::sqrt(double(cells.size()) / 2.0))));
    bucket_m = size_m / n;
    buckets.assign(std::size_t(n) * n, {});
    for (int i = 0; i < int(cells.size()); ++i) {
      const int bx = std::min(n - 1, int(cells[i].seed_m.x / bucket_m));
      const int by = std::min(n - 1, int(cells[i].seed_m.y / bucket_m));
      buckets[std::size_t(by) * n + bx].push_back(i);
    }
  }
};

/// Clips `poly` (counter-clockwise, local frame) to { y : n·y ≤ c }, the new edge labelled (j, sx, sy).
void clip(std::vector<Vertex>& poly, std::vector<Vertex>& out, Vec2 n, double c, int j, int sx, int sy) {
  out.clear();
  const std::size_t m = poly.size();
  for (std::size_t k = 0; k < m; ++k) {
    const Vertex& P = poly[k];
    const Vertex& Q = poly[(k + 1) % m];
    const double dp = n.x * P.p.x + n.y * P.p.y - c;
    const double dq = n.x * Q.p.x + n.y * Q.p.y - c;
    const bool pin = dp <= 0, qin = dq <= 0;
    if (pin) out.push_back(P);
    if (pin != qin) {
      const double t = dp / (dp - dq);
      const Vec2 I{P.p.x + t * (Q.p.x - P.p.x), P.p.y + t * (Q.p.y - P.p.y)};
      if (pin) out.push_back({I, j, sx, sy});                        // leaving: the clip line starts here
      else out.push_back({I, P.neighbor, P.sx, P.sy});             // entering: rest of the old edge
    }
  }
  poly.swap(out);
}

class Builder {
 public:
  Builder(double size_m, std::vector<Cell>& cells) : L_(size_m), cells_(cells) {}

  /// Recomputes every cell's polygon, area, centroid and the Newton Hessian's entries.
  void compute_cells() {
    grid_.build(cells_, L_);
    w_max_ = -std::numeric_limits<double>::infinity();
    for (const Cell& c : cells_) w_max_ = std::max(w_max_, c.weight_m2);
    hess_.clear();
    for (int i = 0; i < int(cells_.size()); ++i) compute_cell(i);
  }

  double size() const { return L_; }
  /// Hessian of the areas w.r.t. the weights, as (i, j, value) triplets.
  const std::vector<Eigen::Triplet<double>>& hessian() const { return hess_; }

 private:
  void compute_cell(int i) {
    Cell& ci = cells_[i];
    const double h = L_ / 2;
    poly_ = {{{-h, -h}, i, 0, -1}, {{h, -h}, i, 1, 0}, {{h, h}, i, 0, 1}, {{-h, h}, i, -1, 0}};
    double R = std::sqrt(2.0) * h;
    const int n = grid_.n;
    const double b = grid_.bucket_m;
    const int bx = std::min(n - 1, int(ci.seed_m.x / b));
    const int by = std::min(n - 1, int(ci.seed_m.y / b));
    const int r_max = int(std::ceil(2.0 * L_ / b)) + 1;
    for (int r = 0; r <= r_max; ++r) {
      for (int dy = -r; dy <= r; ++dy) {
        for (int dx = -r; dx <= r; ++dx) {
          if (std::max(std::abs(dx), std::abs(dy)) != r) continue;
          const int gx = bx + dx, gy = by + dy;
          const int sx = floor_div(gx, n), sy = floor_div(gy, n);
          const int wx = gx - sx * n, wy = gy - sy * n;
          for (int j : grid_.buckets[std::size_t(wy) * n + wx]) {
            if (j == i && sx == 0 && sy == 0) continue;
            const Cell& cj = cells_[j];
            const Vec2 q{cj.seed_m.x + sx * L_ - ci.seed_m.x, cj.seed_m.y + sy * L_ - ci.seed_m.y};
            const double q2 = q.x * q.x + q.y * q.y;
            const double qn = std::sqrt(q2);
            // No point of the polygon (|y| ≤ R) is closer to j in power distance: skip.
            if (q2 - 2 * R * qn >= cj.weight_m2 - ci.weight_m2) continue;
            clip(poly_, scratch_, q, 0.5 * (q2 + ci.weight_m2 - cj.weight_m2), j, sx, sy);
            if (poly_.empty()) break;
            double r2 = 0;
            for (const Vertex& v : poly_) r2 = std::max(r2, v.p.x * v.p.x + v.p.y * v.p.y);
            R = std::sqrt(r2);
          }
          if (poly_.empty()) break;
        }
        if (poly_.empty()) break;
      }
      if (poly_.empty()) break;
      const double D = r * b;  // every seed not visited yet is farther than D
      if (D > R && D * D - 2 * R * D >= w_max_ - ci.weight_m2) break;
    }
    // Drop degenerate edges (length below 1e-12 L).
    const double eps = 1e-12 * L_;
    for (std::size_t k = 0; k < poly_.size() && poly_.size() > 2;) {
      const Vertex& P = poly_[k];
      const Vertex& Q = poly_[(k + 1) % poly_.size()];
      const double ex = Q.p.x - P.p.x, ey = Q.p.y - P.p.y;
      if (ex * ex + ey * ey < eps * eps) poly_.erase(poly_.begin() + long(k));
      else ++k;
    }
    ci.edges.clear();
    ci.area_m2 = 0;
    ci.centroid_m = {0, 0};
    ci.max_radius_m = 0;
    if (poly_.size() < 3) return;
    double a2 = 0, cx = 0, cy = 0;
    for (std::size_t k = 0; k < poly_.size(); ++k) {
      const Vertex& P = poly_[k];
      const Vertex& Q = poly_[(k + 1) % poly_.size()];
      const double cr = P.p.x * Q.p.y - Q.p.x * P.p.y;
      a2 += cr;
      cx += (P.p.x + Q.p.x) * cr;
      cy += (P.p.y + Q.p.y) * cr;
      ci.max_radius_m = std::max(ci.max_radius_m, std::sqrt(P.p.x * P.p.x + P.p.y * P.p.y));
      CellEdge e;
      e.a_m = P.p;
      e.b_m = Q.p;
      e.neighbor = P.neighbor;
      e.shift_x = P.sx;
      e.shift_y = P.sy;
      ci.edges.push_back(e);
      if (P.neighbor != i) {
        const Cell& cj = cells_[P.neighbor];
        const double qx = cj.seed_m.x + P.sx * L_ - ci.seed_m.x, qy = cj.seed_m.y + P.sy * L_ - ci.seed_m.y;
        const double ex = Q.p.x - P.p.x, ey = Q.p.y - P.p.y;
        const double v = std::sqrt((ex * ex + ey * ey) / (qx * qx + qy * qy)) / 2;
        hess_.emplace_back(i, i, v);
        hess_.emplace_back(i, P.neighbor, -v);
      }
    }
    ci.area_m2 = 0.5 * a2;
    if (a2 > 0) ci.centroid_m = {cx / (3 * a2), cy / (3 * a2)};
  }

  double L_;
  std::vector<Cell>& cells_;
  SeedGrid grid_;
  double w_max_ = 0;
  std::vector<Vertex> poly_, scratch_;
  std::vector<Eigen::Triplet<double>> hess_;
};

double area_error(const std::vector<Cell>& cells) {
  double e = 0;
  for (const Cell& c : cells) e = std::max(e, std::abs(c.area_m2 - c.target_area_m2) / c.target_area_m2);
  return e;
}

double error_norm(const std::vector<Cell>& cells) {
  double s = 0;
  for (const Cell& c : cells) s += (c.area_m2 - c.target_area_m2) * (c.area_m2 - c.target_area_m2);
  return std::sqrt(s);
}

/// Damped Newton on the weights until every area is within `tolerance` of its target.
int fit_weights(Builder& builder, std::vector<Cell>& cells, double tolerance, int max_steps) {
  const int n = int(cells.size());
  double min_target = std::numeric_limits<double>::infinity();
  for (const Cell& c : cells) min_target = std::min(min_target, c.target_area_m2);
  builder.compute_cells();
  for (const Cell& c : cells)
    if (c.area_m2 <= 0) {  // an empty cell cannot start Newton: restart from the Voronoi diagram
      for (Cell& d : cells) d.weight_m2 = 0;
      builder.compute_cells();
      break;
    }
  int steps = 0;
  for (; steps < max_steps; ++steps) {
    if (area_error(cells) < tolerance) break;
    double min_area = std::numeric_limits<double>::infinity();
    for (const Cell& c : cells) min_area = std::min(min_area, c.area_m2);
    const double eps0 = 0.5 * std::min(min_target, min_area);
    Eigen::SparseMatrix<double> H(n, n);
    H.setFromTriplets(builder.hessian().begin(), builder.hessian().end());
    double trace = 0;
    for (int k = 0; k < n; ++k) trace += H.coeff(k, k);
    const double reg = 1e-9 * trace / n;
    for (int k = 0; k < n; ++k) H.coeffRef(k, k) += reg;
    Eigen::VectorXd g(n);
    for (int k = 0; k < n; ++k) g[k] = cells[k].target_area_m2 - cells[k].area_m2;
    g.array() -= g.mean();
    // Sparse Cholesky (the Laplacian of a planar graph factors with little fill-in under AMD).
    Eigen::SimplicialLDLT<Eigen::SparseMatrix<double>> ldlt(H);
    Eigen::VectorXd dw = ldlt.info() == Eigen::Success ? Eigen::VectorXd(ldlt.solve(g)) : Eigen::VectorXd(g.array() / H.diagonal().array());
    dw.array() -= dw.mean();
    const double e0 = error_norm(cells);
    std::vector<double> w0(n);
    for (int k = 0; k < n; ++k) w0[k] = cells[k].weight_m2;
    double alpha = 1.0;
    for (int tries = 0; tries < 30; ++tries, alpha *= 0.5) {
      for (int k = 0; k < n; ++k) cells[k].weight_m2 = w0[k] + alpha * dw[k];
      builder.compute_cells();
      double mn = std::numeric_limits<double>::infinity();
      for (const Cell& c : cells) mn = std::min(mn, c.area_m2);
      if (mn >= eps0 && error_norm(cells) <= (1 - alpha / 2) * e0) break;
    }
  }
  return steps;
}

}  // namespace

Tessellation laguerre_tessellation(double size_m, std::vector<double> targets, int lloyd_iterations, std::mt19937_64& rng,
                                   double tolerance) {
  if (!(size_m > 0) || !std::isfinite(size_m)) throw Error("tessellation: size must be a positive length, got " + std::to_string(size_m));
  if (targets.size() < 2) throw Error("tessellation: needs at least 2 cells, got " + std::to_string(targets.size()));
  double sum = 0;
  for (double a : targets) {
    if (!(a > 0) || !std::isfinite(a)) throw Error("tessellation: every target area must be positive and finite");
    sum += a;
  }
  const double scale = size_m * size_m / sum;
  Tessellation t;
  t.size_m = size_m;
  t.cells.resize(targets.size());
  std::uniform_real_distribution<double> u(0.0, size_m);
  for (std::size_t i = 0; i < targets.size(); ++i) {
    t.cells[i].target_area_m2 = targets[i] * scale;
    t.cells[i].seed_m.x = u(rng);
    t.cells[i].seed_m.y = u(rng);
  }
  Builder builder(size_m, t.cells);
  const int max_steps = 60;
  // Lloyd steps need only a rough fit; the last fit is to `tolerance`.
  for (int it = 0; it < lloyd_iterations; ++it) {
    t.newton_steps += fit_weights(builder, t.cells, std::max(tolerance, 0.02), max_steps);
    for (Cell& c : t.cells) {
      c.seed_m.x = floor_mod(c.seed_m.x + c.centroid_m.x, size_m);
      c.seed_m.y = floor_mod(c.seed_m.y + c.centroid_m.y, size_m);
    }
  }
  t.newton_steps += fit_weights(builder, t.cells, tolerance, 4 * max_steps);
  t.max_relative_area_error = area_error(t.cells);

  // Boundary segments, one per pair of adjacent cells (and periodic image), canonical by lower index.
  std::map<std::tuple<int, int, int, int>, int> index;
  for (int i = 0; i < int(t.cells.size()); ++i) {
    Cell& c = t.cells[i];
    for (CellEdge& e : c.edges) {
      if (e.neighbor == i) continue;  // the cell borders its own periodic image: no boundary
      const bool lower = i < e.neighbor;
      const auto key = lower ? std::make_tuple(i, e.neighbor, e.shift_x, e.shift_y)
                             : std::make_tuple(e.neighbor, i, -e.shift_x, -e.shift_y);
      auto it = index.find(key);
      if (it == index.end()) {
        Segment s;
        s.grain_a = std::get<0>(key);
        s.grain_b = std::get<1>(key);
        s.shift_x = std::get<2>(key);
        s.shift_y = std::get<3>(key);
        if (lower) {
          s.a_m = {c.seed_m.x + e.a_m.x, c.seed_m.y + e.a_m.y};
          s.b_m = {c.seed_m.x + e.b_m.x, c.seed_m.y + e.b_m.y};
        } else {  // in grain_a's frame this cell's seed sits at its seed + shift·L
          const double sxm = c.seed_m.x + double(s.shift_x) * size_m;
          const double sym = c.seed_m.y + double(s.shift_y) * size_m;
          s.a_m = {sxm + e.a_m.x, sym + e.a_m.y};
          s.b_m = {sxm + e.b_m.x, sym + e.b_m.y};
        }
        s.length_m = std::hypot(s.b_m.x - s.a_m.x, s.b_m.y - s.a_m.y);
        it = index.emplace(key, int(t.segments.size())).first;
        t.segments.push_back(s);
      }
      e.segment = it->second;
    }
  }
  t.build_lookup();
  return t;
}

void Tessellation::build_lookup() {
  const int n_cells = int(cells.size());
  lookup_n_ = std::max(1, int(std::floor(std::sqrt(double(n_cells)))));
  lookup_bucket_m_ = size_m / lookup_n_;
  lookup_.assign(std::size_t(lookup_n_) * lookup_n_, {});
  for (int i = 0; i < n_cells; ++i) {
    const Cell& c = cells[i];
    if (c.edges.empty()) continue;
    double x0 = 1e300, x1 = -1e300, y0 = 1e300, y1 = -1e300;
    for (const CellEdge& e : c.edges) {
      x0 = std::min(x0, e.a_m.x), x1 = std::max(x1, e.a_m.x);
      y0 = std::min(y0, e.a_m.y), y1 = std::max(y1, e.a_m.y);
    }
    const int gx0 = int(std::floor((c.seed_m.x + x0) / lookup_bucket_m_)), gx1 = int(std::floor((c.seed_m.x + x1) / lookup_bucket_m_));
    const int gy0 = int(std::floor((c.seed_m.y + y0) / lookup_bucket_m_)), gy1 = int(std::floor((c.seed_m.y + y1) / lookup_bucket_m_));
    for (int gy = gy0; gy <= gy1; ++gy)
      for (int gx = gx0; gx <= gx1; ++gx) {
        const int mx = floor_div(gx, lookup_n_), my = floor_div(gy, lookup_n_);
        const int wx = gx - mx * lookup_n_, wy = gy - my * lookup_n_;
        // A point in wrapped bucket (wx, wy) sees this cell's image at seed − m·L.
        lookup_[std::size_t(wy) * lookup_n_ + wx].push_back({i, -mx, -my});
      }
  }
}

int Tessellation::owner(Vec2 p, Vec2* local) const {
  p.x = floor_mod(p.x, size_m);
  p.y = floor_mod(p.y, size_m);
  const int bx = std::min(lookup_n_ - 1, int(p.x / lookup_bucket_m_));
  const int by = std::min(lookup_n_ - 1, int(p.y / lookup_bucket_m_));
  int best = -1;
  double best_d = std::numeric_limits<double>::infinity();
  Vec2 best_local;
  for (const Candidate& c : lookup_[std::size_t(by) * lookup_n_ + bx]) {
    const Cell& cell = cells[c.cell];
    const double lx = p.x - (cell.seed_m.x + c.shift_x * size_m);
    const double ly = p.y - (cell.seed_m.y + c.shift_y * size_m);
    const double d = lx * lx + ly * ly - cell.weight_m2;
    if (d < best_d || (d == best_d && c.cell < best)) {
      best_d = d;
      best = c.cell;
      best_local = {lx, ly};
    }
  }
  if (best < 0) {  // cannot happen for a tiling (every bucket is covered); brute force to be safe
    for (int i = 0; i < int(cells.size()); ++i)
      for (int sy = -1; sy <= 1; ++sy)
        for (int sx = -1; sx <= 1; ++sx) {
          const double lx = p.x - (cells[i].seed_m.x + sx * size_m), ly = p.y - (cells[i].seed_m.y + sy * size_m);
          const double d = lx * lx + ly * ly - cells[i].weight_m2;
          if (d < best_d) best_d = d, best = i, best_local = {lx, ly};
        }
  }
  if (local) *local = best_local;
  return best;
}

}  // namespace sdm::sim
