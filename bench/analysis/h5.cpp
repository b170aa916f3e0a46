// HDF5 output of a structure–property analysis (layout in report.hpp), HDF5 C API.
#include <hdf5.h>

#include <cmath>
#include <string>
#include <vector>

#include "bench/analysis/report.hpp"
#include "core/error.hpp"

namespace sdm::bench::analysis {
namespace {

using engine::analysis::AnalysisConfig;
using engine::analysis::AnalysisInputs;
using engine::analysis::AnalysisResult;
using RowMatrixD = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

// Owns one HDF5 identifier.
class Handle {
 public:
  Handle(hid_t id, herr_t (*close)(hid_t), const std::string& what) : id_(id), close_(close) {
    if (id_ < 0) throw Error("write_analysis_h5: " + what);
  }
  ~Handle() {
    if (id_ >= 0) close_(id_);
  }
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;
  hid_t get() const { return id_; }

 private:
  hid_t id_;
  herr_t (*close_)(hid_t);
};

struct Writer {
  std::string file;

  void fail(const std::string& what) const { throw Error("write_analysis_h5('" + file + "'): " + what); }

  void dataset(hid_t loc, const std::string& name, hid_t type, const void* data, std::vector<hsize_t> dims) const {
    if (dims.empty()) dims = {0};
    Handle space(H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr), H5Sclose, "dataspace of " + name);
    Handle ds(H5Dcreate2(loc, name.c_str(), type, space.get(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), H5Dclose,
              "cannot create dataset " + name);
    hsize_t count = 1;
    for (auto d : dims) count *= d;
    if (count > 0 && H5Dwrite(ds.get(), type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) < 0) fail("cannot write dataset " + name);
  }
  void doubles(hid_t loc, const std::string& name, const std::vector<double>& v) const {
    dataset(loc, name, H5T_NATIVE_DOUBLE, v.data(), {v.size()});
  }
  void ints(hid_t loc, const std::string& name, const std::vector<int>& v) const {
    dataset(loc, name, H5T_NATIVE_INT, v.data(), {v.size()});
  }
  void matrix(hid_t loc, const std::string& name, const Eigen::MatrixXd& m) const {
    const RowMatrixD r = m;
    dataset(loc, name, H5T_NATIVE_DOUBLE, r.data(), {static_cast<hsize_t>(m.rows()), static_cast<hsize_t>(m.cols())});
  }
  void matrix(hid_t loc, const std::string& name, const engine::vae::RowMatrixF& m) const {
    dataset(loc, name, H5T_NATIVE_FLOAT, m.data(), {static_cast<hsize_t>(m.rows()), static_cast<hsize_t>(m.cols())});
  }
  void attr(hid_t loc, const std::string& name, double v) const {
    Handle space(H5Screate(H5S_SCALAR), H5Sclose, "scalar dataspace");
    Handle a(H5Acreate2(loc, name.c_str(), H5T_NATIVE_DOUBLE, space.get(), H5P_DEFAULT, H5P_DEFAULT), H5Aclose,
             "cannot create attribute " + name);
    if (H5Awrite(a.get(), H5T_NATIVE_DOUBLE, &v) < 0) fail("cannot write attribute " + name);
  }
  void attr(hid_t loc, const std::string& name, int v) const {
    Handle space(H5Screate(H5S_SCALAR), H5Sclose, "scalar dataspace");
    Handle a(H5Acreate2(loc, name.c_str(), H5T_NATIVE_INT, space.get(), H5P_DEFAULT, H5P_DEFAULT), H5Aclose,
             "cannot create attribute " + name);
    if (H5Awrite(a.get(), H5T_NATIVE_INT, &v) < 0) fail("cannot write attribute " + name);
  }
  void attr(hid_t loc, const std::string& name, const std::string& v) const {
    Handle type(H5Tcopy(H5T_C_S1), H5Tclose, "string type");
    H5Tset_size(type.get(), std::max<std::size_t>(v.size(), 1));
    H5Tset_strpad(type.get(), H5T_STR_NULLPAD);
    Handle space(H5Screate(H5S_SCALAR), H5Sclose, "scalar dataspace");
    Handle a(H5Acreate2(loc, name.c_str(), type.get(), space.get(), H5P_DEFAULT, H5P_DEFAULT), H5Aclose,
             "cannot create attribute " + name);
    const std::string padded = v.empty() ? std::string(1, '\0') : v;
    if (H5Awrite(a.get(), type.get(), padded.data()) < 0) fail("cannot write attribute " + name);
  }
  Handle group(hid_t loc, const std::string& name) const {
    return Handle(H5Gcreate2(loc, name.c_str(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), H5Gclose, "cannot create group " + name);
  }
};

// Silences HDF5's own error stack printing while alive (failures become sdm::Error messages).
class QuietErrors {
 public:
  QuietErrors() {
    H5Eget_auto2(H5E_DEFAULT, &func_, &data_);
    H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
  }
  ~QuietErrors() { H5Eset_auto2(H5E_DEFAULT, func_, data_); }

