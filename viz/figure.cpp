// Rendering of sdm::viz figures: layout (margins from measured tick labels, colour bar, outside
// legend), data→pixel mapping, artists drawn in call order, then frame, ticks, labels, legend.
#include "viz/figure.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <sstream>
#include <utility>

#include <opencv2/imgproc.hpp>

#include "core/error.hpp"
#include "viz/draw.hpp"
#include "viz/ticks.hpp"

namespace sdm::viz {

namespace {

enum class Kind { line, band, scatter, scatter_values, image, label_image, text };

struct Artist {
  Kind kind = Kind::line;
  std::vector<double> x, y, v;  // line/scatter: x,y; band: x, y = lo, v = hi; scatter_values: x,y,v; image: v
  std::vector<int> labels;
  std::vector<std::string> names;
  Color color;
  std::string label;  // legend entry, colour-bar title or text
  double size = 2.0;  // line width or marker radius, px
  double alpha = 1.0;
  Colormap map = Colormap::viridis;
  int nx = 0, ny = 0;
  double x0 = 0, x1 = 1, y0 = 0, y1 = 1;
  double vmin = 0, vmax = 1;  // resolved colour range (image, scatter_values)
};

std::string str(double v) {
  std::ostringstream os;
  os << v;
  return os.str();
}

void require_nonempty(const char* fn, const char* name, std::size_t n) {
  if (n == 0) throw Error(std::string("viz::Axes::") + fn + ": " + name + " is empty");
}

void require_same(const char* fn, const char* an, std::size_t a, const char* bn, std::size_t b) {
  if (a != b)
    throw Error(std::string("viz::Axes::") + fn + ": " + an + " has " + std::to_string(a) + " values but " + bn + " has " +
                std::to_string(b));
}

void require_finite(const char* fn, const char* what, double v) {
  if (!std::isfinite(v)) throw Error(std::string("viz::Axes::") + fn + ": " + what + " must be finite, got " + str(v));
}

// A degenerate range [v, v] widened to something readable.
std::pair<double, double> widen_constant(double v) {
  const double d = v == 0.0 ? 1.0 : 0.1 * std::abs(v);
  return {v - d, v + d};
}

// Finite min/max of values (NaN/inf skipped); nullopt when none.
std::optional<std::pair<double, double>> finite_range(const std::vector<double>& v) {
  double lo = std::numeric_limits<double>::infinity(), hi = -lo;
  for (double x : v)
    if (std::isfinite(x)) lo = std::min(lo, x), hi = std::max(hi, x);
  if (lo > hi) return std::nullopt;
  return std::make_pair(lo, hi);
}

void validate_map(const char* fn, Colormap map) {
  switch (map) {
    case Colormap::viridis: case Colormap::magma: case Colormap::gray: case Colormap::coolwarm: return;
  }
  throw Error(std::string("viz::Axes::") + fn + ": unknown colormap " + std::to_string(static_cast<int>(map)));
}

}  // namespace

struct Axes::State {
  std::string title, xlabel, ylabel;
  std::optional<std::pair<double, double>> xlim, ylim;
  bool log_y = false, equal = false, axis_off = false;
  std::optional<bool> legend, grid;
  std::vector<Artist> artists;
};

// ---------------------------------------------------------------------------------------------
// Axes: recording artists (validated now, so errors point at the offending call).

void Axes::title(const std::string& text) { state_->title = text; }
void Axes::xlabel(const std::string& text) { state_->xlabel = text; }
void Axes::ylabel(const std::string& text) { state_->ylabel = text; }
void Axes::log_y(bool on) { state_->log_y = on; }
void Axes::legend(bool on) { state_->legend = on; }
void Axes::equal_aspect(bool on) { state_->equal = on; }
void Axes::grid(bool on) { state_->grid = on; }
void Axes::axis_off(bool off) { state_->axis_off = off; }

void Axes::xlim(double lo, double hi) {
  require_finite("xlim", "lo", lo);
  require_finite("xlim", "hi", hi);
  if (!(lo < hi)) throw Error("viz::Axes::xlim: needs lo < hi, got [" + str(lo) + ", " + str(hi) + "]");
  state_->xlim = {lo, hi};
}

void Axes::ylim(double lo, double hi) {
  require_finite("ylim", "lo", lo);
  require_finite("ylim", "hi", hi);
  if (!(lo < hi)) throw Error("viz::Axes::ylim: needs lo < hi, got [" + str(lo) + ", " + str(hi) + "]");
  state_->ylim = {lo, hi};
}

void Axes::line(const std::vector<double>& x, const std::vector<double>& y, Color color, const std::string& label,
                double width_px) {
  require_nonempty("line", "x", x.size());
  require_same("line", "x", x.size(), "y", y.size());
  if (!(width_px > 0 && width_px < 100)) throw Error("viz::Axes::line: width_px must be in (0, 100), got " + str(width_px));
  Artist a;
  a.kind = Kind::line, a.x = x, a.y = y, a.color = color, a.label = label, a.size = width_px;
  state_->artists.push_back(std::move(a));
}

void Axes::band(const std::vector<double>& x, const std::vector<double>& lo, const std::vector<double>& hi, Color color,
                double alpha) {
  require_nonempty("band", "x", x.size());
  require_same("band", "x", x.size(), "lo", lo.size());
  require_same("band", "x", x.size(), "hi", hi.size());
  if (!(alpha >= 0 && alpha <= 1)) throw Error("viz::Axes::band: alpha must be in [0, 1], got " + str(alpha));
  Artist a;
  a.kind = Kind::band, a.x = x, a.y = lo, a.v = hi, a.color = color, a.alpha = alpha;
  state_->artists.push_back(std::move(a));
}

void Axes::scatter(const std::vector<double>& x, const std::vector<double>& y, Color color, const std::string& label,
                   double radius_px) {
  require_nonempty("scatter", "x", x.size());
  require_same("scatter", "x", x.size(), "y", y.size());
  if (!(radius_px > 0 && radius_px < 100))
    throw Error("viz::Axes::scatter: radius_px must be in (0, 100), got " + str(radius_px));
  Artist a;
  a.kind = Kind::scatter, a.x = x, a.y = y, a.color = color, a.label = label, a.size = radius_px;
  state_->artists.push_back(std::move(a));
}

void Axes::scatter_values(const std::vector<double>& x, const std::vector<double>& y, const std::vector<double>& values,
                          Colormap map, const std::string& colorbar_label, double radius_px) {
  require_nonempty("scatter_values", "x", x.size());
  require_same("scatter_values", "x", x.size(), "y", y.size());
  require_same("scatter_values", "x", x.size(), "values", values.size());
  validate_map("scatter_values", map);
  if (!(radius_px > 0 && radius_px < 100))
    throw Error("viz::Axes::scatter_values: radius_px must be in (0, 100), got " + str(radius_px));
  Artist a;
  a.kind = Kind::scatter_values, a.x = x, a.y = y, a.v = values, a.map = map, a.label = colorbar_label, a.size = radius_px;
  auto range = finite_range(values).value_or(std::make_pair(0.0, 1.0));
  if (range.first == range.second) range = widen_constant(range.first);
  a.vmin = range.first, a.vmax = range.second;
  state_->artists.push_back(std::move(a));
}

namespace {
void check_grid(const char* fn, std::size_t n, int nx, int ny, double x0, double x1, double y0, double y1) {
  const std::string f = std::string("viz::Axes::") + fn;
  if (nx <= 0 || ny <= 0)
    throw Error(f + ": nx and ny must be positive, got nx=" + std::to_string(nx) + " ny=" + std::to_string(ny));
  if (n != static_cast<std::size_t>(nx) * static_cast<std::size_t>(ny))
    throw Error(f + ": " + std::to_string(n) + " values but nx*ny = " + std::to_string(nx) + "*" + std::to_string(ny) +
                " = " + std::to_string(static_cast<long long>(nx) * ny));
  for (double v : {x0, x1, y0, y1}) require_finite(fn, "the extent", v);
  if (x0 == x1 || y0 == y1)
    throw Error(f + ": empty extent [" + str(x0) + ", " + str(x1) + "] x [" + str(y0) + ", " + str(y1) + "]");
}
}  // namespace

void Axes::image(const std::vector<double>& values, int nx, int ny, double x0, double x1, double y0, double y1, Colormap map,
                 const std::string& colorbar_label, std::optional<double> vmin, std::optional<double> vmax) {
  check_grid("image", values.size(), nx, ny, x0, x1, y0, y1);
  validate_map("image", map);
  if (vmin) require_finite("image", "vmin", *vmin);
  if (vmax) require_finite("image", "vmax", *vmax);
  if (vmin && vmax && !(*vmin < *vmax))
    throw Error("viz::Axes::image: needs vmin < vmax, got " + str(*vmin) + " and " + str(*vmax));
  Artist a;
  a.kind = Kind::image, a.v = values, a.nx = nx, a.ny = ny, a.x0 = x0, a.x1 = x1, a.y0 = y0, a.y1 = y1, a.map = map;
  a.label = colorbar_label;
  auto range = finite_range(values).value_or(std::make_pair(0.0, 1.0));
  double lo = vmin.value_or(range.first), hi = vmax.value_or(range.second);
  if (vmin && !vmax && hi <= lo) hi = lo + std::max(1.0, std::abs(lo)) * 0.1;
  if (vmax && !vmin && lo >= hi) lo = hi - std::max(1.0, std::abs(hi)) * 0.1;
  if (lo == hi) std::tie(lo, hi) = widen_constant(lo);
  a.vmin = lo, a.vmax = hi;
  state_->artists.push_back(std::move(a));
}

void Axes::label_image(const std::vector<int>& labels, int nx, int ny, double x0, double x1, double y0, double y1,
                       const std::vector<std::string>& names, double alpha) {
  check_grid("label_image", labels.size(), nx, ny, x0, x1, y0, y1);
  if (names.empty()) throw Error("viz::Axes::label_image: names is empty (one name per label 0..n-1 is needed)");
  if (!(alpha >= 0 && alpha <= 1)) throw Error("viz::Axes::label_image: alpha must be in [0, 1], got " + str(alpha));
  for (std::size_t i = 0; i < labels.size(); ++i)
    if (labels[i] >= static_cast<int>(names.size()))
      throw Error("viz::Axes::label_image: label " + std::to_string(labels[i]) + " at index " + std::to_string(i) +
                  " has no name (" + std::to_string(names.size()) + " names; negative labels are drawn transparent)");
  Artist a;
  a.kind = Kind::label_image, a.labels = labels, a.names = names, a.nx = nx, a.ny = ny;
  a.x0 = x0, a.x1 = x1, a.y0 = y0, a.y1 = y1, a.alpha = alpha;
  state_->artists.push_back(std::move(a));
}

void Axes::text(double x, double y, const std::string& text, Color color) {
  require_finite("text", "x", x);
  require_finite("text", "y", y);
  Artist a;
  a.kind = Kind::text, a.x = {x}, a.y = {y}, a.label = text, a.color = color;
  state_->artists.push_back(std::move(a));
}

// ---------------------------------------------------------------------------------------------
// Rendering.

namespace {

using draw::HAlign;
using draw::VAlign;

constexpr Color kBlack{0, 0, 0};
constexpr Color kGrid{228, 228, 228};
constexpr Color kDark{40, 40, 40};

struct Fonts {
  draw::Font tick, label, title, legend;
  double s;  // scale of the panel relative to 560×420
};

Fonts fonts_for(double s) {
  const int th = s > 1.6 ? 2 : 1;
  return {{cv::FONT_HERSHEY_SIMPLEX, 0.42 * s, th},
          {cv::FONT_HERSHEY_SIMPLEX, 0.5 * s, th},
          {cv::FONT_HERSHEY_DUPLEX, 0.56 * s, th},
          {cv::FONT_HERSHEY_SIMPLEX, 0.42 * s, th},
          s};
}

struct LegendEntry {
  enum { line, marker, patch } kind;
  Color color;
  std::string text;
  double size;
};

// Liang–Barsky: clip segment p→q to [x0, x1]×[y0, y1]; false when nothing is left.
bool clip_segment(cv::Point2d& p, cv::Point2d& q, double x0, double y0, double x1, double y1) {
  double t0 = 0, t1 = 1;
  const double dx = q.x - p.x, dy = q.y - p.y;
  const double pk[4] = {-dx, dx, -dy, dy}, qk[4] = {p.x - x0, x1 - p.x, p.y - y0, y1 - p.y};
  for (int k = 0; k < 4; ++k) {
    if (pk[k] == 0) {
      if (qk[k] < 0) return false;
      continue;
    }
    const double r = qk[k] / pk[k];
    if (pk[k] < 0) t0 = std::max(t0, r);
    else t1 = std::min(t1, r);
    if (t0 > t1) return false;
  }
  const cv::Point2d a = p;
  p = {a.x + t0 * dx, a.y + t0 * dy};
  q = {a.x + t1 * dx, a.y + t1 * dy};
  return true;
}

// Sutherland–Hodgman: clip a polygon to [x0, x1]×[y0, y1].
std::vector<cv::Point2d> clip_polygon(std::vector<cv::Point2d> poly, double x0, double y0, double x1, double y1) {
  auto clip_edge = [](const std::vector<cv::Point2d>& in, auto inside, auto intersect) {
    std::vector<cv::Point2d> out;
    for (std::size_t i = 0; i < in.size(); ++i) {
      const cv::Point2d& cur = in[i];
      const cv::Point2d& prev = in[(i + in.size() - 1) % in.size()];
      if (inside(cur)) {
        if (!inside(prev)) out.push_back(intersect(prev, cur));
        out.push_back(cur);
      } else if (inside(prev)) {
        out.push_back(intersect(prev, cur));
      }
    }
    return out;
  };
  auto at_x = [](double x) {
    return [x](cv::Point2d a, cv::Point2d b) { return cv::Point2d(x, a.y + (b.y - a.y) * (x - a.x) / (b.x - a.x)); };
  };
  auto at_y = [](double y) {
    return [y](cv::Point2d a, cv::Point2d b) { return cv::Point2d(a.x + (b.x - a.x) * (y - a.y) / (b.y - a.y), y); };
  };
  if (poly.size() >= 3) poly = clip_edge(poly, [&](cv::Point2d p) { return p.x >= x0; }, at_x(x0));
  if (poly.size() >= 3) poly = clip_edge(poly, [&](cv::Point2d p) { return p.x <= x1; }, at_x(x1));
  if (poly.size() >= 3) poly = clip_edge(poly, [&](cv::Point2d p) { return p.y >= y0; }, at_y(y0));
  if (poly.size() >= 3) poly = clip_edge(poly, [&](cv::Point2d p) { return p.y <= y1; }, at_y(y1));
  return poly;
}

constexpr int kShift = 4;  // sub-pixel bits for OpenCV drawing
// Continuous pixel coordinate (pixel c spans [c, c+1)) → fixed-point OpenCV point (centre at c).
cv::Point fixed_point(cv::Point2d p) {
  return {static_cast<int>(std::lround((p.x - 0.5) * (1 << kShift))), static_cast<int>(std::lround((p.y - 0.5) * (1 << kShift)))};
}

void blend_rect(cv::Mat3b& img, cv::Rect r, Color fill, double alpha) {
  r &= cv::Rect(0, 0, img.cols, img.rows);
  if (r.empty()) return;
  cv::Mat3b roi = img(r);
  cv::Mat3b solid(roi.size(), draw::bgr(fill));
  cv::addWeighted(solid, alpha, roi, 1 - alpha, 0, roi);
}

class PanelRenderer {
 public:
  PanelRenderer(cv::Mat3b& canvas, cv::Rect panel, const Axes::State& st) : canvas_(canvas), panel_(panel), st_(st) {
    f_ = fonts_for(std::clamp(std::min(panel.width / 560.0, panel.height / 420.0), 0.6, 3.0));
  }

