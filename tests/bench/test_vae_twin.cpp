// The dual VAE on the digital twin (issue 6): on a film whose motifs are physically well
// separated, the joint latent separates them — balanced k-nearest-neighbour accuracy of the
// twin's true motif label well above its chance level of 1/4.
//
// The film is chosen from the physics, inside the literature ranges of PHYSICS.md, so that a
// 16 px patch shows which motif its centre pixel is on and the I–V curve does too:
//   * grains of 1 µm on 12.5 nm pixels (80 px, five patch widths; σ_ln 0.3, the narrow end),
//     so 65 % of grain-interior pixels have no boundary within 8 px (half a patch); on
//     scenarios/default.toml's film (0.3 µm grains, 19 px) only 7 % have none, and their
//     patches look like shifted boundary patches;
//   * deep, wide grooves (40 nm, FWHM 40 nm = 3.2 px: the top of 5–50 / 10–40 nm) under a sharp
//     10 nm tip and the lowest typical roughness (5 nm RMS), so a groove stands out of the noise;
//   * strongly motif-dependent transport: boundaries with ions ×30 faster and conductance ×2,
//     junctions with ionic strength ×5 (loop area ×2–5) and conductance ×0.2, asymmetric
//     boundaries blocking (conductance ×0.1 plus the default 0.3 eV one-sided barrier), and
//     little grain-to-grain spread (σ_ln 0.05), so the motif dominates the curve.
// Pairs are sampled stratified by the true label (40 per motif, centres at least 6 px apart so
// no two patches are near-copies), curves are noiseless ground truth plus the amplifier's white
// floor (0.75 pA). The model is the paper's architecture at width 64 and 300 epochs (the
// scenarios' [vae] budget), lr 1e-3 as in the other VAE tests (for speed; on another sample of
// this film the paper's 1e-4 gave similar accuracies).
// Scored twice: leave-one-out on the fitted pairs (what `sdm analyze` reports) and, free of any
// spatial overlap, on another film of the same configuration (seed + 1000) whose patches and
// curves the model never saw, classified from the fitted pairs' latents. The same model with
// its seeded weights untrained is the control. Measured, seeds 1 / 2 / 3, trained (untrained):
//   leave-one-out          0.73 (0.48)  0.63 (0.41)  0.66 (0.33)
//   other film's patches   0.64 (0.40)  0.63 (0.39)  0.67 (0.35)
//   other film's curves    0.91 (0.89)  0.95 (0.83)  0.93 (0.89)
// With the paper's 1000 epochs: 0.84 / 0.75 / 0.78 leave-one-out, 0.68 / 0.64 / 0.73 on the
// other film's patches.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <random>
#include <vector>

#include "core/waveform.hpp"
#include "engine/analysis/metrics.hpp"
#include "engine/patches/patch_extraction.hpp"
#include "engine/vae/dual_vae.hpp"
#include "sim/film.hpp"
#include "sim/film_config.hpp"

namespace {

using sdm::engine::vae::DualVae;
using sdm::engine::vae::RowMatrixF;

constexpr int kSide = 16, kPerMotif = 40, kHeldOutPerMotif = 60, kMinSpacingPx = 6, kK = 5;
constexpr double kNoiseA = 0.75e-12;

const char* kWellSeparatedFilm = R"(
size_px = 512
scan_size_m = 6.4e-6
grain_mean_m = 1.0e-6
grain_sigma_ln = 0.3
asymmetric_fraction = 0.1
groove_depth_m = 40e-9
groove_width_m = 40e-9
junction_radius_m = 30e-9
tip_radius_m = 10e-9
roughness_rms_m = 5e-9
asymmetric_step_m = 15e-9
grain_variation = 0.05
boundary_ion_speedup = 30
boundary_conductance_factor = 2.0
junction_ion_strength = 5.0
junction_conductance_factor = 0.2
asymmetric_conductance_factor = 0.1
)";

struct Pairs {
  RowMatrixF patches;
  Eigen::MatrixXd curves;
  std::vector<int> motif;
};

// Up to `per_motif` pixels of every motif, in a seeded random order, whose patch lies inside the
// image and which keep kMinSpacingPx from every pixel already taken (of any motif).
Pairs sample_pairs(const sdm::sim::Film& film, int per_motif, std::uint64_t seed) {
  const int n = film.size_px;
  const auto image = sdm::engine::patches::normalise_min_max(film.measured_height_m, n, n);
  std::vector<std::vector<int>> pixels(sdm::sim::kMotifCount);
  for (int iy = kSide / 2; iy <= n - kSide / 2; ++iy)
    for (int ix = kSide / 2; ix <= n - kSide / 2; ++ix)
      if (ix < n && iy < n) pixels[static_cast<int>(film.motif[film.index(ix, iy)])].push_back(iy * n + ix);
  std::mt19937_64 rng(seed);
  std::vector<char> taken(static_cast<std::size_t>(n) * n, 0);
  std::vector<int> chosen;
  for (auto& list : pixels) {
    std::shuffle(list.begin(), list.end(), rng);
    int got = 0;
    for (std::size_t i = 0; i < list.size() && got < per_motif; ++i) {
      const int ix = list[i] % n, iy = list[i] / n;
      bool free = true;
      for (int dy = -kMinSpacingPx; dy <= kMinSpacingPx && free; ++dy)
        for (int dx = -kMinSpacingPx; dx <= kMinSpacingPx && free; ++dx) {
          const int x = ix + dx, y = iy + dy;
          if (dx * dx + dy * dy < kMinSpacingPx * kMinSpacingPx && x >= 0 && y >= 0 && x < n && y < n && taken[y * n + x])
            free = false;
        }
      if (!free) continue;
      taken[list[i]] = 1;
      chosen.push_back(list[i]);
      ++got;
    }
  }
  const auto sweep = sdm::core::Waveform::triangle(1.5, 251, 1.0);  // the paper's 0 → 1.5 → 0 V, 251 points
  std::normal_distribution<double> noise(0.0, kNoiseA);
  Pairs p;
  p.patches.resize(static_cast<Eigen::Index>(chosen.size()), kSide * kSide);
  p.curves.resize(static_cast<Eigen::Index>(chosen.size()), static_cast<Eigen::Index>(sweep.size()));
  for (std::size_t i = 0; i < chosen.size(); ++i) {
    const int ix = chosen[i] % n, iy = chosen[i] / n;
    for (int r = 0; r < kSide; ++r)
      for (int c = 0; c < kSide; ++c)
        p.patches(static_cast<Eigen::Index>(i), r * kSide + c) =
            static_cast<float>(image[(iy - kSide / 2 + r) * n + (ix - kSide / 2 + c)]);
    const auto iv = sdm::sim::ground_truth_iv(film, ix, iy, sweep);
    for (std::size_t j = 0; j < iv.size(); ++j) p.curves(static_cast<Eigen::Index>(i), static_cast<Eigen::Index>(j)) = iv.current_a[j] + noise(rng);
    p.motif.push_back(static_cast<int>(film.motif[chosen[i]]));
  }
  return p;
}

