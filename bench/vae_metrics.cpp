#include "bench/vae_metrics.hpp"

#include <algorithm>
#include <numeric>
#include <random>

#include "core/error.hpp"
#include "engine/analysis/metrics.hpp"
#include "engine/vae/dual_vae.hpp"

namespace sdm::bench {

void add_vae_metrics(CampaignMetrics& m, const Scenario& sc, const std::vector<engine::campaign::StepRecord>& steps,
                     const engine::gp::RowMatrixF& patches, const FilmTruth& truth, const TruthCurve& truth_curve,
                     std::uint64_t film_seed) {
  const int n = int(steps.size());
  if (n < 2) return;
  try {
    engine::vae::VaeConfig cfg = sc.vae;
    cfg.threads = 1;  // results independent of how many campaigns run side by side
    const int side = sc.campaign.patch_px;
    engine::vae::RowMatrixF x(n, patches.cols());
    std::size_t len = steps[0].curve.current_a.size();
    Eigen::MatrixXd y(n, Eigen::Index(len));
    for (int i = 0; i < n; ++i) {
      x.row(i) = patches.row(steps[std::size_t(i)].candidate);
      const auto& c = steps[std::size_t(i)].curve.current_a;
      if (c.size() != len) throw Error("curves of different lengths");
      for (std::size_t k = 0; k < len; ++k) y(i, Eigen::Index(k)) = c[k];
    }
    engine::vae::DualVae vae(cfg, side, film_seed ^ 0x7661656d6f64656cULL);
    vae.fit(x, y);

    // The evaluation subsample: seeded per film, so every strategy of a seed is scored on the same candidates.
    const int total = int(truth.size());
    std::vector<int> pick(static_cast<std::size_t>(total));
    std::iota(pick.begin(), pick.end(), 0);
    std::mt19937_64 rng(film_seed ^ 0x6576616c73756273ULL);
    std::shuffle(pick.begin(), pick.end(), rng);
    pick.resize(std::size_t(std::min(total, sc.metrics.vae_eval_candidates)));
    std::sort(pick.begin(), pick.end());
    engine::vae::RowMatrixF ex(Eigen::Index(pick.size()), patches.cols());
    for (std::size_t i = 0; i < pick.size(); ++i) ex.row(Eigen::Index(i)) = patches.row(pick[i]);

    if (truth.has_motifs) {
      const engine::vae::LatentEncoding enc = vae.encode_patches(ex);
      std::vector<int> labels;
      for (int c : pick) labels.push_back(truth.motif[std::size_t(c)]);
      const std::vector<int> pred = engine::analysis::knn_predict_loo(enc.mean, labels, sc.metrics.knn_k);
      m.scalars["vae_knn_accuracy"] = engine::analysis::balanced_accuracy(labels, pred);
    }
    const Eigen::MatrixXd predicted = vae.im2spec(ex);
    Eigen::MatrixXd real(predicted.rows(), predicted.cols());
    for (std::size_t i = 0; i < pick.size(); ++i) {
      std::vector<double> t = truth_curve(pick[i]);
      if (int(t.size()) != predicted.cols()) t = engine::vae::resample(t, int(predicted.cols()));
      for (Eigen::Index k = 0; k < predicted.cols(); ++k) real(Eigen::Index(i), k) = t[std::size_t(k)];
    }
    m.scalars["vae_im2spec_nrmse"] = engine::analysis::normalised_rmse(real, predicted);
  } catch (const std::exception& e) {
    m.notes.push_back(std::string("dual-VAE metrics skipped: ") + e.what());
  }
}

}  // namespace sdm::bench
