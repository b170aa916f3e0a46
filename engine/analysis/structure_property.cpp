#include "engine/analysis/structure_property.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>
#include <set>

#include "core/error.hpp"
#include "engine/acquisition/scalarizer.hpp"
#include "engine/analysis/metrics.hpp"

namespace sdm::engine::analysis {
namespace {

using acquisition::ScalarizerSpec;

void fail(const std::string& what) { throw Error("analyze_structure_property: " + what); }

void check_curve(const core::IvCurve& c, const std::string& what) {
  if (c.current_a.size() < 2) fail(what + " has " + std::to_string(c.current_a.size()) + " points; need at least 2");
  if (c.bias_v.size() != c.current_a.size())
    fail(what + " has " + std::to_string(c.bias_v.size()) + " biases but " + std::to_string(c.current_a.size()) + " currents");
  for (std::size_t i = 0; i < c.size(); ++i)
    if (!std::isfinite(c.current_a[i]) || !std::isfinite(c.bias_v[i])) fail(what + " has a non-finite value at point " + std::to_string(i));
}

void validate(const AnalysisInputs& in) {
  const auto m = static_cast<std::size_t>(in.candidate_patches.rows());
  if (m == 0) fail("no candidate patches");
  if (in.candidate_patches.cols() != in.patch_side * in.patch_side)
    fail("candidate patches have " + std::to_string(in.candidate_patches.cols()) + " columns; patch_side " +
         std::to_string(in.patch_side) + " needs " + std::to_string(in.patch_side * in.patch_side));
  if (in.candidate_ix_px.size() != m || in.candidate_iy_px.size() != m)
    fail("candidate positions: " + std::to_string(in.candidate_ix_px.size()) + " x and " +
         std::to_string(in.candidate_iy_px.size()) + " y entries for " + std::to_string(m) + " candidates");
  if (in.measured.size() != in.measured_curves.size())
    fail(std::to_string(in.measured.size()) + " measured candidates but " + std::to_string(in.measured_curves.size()) +
         " measured curves");
  if (in.measured.size() < 2) fail("need at least 2 measured pairs, got " + std::to_string(in.measured.size()));
  for (std::size_t i = 0; i < in.measured.size(); ++i) {
    if (in.measured[i] < 0 || static_cast<std::size_t>(in.measured[i]) >= m)
      fail("measured[" + std::to_string(i) + "] = " + std::to_string(in.measured[i]) + " is not a candidate index (0.." +
           std::to_string(m - 1) + ")");
    check_curve(in.measured_curves[i], "measured curve " + std::to_string(i));
  }
  if (!in.true_labels.empty() && in.true_labels.size() != m)
    fail("true_labels has " + std::to_string(in.true_labels.size()) + " entries for " + std::to_string(m) + " candidates");
  if (in.truth_candidates.size() != in.true_curves.size())
    fail(std::to_string(in.truth_candidates.size()) + " truth candidates but " + std::to_string(in.true_curves.size()) +
         " true curves");
  for (std::size_t i = 0; i < in.truth_candidates.size(); ++i) {
    if (in.truth_candidates[i] < 0 || static_cast<std::size_t>(in.truth_candidates[i]) >= m)
      fail("truth_candidates[" + std::to_string(i) + "] = " + std::to_string(in.truth_candidates[i]) + " is not a candidate index");
    check_curve(in.true_curves[i], "true curve " + std::to_string(i));
  }
  if (!in.survey.empty() && in.survey.size() != static_cast<std::size_t>(in.image_nx) * in.image_ny)
    fail("survey has " + std::to_string(in.survey.size()) + " values for image_nx × image_ny = " + std::to_string(in.image_nx) +
         " × " + std::to_string(in.image_ny));
}

// Scalarizer of a model curve on the reference axis.
double scalar_of(const std::vector<double>& current, const std::vector<double>& bias, const std::vector<double>& time,
                 const ScalarizerSpec& spec) {
  core::IvCurve c;
  c.bias_v = bias;
  c.time_s = time;
  c.current_a = current;
  return acquisition::scalarize(c, spec);
}

double quantile(std::vector<double> v, double q) {
  std::sort(v.begin(), v.end());
  const double pos = q * static_cast<double>(v.size() - 1);
  const auto i = static_cast<std::size_t>(pos);
  const double f = pos - static_cast<double>(i);
  return i + 1 < v.size() ? v[i] + f * (v[i + 1] - v[i]) : v[i];
}

}  // namespace

AnalysisResult analyze_structure_property(const AnalysisInputs& in, const AnalysisConfig& cfg) {
  validate(in);
  if (cfg.knn_k < 1) fail("knn_k must be >= 1, got " + std::to_string(cfg.knn_k));
  AnalysisResult r;
  const int L = cfg.vae.curve_points;
  const auto n = static_cast<Eigen::Index>(in.measured.size());
  const auto m = in.candidate_patches.rows();

  // --- scalarizers (the map's one included)
  r.scalarizer_names = cfg.scalarizers;
  if (std::find(r.scalarizer_names.begin(), r.scalarizer_names.end(), cfg.vae.scalarizer) == r.scalarizer_names.end())
    r.scalarizer_names.push_back(cfg.vae.scalarizer);
  std::vector<ScalarizerSpec> specs;
  for (const auto& name : r.scalarizer_names) {
    specs.push_back(ScalarizerSpec::from_name(name, cfg.scalarizer_bias_v, cfg.scalarizer_onset_current_a));
    r.scalarizer_units.push_back(specs.back().unit());
  }
  r.map_scalarizer = static_cast<int>(std::find(r.scalarizer_names.begin(), r.scalarizer_names.end(), cfg.vae.scalarizer) -
                                      r.scalarizer_names.begin());
  const auto S = static_cast<Eigen::Index>(specs.size());

  // --- the measured pairs
  const auto& ref = in.measured_curves.front();
  r.bias_v = vae::resample(ref.bias_v, L);
  r.time_s = ref.time_s.size() == ref.bias_v.size() ? vae::resample(ref.time_s, L) : std::vector<double>(L, 0.0);
  vae::RowMatrixF pair_patches(n, in.candidate_patches.cols());
  r.measured_curves.resize(n, L);
  r.measured_scalars.resize(n, S);
  for (Eigen::Index i = 0; i < n; ++i) {
    pair_patches.row(i) = in.candidate_patches.row(in.measured[i]);
    const auto cur = vae::resample(in.measured_curves[i].current_a, L);
    for (int j = 0; j < L; ++j) r.measured_curves(i, j) = cur[j];
    for (Eigen::Index s = 0; s < S; ++s) r.measured_scalars(i, s) = acquisition::scalarize(in.measured_curves[i], specs[s]);
  }

  // --- fit and encode
  auto model = std::make_shared<vae::DualVae>(cfg.vae, in.patch_side, cfg.seed);
  r.training = model->fit(pair_patches, r.measured_curves);
  const auto pair_enc = model->encode_patches(pair_patches);
  r.measured_latent = pair_enc.mean;
  r.measured_latent_variance = pair_enc.variance;
  r.measured_curve_latent = model->curves_to_joint(r.measured_curves);
  const auto cand_enc = model->encode_patches(in.candidate_patches);
  r.candidate_latent = cand_enc.mean;
  r.candidate_latent_variance = cand_enc.variance;
  r.candidate_pose = cand_enc.pose_mean;
  const Eigen::MatrixXd predicted = model->decode_curves(r.candidate_latent);
  r.predicted_curves = predicted.cast<float>();
  r.predicted_scalars.resize(m, S);
  {
    std::vector<double> row(L);
    for (Eigen::Index i = 0; i < m; ++i) {
      for (int j = 0; j < L; ++j) row[j] = predicted(i, j);
      for (Eigen::Index s = 0; s < S; ++s) r.predicted_scalars(i, s) = scalar_of(row, r.bias_v, r.time_s, specs[s]);
    }
  }
  const int d = model->latent_dim();
  r.metrics.tie_residual = (r.measured_latent - r.measured_curve_latent).cwiseAbs().rowwise().sum().mean();
  {
    const Eigen::MatrixXd c = r.measured_latent.rowwise() - r.measured_latent.colwise().mean();
    r.metrics.latent_spread = (c.colwise().squaredNorm().array() / static_cast<double>(n)).sqrt().mean();
    r.metrics.latent_snr = r.metrics.latent_spread / r.measured_latent_variance.array().sqrt().mean();
  }

  // --- manifold over the central 98 % of the candidates' latent, padded by 5 %
  {
    std::vector<double> lo(2), hi(2);
    for (int k = 0; k < 2; ++k) {
      if (k >= d) {
        lo[k] = -1;
        hi[k] = 1;
        continue;
      }
      std::vector<double> v(r.candidate_latent.col(k).data(), r.candidate_latent.col(k).data() + m);
      lo[k] = quantile(v, 0.01);
      hi[k] = quantile(v, 0.99);
      const double pad = 0.05 * std::max(hi[k] - lo[k], 1e-6);
      lo[k] -= pad;
      hi[k] += pad;
    }
    r.manifold = model->manifold(cfg.vae.manifold_grid, lo[0], hi[0], lo[1], hi[1]);
  }

  // --- clusters of the measured joint latent
  r.mixture = select_gmm_bic(r.measured_latent, cfg.vae.max_clusters, cfg.gmm, cfg.seed + 1);
  const auto& g = r.mixture.best;
  r.measured_cluster = g.predict(r.measured_latent);
  r.candidate_cluster = g.predict(r.candidate_latent);
  r.clusters.resize(g.components());
  const Eigen::MatrixXd decoded_curves = model->decode_curves(g.means);
  const vae::RowMatrixF decoded_patches = model->decode_patches(g.means);
  for (int c = 0; c < g.components(); ++c) {
    auto& cs = r.clusters[c];
    cs.weight = g.weights(c);
    cs.mean = g.means.row(c).transpose();
    cs.covariance = g.covariances[c];
    for (Eigen::Index i = 0; i < n; ++i)
      if (r.measured_cluster[i] == c) cs.members.push_back(static_cast<int>(i));
    cs.representatives = nearest_rows(r.measured_latent, cs.mean, cs.members, cfg.vae.cluster_representatives);
    cs.candidates = static_cast<int>(std::count(r.candidate_cluster.begin(), r.candidate_cluster.end(), c));
    cs.decoded_patch.assign(decoded_patches.row(c).data(), decoded_patches.row(c).data() + decoded_patches.cols());
    cs.decoded_curve.assign(L, 0.0);
    for (int j = 0; j < L; ++j) cs.decoded_curve[j] = decoded_curves(c, j);
  }

  // --- ground truth: motif separability
  r.metrics.knn_k = cfg.knn_k;
  if (!in.true_labels.empty()) {
    std::vector<int> labels(n);
    for (Eigen::Index i = 0; i < n; ++i) labels[i] = in.true_labels[in.measured[i]];
    r.metrics.knn_accuracy_measured = knn_accuracy(r.measured_latent, labels, cfg.knn_k);
    r.metrics.knn_balanced_measured = balanced_accuracy(labels, knn_predict_loo(r.measured_latent, labels, cfg.knn_k));
    r.metrics.knn_labels_measured = static_cast<int>(std::set<int>(labels.begin(), labels.end()).size());
    r.metrics.knn_accuracy_measured_curves = knn_accuracy(r.measured_curve_latent, labels, cfg.knn_k);
    r.metrics.knn_chance_measured = majority_fraction(labels);
    std::vector<int> idx(m);
    std::iota(idx.begin(), idx.end(), 0);
    if (static_cast<int>(m) > cfg.knn_max_candidates) {
      std::mt19937_64 rng(cfg.seed + 2);
      std::shuffle(idx.begin(), idx.end(), rng);
      idx.resize(cfg.knn_max_candidates);
      std::sort(idx.begin(), idx.end());
    }
    if (idx.size() >= 2) {
      Eigen::MatrixXd pts(idx.size(), d);
      std::vector<int> lab(idx.size());
      for (std::size_t i = 0; i < idx.size(); ++i) {
        pts.row(i) = r.candidate_latent.row(idx[i]);
        lab[i] = in.true_labels[idx[i]];
      }
      const auto pred = knn_predict_loo(pts, lab, cfg.knn_k);
      std::size_t right = 0;
      for (std::size_t i = 0; i < lab.size(); ++i) right += pred[i] == lab[i];
      r.metrics.knn_accuracy_candidates = static_cast<double>(right) / static_cast<double>(lab.size());
      r.metrics.knn_balanced_candidates = balanced_accuracy(lab, pred);
      r.metrics.knn_labels_candidates = static_cast<int>(std::set<int>(lab.begin(), lab.end()).size());
      r.metrics.knn_chance_candidates = majority_fraction(lab);
      r.metrics.knn_candidates_used = static_cast<int>(idx.size());
    }
  }

  // --- ground truth: im2spec on unmeasured candidates
  {
    const std::set<int> measured(in.measured.begin(), in.measured.end());
    std::vector<std::size_t> use;
    for (std::size_t i = 0; i < in.truth_candidates.size(); ++i)
      if (!measured.count(in.truth_candidates[i])) use.push_back(i);
    if (!use.empty()) {
      Eigen::MatrixXd truth(use.size(), L), pred(use.size(), L);
      const auto& spec = specs[r.map_scalarizer];
      for (std::size_t u = 0; u < use.size(); ++u) {
        const int cand = in.truth_candidates[use[u]];
        const auto& tc = in.true_curves[use[u]];
        const auto cur = vae::resample(tc.current_a, L);
        for (int j = 0; j < L; ++j) {
          truth(u, j) = cur[j];
          pred(u, j) = predicted(cand, j);
        }
        r.truth_evaluated.push_back(cand);
        r.truth_scalar.push_back(acquisition::scalarize(tc, spec));
        r.truth_predicted_scalar.push_back(r.predicted_scalars(cand, r.map_scalarizer));
      }
      r.metrics.im2spec_r2 = r_squared(r.truth_scalar, r.truth_predicted_scalar);
      r.metrics.im2spec_nrmse = normalised_rmse(truth, pred);
      r.metrics.im2spec_evaluated = static_cast<int>(use.size());
    }
  }
  r.model = std::move(model);
  return r;
}

}  // namespace sdm::engine::analysis
