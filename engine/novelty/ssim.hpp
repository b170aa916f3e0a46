#pragma once
// Structural similarity (SSIM) of square patches and the paper's structural novelty.
//
// SSIM follows scikit-image's structural_similarity(a, b, data_range = R) exactly:
// for every window position w fully inside the patch, with window weights ω (sum 1),
//   μa = Σ ω a,  va = c·(Σ ω a² − μa²),  cab = c·(Σ ω a·b − μa μb),
//   SSIM_w = (2 μa μb + C1)(2 cab + C2) / ((μa² + μb² + C1)(va + vb + C2)),
//   C1 = (K1·R)², C2 = (K2·R)², c = N/(N − 1) (sample covariance, N = window side²) or 1,
// and SSIM = mean of SSIM_w over the (p − side + 1)² valid window positions (skimage's
// crop of (side − 1)/2 from each border). Defaults: 7×7 uniform window, K1 = 0.01,
// K2 = 0.03, R = 1, sample covariance. The Gaussian option is skimage's gaussian_weights=True:
// separable exp(−x²/2σ²) normalised to sum 1, side = 2·⌊3.5σ + 0.5⌋ + 1 (σ = 1.5 ⇒ 11),
// with the same N/(N − 1) factor (skimage's default use_sample_covariance=True).
// SSIM ∈ [−1, 1]; SSIM(a, a) = 1.
//
// Structural novelty of candidate i = 1 − max over measured patches b of SSIM(a_i, b),
// ∈ [0, 2]. Before any measurement the max is over nothing; it is taken as SSIM's lower
// bound −1, so every candidate has novelty 2 (constant, hence neutral in an argmax).
#include <vector>

#include "engine/campaign/record.hpp"
#include "engine/gp/dkl.hpp"

namespace sdm::engine::novelty {

enum class SsimWindow { uniform, gaussian };

struct SsimConfig {
  SsimWindow window = SsimWindow::uniform;
  int window_px = 7;              ///< uniform window side, pixels (odd)
  double sigma_px = 1.5;          ///< Gaussian window σ, pixels
  double k1 = 0.01, k2 = 0.03;
  double data_range = 1.0;        ///< R: patches are min-max normalised to [0, 1]
  bool sample_covariance = true;  ///< N/(N − 1) correction of variances and covariance
};

/// Window side in pixels (uniform: window_px; Gaussian: 2·⌊3.5σ + 0.5⌋ + 1).
/// Throws sdm::Error for an even or non-positive uniform side or σ ≤ 0.
int ssim_window_side(const SsimConfig& config);
/// The 1-D separable weights (length ssim_window_side, sum 1); the 2-D window is their outer product.
std::vector<double> ssim_window_weights(const SsimConfig& config);

/// SSIM of two side×side row-major patches. Throws sdm::Error when side < window side.
double ssim(const float* a, const float* b, int side, const SsimConfig& config = {});
double ssim(const std::vector<double>& a, const std::vector<double>& b, int side, const SsimConfig& config = {});

/// Structural novelty of every candidate, updated incrementally. The per-window means and
/// variances of the candidates are computed once (from the image constructor: for every
/// window position of the survey, shared by the overlapping candidates, so the working set
/// stays in cache); each measured patch b then costs one pass over the candidates for the
/// cross terms Σ ω a·b only (a few ms for 14,641 candidates of 16×16 from the image
/// constructor, see bench/micro/bench_novelty.cpp). SSIM(a, a) is exactly 1, so a measured
/// candidate's novelty is exactly 0.
class StructuralNovelty {
 public:
  /// `candidates`: m rows of side² values (row-major patches, normalised as data_range says).
  /// Keeps its own copy.
  StructuralNovelty(const gp::RowMatrixF& candidates, int side, const SsimConfig& config = {});
  /// The candidates of `grid` as windows of `normalised_image` (image_ny × image_nx, row-major,
  /// e.g. patches::normalise_min_max of the survey). Values are rounded to float first, so
  /// the result equals the matrix constructor on patches::extract_patches of the same survey.
  StructuralNovelty(const std::vector<double>& normalised_image, const campaign::CandidateGrid& grid,
                    const SsimConfig& config = {});

  /// A measurement was taken at candidate i: its own patch joins the measured set.
  void add_measured(int candidate);
  /// An arbitrary measured patch (side² values, e.g. the patch at the position reached).
  void add_measured_patch(const float* patch);

  /// SSIM of every candidate with `patch` (side² values), into `out` (resized to m).
  void ssim_with(const float* patch, std::vector<double>& out) const;

  /// max over measured patches of SSIM(candidate, ·); −1 before any measurement.
  const std::vector<double>& max_ssim() const { return max_ssim_; }
  /// 1 − max_ssim, per candidate.
  std::vector<double> novelty() const;
  double novelty(int candidate) const;
  int measured_count() const { return measured_; }
  int size() const { return static_cast<int>(x0_.size()); }
  int side() const { return side_; }
  /// Forgets every measured patch (max SSIM back to −1).
  void reset();

 private:
  void set_plan(const SsimConfig& config);
  void ssim_with_double(const double* patch, std::vector<double>& out) const;
  void update_with(const double* patch);

  int side_ = 0, win_ = 0, valid_ = 0;
  bool uniform_ = true;
  std::vector<double> weights_;
  double scale_ = 1, c1_ = 0, c2_ = 0, cov_norm_ = 1;
  int width_ = 0;                   ///< row stride of image_
  std::vector<float> image_;        ///< the survey (image constructor) or the patches stacked (matrix one)
  std::vector<int> x0_, y0_;        ///< top-left pixel of each candidate in image_
  std::vector<size_t> table_at_;    ///< offset of each candidate's first window in mean_/var_
  int table_stride_ = 0;            ///< row stride of mean_/var_
  std::vector<double> mean_, var_;  ///< per window: μ and c·(E x² − μ²)
  std::vector<double> max_ssim_;
  int measured_ = 0;
};

}  // namespace sdm::engine::novelty
