#include "bench/plots.hpp"

#include <algorithm>
#include <cmath>
#include <map>

#include "core/error.hpp"
#include "viz/figure.hpp"

namespace fs = std::filesystem;

namespace sdm::bench {
namespace {

std::vector<const CampaignMetrics*> seeds_of(const std::vector<CampaignMetrics>& all, const std::string& strategy,
                                             const std::vector<std::uint64_t>& seeds) {
  std::vector<const CampaignMetrics*> out;
  for (std::uint64_t sd : seeds)
    for (const CampaignMetrics& c : all)
      if (c.strategy == strategy && c.seed == sd) out.push_back(&c);
  return out;
}

std::string axis_label(const MetricInfo& m) { return m.unit.empty() ? m.label : m.label + " (" + m.unit + ")"; }

void draw_curve(viz::Axes& ax, const Curve& c, viz::Color col, const std::string& label, bool markers) {
  if (c.x.empty()) return;
  if (c.seeds > 1) ax.band(c.x, c.lower, c.upper, col, 0.1);
  ax.line(c.x, c.mean, col, label, 2.0);
  if (markers) ax.scatter(c.x, c.mean, col, "", 3.0);
}

// Up to three panels in a row (four as 2 × 2); spare panels of the grid carry the key.
std::pair<int, int> layout(int n) {
  const int c = n <= 3 ? std::max(1, n) : (n == 4 ? 2 : 3);
  return {(n + c - 1) / c, c};
}

}  // namespace

std::vector<PlotFile> write_plots(const Summary& s, const std::vector<CampaignMetrics>& campaigns, const PathBackground& bg,
                                  const fs::path& dir) {
  std::vector<PlotFile> files;
  const int ns = int(s.strategies.size());

  // 1. each per-step metric vs measurements and vs instrument time
  for (const std::string& name : s.metrics) {
    const MetricInfo& m = *find_metric(name);
    if (!m.per_step || name == "instrument_time_s") continue;
    viz::Figure fig(1, 2, 600, 440);
    viz::Axes& a = fig.axes(0, 0);
    viz::Axes& b = fig.axes(0, 1);
    const bool sparse = name.rfind("model_", 0) == 0;  // evaluated every model_error_every steps
    for (int i = 0; i < ns; ++i) {
      const auto seeds = seeds_of(campaigns, s.strategies[std::size_t(i)], s.seeds);
      if (seeds.empty()) continue;
      draw_curve(a, curve_vs_measurements(seeds, name), viz::palette(i), s.strategies[std::size_t(i)], sparse);
      draw_curve(b, curve_vs_time(seeds, name), viz::palette(i), s.strategies[std::size_t(i)], false);
    }
    // Latency spans decades; a model refitted on a handful of points can be off by orders of
    // magnitude before it settles near 1, which a linear axis would flatten to nothing.
    if (name == "decision_latency_s" || name == "model_rmse") {
      a.log_y(true);
      b.log_y(true);
    }
    a.title("against measurements");  // the metric is named in the figure title
    a.xlabel("measurements");
    a.ylabel(axis_label(m));
    b.title("against instrument time");
    b.xlabel("instrument time (s)");
    b.ylabel(axis_label(m));
    b.legend(false);
    fig.suptitle(s.scenario + ": " + m.label + " (mean and 95% CI over " + std::to_string(s.seeds.size()) + " seeds; " +
                 (m.higher_is_better ? "higher" : "lower") + " is better)");
    const fs::path p = dir / ("metric_" + name + ".png");
    fig.save_png(p);
    files.push_back({p, m.label + " against the number of measurements (left) and the instrument time (right): mean over " +
                            std::to_string(s.seeds.size()) + " seeds, band = 95 % Student-t CI. " + m.description + "."});
  }

  // 2. discovery of the rare motifs
  bool motifs = false;
  for (const CampaignMetrics& c : campaigns)
    for (int l : c.landed_motif) motifs |= l >= 0;
  if (motifs && !bg.label_names.empty()) {
    const int n = int(bg.label_names.size());
    std::vector<int> which;
    for (int k = n - 1; k >= 1; --k) which.push_back(k);  // asymmetric, junction, boundary
    viz::Figure fig(1, int(which.size()), 470, 400);
    for (std::size_t p = 0; p < which.size(); ++p) {
      viz::Axes& ax = fig.axes(0, int(p));
      for (int i = 0; i < ns; ++i) {
        const auto seeds = seeds_of(campaigns, s.strategies[std::size_t(i)], s.seeds);
        if (seeds.empty()) continue;
        const Curve c = discovery_curve(seeds, which[p]);
        ax.line(c.x, c.mean, viz::palette(i), s.strategies[std::size_t(i)], 2.0);
      }
      ax.ylim(-0.03, 1.03);
      std::string title = bg.label_names[std::size_t(which[p])];
      std::replace(title.begin(), title.end(), '_', ' ');
      ax.title(title);
      ax.xlabel("measurements");
      ax.ylabel("fraction of seeds that found it");
      if (p > 0) ax.legend(false);
    }
    fig.suptitle(s.scenario + ": motif discovery (fraction of the " + std::to_string(s.seeds.size()) +
                 " seeds whose tip has landed on the motif)");
    const fs::path p = dir / "discovery.png";
    fig.save_png(p);
    files.push_back({p, "Motif discovery: for each rare motif, the fraction of seeds whose campaign has landed on it within "
                        "n measurements (the label at the pixel the tip actually reached)."});
  }

  // 3. acquisition paths of one seed per strategy
  if (!bg.image.empty()) {
    const auto [rows, cols] = layout(ns + 1);  // the last panel holds the key, so no panel needs a legend
    viz::Figure fig(rows, cols, 560, 500);
    const double um = 1e6;
    std::vector<double> img(bg.image.size());
    for (std::size_t i = 0; i < img.size(); ++i) img[i] = bg.image[i] * bg.image_scale;
    // Motif overlay: interiors transparent, boundaries / junctions / asymmetric boundaries shaded.
    std::vector<int> lab;
    std::vector<std::string> names;
    if (!bg.labels.empty() && bg.label_names.size() > 1) {
      lab.resize(bg.labels.size());
      for (std::size_t i = 0; i < lab.size(); ++i) lab[i] = bg.labels[i] - 1;  // interior (0) → −1
      for (std::size_t k = 1; k < bg.label_names.size(); ++k) {
        std::string nm = bg.label_names[k];
        std::replace(nm.begin(), nm.end(), '_', ' ');
        names.push_back(nm);
      }
    }
    for (int i = 0; i < ns; ++i) {
      viz::Axes& ax = fig.axes(i / cols, i % cols);
      ax.image(img, bg.nx, bg.ny, bg.x0_m * um, bg.x1_m * um, bg.y0_m * um, bg.y1_m * um, viz::Colormap::gray, bg.image_label);
      if (!lab.empty()) ax.label_image(lab, bg.nx, bg.ny, bg.x0_m * um, bg.x1_m * um, bg.y0_m * um, bg.y1_m * um, names, 0.85);
      ax.equal_aspect(true);
      ax.legend(false);
      ax.title(s.strategies[std::size_t(i)] + " (seed " + std::to_string(bg.seed) + ")");
      ax.xlabel("x (um)");
      ax.ylabel("y (um)");
      const CampaignMetrics* c = nullptr;
      for (const CampaignMetrics& m : campaigns)
        if (m.strategy == s.strategies[std::size_t(i)] && m.seed == bg.seed) c = &m;
      if (!c || c->x_requested_m.empty()) continue;
      std::vector<double> x, y, xi, yi, xs, ys;
      for (std::size_t k = 0; k < c->x_requested_m.size(); ++k) {
        x.push_back(c->x_requested_m[k] * um);
        y.push_back(c->y_requested_m[k] * um);
        (c->phase[k] == "initial" ? xi : xs).push_back(x.back());
        (c->phase[k] == "initial" ? yi : ys).push_back(y.back());
      }
      ax.line(x, y, {70, 70, 70}, "", 1.0);
      if (!xi.empty()) ax.scatter(xi, yi, {255, 200, 0}, "initial design", 4.0);
      if (!xs.empty()) ax.scatter(xs, ys, viz::palette(3), "chosen by strategy", 3.5);
    }
    // The first spare panel carries the key.
    for (int k = ns; k < ns + 1; ++k) {
      viz::Axes& ax = fig.axes(k / cols, k % cols);
      ax.xlim(0, 1);
      ax.ylim(0, 1);
      ax.grid(false);
      ax.axis_off();
      ax.title("key");
      double y = 0.85;
      auto line = [&](const std::string& t, viz::Color c) {
        ax.text(0.05, y, t, c);
        y -= 0.12;
      };
      line("gray image: survey topography", {60, 60, 60});
      if (!names.empty()) {
        for (std::size_t j = 0; j < names.size(); ++j) line("shaded: " + names[j], viz::palette(int(j)));
      }
      line("line: requested positions in order", {70, 70, 70});
      line("dots: initial design", {215, 160, 0});
      line("dots: chosen by the strategy", viz::palette(3));
    }
    fig.suptitle(s.scenario + ": acquisition paths, seed " + std::to_string(bg.seed));
    const fs::path p = dir / "paths.png";
    fig.save_png(p);
    files.push_back({p, "Acquisition path of seed " + std::to_string(bg.seed) +
                            " for each strategy: requested positions in order (black line), initial-design points (yellow) "
                            "and the strategy's choices (red), over the survey topography with the twin's motif labels "
                            "shaded (grain interiors unshaded)."});
  }

  // 4. decision latency per step
  {
    viz::Figure fig(1, 1, 760, 480);
    viz::Axes& ax = fig.axes();
    bool any = false;
    for (int i = 0; i < ns; ++i) {
      const auto seeds = seeds_of(campaigns, s.strategies[std::size_t(i)], s.seeds);
      if (seeds.empty()) continue;
      int nmax = 0;
      for (const CampaignMetrics* c : seeds) nmax = std::max(nmax, c->measurements);
      std::vector<double> x, mean, lo, hi;
      for (int n = 1; n <= nmax; ++n) {
        std::vector<double> v;
        for (const CampaignMetrics* c : seeds)
          if (n <= c->measurements && c->phase[std::size_t(n - 1)] != "initial" && c->step_latency_s[std::size_t(n - 1)] > 0)
            v.push_back(c->step_latency_s[std::size_t(n - 1)]);
        if (v.empty()) continue;
        const stats::MeanCi ci = stats::mean_ci(v);
        x.push_back(n);
        mean.push_back(ci.mean);
        lo.push_back(std::isfinite(ci.lower) && ci.lower > 0 ? ci.lower : ci.mean);
        hi.push_back(std::isfinite(ci.upper) ? ci.upper : ci.mean);
      }
      if (x.empty()) continue;
      any = true;
      if (seeds.size() > 1) ax.band(x, lo, hi, viz::palette(i), 0.15);
      ax.line(x, mean, viz::palette(i), s.strategies[std::size_t(i)], 1.8);
    }
    if (any) {
      ax.log_y(true);
      ax.title(s.scenario + ": decision latency per step (mean over seeds, 95% CI)");
      ax.xlabel("measurement");
      ax.ylabel("decision latency (s)");
      const fs::path p = dir / "latency.png";
      fig.save_png(p);
      files.push_back({p, "Decision latency of each strategy step (wall time from a measurement to the next location), "
                          "mean over seeds with its 95 % CI, log scale. Initial-design points are not shown."});
    }
  }
  return files;
}

}  // namespace sdm::bench
