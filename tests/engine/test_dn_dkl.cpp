// dn_dkl against a hand-checkable case: constant-tile patches, whose SSIM has the closed form
// (2ab + C1)/(a² + b² + C1); an obvious outlier curve, which the Isolation Forest must rank
// most novel; the acquisition (μ + √β σ)·s and its argmax recomputed from those hand values;
// the DKL trained on exactly the spectral-novelty targets; and exact resume of its warm state.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "campaign_test_support.hpp"
#include "engine/acquisition/dn_dkl.hpp"
#include "engine/acquisition/seeds.hpp"
#include "engine/campaign/campaign.hpp"
#include "engine/campaign/checkpoint.hpp"
#include "engine/gp/dkl.hpp"
#include "engine/patches/candidate_grid.hpp"
#include "engine/patches/patch_extraction.hpp"
#include "sdm_test_support.hpp"

namespace A = sdm::engine::acquisition;
namespace C = sdm::engine::campaign;
namespace P = sdm::engine::patches;
using sdm::test::TempDir;

namespace {

/// 4 × 4 tiles of 8 px, tile k constant at k/15; 8 px patches at stride 8: candidate k is tile k.
struct Tiles {
  std::vector<double> image;
  C::CandidateGrid grid;
  sdm::engine::gp::RowMatrixF patches;
  A::CampaignState state;
  Tiles() {
    image.assign(32 * 32, 0.0);
    for (int y = 0; y < 32; ++y)
      for (int x = 0; x < 32; ++x) image[size_t(y * 32 + x)] = double((y / 8) * 4 + x / 8) / 15.0;
    grid = P::make_candidate_grid(32, 32, 8, 8);
    image = P::normalise_min_max(image, 32, 32);  // already spans [0, 1]
    patches = P::patches_of_normalised(image, grid);
    state.grid = &grid;
    state.patches = &patches;
    state.normalised_image = &image;
    state.is_measured.assign(grid.size(), 0);
  }
  /// The patch value the models see: the image is held in float.
  double level(int c) const { return double(float(double(c) / 15.0)); }
  /// Ohmic curves of nearly equal conductance; the outlier conducts 50× more and rectifies.
  void measure(int c, bool outlier) {
    sdm::core::IvCurve curve;
    for (int i = 0; i <= 40; ++i) {
      const double v = i <= 20 ? i / 20.0 : (40 - i) / 20.0;
      curve.time_s.push_back(i * 0.1);
      curve.bias_v.push_back(v);
      curve.current_a.push_back(outlier ? 5e-9 * v * v * v : (1e-10 + 1e-13 * c) * v);
    }
    state.measured.push_back(c);
    state.curves.push_back(curve);
    state.is_measured[size_t(c)] = 1;
  }
};

/// skimage SSIM of two constant patches: the structure term is C2/C2 = 1.
double ssim_constant(double a, double b) {
  const double c1 = 1e-4;
  return (2 * a * b + c1) / (a * a + b * b + c1);
}

A::StrategyConfig dn_config(double beta = 0.25) {
  A::StrategyConfig c;
  c.name = c.label = "dn_dkl";
  c.beta = beta;
  return c;
}

A::StrategyContext dn_context() {
  A::StrategyContext x;
  x.patch_side_px = 8;
  x.seed = 21;
  x.dkl.steps = 30;
  x.dkl.hidden = {16, 8};
  return x;
}

}  // namespace

TEST(DnDkl, PaperDefaults) {
  const A::StrategyConfig c;
  EXPECT_EQ(c.beta, 0.25);
  EXPECT_EQ(c.contamination, 0.1);
  EXPECT_EQ(c.ssim_window, "uniform");
  EXPECT_EQ(c.ssim_window_px, 7);
  const C::CampaignConfig cc;
  EXPECT_EQ(cc.patch_px, 16);
  EXPECT_EQ(cc.stride_px, 2);
  EXPECT_EQ(cc.initial_points, 10);
  EXPECT_EQ(cc.initial_design, "lhs");
}