  void render() {
    analyse();
    limits();
    layout();
    const bool grid = st_.grid.value_or(!has_image_);
    if (grid) draw_grid();
    cv::Mat3b roi = canvas_(box_);
    cv::Mat3b before;
    if (show_legend() && !legend_outside_) before = roi.clone();
    for (const Artist& a : st_.artists) draw_artist(roi, a);
    if (!st_.axis_off) draw_frame_and_ticks();
    draw_labels();
    if (cbar_) draw_colorbar(*cbar_);
    if (show_legend()) draw_legend(roi, before);
  }

 private:
  cv::Mat3b& canvas_;
  cv::Rect panel_;
  const Axes::State& st_;
  Fonts f_;

  bool has_image_ = false, y_down_ = false, legend_outside_ = false;
  const Artist* cbar_ = nullptr;
  std::vector<LegendEntry> entries_;
  double xlo_ = 0, xhi_ = 1, ylo_ = 0, yhi_ = 1;  // y in log10 units when log_y
  cv::Rect box_;
  std::vector<double> xt_, yt_, cbt_;
  std::vector<std::string> xl_, yl_, cbl_;
  cv::Size legend_size_;
  int cbar_x_ = 0, cbar_w_ = 0, cbar_block_w_ = 0;

  bool log() const { return st_.log_y; }
  bool show_legend() const { return !entries_.empty() && st_.legend.value_or(true); }
  int px(double v) const { return static_cast<int>(std::lround(v * f_.s)); }