 private:
  H5E_auto2_t func_ = nullptr;
  void* data_ = nullptr;
};

std::string json_config(const AnalysisConfig& c) {
  const auto& v = c.vae;
  nlohmann::json j = {{"vae",
                       {{"latent_dim", v.latent_dim}, {"hidden", v.hidden}, {"epochs", v.epochs},
                        {"learning_rate", v.learning_rate}, {"beta_kl", v.beta_kl}, {"gamma_similarity", v.gamma_similarity},
                        {"tie_warmup_fraction", v.tie_warmup_fraction}, {"coordinate_invariance", v.coordinate_invariance},
                        {"rotation_prior_rad", v.rotation_prior_rad}, {"shift_prior", v.shift_prior},
                        {"spatial_decoder_layers", v.spatial_decoder_layers}, {"curve_points", v.curve_points},
                        {"patch_scaling", v.patch_scaling}, {"curve_scaling", v.curve_scaling},
                        {"scalarizer", v.scalarizer}, {"manifold_grid", v.manifold_grid},
                        {"max_clusters", v.max_clusters}, {"cluster_representatives", v.cluster_representatives}}},
                      {"knn_k", c.knn_k},
                      {"seed", c.seed},
                      {"scalarizer_bias_v", c.scalarizer_bias_v},
                      {"scalarizer_onset_current_a", c.scalarizer_onset_current_a}};
  return j.dump();
}

}  // namespace

void write_analysis_h5(const std::filesystem::path& path, const AnalysisInputs& in, const AnalysisResult& r,
                       const AnalysisConfig& config, const std::string& group_name) {
  Writer w{path.string()};
  if (group_name.empty() || group_name.find('/') != std::string::npos) w.fail("group name must be a plain name, got '" + group_name + "'");
  const QuietErrors quiet;
  const bool exists = std::filesystem::exists(path);
  const hid_t fid = exists ? H5Fopen(w.file.c_str(), H5F_ACC_RDWR, H5P_DEFAULT)
                           : H5Fcreate(w.file.c_str(), H5F_ACC_EXCL, H5P_DEFAULT, H5P_DEFAULT);
  if (fid < 0) w.fail(exists ? "cannot open the existing file for writing (not HDF5, or locked)" : "cannot create the file");
  Handle file(fid, H5Fclose, "file");
  if (H5Lexists(file.get(), group_name.c_str(), H5P_DEFAULT) > 0 && H5Ldelete(file.get(), group_name.c_str(), H5P_DEFAULT) < 0)
    w.fail("cannot replace the existing group " + group_name);
  Handle root = w.group(file.get(), group_name);
  const hid_t g = root.get();

  const auto& m = r.metrics;
  w.attr(g, "knn_k", m.knn_k);
  w.attr(g, "knn_accuracy_measured", m.knn_accuracy_measured);
  w.attr(g, "knn_accuracy_measured_curves", m.knn_accuracy_measured_curves);
  w.attr(g, "knn_accuracy_candidates", m.knn_accuracy_candidates);
  w.attr(g, "knn_chance_measured", m.knn_chance_measured);
  w.attr(g, "knn_chance_candidates", m.knn_chance_candidates);
  w.attr(g, "knn_candidates_used", m.knn_candidates_used);
  w.attr(g, "knn_balanced_measured", m.knn_balanced_measured);
  w.attr(g, "knn_balanced_candidates", m.knn_balanced_candidates);
  w.attr(g, "knn_labels_measured", m.knn_labels_measured);
  w.attr(g, "knn_labels_candidates", m.knn_labels_candidates);
  w.attr(g, "im2spec_r2", m.im2spec_r2);
  w.attr(g, "im2spec_nrmse", m.im2spec_nrmse);
  w.attr(g, "im2spec_evaluated", m.im2spec_evaluated);
  w.attr(g, "tie_residual", m.tie_residual);
  w.attr(g, "latent_spread", m.latent_spread);
  w.attr(g, "latent_snr", m.latent_snr);
  w.attr(g, "best_k", r.mixture.best_k);
  w.attr(g, "training_seconds", r.training.seconds);
  std::string names;
  for (const auto& s : r.scalarizer_names) names += (names.empty() ? "" : ",") + s;
  w.attr(g, "scalarizers", names);
  w.attr(g, "map_scalarizer", r.scalarizer_names[r.map_scalarizer]);
  w.attr(g, "config", json_config(config));
  w.doubles(g, "bias_v", r.bias_v);
  w.doubles(g, "time_s", r.time_s);

  {
    Handle t = w.group(g, "training");
    std::vector<double> total, ri, rc, ki, kc, sim;
    for (const auto& h : r.training.history) {
      total.push_back(h.total), ri.push_back(h.recon_image), rc.push_back(h.recon_curve);
      ki.push_back(h.kl_image), kc.push_back(h.kl_curve), sim.push_back(h.similarity);
    }
    w.doubles(t.get(), "total", total);
    w.doubles(t.get(), "recon_image", ri);
    w.doubles(t.get(), "recon_curve", rc);
    w.doubles(t.get(), "kl_image", ki);
    w.doubles(t.get(), "kl_curve", kc);
    w.doubles(t.get(), "similarity", sim);
    w.matrix(t.get(), "tie_matrix", r.training.tie_matrix);
  }
  {
    Handle ms = w.group(g, "measured");
    w.ints(ms.get(), "candidate", in.measured);
    w.matrix(ms.get(), "latent", r.measured_latent);
    w.matrix(ms.get(), "latent_variance", r.measured_latent_variance);
    w.matrix(ms.get(), "curve_latent", r.measured_curve_latent);
    w.matrix(ms.get(), "curves", r.measured_curves);
    w.matrix(ms.get(), "scalars", r.measured_scalars);
    w.ints(ms.get(), "cluster", r.measured_cluster);
  }
  {
    Handle c = w.group(g, "candidates");
    w.ints(c.get(), "ix_px", in.candidate_ix_px);
    w.ints(c.get(), "iy_px", in.candidate_iy_px);
    w.matrix(c.get(), "latent", r.candidate_latent);
    w.matrix(c.get(), "latent_variance", r.candidate_latent_variance);
    w.matrix(c.get(), "pose", r.candidate_pose);
    w.matrix(c.get(), "predicted_curves", r.predicted_curves);
    w.matrix(c.get(), "predicted_scalars", r.predicted_scalars);
    w.ints(c.get(), "cluster", r.candidate_cluster);
  }
  {
    Handle mf = w.group(g, "manifold");
    w.doubles(mf.get(), "z1", r.manifold.z1);
    w.doubles(mf.get(), "z2", r.manifold.z2);
    w.matrix(mf.get(), "latent", r.manifold.latent);
    w.matrix(mf.get(), "patches", r.manifold.patches);
    w.matrix(mf.get(), "curves", r.manifold.curves);
  }
  {
    Handle cl = w.group(g, "clusters");
    w.ints(cl.get(), "ks", r.mixture.ks);
    w.doubles(cl.get(), "bic", r.mixture.bic);
    const auto& mix = r.mixture.best;
    w.doubles(cl.get(), "weights", std::vector<double>(mix.weights.data(), mix.weights.data() + mix.weights.size()));
    w.matrix(cl.get(), "means", mix.means);
    const auto k = static_cast<hsize_t>(mix.components()), d = static_cast<hsize_t>(mix.dimension());
    std::vector<double> cov;
    for (const auto& c : mix.covariances)
      for (Eigen::Index i = 0; i < c.rows(); ++i)
        for (Eigen::Index j = 0; j < c.cols(); ++j) cov.push_back(c(i, j));
    w.dataset(cl.get(), "covariances", H5T_NATIVE_DOUBLE, cov.data(), {k, d, d});
    std::size_t reps = 1;
    for (const auto& c : r.clusters) reps = std::max(reps, c.representatives.size());
    std::vector<int> rep(k * reps, -1);
    engine::vae::RowMatrixF patches(static_cast<Eigen::Index>(k), in.patch_side * in.patch_side);
    Eigen::MatrixXd curves(static_cast<Eigen::Index>(k), static_cast<Eigen::Index>(r.bias_v.size()));
    for (std::size_t c = 0; c < r.clusters.size(); ++c) {
      for (std::size_t i = 0; i < r.clusters[c].representatives.size(); ++i) rep[c * reps + i] = r.clusters[c].representatives[i];
      for (Eigen::Index j = 0; j < patches.cols(); ++j) patches(c, j) = r.clusters[c].decoded_patch[j];
      for (Eigen::Index j = 0; j < curves.cols(); ++j) curves(c, j) = r.clusters[c].decoded_curve[j];
    }
    w.dataset(cl.get(), "representatives", H5T_NATIVE_INT, rep.data(), {k, reps});
    w.matrix(cl.get(), "decoded_patches", patches);
    w.matrix(cl.get(), "decoded_curves", curves);
  }
  if (!r.truth_evaluated.empty()) {
    Handle t = w.group(g, "truth");
    w.ints(t.get(), "candidate", r.truth_evaluated);
    w.doubles(t.get(), "true_scalar", r.truth_scalar);
    w.doubles(t.get(), "predicted_scalar", r.truth_predicted_scalar);
  }
  if (H5Fflush(file.get(), H5F_SCOPE_LOCAL) < 0) w.fail("cannot flush");
}

nlohmann::json analysis_summary(const AnalysisResult& r) {
  auto num = [](double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr); };
  const auto& m = r.metrics;
  nlohmann::json clusters = nlohmann::json::array();
  for (const auto& c : r.clusters)
    clusters.push_back({{"weight", c.weight}, {"pairs", c.members.size()}, {"candidates", c.candidates}});
  nlohmann::json tie = nlohmann::json::array();
  for (Eigen::Index i = 0; i < r.training.tie_matrix.rows(); ++i) {
    nlohmann::json row = nlohmann::json::array();
    for (Eigen::Index j = 0; j < r.training.tie_matrix.cols(); ++j) row.push_back(r.training.tie_matrix(i, j));
    tie.push_back(row);
  }
  return {{"pairs", r.training.pairs},
          {"candidates", r.candidate_latent.rows()},
          {"epochs", r.training.history.size()},
          {"training_seconds", r.training.seconds},
          {"final_loss", r.training.final_at_means.total},
          {"tie_matrix", tie},
          {"tie_residual", m.tie_residual},
          {"latent_spread", m.latent_spread},
          {"latent_snr", m.latent_snr},
          {"clusters_bic", r.mixture.best_k},
          {"clusters", clusters},
          {"knn_k", m.knn_k},
          {"knn_accuracy_measured", num(m.knn_accuracy_measured)},
          {"knn_accuracy_measured_curves", num(m.knn_accuracy_measured_curves)},
          {"knn_accuracy_candidates", num(m.knn_accuracy_candidates)},
          {"knn_chance_measured", num(m.knn_chance_measured)},
          {"knn_chance_candidates", num(m.knn_chance_candidates)},
          {"knn_balanced_measured", num(m.knn_balanced_measured)},
          {"knn_balanced_candidates", num(m.knn_balanced_candidates)},
          {"knn_labels_measured", m.knn_labels_measured},
          {"knn_labels_candidates", m.knn_labels_candidates},
          {"im2spec_scalarizer", r.scalarizer_names.at(r.map_scalarizer)},
          {"im2spec_r2", num(m.im2spec_r2)},
          {"im2spec_nrmse", num(m.im2spec_nrmse)},
          {"im2spec_evaluated", m.im2spec_evaluated}};
}

}  // namespace sdm::bench::analysis