TEST(DnDkl, AcquisitionFormula) {
  const auto a = A::dn_dkl_acquisition({0.2, 0.5, 1.0}, {0.4, 0.0, 2.0}, {1.0, 2.0, 0.5}, 0.25);
  EXPECT_DOUBLE_EQ(a[0], (0.2 + 0.5 * 0.4) * 1.0);
  EXPECT_DOUBLE_EQ(a[1], 0.5 * 2.0);
  EXPECT_DOUBLE_EQ(a[2], (1.0 + 0.5 * 2.0) * 0.5);
  EXPECT_DOUBLE_EQ(A::dn_dkl_acquisition({1}, {1}, {1}, 4.0)[0], 3.0);
}

TEST(DnDkl, ReproducesThePapersFormulaOnAHandCheckableCase) {
  for (const double beta : {0.25, 4.0}) {
    Tiles t;
    const std::vector<int> measured = {0, 5, 10, 15, 3, 12};
    for (int c : measured) t.measure(c, c == 12);
    A::DnDkl s(dn_config(beta), dn_context());
    s.observe(t.state);
    const A::Decision d = s.decide(t.state);

    // Structural novelty: 1 − max over measured tiles of the closed-form SSIM.
    std::vector<double> hand_s(16);
    for (int i = 0; i < 16; ++i) {
      double best = -1;
      for (int m : measured) best = std::max(best, ssim_constant(t.level(i), t.level(m)));
      hand_s[size_t(i)] = 1 - best;
      EXPECT_NEAR(s.structural()[size_t(i)], hand_s[size_t(i)], 1e-9) << "candidate " << i;
    }
    for (int m : measured) EXPECT_EQ(s.structural()[size_t(m)], 0.0);

    // Spectral novelty: the outlier (measurement 5, candidate 12) is the most novel, = 1 after
    // the rescaling to [0, 1]; the five ohmic curves are far less novel.
    ASSERT_EQ(s.targets().size(), 6u);
    EXPECT_EQ(s.targets()[5], 1.0);
    for (int k = 0; k < 5; ++k) EXPECT_LT(s.targets()[size_t(k)], 0.5) << "ohmic curve " << k;
    EXPECT_EQ(*std::min_element(s.targets().begin(), s.targets().end()), 0.0);

    // The DKL is exactly a fit of patch → those targets: an independent Dkl with the documented
    // seed on the same rows predicts the same posterior.
    sdm::engine::gp::Dkl ref(dn_context().dkl, 64, 1, A::derive_seed(21, "dkl"), 8);
    sdm::engine::gp::RowMatrixF x(6, 64);
    Eigen::MatrixXd y(6, 1);
    for (int k = 0; k < 6; ++k) {
      x.row(k) = t.patches.row(measured[size_t(k)]);
      y(k, 0) = s.targets()[size_t(k)];
    }
    ref.fit(x, y);
    const auto p = ref.predict(t.patches);
    for (int i = 0; i < 16; ++i) {
      EXPECT_EQ(s.surrogate().mean()[size_t(i)], p.mean(i, 0));
      EXPECT_EQ(s.surrogate().stddev()[size_t(i)], std::sqrt(std::max(0.0, p.variance(i, 0))));
    }

    // Acquisition (μ + √β σ) · s with the hand s, and its argmax over the unmeasured tiles.
    int want = -1;
    double best = 0;
    for (int i = 0; i < 16; ++i) {
      const double a = (p.mean(i, 0) + std::sqrt(beta) * std::sqrt(std::max(0.0, p.variance(i, 0)))) * hand_s[size_t(i)];
      EXPECT_NEAR(s.acquisition()[size_t(i)], a, 1e-9);
      if (!t.state.is_measured[size_t(i)] && (want < 0 || a > best)) {
        want = i;
        best = a;
      }
    }
    EXPECT_EQ(d.candidate, want) << "beta " << beta;
    EXPECT_NEAR(d.score, best, 1e-9);
    EXPECT_NEAR(d.structural_novelty, hand_s[size_t(want)], 1e-9);
    EXPECT_EQ(d.predicted_mean, p.mean(want, 0));
    EXPECT_FALSE(d.model.at("hyperparameters").is_null());
    EXPECT_EQ(d.model.at("target"), "spectral_novelty");
  }
}