  // Continuous pixel coordinates relative to the box.
  double ux(double x) const { return (x - xlo_) / (xhi_ - xlo_) * box_.width; }
  double uy(double y) const {
    const double t = ((log() ? std::log10(y) : y) - ylo_) / (yhi_ - ylo_);
    return (y_down_ ? t : 1.0 - t) * box_.height;
  }
  bool usable(double x, double y) const { return std::isfinite(x) && std::isfinite(y) && (!log() || y > 0); }

  void analyse() {
    for (const Artist& a : st_.artists) {
      if (a.kind == Kind::image || a.kind == Kind::label_image) {
        if (!has_image_) y_down_ = a.y0 < a.y1;  // row 0 (y0) at the top, as a microscope image
        has_image_ = true;
      }
      if (a.kind == Kind::image || a.kind == Kind::scatter_values) cbar_ = &a;
    }
    if (log()) y_down_ = false;
    auto add = [&](LegendEntry e) {
      for (const auto& o : entries_)
        if (o.text == e.text && o.kind == e.kind && o.color.r == e.color.r && o.color.g == e.color.g && o.color.b == e.color.b)
          return;
      entries_.push_back(std::move(e));
    };
    for (const Artist& a : st_.artists) {
      if (a.kind == Kind::line && !a.label.empty()) add({LegendEntry::line, a.color, a.label, a.size});
      if (a.kind == Kind::scatter && !a.label.empty()) add({LegendEntry::marker, a.color, a.label, a.size});
      if (a.kind == Kind::label_image)
        for (std::size_t i = 0; i < a.names.size(); ++i) add({LegendEntry::patch, palette(static_cast<int>(i)), a.names[i], 0});
    }
    legend_outside_ = has_image_;  // a map fills its box: every corner would hide data
  }

