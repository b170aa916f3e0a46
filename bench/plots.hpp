#pragma once
// The benchmark's PNG figures (viz/figure.hpp):
//   metric_<name>.png   each per-step metric against measurements and against instrument time,
//                       one line per strategy with its 95 % CI band over seeds
//   discovery.png       fraction of seeds that have landed on each rare motif vs measurements
//   paths.png           the acquisition path of one seed per strategy over the survey
//                       topography, motif labels overlaid
//   latency.png         decision latency per step (mean over seeds, log scale)
#include <filesystem>
#include <string>
#include <vector>

#include "bench/metrics.hpp"
#include "bench/summary.hpp"

namespace sdm::bench {

/// What the path figure draws under the paths: one image (e.g. topography) and optional labels.
struct PathBackground {
  std::vector<double> image;              ///< ny×nx row-major, row 0 at y0
  int nx = 0, ny = 0;
  double x0_m = 0, x1_m = 0, y0_m = 0, y1_m = 0;  ///< extent of the image
  double image_scale = 1e9;               ///< image values are multiplied by this for the colour bar
  std::string image_label = "height (nm)";
  std::vector<int> labels;                ///< ny×nx motif labels (empty: none)
  std::vector<std::string> label_names;
  std::uint64_t seed = 0;
};

struct PlotFile {
  std::filesystem::path path;
  std::string caption;
};

/// Writes every figure into `dir`; returns them in report order. Throws sdm::Error on write failure.
std::vector<PlotFile> write_plots(const Summary& summary, const std::vector<CampaignMetrics>& campaigns,
                                  const PathBackground& background, const std::filesystem::path& dir);

}  // namespace sdm::bench
