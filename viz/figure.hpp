#pragma once
// Publication-style PNG figures without Python: a small matplotlib-like API on OpenCV.
// A Figure is a grid of Axes panels; each Axes holds data-space artists (lines, bands,
// scatter, images, label maps) drawn with ticks, labels, legend and colour bar on save.
// OpenCV stays out of this header. Used by `sdm film`, `sdm bench` and `sdm analyze`.
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace sdm::viz {

struct Color {
  unsigned char r = 0, g = 0, b = 0;
};

/// Categorical palette (matplotlib "tab10"), cycling for i ≥ 10.
Color palette(int i);

enum class Colormap { viridis, magma, gray, coolwarm };
/// Colour of `t` ∈ [0, 1] (clamped) in a continuous colormap.
Color colormap(Colormap map, double t);

/// One panel: data-space artists plus decoration. Axis limits default to the data's extent
/// (plus 5 % margins, none when the panel holds an image). Artists are drawn in call order.
/// A panel holding an image or label map with y0 < y1 has y increasing downward (row 0 at the top)
/// and its legend outside on the right; otherwise the legend takes the emptiest inside corner.
/// One colour bar per panel: that of the last image() or scatter_values() call.
class Axes {
 public:
  void title(const std::string& text);
  void xlabel(const std::string& text);
  void ylabel(const std::string& text);
  void xlim(double lo, double hi);
  void ylim(double lo, double hi);
  void log_y(bool on = true);          ///< logarithmic y axis (non-positive values are skipped)
  void legend(bool on = true);         ///< show a legend of the labelled artists (on by default when any is labelled)
  /// Keep one data unit the same length on both axes (images, maps, scan paths).
  void equal_aspect(bool on = true);

  void line(const std::vector<double>& x, const std::vector<double>& y, Color color, const std::string& label = "",
            double width_px = 2.0);
  /// Filled region between lo(x) and hi(x), e.g. a 95 % confidence band.
  void band(const std::vector<double>& x, const std::vector<double>& lo, const std::vector<double>& hi, Color color,
            double alpha = 0.25);
  void scatter(const std::vector<double>& x, const std::vector<double>& y, Color color, const std::string& label = "",
               double radius_px = 3.0);
  /// Points coloured by `values` through `map`, with a colour bar titled `colorbar_label`.
  void scatter_values(const std::vector<double>& x, const std::vector<double>& y, const std::vector<double>& values,
                      Colormap map, const std::string& colorbar_label, double radius_px = 3.0);
  /// A ny×nx row-major field (row 0 at the top, y0) drawn over [x0, x1]×[y0, y1] with a colour bar.
  /// vmin/vmax default to the data's finite min/max.
  void image(const std::vector<double>& values, int nx, int ny, double x0, double x1, double y0, double y1, Colormap map,
             const std::string& colorbar_label, std::optional<double> vmin = {}, std::optional<double> vmax = {});
  /// A ny×nx categorical map (labels 0..names.size()−1) in palette colours with a legend of `names`.
  /// Negative labels are transparent (unlabelled); a label ≥ names.size() throws.
  void label_image(const std::vector<int>& labels, int nx, int ny, double x0, double x1, double y0, double y1,
                   const std::vector<std::string>& names, double alpha = 1.0);
  /// Text at a data-space position.
  void text(double x, double y, const std::string& text, Color color = {0, 0, 0});
  /// Light grid lines at the major ticks (default: on, except in axes that hold an image).
  void grid(bool on = true);
  /// Hide the frame, ticks and tick labels (a panel used for text, e.g. a key).
  void axis_off(bool off = true);

  struct State;  ///< opaque; defined in figure.cpp
  explicit Axes(State* state) : state_(state) {}

 private:
  State* state_;
};

class Figure {
 public:
  /// rows × cols panels of panel_width_px × panel_height_px pixels each.
  Figure(int rows = 1, int cols = 1, int panel_width_px = 560, int panel_height_px = 420);
  ~Figure();
  Figure(Figure&&) noexcept;
  Figure& operator=(Figure&&) noexcept;

  Axes& axes(int row = 0, int col = 0);
  void suptitle(const std::string& text);
  /// Renders and writes the PNG (via a temporary file and rename); throws sdm::Error naming the path on failure.
  void save_png(const std::filesystem::path& path) const;
  /// Renders to PNG bytes in memory (what save_png writes); e.g. for tests via cv::imdecode.
  std::vector<unsigned char> render_png() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

/// Hershey fonts are ASCII only: transliterates common UTF-8 characters (µ → u, ² → ^2, Å → A,
/// – → -, × → x, … → ..., Greek letters → names, Latin-1 accents dropped); anything else becomes '?'.
std::string to_ascii(const std::string& utf8);

/// Tiles equally sized grayscale tiles (each side×side, row-major, values scaled by
/// [vmin, vmax]) into a rows×cols mosaic with `gap_px` white gaps and an optional title;
/// e.g. decoded-patch manifolds and cluster galleries. Throws sdm::Error on bad sizes or write failure.
void save_tile_grid(const std::filesystem::path& path, const std::vector<std::vector<double>>& tiles, int side, int rows,
                    int cols, double vmin = 0.0, double vmax = 1.0, int gap_px = 2, const std::string& title = "",
                    int scale = 4);

}  // namespace sdm::viz