  void limits() {
    double xl = std::numeric_limits<double>::infinity(), xh = -xl, yl = xl, yh = -xl;
    auto take = [&](double x, double y) {
      if (std::isfinite(x)) xl = std::min(xl, x), xh = std::max(xh, x);
      if (std::isfinite(y) && (!log() || y > 0)) {
        const double ly = log() ? std::log10(y) : y;
        yl = std::min(yl, ly), yh = std::max(yh, ly);
      }
    };
    for (const Artist& a : st_.artists) {
      switch (a.kind) {
        case Kind::line: case Kind::scatter: case Kind::scatter_values:
          for (std::size_t i = 0; i < a.x.size(); ++i)
            if (usable(a.x[i], a.y[i])) take(a.x[i], a.y[i]);
          break;
        case Kind::band:
          for (std::size_t i = 0; i < a.x.size(); ++i) {
            if (usable(a.x[i], a.y[i])) take(a.x[i], a.y[i]);
            if (usable(a.x[i], a.v[i])) take(a.x[i], a.v[i]);
          }
          break;
        case Kind::image: case Kind::label_image:
          take(a.x0, a.y0);
          take(a.x1, a.y1);
          break;
        case Kind::text: break;
      }
    }
    const double margin = has_image_ ? 0.0 : 0.05;
    auto finish = [&](double& lo, double& hi, bool is_log) {
      if (lo > hi) lo = 0, hi = 1;  // no data: [0, 1] (log: [1, 10])
      if (lo == hi) {
        if (is_log) lo -= 0.5, hi += 0.5;
        else std::tie(lo, hi) = widen_constant(lo);
      }
      const double d = (hi - lo) * margin;
      lo -= d, hi += d;
    };
    finish(xl, xh, false);
    finish(yl, yh, log());
    xlo_ = xl, xhi_ = xh, ylo_ = yl, yhi_ = yh;
    if (st_.xlim) xlo_ = st_.xlim->first, xhi_ = st_.xlim->second;
    if (st_.ylim) {
      if (log() && !(st_.ylim->first > 0))
        throw Error("viz: a log y axis needs positive limits, got ylim [" + str(st_.ylim->first) + ", " +
                    str(st_.ylim->second) + "]");
      ylo_ = log() ? std::log10(st_.ylim->first) : st_.ylim->first;
      yhi_ = log() ? std::log10(st_.ylim->second) : st_.ylim->second;
    }
  }

  int max_width(const std::vector<std::string>& labels, const draw::Font& font) const {
    int w = 0;
    for (const auto& s : labels) w = std::max(w, draw::text_size(s, font).width);
    return w;
  }

