// Figures of a structure–property analysis (see report.hpp). All text is ASCII (Hershey fonts).
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <map>
#include <random>
#include <set>

#include "bench/analysis/report.hpp"
#include "core/error.hpp"
#include "viz/figure.hpp"

namespace sdm::bench::analysis {
namespace {

using engine::analysis::AnalysisInputs;
using engine::analysis::AnalysisResult;
namespace fs = std::filesystem;

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
const viz::Color kBlack{0, 0, 0};
const viz::Color kGrey{190, 190, 190};

std::vector<double> column(const Eigen::MatrixXd& m, Eigen::Index c) {
  return std::vector<double>(m.col(c).data(), m.col(c).data() + m.rows());
}

std::string fmt(double v, const char* f = "%.3g") {
  char b[64];
  std::snprintf(b, sizeof b, f, v);
  return b;
}

// "name (unit)", or the bare name for a dimensionless value.
std::string with_unit(const std::string& name, const std::string& unit) {
  return unit.empty() || unit == "1" ? name : name + " (" + unit + ")";
}

// A scalarizer's unit as drawn. The scalarizers assume a current in A, so loop_area (the
// integral of the curve over the bias) is reported in "W"; written as "A V" (what it is, not a
// dissipated power), and for another signal the signal's unit replaces A.
std::string scalar_unit(const std::string& unit, const FigureLabels& l) {
  if (unit == "W") return l.signal_unit + " V";
  if (unit == "A") return l.signal_unit;
  return unit;
}

// How curves are drawn: values times `factor`, in `unit`. A current gets the SI prefix that
// puts the largest measured |I| in [0.1, 100); any other signal is drawn as recorded.
struct SignalAxis {
  double factor = 1;
  std::string name, unit;
  std::string label() const { return with_unit(name, unit); }
  std::vector<double> scaled(const std::vector<double>& v) const {
    std::vector<double> o(v);
    for (double& x : o) x *= factor;
    return o;
  }
};
SignalAxis signal_axis(const FigureLabels& l, const AnalysisResult& r) {
  const SignalScale sc = signal_scale(l, r.measured_curves.size() ? r.measured_curves.cwiseAbs().maxCoeff() : 0.0);
  return {sc.factor, l.signal_name, sc.unit};
}

// Scalarizer values to colour by: log10 when all positive and spanning more than two decades.
struct Colouring {
  std::vector<double> values;
  std::string label;
};
Colouring colouring(const std::vector<double>& raw, const std::string& name, const std::string& unit) {
  double lo = std::numeric_limits<double>::infinity(), hi = -lo;
  for (double v : raw)
    if (std::isfinite(v)) lo = std::min(lo, v), hi = std::max(hi, v);
  if (lo > 0 && hi / lo > 100) {
    Colouring c{{}, "log10 " + with_unit(name, unit)};
    for (double v : raw) c.values.push_back(v > 0 ? std::log10(v) : kNaN);
    return c;
  }
  return {raw, with_unit(name, unit)};
}

// Latent-axis limits covering every point, padded.
std::pair<double, double> limits(const std::vector<double>& a, const std::vector<double>& b = {}) {
  double lo = std::numeric_limits<double>::infinity(), hi = -lo;
  for (const auto* v : {&a, &b})
    for (double x : *v)
      if (std::isfinite(x)) lo = std::min(lo, x), hi = std::max(hi, x);
  if (!(hi > lo)) return {lo - 1, lo + 1};
  const double pad = 0.05 * (hi - lo);
  return {lo - pad, hi + pad};
}

std::string label_name(const AnalysisInputs& in, int l) {
  return l >= 0 && static_cast<std::size_t>(l) < in.label_names.size() ? in.label_names[l] : "label " + std::to_string(l);
}

void latent_axes(viz::Axes& ax, const AnalysisResult& r) {
  ax.xlabel("z1");
  ax.ylabel(r.candidate_latent.cols() > 1 ? "z2" : "(1-D latent)");
}

std::vector<double> second_or_zero(const Eigen::MatrixXd& m) {
  return m.cols() > 1 ? column(m, 1) : std::vector<double>(static_cast<std::size_t>(m.rows()), 0.0);
}

// The candidate grid as an image: unique x and y centres → columns and rows.
struct FilmGrid {
  int nx = 0, ny = 0;
  double x0 = 0, x1 = 1, y0 = 0, y1 = 1;
  std::vector<int> cell;  // candidate → row-major cell index
};
FilmGrid film_grid(const AnalysisInputs& in) {
  FilmGrid g;
  const std::set<int> xs(in.candidate_ix_px.begin(), in.candidate_ix_px.end()), ys(in.candidate_iy_px.begin(), in.candidate_iy_px.end());
  std::map<int, int> col, row;
  for (int x : xs) col.emplace(x, static_cast<int>(col.size()));
  for (int y : ys) row.emplace(y, static_cast<int>(row.size()));
  g.nx = static_cast<int>(xs.size());
  g.ny = static_cast<int>(ys.size());
  const double sx = g.nx > 1 ? static_cast<double>(*xs.rbegin() - *xs.begin()) / (g.nx - 1) : 1.0;
  const double sy = g.ny > 1 ? static_cast<double>(*ys.rbegin() - *ys.begin()) / (g.ny - 1) : 1.0;
  g.x0 = *xs.begin() - sx / 2, g.x1 = *xs.rbegin() + sx / 2;
  g.y0 = *ys.begin() - sy / 2, g.y1 = *ys.rbegin() + sy / 2;
  for (std::size_t i = 0; i < in.candidate_ix_px.size(); ++i)
    g.cell.push_back(row[in.candidate_iy_px[i]] * g.nx + col[in.candidate_ix_px[i]]);
  return g;
}

void measured_marks(viz::Axes& ax, const AnalysisInputs& in, const std::string& label) {
  std::vector<double> x, y;
  for (int c : in.measured) x.push_back(in.candidate_ix_px[c]), y.push_back(in.candidate_iy_px[c]);
  ax.scatter(x, y, {255, 255, 255}, "", 3.5);
  ax.scatter(x, y, kBlack, label, 2.0);
}

fs::path latent_scalarizers(const AnalysisResult& r, const FigureLabels& l, const fs::path& dir) {
  const int S = static_cast<int>(r.scalarizer_names.size());
  const int cols = std::min(3, S + 1), rows = (S + 1 + cols - 1) / cols;
  viz::Figure fig(rows, cols, 520, 420);
  fig.suptitle("Measured pairs in the joint latent (mu_z of each patch), coloured by the measured scalarizer; grey: all candidates");
  const auto cx = column(r.candidate_latent, 0), cy = second_or_zero(r.candidate_latent);
  const auto mx = column(r.measured_latent, 0), my = second_or_zero(r.measured_latent);
  const auto xl = limits(cx, mx), yl = limits(cy, my);
  for (int s = 0; s < S; ++s) {
    auto& ax = fig.axes(s / cols, s % cols);
    ax.scatter(cx, cy, kGrey, "", 1.2);
    const auto c = colouring(column(r.measured_scalars, s), r.scalarizer_names[s], scalar_unit(r.scalarizer_units[s], l));
    ax.scatter_values(mx, my, c.values, viz::Colormap::viridis, c.label, 4.0);
    ax.title(r.scalarizer_names[s]);
    ax.xlim(xl.first, xl.second);
    ax.ylim(yl.first, yl.second);
    latent_axes(ax, r);
  }
  {  // the GMM clusters of the same points, with their means
    auto& ax = fig.axes(S / cols, S % cols);
    ax.scatter(cx, cy, kGrey, "", 1.2);
    // Means as black rings under the members, so a member at its mean stays visible.
    std::vector<double> ux, uy;
    for (const auto& c : r.clusters) ux.push_back(c.mean(0)), uy.push_back(c.mean.size() > 1 ? c.mean(1) : 0.0);
    ax.scatter(ux, uy, kBlack, "cluster means (rings)", 7.0);
    ax.scatter(ux, uy, {255, 255, 255}, "", 5.0);
    for (std::size_t k = 0; k < r.clusters.size(); ++k) {
      std::vector<double> x, y;
      for (int i : r.clusters[k].members) x.push_back(mx[i]), y.push_back(my[i]);
      if (!x.empty()) ax.scatter(x, y, viz::palette(static_cast<int>(k)), "cluster " + std::to_string(k), 4.0);
    }
    ax.title("GMM clusters (k = " + std::to_string(r.mixture.best_k) + " by BIC)");
    ax.xlim(xl.first, xl.second);
    ax.ylim(yl.first, yl.second);
    latent_axes(ax, r);
  }
  const auto path = dir / "latent_scalarizers.png";
  fig.save_png(path);
  return path;
}

fs::path manifold_image(const AnalysisResult& r, int side, const fs::path& dir) {
  // One mosaic field, a NaN (blank) line between tiles, drawn over the latent rectangle so the
  // axes read in joint-latent coordinates; row 0 (top) is the largest z2.
  const auto& mf = r.manifold;
  const int g = mf.grid, n = g * (side + 1) - 1;
  std::vector<double> mosaic(static_cast<std::size_t>(n) * n, kNaN);
  for (int row = 0; row < g; ++row)
    for (int c = 0; c < g; ++c)
      for (int y = 0; y < side; ++y)
        for (int x = 0; x < side; ++x)
          mosaic[static_cast<std::size_t>(row * (side + 1) + y) * n + c * (side + 1) + x] = mf.patches(row * g + c, y * side + x);
  const double dz1 = (mf.z1.back() - mf.z1.front()) / (g - 1), dz2 = (mf.z2.front() - mf.z2.back()) / (g - 1);
  viz::Figure fig(1, 1, 820, 760);
  auto& ax = fig.axes();
  ax.image(mosaic, n, n, mf.z1.front() - 0.5 * dz1, mf.z1.back() + 0.5 * dz1, mf.z2.front() + 0.5 * dz2,
           mf.z2.back() - 0.5 * dz2, viz::Colormap::gray, "decoded height (normalised)");
  ax.xlabel("z1 (joint latent)");
  ax.ylabel("z2 (joint latent)");
  ax.title("Image decoder on the joint-latent grid (theta = 0)");
  const auto path = dir / "manifold_image.png";
  fig.save_png(path);
  return path;
}

fs::path manifold_curves(const AnalysisResult& r, const FigureLabels& l, const fs::path& dir) {
  const auto& mf = r.manifold;
  const int g = mf.grid;
  const double dz1 = (mf.z1.back() - mf.z1.front()) / (g - 1), dz2 = (mf.z2.front() - mf.z2.back()) / (g - 1);
  const double ilo = mf.curves.minCoeff(), ihi = std::max(mf.curves.maxCoeff(), ilo + 1e-30);
  const auto [vlo, vhi] = std::minmax_element(r.bias_v.begin(), r.bias_v.end());
  const double vspan = std::max(*vhi - *vlo, 1e-12);
  viz::Figure fig(1, 1, 820, 760);
  auto& ax = fig.axes();
  ax.grid(false);
  for (int row = 0; row < g; ++row)
    for (int c = 0; c < g; ++c) {
      const int t = row * g + c;
      // The cell's box: 80 % of the spacing, centred on its latent point.
      std::vector<double> x, y;
      for (std::size_t j = 0; j < r.bias_v.size(); ++j) {
        x.push_back(mf.z1[c] + 0.8 * dz1 * ((r.bias_v[j] - *vlo) / vspan - 0.5));
        y.push_back(mf.z2[row] + 0.8 * dz2 * ((mf.curves(t, static_cast<Eigen::Index>(j)) - ilo) / (ihi - ilo) - 0.5));
      }
      ax.line(x, y, viz::palette(0), "", 1.5);
    }
  // Every cell on one shared scale, stated on the axes (whose ticks are the latent).
  const SignalAxis sa = signal_axis(l, r);
  ax.xlim(mf.z1.front() - 0.5 * dz1, mf.z1.back() + 0.5 * dz1);
  ax.ylim(mf.z2.back() - 0.5 * dz2, mf.z2.front() + 0.5 * dz2);
  ax.xlabel("z1 (joint latent); cells: bias " + fmt(*vlo, "%.2g") + " .. " + fmt(*vhi, "%.2g") + " V across");
  ax.ylabel("z2; cells: " + sa.name + " " + fmt(ilo * sa.factor, "%.2g") + " .. " + fmt(ihi * sa.factor, "%.2g") + " " +
            sa.unit + " up");
  ax.title("Decoded curves on the same grid (s = inv(A) z)");
  const auto path = dir / "manifold_curves.png";
  fig.save_png(path);
  return path;
}

fs::path structure_property_map(const AnalysisInputs& in, const AnalysisResult& r, const FigureLabels& l, const fs::path& dir) {
  const int s = r.map_scalarizer;
  const auto c =
      colouring(column(r.predicted_scalars, s), "predicted " + r.scalarizer_names[s], scalar_unit(r.scalarizer_units[s], l));
  const bool survey = !in.survey.empty();
  viz::Figure fig(2, 2, 600, 480);
  fig.suptitle("Structure-property map: every candidate patch encoded (mu_z) and its im2spec curve scalarized");
  {
    auto& ax = fig.axes(0, 0);
    ax.scatter_values(column(r.candidate_latent, 0), second_or_zero(r.candidate_latent), c.values, viz::Colormap::viridis,
                      c.label, 1.8);
    ax.scatter(column(r.measured_latent, 0), second_or_zero(r.measured_latent), kBlack, "measured", 2.0);
    ax.title("Joint latent, all " + std::to_string(r.candidate_latent.rows()) + " candidates");
    latent_axes(ax, r);
  }
  const FilmGrid g = film_grid(in);
  {
    auto& ax = fig.axes(0, 1);
    std::vector<double> img(static_cast<std::size_t>(g.nx) * g.ny, kNaN);
    for (std::size_t i = 0; i < g.cell.size(); ++i) img[g.cell[i]] = c.values[i];
    ax.image(img, g.nx, g.ny, g.x0, g.x1, g.y0, g.y1, viz::Colormap::viridis, c.label);
    measured_marks(ax, in, "measured");
    ax.equal_aspect();
    if (in.image_nx > 0 && in.image_ny > 0) ax.xlim(0, in.image_nx), ax.ylim(0, in.image_ny);
    // The colour scale stretches to the predictions' own range; say how narrow that is next to
    // what was measured, so a nearly constant prediction is not read as structure.
    const auto span = [](const std::vector<double>& v) {
      double lo = std::numeric_limits<double>::infinity(), hi = -lo;
      for (double x : v)
        if (std::isfinite(x)) lo = std::min(lo, x), hi = std::max(hi, x);
      return hi > lo ? hi - lo : 0.0;
    };
    const double measured_span = span(column(r.measured_scalars, s));
    const double ratio = measured_span > 0 ? span(column(r.predicted_scalars, s)) / measured_span : kNaN;
    ax.title("Predicted " + r.scalarizer_names[s] + " over the film");
    ax.xlabel(std::isfinite(ratio) ? "x (px); predicted range " + fmt(100 * ratio, "%.2g") + " % of the measured" : "x (px)");
    ax.ylabel("y (px)");
  }
  {
    auto& ax = fig.axes(1, 0);
    if (survey) {
      ax.image(in.survey, in.image_nx, in.image_ny, 0, in.image_nx, 0, in.image_ny, viz::Colormap::gray, l.survey_label);
      ax.title("Survey and measured locations");
    } else {
      std::vector<double> img(static_cast<std::size_t>(g.nx) * g.ny, kNaN);
      for (std::size_t i = 0; i < g.cell.size(); ++i) img[g.cell[i]] = r.candidate_latent(static_cast<Eigen::Index>(i), 0);
      ax.image(img, g.nx, g.ny, g.x0, g.x1, g.y0, g.y1, viz::Colormap::coolwarm, "z1");
      ax.title("Latent z1 over the film (no survey given)");
    }
    measured_marks(ax, in, "measured");
    ax.equal_aspect();
    ax.xlabel("x (px)");
    ax.ylabel("y (px)");
  }
  {
    auto& ax = fig.axes(1, 1);
    std::vector<int> img(static_cast<std::size_t>(g.nx) * g.ny, -1);
    for (std::size_t i = 0; i < g.cell.size(); ++i) img[g.cell[i]] = r.candidate_cluster[i];
    std::vector<std::string> names;
    for (std::size_t k = 0; k < r.clusters.size(); ++k) names.push_back("cluster " + std::to_string(k));
    ax.label_image(img, g.nx, g.ny, g.x0, g.x1, g.y0, g.y1, names);
    ax.equal_aspect();
    if (in.image_nx > 0 && in.image_ny > 0) ax.xlim(0, in.image_nx), ax.ylim(0, in.image_ny);
    ax.title("Joint-latent clusters over the film (GMM, k = " + std::to_string(r.mixture.best_k) + " by BIC)");
    ax.xlabel("x (px)");
    ax.ylabel("y (px)");
  }
  const auto path = dir / "structure_property_map.png";
  fig.save_png(path);
  return path;
}

fs::path cluster_gallery(const AnalysisInputs& in, const AnalysisResult& r, const FigureLabels& l, const fs::path& dir) {
  const SignalAxis sa = signal_axis(l, r);
  const int K = static_cast<int>(r.clusters.size());
  const int side = in.patch_side;
  viz::Figure fig(K, 2, 760, 320);  // tall enough rows that the titles are legible
  fig.suptitle("Clusters of the joint latent: representative measured pairs (nearest the cluster mean) and the decoders at the mean");
  const double lo = in.candidate_patches.minCoeff(), hi = in.candidate_patches.maxCoeff();
  const double ilo = std::min(r.measured_curves.minCoeff(), 0.0), ihi = r.measured_curves.maxCoeff();
  int reps = 1;
  for (const auto& c : r.clusters) reps = std::max(reps, static_cast<int>(c.representatives.size()));
  for (int k = 0; k < K; ++k) {
    const auto& cs = r.clusters[k];
    const std::string head = "cluster " + std::to_string(k) + ": weight " + fmt(cs.weight, "%.2f") + ", " +
                             std::to_string(cs.members.size()) + (cs.members.size() == 1 ? " pair, " : " pairs, ") +
                             std::to_string(cs.candidates) + (cs.candidates == 1 ? " candidate" : " candidates");
    // Left: the decoded patch at the mean, a gap, then the representatives, one column apart.
    const int tiles = 1 + reps;  // the same width in every row, blank where a cluster has fewer
    const int nx = tiles * (side + 1) - 1 + 1;  // an extra gap after the decoded tile
    std::vector<double> strip(static_cast<std::size_t>(nx) * side, kNaN);
    auto put = [&](int t, const float* px) {
      const int ox = t == 0 ? 0 : t * (side + 1) + 1;
      for (int y = 0; y < side; ++y)
        for (int x = 0; x < side; ++x) strip[static_cast<std::size_t>(y) * nx + ox + x] = px[y * side + x];
    };
    put(0, cs.decoded_patch.data());
    for (std::size_t i = 0; i < cs.representatives.size(); ++i)
      put(static_cast<int>(i) + 1, in.candidate_patches.row(in.measured[cs.representatives[i]]).data());
    auto& left = fig.axes(k, 0);
    left.image(strip, nx, side, 0, nx, 0, side, viz::Colormap::gray, "height (normalised)", lo, hi > lo ? hi : lo + 1);
    left.xlabel("px");
    left.equal_aspect();
    left.title(head + " | decoded, then measured");
    auto& right = fig.axes(k, 1);
    for (std::size_t i = 0; i < cs.representatives.size(); ++i) {
      std::vector<double> y;
      for (Eigen::Index j = 0; j < r.measured_curves.cols(); ++j)
        y.push_back(r.measured_curves(cs.representatives[i], j) * sa.factor);
      right.line(r.bias_v, y, viz::palette(k), i == 0 ? "measured" : "", 1.2);
    }
    right.line(r.bias_v, sa.scaled(cs.decoded_curve), kBlack, "decoded at mean", 2.5);
    right.ylim(ilo * sa.factor, std::max(ihi, ilo + 1e-15) * sa.factor);
    right.xlabel("bias (V)");
    right.ylabel(sa.label());
    right.title((l.signal_unit == "A" ? std::string("I-V") : sa.name) + " loops of cluster " + std::to_string(k));
  }
  const auto path = dir / "cluster_gallery.png";
  fig.save_png(path);
  return path;
}

fs::path training_loss(const AnalysisResult& r, const fs::path& dir) {
  const auto& h = r.training.history;
  viz::Figure fig(1, 2, 560, 420);
  std::vector<double> epoch;
  for (std::size_t e = 0; e < h.size(); ++e) epoch.push_back(static_cast<double>(e + 1));
  auto series = [&](double engine::vae::LossTerms::*f) {
    std::vector<double> v;
    for (const auto& t : h) v.push_back(t.*f);
    return v;
  };
  if (h.empty()) {  // [vae] epochs = 0: an untrained model; say so rather than draw empty axes
    for (int c = 0; c < 2; ++c) {
      auto& ax = fig.axes(0, c);
      ax.xlim(0, 1);
      ax.ylim(0, 1);
      ax.grid(false);
      ax.text(0.3, 0.5, "no training epochs: the model is untrained");
      ax.title(c == 0 ? "Objective and reconstruction terms" : "KL terms and latent tie");
    }
    fig.suptitle("Dual VAE training: " + std::to_string(r.training.pairs) + " pairs, 0 epochs");
    const auto path = dir / "training_loss.png";
    fig.save_png(path);
    return path;
  }
  auto& a = fig.axes(0, 0);
  a.line(epoch, series(&engine::vae::LossTerms::total), kBlack, "total", 2.0);
  a.line(epoch, series(&engine::vae::LossTerms::recon_image), viz::palette(0), "BCE patch", 1.5);
  a.line(epoch, series(&engine::vae::LossTerms::recon_curve), viz::palette(1), "BCE curve", 1.5);
  a.xlabel("epoch");
  a.ylabel("per pair (nats)");
  a.title("Objective and reconstruction terms");
  auto& b = fig.axes(0, 1);
  b.line(epoch, series(&engine::vae::LossTerms::kl_image), viz::palette(0), "KL patch", 1.5);
  b.line(epoch, series(&engine::vae::LossTerms::kl_curve), viz::palette(1), "KL curve", 1.5);
  b.line(epoch, series(&engine::vae::LossTerms::similarity), viz::palette(2), "tie mean |mu_z - A mu_s|", 1.5);
  b.log_y();
  b.xlabel("epoch");
  b.ylabel("per pair");
  b.title("KL terms and latent tie");
  fig.suptitle("Dual VAE training: " + std::to_string(r.training.pairs) + " pairs, " + std::to_string(h.size()) +
               " full-batch epochs, " + fmt(r.training.seconds, "%.1f") + " s");
  const auto path = dir / "training_loss.png";
  fig.save_png(path);
  return path;
}

fs::path true_labels(const AnalysisInputs& in, const AnalysisResult& r, const fs::path& dir) {
  int max_label = 0;
  for (int l : in.true_labels) max_label = std::max(max_label, l);
  auto name = [&](int l) { return label_name(in, l); };
  viz::Figure fig(1, 2, 560, 460);
  const auto& m = r.metrics;
  fig.suptitle("Joint latent coloured by the true motif (leave-one-out " + std::to_string(m.knn_k) + "-NN accuracy)");
  for (int panel = 0; panel < 2; ++panel) {
    auto& ax = fig.axes(0, panel);
    const Eigen::MatrixXd& z = panel == 0 ? r.measured_latent : r.candidate_latent;
    for (int l = 0; l <= max_label; ++l) {
      std::vector<double> x, y;
      for (Eigen::Index i = 0; i < z.rows(); ++i) {
        const int lab = panel == 0 ? in.true_labels[in.measured[i]] : in.true_labels[i];
        if (lab != l) continue;
        x.push_back(z(i, 0));
        y.push_back(z.cols() > 1 ? z(i, 1) : 0.0);
      }
      if (!x.empty()) ax.scatter(x, y, viz::palette(l), name(l), panel == 0 ? 4.0 : 1.5);
    }
    // Accuracy vs the majority-label rate, and balanced accuracy vs 1/labels.
    ax.title(panel == 0 ? "Measured: " + fmt(m.knn_accuracy_measured, "%.2f") + " (chance " + fmt(m.knn_chance_measured, "%.2f") +
                              "), balanced " + fmt(m.knn_balanced_measured, "%.2f") + " (" +
                              fmt(1.0 / std::max(1, m.knn_labels_measured), "%.2f") + ")"
                        : "Candidates: " + fmt(m.knn_accuracy_candidates, "%.2f") + " (chance " + fmt(m.knn_chance_candidates, "%.2f") +
                              "), balanced " + fmt(m.knn_balanced_candidates, "%.2f") + " (" +
                              fmt(1.0 / std::max(1, m.knn_labels_candidates), "%.2f") + ")");
    latent_axes(ax, r);
  }
  const auto path = dir / "latent_true_labels.png";
  fig.save_png(path);
  return path;
}

fs::path im2spec_truth(const AnalysisInputs& in, const AnalysisResult& r, const FigureLabels& l, const fs::path& dir) {
  const SignalAxis sa = signal_axis(l, r);
  viz::Figure fig(1, 2, 560, 460);
  const int s = r.map_scalarizer;
  const auto& name = r.scalarizer_names[s];
  auto& a = fig.axes(0, 0);
  a.scatter(r.truth_scalar, r.truth_predicted_scalar, viz::palette(0), "unmeasured candidates", 2.5);
  const auto lim = limits(r.truth_scalar, r.truth_predicted_scalar);
  a.line({lim.first, lim.second}, {lim.first, lim.second}, kBlack, "y = x", 1.0);
  a.xlim(lim.first, lim.second);
  a.ylim(lim.first, lim.second);
  a.equal_aspect();
  const std::string unit = scalar_unit(r.scalarizer_units[s], l);
  a.xlabel(with_unit("true " + name, unit));
  a.ylabel(with_unit("im2spec " + name, unit));
  a.title("R^2 = " + fmt(r.metrics.im2spec_r2, "%.3f") + " over " + std::to_string(r.metrics.im2spec_evaluated) + " pixels");
  auto& b = fig.axes(0, 1);
  // Three examples spread over the true scalarizer's range: low, median, high.
  std::vector<std::size_t> order(r.truth_evaluated.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(), [&](auto i, auto j) { return r.truth_scalar[i] < r.truth_scalar[j]; });
  std::map<int, std::size_t> truth_index;
  for (std::size_t i = 0; i < in.truth_candidates.size(); ++i) truth_index.emplace(in.truth_candidates[i], i);
  std::vector<std::size_t> picks;
  if (!in.true_labels.empty()) {  // one example per true motif (the median of its scalarizer values)
    std::map<int, std::vector<std::size_t>> by_label;
    for (std::size_t i : order) by_label[in.true_labels[r.truth_evaluated[i]]].push_back(i);
    for (const auto& [label, members] : by_label)
      if (picks.size() < 6) picks.push_back(members[members.size() / 2]);
  } else {
    picks = {order[order.size() / 10], order[order.size() / 2], order[order.size() * 9 / 10]};
  }
  static const char* const kRank[] = {"10th percentile", "median", "90th percentile"};
  for (std::size_t p = 0; p < picks.size(); ++p) {
    const int cand = r.truth_evaluated[picks[p]];
    const auto& tc = in.true_curves[truth_index.at(cand)];
    const std::string what = in.true_labels.empty() ? std::string("true, ") + kRank[p] + " " + name
                                                    : "true, " + label_name(in, in.true_labels[cand]);
    b.line(tc.bias_v, sa.scaled(tc.current_a), viz::palette(static_cast<int>(p)), what, 2.0);
    std::vector<double> pi;
    for (Eigen::Index j = 0; j < r.predicted_curves.cols(); ++j) pi.push_back(r.predicted_curves(cand, j) * sa.factor);
    b.scatter(r.bias_v, pi, viz::palette(static_cast<int>(p)), p == 0 ? "im2spec (dots, same colour)" : "", 1.2);
  }
  b.xlabel("bias (V)");
  b.ylabel(sa.label());
  b.title(std::string(in.true_labels.empty() ? "Examples by true " + name : "One example per true motif") +
          "; curve NRMSE " + fmt(r.metrics.im2spec_nrmse, "%.3f"));
  fig.suptitle("im2spec against " + l.truth + " at unmeasured pixels");
  const auto path = dir / "im2spec_truth.png";
  fig.save_png(path);
  return path;
}

}  // namespace

SignalScale signal_scale(const FigureLabels& l, double max_abs) {
  if (l.signal_unit != "A") return {1.0, l.signal_unit};
  int k = -9;  // nA when there is nothing to go by
  if (max_abs > 0 && std::isfinite(max_abs))
    k = std::clamp(static_cast<int>(std::floor((std::floor(std::log10(max_abs)) + 1) / 3.0)) * 3, -15, 0);
  static const char* const prefix[] = {"f", "p", "n", "u", "m", ""};
  return {std::pow(10.0, -k), std::string(prefix[(k + 15) / 3]) + "A"};
}

std::vector<fs::path> write_analysis_figures(const AnalysisInputs& in, const AnalysisResult& r, const fs::path& dir,
                                            const FigureLabels& labels) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) throw Error("write_analysis_figures: cannot create " + dir.string() + ": " + ec.message());
  std::vector<fs::path> out;
  out.push_back(latent_scalarizers(r, labels, dir));
  out.push_back(manifold_image(r, in.patch_side, dir));
  out.push_back(manifold_curves(r, labels, dir));
  out.push_back(structure_property_map(in, r, labels, dir));
  out.push_back(cluster_gallery(in, r, labels, dir));
  out.push_back(training_loss(r, dir));
  if (!in.true_labels.empty()) out.push_back(true_labels(in, r, dir));
  if (!r.truth_evaluated.empty()) out.push_back(im2spec_truth(in, r, labels, dir));
  return out;
}

}  // namespace sdm::bench::analysis