TEST(DnDkl, SavedAndLoadedDecidesBitIdentically) {
  TempDir dir;
  Tiles t;
  for (int c : {0, 5, 10, 15}) t.measure(c, false);
  t.measure(3, true);
  A::DnDkl a(dn_config(), dn_context());
  a.decide(t.state);  // a first (warm-start) fit
  t.measure(6, false);
  a.save(dir.path());
  A::DnDkl b(dn_config(), dn_context());
  b.load(dir.path());
  const A::Decision da = a.decide(t.state), db = b.decide(t.state);
  EXPECT_EQ(da.candidate, db.candidate);
  EXPECT_EQ(da.score, db.score);
  EXPECT_EQ(a.surrogate().mean(), b.surrogate().mean());
  // A fresh strategy (no warm state) generally decides from a different fit.
  A::DnDkl c(dn_config(), dn_context());
  c.decide(t.state);
  EXPECT_NE(c.surrogate().mean(), a.surrogate().mean());
}

TEST(DnDkl, ResumeReplaysALaggingCheckpointThroughTheWarmStartedModel) {
  // Killed after step 9 was recorded but before its checkpoint: the resume loads the checkpoint
  // of step 8, re-decides step 9 (it must reproduce the record) and continues exactly.
  TempDir t;
  const auto spec_whole = sdm::test::small_spec("dn_dkl", t / "whole", 14);
  sdm::test::FakeInstrument f0;
  auto s0 = sdm::test::microscope_on(f0);
  const auto whole = C::run_campaign(spec_whole, s0);
  ASSERT_EQ(whole.end, C::CampaignEnd::completed) << whole.message;

  const auto dir = t / "lag";
  sdm::test::FakeInstrument fake;
  auto scope = sdm::test::microscope_on(fake);
  std::atomic<bool> stop{false};
  C::run_campaign(
      sdm::test::small_spec("dn_dkl", dir, 14), scope, [&](const C::Progress& p) { if (p.step == 8) stop = true; }, &stop);
  const auto ck8 = C::find_checkpoint(dir);
  ASSERT_TRUE(ck8 && ck8->steps == 8);
  std::filesystem::copy(ck8->folder, t / "saved8", std::filesystem::copy_options::recursive);
  stop = false;
  C::resume_campaign(dir, scope, [&](const C::Progress& p) { if (p.step == 9) stop = true; }, &stop);
  ASSERT_EQ(C::find_checkpoint(dir)->steps, 9);
  // Put the step-8 checkpoint back, as if the 9th had never been written.
  std::filesystem::remove_all(dir / "checkpoint");
  std::filesystem::create_directories(dir / "checkpoint");
  std::filesystem::copy(t / "saved8", dir / "checkpoint" / "step_000008", std::filesystem::copy_options::recursive);
  sdm::test::write_text(dir / "checkpoint" / "current.json", R"({"steps": 8, "folder": "step_000008"})");
  stop = false;
  const auto rest = C::resume_campaign(dir, scope);
  ASSERT_EQ(rest.end, C::CampaignEnd::completed) << rest.message;
  ASSERT_EQ(rest.steps.size(), whole.steps.size());
  for (size_t i = 0; i < whole.steps.size(); ++i) {
    EXPECT_EQ(rest.steps[i].candidate, whole.steps[i].candidate) << i;
    if (i >= 5) {  // initial points have no score
      EXPECT_EQ(rest.steps[i].score, whole.steps[i].score) << i;
    }
  }
}