  void compute_y_ticks(int height) {
    const int target = std::max(2, height / px(48));
    if (log()) {
      yt_ = log_ticks(std::pow(10.0, ylo_), std::pow(10.0, yhi_), target);
      yl_ = log_tick_labels(yt_);
    } else {
      yt_ = nice_ticks(ylo_, yhi_, target);
      yl_ = tick_labels(yt_);
    }
  }

  void compute_x_ticks(int width) {
    // Fewer ticks until the labels have room (wide scientific labels need fewer).
    for (int target = std::max(2, width / px(80)); target >= 2; --target) {
      xt_ = nice_ticks(xlo_, xhi_, target);
      xl_ = tick_labels(xt_);
      if (static_cast<double>(max_width(xl_, f_.tick) + px(14)) * xt_.size() <= width) break;
    }
  }

  void compute_cbar_ticks(int height) {
    cbt_ = nice_ticks(cbar_->vmin, cbar_->vmax, std::max(2, height / px(48)));
    cbl_ = tick_labels(cbt_);
  }

  cv::Size legend_size() const {
    int w = 0, h = 0;
    const int row = row_height();
    for (const auto& e : entries_) w = std::max(w, draw::text_size(e.text, f_.legend).width);
    w += px(8) + handle_width() + px(6) + px(8);
    h = px(6) * 2 + row * static_cast<int>(entries_.size());
    return {w, h};
  }
  int row_height() const {
    double marker = 0;
    for (const auto& e : entries_)
      if (e.kind == LegendEntry::marker) marker = std::max(marker, 2 * e.size + 2);
    return std::max<int>(draw::text_size("Ag", f_.legend).height + px(9), static_cast<int>(std::ceil(marker)));
  }
  int handle_width() const { return px(24); }

  void layout() {
    const int tick_len = px(4);
    const int pad = px(8);
    const int tick_h = draw::text_size("0", f_.tick).height;
    const int label_h = draw::text_size("Ag", f_.label).height;
    const int title_h = draw::text_size("Ag", f_.title).height;

    int top = pad + (st_.title.empty() ? px(4) : title_h + px(12));
    int bottom = tick_len + px(6) + tick_h + (st_.xlabel.empty() ? 0 : px(10) + label_h) + pad;
    int est_h = std::max(40, panel_.height - top - bottom);
    compute_y_ticks(est_h);
    if (cbar_) compute_cbar_ticks(est_h);
    legend_size_ = show_legend() ? legend_size() : cv::Size();

    for (int pass = 0; pass < 2; ++pass) {
      const int ytick_w = max_width(yl_, f_.tick);
      const int left = pad + (st_.ylabel.empty() ? 0 : label_h + px(10)) + ytick_w + px(6) + tick_len;
      int right = px(18);
      cbar_w_ = px(14);
      cbar_block_w_ = 0;
      if (cbar_) {
        cbar_block_w_ = px(16) + cbar_w_ + tick_len + px(4) + max_width(cbl_, f_.tick) +
                        (cbar_->label.empty() ? 0 : px(10) + label_h);
        right = cbar_block_w_ + pad;
      }
      if (show_legend() && legend_outside_) right += px(12) + legend_size_.width + (cbar_ ? 0 : px(0));
      int w = std::max(40, panel_.width - left - right), h = std::max(40, panel_.height - top - bottom);
      int x = panel_.x + left, y = panel_.y + top;
      if (st_.equal && !log()) {
        const double sx = w / (xhi_ - xlo_), sy = h / (yhi_ - ylo_);
        if (sx > sy) {
          const int nw = std::max(10, static_cast<int>(std::lround((xhi_ - xlo_) * sy)));
          x += (w - nw) / 2, w = nw;
        } else {
          const int nh = std::max(10, static_cast<int>(std::lround((yhi_ - ylo_) * sx)));
          y += (h - nh) / 2, h = nh;
        }
      }
      box_ = cv::Rect(x, y, w, h);
      compute_y_ticks(h);
      if (cbar_) compute_cbar_ticks(h);
    }
    compute_x_ticks(box_.width);
    cbar_x_ = box_.x + box_.width + px(16);
  }

  void draw_grid() {
    const cv::Scalar c = draw::scalar(kGrid);
    for (double t : xt_) {
      const int cx = box_.x + std::clamp(static_cast<int>(std::floor(ux(t))), 0, box_.width - 1);
      cv::line(canvas_, {cx, box_.y}, {cx, box_.y + box_.height - 1}, c, 1);
    }
    for (double t : yt_) {
      const int cy = box_.y + std::clamp(static_cast<int>(std::floor(uy(t))), 0, box_.height - 1);
      cv::line(canvas_, {box_.x, cy}, {box_.x + box_.width - 1, cy}, c, 1);
    }
  }

  void draw_artist(cv::Mat3b& roi, const Artist& a) {
    switch (a.kind) {
      case Kind::line: draw_line(roi, a); break;
      case Kind::band: draw_band(roi, a); break;
      case Kind::scatter: case Kind::scatter_values: draw_scatter(roi, a); break;
      case Kind::image: case Kind::label_image: draw_image(roi, a); break;
      case Kind::text: {
        if (!usable(a.x[0], a.y[0])) break;
        const double u = ux(a.x[0]), v = uy(a.y[0]);
        if (std::abs(u) > 1e6 || std::abs(v) > 1e6) break;  // far outside: nothing to see, avoid int overflow
        draw::text(roi, a.label, {u, v}, HAlign::left, VAlign::middle, f_.tick, a.color);
        break;
      }
    }
  }