struct Scores {
  double patches_loo, patches_new, curves_new, cross_modal;
};

// Balanced kNN accuracies of the motif in the joint latent of a model fitted on `fitted`.
Scores score(const sdm::engine::vae::VaeConfig& vc, std::uint64_t seed, const Pairs& fitted, const Pairs& held_out) {
  using namespace sdm::engine::analysis;
  DualVae model(vc, kSide, seed);
  model.fit(fitted.patches, fitted.curves);
  const Eigen::MatrixXd z_fit = model.encode_patches(fitted.patches).mean;
  const Eigen::MatrixXd z_new = model.encode_patches(held_out.patches).mean;
  const Eigen::MatrixXd c_fit = model.curves_to_joint(fitted.curves);
  const Eigen::MatrixXd c_new = model.curves_to_joint(held_out.curves);
  Scores s;
  s.patches_loo = balanced_accuracy(fitted.motif, knn_predict_loo(z_fit, fitted.motif, kK));
  s.patches_new = balanced_accuracy(held_out.motif, knn_predict(z_fit, fitted.motif, z_new, kK));
  s.curves_new = balanced_accuracy(held_out.motif, knn_predict(c_fit, fitted.motif, c_new, kK));
  s.cross_modal = balanced_accuracy(held_out.motif, knn_predict(c_fit, fitted.motif, z_new, kK));
  return s;
}

class DualVaeOnTheTwin : public ::testing::TestWithParam<std::uint64_t> {};

}  // namespace

TEST_P(DualVaeOnTheTwin, JointLatentSeparatesWellSeparatedMotifs) {
  using namespace sdm::engine::analysis;
  const std::uint64_t seed = GetParam();
  const auto config = sdm::sim::parse_film_config(kWellSeparatedFilm, "well-separated film");
  const Pairs fitted = sample_pairs(sdm::sim::generate_film(config, seed), kPerMotif, seed);
  const Pairs held_out = sample_pairs(sdm::sim::generate_film(config, seed + 1000), kHeldOutPerMotif, seed + 1000);
  // Every motif is represented in full (the film is large enough for the rare ones).
  ASSERT_EQ(fitted.motif.size(), 4u * kPerMotif);
  ASSERT_EQ(held_out.motif.size(), 4u * kHeldOutPerMotif);

  sdm::engine::vae::VaeConfig vc;  // paper defaults except:
  vc.hidden = 64;
  vc.learning_rate = 1e-3;
  vc.epochs = 300;
  vc.threads = 2;
  const Scores trained = score(vc, seed, fitted, held_out);
  vc.epochs = 0;  // the control: the same seeded weights, untrained (a random projection)
  const Scores untrained = score(vc, seed, fitted, held_out);
  std::printf("seed %llu, balanced kNN of the motif in the joint latent, trained (untrained):\n"
              "  fitted patches, leave-one-out %.3f (%.3f); other film's patches %.3f (%.3f); its curves %.3f (%.3f);\n"
              "  its patches from the fitted curves %.3f (%.3f)\n",
              static_cast<unsigned long long>(seed), trained.patches_loo, untrained.patches_loo, trained.patches_new,
              untrained.patches_new, trained.curves_new, untrained.curves_new, trained.cross_modal, untrained.cross_modal);
  const double chance = 0.25;  // balanced accuracy of any label-blind rule, 4 motifs
  EXPECT_GT(trained.patches_loo, chance + 0.25);
  EXPECT_GT(trained.patches_new, chance + 0.25);
  // What training adds: the untrained encoder (a random tanh projection of the patch) already
  // keeps some of the motif (0.33–0.48 on these data), the trained one more.
  EXPECT_GT(trained.patches_new, untrained.patches_new + 0.1);
  // The curve side of the joint latent. Curves of different motifs differ so much in magnitude
  // that even the untrained encoder separates them (0.83–0.89): this guards against the tie
  // collapsing the spectral latent, not more.
  EXPECT_GT(trained.curves_new, chance + 0.25);
  // Not asserted: patches classified from the fitted curves' positions A·μ_s (are the two
  // modalities at the same place?). Chance untrained; 0.55 / 0.25 / 0.25 trained at 300 epochs
  // and 0.66 / 0.40 / 0.40 at 1000 for seeds 1–3: the tie aligns them only partly.
}

INSTANTIATE_TEST_SUITE_P(Seeds, DualVaeOnTheTwin, ::testing::Values(1u, 2u, 3u));