  void draw_line(cv::Mat3b& roi, const Artist& a) {
    const int thickness = std::max(1, static_cast<int>(std::lround(a.size)));
    const double m = a.size + 2;
    const cv::Scalar c = draw::scalar(a.color);
    for (std::size_t i = 1; i < a.x.size(); ++i) {
      if (!usable(a.x[i - 1], a.y[i - 1]) || !usable(a.x[i], a.y[i])) continue;  // NaN breaks the line
      cv::Point2d p(ux(a.x[i - 1]), uy(a.y[i - 1])), q(ux(a.x[i]), uy(a.y[i]));
      if (!clip_segment(p, q, -m, -m, roi.cols + m, roi.rows + m)) continue;
      cv::line(roi, fixed_point(p), fixed_point(q), c, thickness, cv::LINE_AA, kShift);
    }
  }

  void draw_band(cv::Mat3b& roi, const Artist& a) {
    std::vector<std::vector<cv::Point>> polys;
    std::size_t i = 0;
    const std::size_t n = a.x.size();
    const double m = 2;
    while (i < n) {
      auto ok = [&](std::size_t k) { return usable(a.x[k], a.y[k]) && usable(a.x[k], a.v[k]); };
      if (!ok(i)) {
        ++i;
        continue;
      }
      std::size_t j = i;
      while (j < n && ok(j)) ++j;  // run [i, j)
      if (j - i >= 2) {
        std::vector<cv::Point2d> poly;
        for (std::size_t k = i; k < j; ++k) poly.emplace_back(ux(a.x[k]), uy(a.v[k]));
        for (std::size_t k = j; k-- > i;) poly.emplace_back(ux(a.x[k]), uy(a.y[k]));
        poly = clip_polygon(poly, -m, -m, roi.cols + m, roi.rows + m);
        if (poly.size() >= 3) {
          std::vector<cv::Point> pts;
          for (const auto& p : poly) pts.push_back(fixed_point(p));
          polys.push_back(std::move(pts));
        }
      }
      i = j;
    }
    if (polys.empty()) return;
    cv::Mat3b overlay = roi.clone();
    cv::fillPoly(overlay, polys, draw::scalar(a.color), cv::LINE_AA, kShift);
    cv::addWeighted(overlay, a.alpha, roi, 1 - a.alpha, 0, roi);
  }

  void draw_scatter(cv::Mat3b& roi, const Artist& a) {
    const int r = static_cast<int>(std::lround(a.size * (1 << kShift)));
    for (std::size_t i = 0; i < a.x.size(); ++i) {
      if (!usable(a.x[i], a.y[i])) continue;
      Color c = a.color;
      if (a.kind == Kind::scatter_values) {
        if (!std::isfinite(a.v[i])) continue;
        c = colormap(a.map, (a.v[i] - a.vmin) / (a.vmax - a.vmin));
      }
      const double u = ux(a.x[i]), v = uy(a.y[i]);
      if (u < -a.size - 1 || v < -a.size - 1 || u > roi.cols + a.size + 1 || v > roi.rows + a.size + 1) continue;
      cv::circle(roi, fixed_point({u, v}), r, draw::scalar(c), cv::FILLED, cv::LINE_AA, kShift);
    }
  }

  // Nearest-neighbour resampling: each box pixel takes the cell under its centre.
  void draw_image(cv::Mat3b& roi, const Artist& a) {
    std::vector<int> col(roi.cols), row(roi.rows);
    for (int c = 0; c < roi.cols; ++c) {
      const double x = xlo_ + (c + 0.5) / roi.cols * (xhi_ - xlo_);
      const double f = (x - a.x0) / (a.x1 - a.x0) * a.nx;
      col[c] = f >= 0 && f < a.nx ? static_cast<int>(f) : -1;
    }
    for (int r = 0; r < roi.rows; ++r) {
      const double t = (r + 0.5) / roi.rows;
      double y = ylo_ + (y_down_ ? t : 1.0 - t) * (yhi_ - ylo_);
      if (log()) y = std::pow(10.0, y);
      const double f = (y - a.y0) / (a.y1 - a.y0) * a.ny;
      row[r] = f >= 0 && f < a.ny ? static_cast<int>(f) : -1;
    }
    // Colour per cell once; -1 = transparent (NaN value or negative label).
    std::vector<cv::Vec3b> cell(a.v.size() + a.labels.size());
    std::vector<char> visible(cell.size(), 0);
    for (std::size_t k = 0; k < cell.size(); ++k) {
      if (a.kind == Kind::image) {
        if (!std::isfinite(a.v[k])) continue;
        cell[k] = draw::bgr(colormap(a.map, (a.v[k] - a.vmin) / (a.vmax - a.vmin)));
      } else {
        if (a.labels[k] < 0) continue;
        cell[k] = draw::bgr(palette(a.labels[k]));
      }
      visible[k] = 1;
    }
    const double alpha = a.kind == Kind::label_image ? a.alpha : 1.0;
    for (int r = 0; r < roi.rows; ++r) {
      if (row[r] < 0) continue;
      cv::Vec3b* dst = roi.ptr<cv::Vec3b>(r);
      const std::size_t base = static_cast<std::size_t>(row[r]) * a.nx;
      for (int c = 0; c < roi.cols; ++c) {
        if (col[c] < 0) continue;
        const std::size_t k = base + col[c];
        if (!visible[k]) continue;
        if (alpha >= 1.0) {
          dst[c] = cell[k];
        } else {
          for (int ch = 0; ch < 3; ++ch)
            dst[c][ch] = static_cast<unsigned char>(std::lround(alpha * cell[k][ch] + (1 - alpha) * dst[c][ch]));
        }
      }
    }
  }

  void draw_frame_and_ticks() {
    const cv::Scalar black = draw::scalar(kBlack);
    cv::rectangle(canvas_, {box_.x - 1, box_.y - 1}, {box_.x + box_.width, box_.y + box_.height}, black, 1);
    const int tl = px(4), gap = px(3);
    const int bottom = box_.y + box_.height;  // first row below the box interior is the frame
    for (std::size_t i = 0; i < xt_.size(); ++i) {
      const int cx = box_.x + std::clamp(static_cast<int>(std::floor(ux(xt_[i]))), 0, box_.width - 1);
      cv::line(canvas_, {cx, bottom}, {cx, bottom + tl}, black, 1);
      draw::text(canvas_, xl_[i], {cx + 0.5, bottom + tl + gap + 1.0}, HAlign::center, VAlign::top, f_.tick, kDark);
    }
    for (std::size_t i = 0; i < yt_.size(); ++i) {
      const int cy = box_.y + std::clamp(static_cast<int>(std::floor(uy(yt_[i]))), 0, box_.height - 1);
      cv::line(canvas_, {box_.x - 1 - tl, cy}, {box_.x - 1, cy}, black, 1);
      draw::text(canvas_, yl_[i], {box_.x - 1.0 - tl - gap, cy + 0.5}, HAlign::right, VAlign::middle, f_.tick, kDark);
    }
    if (log()) {  // minor ticks at 2..9 × 10^k when the major ticks are decades
      const double span = yhi_ - ylo_;
      if (span <= 6 && yt_.size() >= 2 && std::abs(std::log10(yt_[1] / yt_[0]) - 1) < 1e-9) {
        for (int d = static_cast<int>(std::floor(ylo_)); d <= static_cast<int>(std::ceil(yhi_)); ++d)
          for (int m = 2; m <= 9; ++m) {
            const double l = std::log10(m) + d;
            if (l < ylo_ || l > yhi_) continue;
            const int cy = box_.y + std::clamp(static_cast<int>(std::floor(uy(std::pow(10.0, l)))), 0, box_.height - 1);
            cv::line(canvas_, {box_.x - 1 - px(2), cy}, {box_.x - 1, cy}, black, 1);
          }
      }
    }
  }

  void draw_labels() {
    const int tick_h = draw::text_size("0", f_.tick).height;
    const double cx = box_.x + box_.width / 2.0, cy = box_.y + box_.height / 2.0;
    if (!st_.title.empty())
      draw::text(canvas_, st_.title, cv::Point2d(cx, box_.y - px(10.0)), HAlign::center, VAlign::bottom, f_.title, kBlack);
    if (!st_.xlabel.empty())
      draw::text(canvas_, st_.xlabel, cv::Point2d(cx, box_.y + box_.height + px(4) + px(6) + tick_h + px(10.0)), HAlign::center,
                 VAlign::top, f_.label, kBlack);
    if (!st_.ylabel.empty()) {  // left of the tick labels, so it follows a box centred by equal_aspect
      const double right = box_.x - 1.0 - px(4) - px(3) - max_width(yl_, f_.tick) - px(10);
      const double x = std::max<double>(panel_.x + px(4), right - draw::text_size("Ag", f_.label).height);
      draw::text(canvas_, st_.ylabel, cv::Point2d(x, cy), HAlign::left, VAlign::middle, f_.label, kBlack, true);
    }
  }

  void draw_colorbar(const Artist& a) {
    const int x = cbar_x_, y = box_.y, w = cbar_w_, h = box_.height;
    for (int r = 0; r < h; ++r) {
      const Color c = colormap(a.map, 1.0 - (r + 0.5) / h);
      cv::line(canvas_, {x, y + r}, {x + w - 1, y + r}, draw::scalar(c), 1);
    }
    const cv::Scalar black = draw::scalar(kBlack);
    cv::rectangle(canvas_, {x - 1, y - 1}, {x + w, y + h}, black, 1);
    const int tl = px(4), gap = px(3);
    int label_x = x + w + tl + gap;
    int maxw = 0;
    for (std::size_t i = 0; i < cbt_.size(); ++i) {
      const double t = (cbt_[i] - a.vmin) / (a.vmax - a.vmin);
      const int cy = y + std::clamp(static_cast<int>(std::floor((1.0 - t) * h)), 0, h - 1);
      cv::line(canvas_, {x + w, cy}, {x + w + tl, cy}, black, 1);
      draw::text(canvas_, cbl_[i], {static_cast<double>(label_x), cy + 0.5}, HAlign::left, VAlign::middle, f_.tick, kDark);
      maxw = std::max(maxw, draw::text_size(cbl_[i], f_.tick).width);
    }
    if (!a.label.empty())
      draw::text(canvas_, a.label, cv::Point2d(label_x + maxw + px(10.0), y + h / 2.0), HAlign::left, VAlign::middle, f_.label, kBlack,
                 true);
  }

  void draw_legend(cv::Mat3b& roi, const cv::Mat3b& before) {
    const cv::Size size = legend_size_;
    cv::Rect r;
    if (legend_outside_) {
      const int x = box_.x + box_.width + (cbar_ ? cbar_block_w_ : 0) + px(12);
      r = cv::Rect(x, box_.y, size.width, size.height);
    } else {
      // The emptiest corner: fewest pixels changed by the data (upper right first on ties).
      const int inset = px(8);
      const cv::Point corners[4] = {{box_.width - inset - size.width, inset},
                                    {inset, inset},
                                    {inset, box_.height - inset - size.height},
                                    {box_.width - inset - size.width, box_.height - inset - size.height}};
      long best = -1;
      for (const cv::Point& p : corners) {
        const cv::Rect cand = cv::Rect(p, size) & cv::Rect(0, 0, roi.cols, roi.rows);
        long changed = 0;
        for (int yy = cand.y; yy < cand.y + cand.height; ++yy)
          for (int xx = cand.x; xx < cand.x + cand.width; ++xx) changed += roi(yy, xx) != before(yy, xx);
        if (best < 0 || changed < best) best = changed, r = cv::Rect(p + box_.tl(), size);
      }
    }
    blend_rect(canvas_, r, {255, 255, 255}, 0.88);
    cv::rectangle(canvas_, r.tl(), r.br() - cv::Point(1, 1), draw::scalar({190, 190, 190}), 1);
    const int row = row_height();
    for (std::size_t i = 0; i < entries_.size(); ++i) {
      const auto& e = entries_[i];
      const double cy = r.y + px(6) + row * (i + 0.5);
      const double hx0 = r.x + px(8), hx1 = hx0 + handle_width();
      const cv::Scalar c = draw::scalar(e.color);
      if (e.kind == LegendEntry::line) {
        cv::line(canvas_, fixed_point({hx0, cy}), fixed_point({hx1, cy}), c, std::max(1, static_cast<int>(std::lround(e.size))),
                 cv::LINE_AA, kShift);
      } else if (e.kind == LegendEntry::marker) {
        cv::circle(canvas_, fixed_point({(hx0 + hx1) / 2, cy}), static_cast<int>(std::lround(e.size * (1 << kShift))), c,
                   cv::FILLED, cv::LINE_AA, kShift);
      } else {
        const int s = px(10);
        const int xx = static_cast<int>(std::lround((hx0 + hx1) / 2 - s / 2.0)), yy = static_cast<int>(std::lround(cy - s / 2.0));
        cv::rectangle(canvas_, {xx, yy}, {xx + s - 1, yy + s - 1}, c, cv::FILLED);
      }
      draw::text(canvas_, e.text, {hx1 + px(6), cy}, HAlign::left, VAlign::middle, f_.legend, kBlack);
    }
  }
};

}  // namespace

// ---------------------------------------------------------------------------------------------
// Figure.

struct Figure::Impl {
  int rows, cols, w, h;
  std::string suptitle;
  std::vector<std::unique_ptr<Axes::State>> states;
  std::vector<Axes> axes;

  cv::Mat3b render() const {
    const double s = std::clamp(std::min(w / 560.0, h / 420.0), 0.6, 3.0);
    const draw::Font font{cv::FONT_HERSHEY_DUPLEX, 0.68 * s, s > 1.6 ? 2 : 1};
    const int strip = suptitle.empty() ? 0 : draw::text_size("Ag", font).height + static_cast<int>(std::lround(20 * s));
    cv::Mat3b canvas(rows * h + strip, cols * w, cv::Vec3b(255, 255, 255));
    if (strip) draw::text(canvas, suptitle, {canvas.cols / 2.0, strip / 2.0 + 2}, draw::HAlign::center, draw::VAlign::middle,
                          font, kBlack);
    for (int r = 0; r < rows; ++r)
      for (int c = 0; c < cols; ++c) {
        PanelRenderer p(canvas, cv::Rect(c * w, strip + r * h, w, h), *states[r * cols + c]);
        p.render();
      }
    return canvas;
  }
};

Figure::Figure(int rows, int cols, int panel_width_px, int panel_height_px) : impl_(std::make_unique<Impl>()) {
  if (rows < 1 || cols < 1 || rows > 32 || cols > 32)
    throw Error("viz::Figure: rows and cols must be in [1, 32], got " + std::to_string(rows) + "x" + std::to_string(cols));
  if (panel_width_px < 120 || panel_height_px < 90 || panel_width_px > 8000 || panel_height_px > 8000)
    throw Error("viz::Figure: panel size must be in [120, 8000]x[90, 8000] px, got " + std::to_string(panel_width_px) + "x" +
                std::to_string(panel_height_px));
  impl_->rows = rows, impl_->cols = cols, impl_->w = panel_width_px, impl_->h = panel_height_px;
  for (int i = 0; i < rows * cols; ++i) {
    impl_->states.push_back(std::make_unique<Axes::State>());
    impl_->axes.emplace_back(impl_->states.back().get());
  }
}

Figure::~Figure() = default;
Figure::Figure(Figure&&) noexcept = default;
Figure& Figure::operator=(Figure&&) noexcept = default;

Axes& Figure::axes(int row, int col) {
  if (row < 0 || col < 0 || row >= impl_->rows || col >= impl_->cols)
    throw Error("viz::Figure::axes: panel (" + std::to_string(row) + ", " + std::to_string(col) + ") outside the " +
                std::to_string(impl_->rows) + "x" + std::to_string(impl_->cols) + " grid");
  return impl_->axes[row * impl_->cols + col];
}

void Figure::suptitle(const std::string& text) { impl_->suptitle = text; }

std::vector<unsigned char> Figure::render_png() const { return draw::encode_png(impl_->render(), "viz::Figure::render_png"); }

void Figure::save_png(const std::filesystem::path& path) const {
  draw::write_file_atomic(path, draw::encode_png(impl_->render(), "viz::Figure::save_png"), "viz::Figure::save_png");
}

}  // namespace sdm::viz
