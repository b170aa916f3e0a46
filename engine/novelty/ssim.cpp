#include "engine/novelty/ssim.hpp"

#include <algorithm>
#include <cmath>
#include <string>

#include "core/error.hpp"

namespace sdm::engine::novelty {

namespace {

// How window sums are taken. Every window's value is computed by the same sequence of
// floating-point operations wherever the window lies (vertical taps in order, then
// horizontal taps in order, then the uniform scale), so moments tabulated over a whole image
// and cross terms computed on one patch agree bit for bit (SSIM(a, a) = 1 exactly).
struct Plan {
  int win = 0;
  bool uniform = true;
  std::vector<double> w;   // taps (Gaussian); unused for uniform
  double scale = 1.0;      // uniform: 1/win²
  double c1 = 0, c2 = 0, cn = 1;
};

Plan make_plan(const SsimConfig& cfg) {
  Plan p;
  p.w = ssim_window_weights(cfg);
  p.win = static_cast<int>(p.w.size());
  p.uniform = cfg.window == SsimWindow::uniform;
  p.scale = p.uniform ? 1.0 / (static_cast<double>(p.win) * p.win) : 1.0;
  if (!(cfg.data_range > 0)) throw Error("SSIM: data_range must be > 0, got " + std::to_string(cfg.data_range));
  p.c1 = (cfg.k1 * cfg.data_range) * (cfg.k1 * cfg.data_range);
  p.c2 = (cfg.k2 * cfg.data_range) * (cfg.k2 * cfg.data_range);
  const double np = static_cast<double>(p.win) * p.win;
  p.cn = cfg.sample_covariance ? np / (np - 1.0) : 1.0;
  return p;
}

// Window means of the rows×cols region `src` (row stride `stride`) at every window position:
// out is (rows − win + 1) × (cols − win + 1) with row stride out_stride; `vbuf` holds
// (rows − win + 1) × cols doubles.
void window_means(const Plan& p, const double* src, int rows, int cols, int stride, double* vbuf, double* out,
                  int out_stride) {
  const int win = p.win, vr = rows - win + 1, vc = cols - win + 1;
  for (int u = 0; u < vr; ++u) {
    double* v = vbuf + static_cast<size_t>(u) * cols;
    const double* s = src + static_cast<size_t>(u) * stride;
    if (p.uniform) {
      for (int c = 0; c < cols; ++c) v[c] = s[c];
      for (int i = 1; i < win; ++i) {
        const double* si = s + static_cast<size_t>(i) * stride;
        for (int c = 0; c < cols; ++c) v[c] += si[c];
      }
    } else {
      const double w0 = p.w[0];
      for (int c = 0; c < cols; ++c) v[c] = w0 * s[c];
      for (int i = 1; i < win; ++i) {
        const double* si = s + static_cast<size_t>(i) * stride;
        const double wi = p.w[i];
        for (int c = 0; c < cols; ++c) v[c] += wi * si[c];
      }
    }
  }
  for (int u = 0; u < vr; ++u) {
    const double* v = vbuf + static_cast<size_t>(u) * cols;
    double* o = out + static_cast<size_t>(u) * out_stride;
    if (p.uniform) {
      for (int x = 0; x < vc; ++x) o[x] = v[x];
      for (int j = 1; j < win; ++j)
        for (int x = 0; x < vc; ++x) o[x] += v[x + j];
      const double sc = p.scale;
      for (int x = 0; x < vc; ++x) o[x] *= sc;
    } else {
      const double w0 = p.w[0];
      for (int x = 0; x < vc; ++x) o[x] = w0 * v[x];
      for (int j = 1; j < win; ++j) {
        const double wj = p.w[j];
        for (int x = 0; x < vc; ++x) o[x] += wj * v[x + j];
      }
    }
  }
}

// Moments of every window of a rows×cols image (row stride `stride`): μ and c·(E x² − μ²),
// into out_mean/out_var at row stride out_stride.
template <class T>
void moments(const Plan& p, const T* img, int rows, int cols, int stride, double* out_mean, double* out_var, int out_stride) {
  const int vr = rows - p.win + 1, vc = cols - p.win + 1;
  std::vector<double> x(static_cast<size_t>(rows) * cols), sq(x.size()), vbuf(static_cast<size_t>(vr) * cols),
      ex2(static_cast<size_t>(vr) * vc);
  for (int r = 0; r < rows; ++r)
    for (int c = 0; c < cols; ++c) {
      const double v = static_cast<double>(img[static_cast<size_t>(r) * stride + c]);
      x[static_cast<size_t>(r) * cols + c] = v;
      sq[static_cast<size_t>(r) * cols + c] = v * v;
    }
  window_means(p, x.data(), rows, cols, cols, vbuf.data(), out_mean, out_stride);
  window_means(p, sq.data(), rows, cols, cols, vbuf.data(), ex2.data(), vc);
  for (int u = 0; u < vr; ++u)
    for (int v = 0; v < vc; ++v) {
      const double m = out_mean[static_cast<size_t>(u) * out_stride + v];
      out_var[static_cast<size_t>(u) * out_stride + v] = p.cn * (ex2[static_cast<size_t>(u) * vc + v] - m * m);
    }
}

// SSIM of the side×side patch a (row stride sa) with b (contiguous), given both
// patches' window moments (a's at row stride ta, b's contiguous valid×valid). `prod`, `vbuf`,
// `sab`, `terms` are scratch. Written so that a == b gives numerator == denominator exactly.
template <class TA>
double ssim_pair(const Plan& p, int side, const TA* a, int sa, const double* b, const double* ma, const double* va, int ta,
                 const double* mb, const double* vb, double* prod, double* vbuf, double* sab, double* terms) {
  const int valid = side - p.win + 1;
  for (int r = 0; r < side; ++r)
    for (int c = 0; c < side; ++c)
      prod[static_cast<size_t>(r) * side + c] =
          static_cast<double>(a[static_cast<size_t>(r) * sa + c]) * b[static_cast<size_t>(r) * side + c];
  window_means(p, prod, side, side, side, vbuf, sab, valid);
  const double c1 = p.c1, c2 = p.c2, cn = p.cn;
  for (int u = 0; u < valid; ++u) {
    const double* mau = ma + static_cast<size_t>(u) * ta;
    const double* vau = va + static_cast<size_t>(u) * ta;
    for (int v = 0; v < valid; ++v) {
      const size_t k = static_cast<size_t>(u) * valid + v;
      const double t = mau[v] * mb[k];
      const double cab = cn * (sab[k] - t);
      const double num = ((t + t) + c1) * ((cab + cab) + c2);
      const double den = ((mau[v] * mau[v] + mb[k] * mb[k]) + c1) * ((vau[v] + vb[k]) + c2);
      terms[k] = num / den;
    }
  }
  // Column partial sums, then the row of partials.
  for (int u = 1; u < valid; ++u)
    for (int v = 0; v < valid; ++v) terms[v] += terms[static_cast<size_t>(u) * valid + v];
  double acc = 0.0;
  for (int v = 0; v < valid; ++v) acc += terms[v];
  return acc / (static_cast<double>(valid) * valid);
}

#define SDM_SSIM_TARGET
#define SDM_SSIM_NAME ssim_pair_fixed
#include "engine/novelty/ssim_kernel.inl"
#undef SDM_SSIM_TARGET
#undef SDM_SSIM_NAME
#if defined(__GNUC__) && defined(__x86_64__)
#define SDM_SSIM_HAVE_AVX2 1
#define SDM_SSIM_TARGET __attribute__((target("avx2")))
#define SDM_SSIM_NAME ssim_pair_fixed_avx2
#include "engine/novelty/ssim_kernel.inl"
#undef SDM_SSIM_TARGET
#undef SDM_SSIM_NAME
#endif

using FixedKernel = double (*)(const Plan&, const float*, int, const double*, const double*, const double*, int, const double*,
                               const double*);

// Compile-time kernels for the common geometries (the paper's 16 px patches, 7 px uniform or
// σ = 1.5 Gaussian windows); nullptr: use the generic ssim_pair.
// The AVX2 copies run the same operations in the same order (no FMA contraction: avx2
// does not enable fma), so they return the same bits as the baseline ones.
FixedKernel fixed_kernel(int side, int win, bool uniform) {
#ifdef SDM_SSIM_HAVE_AVX2
  static const bool avx2 = __builtin_cpu_supports("avx2");
#define SDM_PICK(S, W, U) return avx2 ? &ssim_pair_fixed_avx2<S, W, U> : &ssim_pair_fixed<S, W, U>
#else
#define SDM_PICK(S, W, U) return &ssim_pair_fixed<S, W, U>
#endif
  if (uniform && win == 7) {
    if (side == 16) SDM_PICK(16, 7, true);
    if (side == 32) SDM_PICK(32, 7, true);
  }
  if (!uniform && win == 11) {
    if (side == 16) SDM_PICK(16, 11, false);
    if (side == 32) SDM_PICK(32, 11, false);
  }
#undef SDM_PICK
  return nullptr;
}

template <class T>
double ssim_impl(const T* a_in, const T* b_in, int side, const SsimConfig& cfg) {
  const Plan p = make_plan(cfg);
  if (side < p.win)
    throw Error("SSIM: patch side " + std::to_string(side) + " px is smaller than the " + std::to_string(p.win) + " px window");
  const int n = side * side, valid = side - p.win + 1;
  const size_t nw = static_cast<size_t>(valid) * valid;
  const T* a = a_in;
  std::vector<double> b(b_in, b_in + n);
  std::vector<double> ma(nw), va(nw), mb(nw), vb(nw);
  moments(p, a, side, side, side, ma.data(), va.data(), valid);
  moments(p, b.data(), side, side, side, mb.data(), vb.data(), valid);
  std::vector<double> prod(n), vbuf(static_cast<size_t>(valid) * side), sab(nw), terms(nw);
  return ssim_pair(p, side, a, side, b.data(), ma.data(), va.data(), valid, mb.data(), vb.data(), prod.data(), vbuf.data(),
                   sab.data(), terms.data());
}

// The Plan the kernels take, rebuilt from the stored constants.
Plan plan_from(int win, bool uniform, const std::vector<double>& w, double scale, double c1, double c2, double cn) {
  Plan p;
  p.win = win;
  p.uniform = uniform;
  p.w = w;
  p.scale = scale;
  p.c1 = c1;
  p.c2 = c2;
  p.cn = cn;
  return p;
}

}  // namespace

int ssim_window_side(const SsimConfig& cfg) {
  if (cfg.window == SsimWindow::uniform) {
    if (cfg.window_px < 1 || cfg.window_px % 2 == 0)
      throw Error("SSIM: uniform window side " + std::to_string(cfg.window_px) + " px must be odd and ≥ 1");
    return cfg.window_px;
  }
  if (!(cfg.sigma_px > 0)) throw Error("SSIM: Gaussian window sigma " + std::to_string(cfg.sigma_px) + " px must be > 0");
  return 2 * static_cast<int>(3.5 * cfg.sigma_px + 0.5) + 1;  // scipy gaussian_filter, truncate = 3.5
}

std::vector<double> ssim_window_weights(const SsimConfig& cfg) {
  const int side = ssim_window_side(cfg);
  std::vector<double> w(side);
  if (cfg.window == SsimWindow::uniform) {
    std::fill(w.begin(), w.end(), 1.0 / side);
    return w;
  }
  const int r = side / 2;
  double sum = 0.0;
  for (int k = 0; k < side; ++k) {
    const double x = k - r;
    w[k] = std::exp(-0.5 * x * x / (cfg.sigma_px * cfg.sigma_px));
    sum += w[k];
  }
  for (double& v : w) v /= sum;
  return w;
}

double ssim(const float* a, const float* b, int side, const SsimConfig& cfg) {
  if (side < 1) throw Error("SSIM: patch side " + std::to_string(side) + " must be ≥ 1");
  return ssim_impl(a, b, side, cfg);
}

double ssim(const std::vector<double>& a, const std::vector<double>& b, int side, const SsimConfig& cfg) {
  const size_t n = static_cast<size_t>(std::max(side, 0)) * static_cast<size_t>(std::max(side, 0));
  if (side < 1 || a.size() != n || b.size() != n)
    throw Error("SSIM: patches of " + std::to_string(a.size()) + " and " + std::to_string(b.size()) + " values are not " +
                std::to_string(side) + "×" + std::to_string(side));
  return ssim_impl(a.data(), b.data(), side, cfg);
}

// ---------------------------------------------------------------------------------------------
// StructuralNovelty

StructuralNovelty::StructuralNovelty(const gp::RowMatrixF& candidates, int side, const SsimConfig& config) : side_(side) {
  if (side < 1 || candidates.cols() != static_cast<Eigen::Index>(side) * side)
    throw Error("structural novelty: candidate rows have " + std::to_string(candidates.cols()) + " values, not " +
                std::to_string(side) + "×" + std::to_string(side));
  set_plan(config);
  // Patches stacked vertically into one side-wide image; moments tabulated per patch.
  const int m = static_cast<int>(candidates.rows());
  const size_t n = static_cast<size_t>(side) * side, nw = static_cast<size_t>(valid_) * valid_;
  width_ = side;
  image_.assign(candidates.data(), candidates.data() + n * m);
  x0_.assign(static_cast<size_t>(m), 0);
  y0_.resize(static_cast<size_t>(m));
  table_at_.resize(static_cast<size_t>(m));
  table_stride_ = valid_;
  mean_.resize(nw * m);
  var_.resize(nw * m);
  const Plan p = plan_from(win_, uniform_, weights_, scale_, c1_, c2_, cov_norm_);
  for (int i = 0; i < m; ++i) {
    y0_[i] = i * side;
    table_at_[i] = nw * i;
    moments(p, image_.data() + n * i, side, side, side, mean_.data() + nw * i, var_.data() + nw * i, valid_);
  }
  reset();
}

StructuralNovelty::StructuralNovelty(const std::vector<double>& img, const campaign::CandidateGrid& grid,
                                     const SsimConfig& config)
    : side_(grid.patch_px) {
  const int nx = grid.image_nx, ny = grid.image_ny;
  if (nx < 1 || ny < 1 || img.size() != static_cast<size_t>(nx) * ny)
    throw Error("structural novelty: image has " + std::to_string(img.size()) + " values, the candidate grid expects " +
                std::to_string(nx) + "×" + std::to_string(ny));
  if (grid.ix_px.size() != grid.iy_px.size()) throw Error("structural novelty: candidate grid has mismatched ix_px/iy_px");
  set_plan(config);
  width_ = nx;
  image_.resize(img.size());
  for (size_t k = 0; k < img.size(); ++k) {
    if (!std::isfinite(img[k]))
      throw Error("structural novelty: image pixel (ix " + std::to_string(k % nx) + ", iy " + std::to_string(k / nx) +
                  ") is not finite");
    image_[k] = static_cast<float>(img[k]);
  }
  // Moments at every window position of the survey, shared by overlapping candidates.
  table_stride_ = nx - win_ + 1;
  const int table_rows = ny - win_ + 1;
  if (table_stride_ < 1 || table_rows < 1) throw Error("structural novelty: survey image smaller than the SSIM window");
  mean_.resize(static_cast<size_t>(table_stride_) * table_rows);
  var_.resize(mean_.size());
  moments(plan_from(win_, uniform_, weights_, scale_, c1_, c2_, cov_norm_), image_.data(), ny, nx, nx, mean_.data(), var_.data(),
          table_stride_);
  const int h = side_ / 2;
  x0_.resize(grid.size());
  y0_.resize(grid.size());
  table_at_.resize(grid.size());
  for (size_t i = 0; i < grid.size(); ++i) {
    x0_[i] = grid.ix_px[i] - h;
    y0_[i] = grid.iy_px[i] - h;
    if (x0_[i] < 0 || y0_[i] < 0 || x0_[i] + side_ > nx || y0_[i] + side_ > ny)
      throw Error("structural novelty: candidate " + std::to_string(i) + " is not fully inside the image");
    table_at_[i] = static_cast<size_t>(y0_[i]) * table_stride_ + x0_[i];
  }
  reset();
}

void StructuralNovelty::set_plan(const SsimConfig& config) {
  const Plan p = make_plan(config);
  if (side_ < p.win)
    throw Error("structural novelty: patch side " + std::to_string(side_) + " px is smaller than the " + std::to_string(p.win) +
                " px SSIM window");
  win_ = p.win;
  valid_ = side_ - win_ + 1;
  uniform_ = p.uniform;
  weights_ = p.w;
  scale_ = p.scale;
  c1_ = p.c1;
  c2_ = p.c2;
  cov_norm_ = p.cn;
}

void StructuralNovelty::reset() {
  max_ssim_.assign(x0_.size(), -1.0);
  measured_ = 0;
}

void StructuralNovelty::ssim_with_double(const double* b, std::vector<double>& out) const {
  const Plan p = plan_from(win_, uniform_, weights_, scale_, c1_, c2_, cov_norm_);
  const size_t nw = static_cast<size_t>(valid_) * valid_;
  std::vector<double> mb(nw), vb(nw);
  moments(p, b, side_, side_, side_, mb.data(), vb.data(), valid_);
  std::vector<double> prod(static_cast<size_t>(side_) * side_), vbuf(static_cast<size_t>(valid_) * side_), sab(nw), terms(nw);
  const int m = size();
  out.resize(static_cast<size_t>(m));
  const FixedKernel fixed = fixed_kernel(side_, win_, uniform_);
  for (int i = 0; i < m; ++i) {
    const float* a = image_.data() + static_cast<size_t>(y0_[i]) * width_ + x0_[i];
    const double* ma = mean_.data() + table_at_[i];
    const double* va = var_.data() + table_at_[i];
    out[i] = fixed ? fixed(p, a, width_, b, ma, va, table_stride_, mb.data(), vb.data())
                   : ssim_pair(p, side_, a, width_, b, ma, va, table_stride_, mb.data(), vb.data(), prod.data(), vbuf.data(),
                               sab.data(), terms.data());
  }
}

void StructuralNovelty::ssim_with(const float* patch, std::vector<double>& out) const {
  const std::vector<double> b(patch, patch + static_cast<size_t>(side_) * side_);
  ssim_with_double(b.data(), out);
}

void StructuralNovelty::update_with(const double* b) {
  std::vector<double> s;
  ssim_with_double(b, s);
  for (size_t i = 0; i < s.size(); ++i) max_ssim_[i] = std::max(max_ssim_[i], s[i]);
  ++measured_;
}

void StructuralNovelty::add_measured(int candidate) {
  if (candidate < 0 || candidate >= size())
    throw Error("structural novelty: candidate " + std::to_string(candidate) + " out of range [0, " + std::to_string(size()) + ")");
  std::vector<double> b(static_cast<size_t>(side_) * side_);
  for (int r = 0; r < side_; ++r)
    for (int c = 0; c < side_; ++c)
      b[static_cast<size_t>(r) * side_ + c] = image_[static_cast<size_t>(y0_[candidate] + r) * width_ + x0_[candidate] + c];
  update_with(b.data());
}

void StructuralNovelty::add_measured_patch(const float* patch) {
  const std::vector<double> b(patch, patch + static_cast<size_t>(side_) * side_);
  update_with(b.data());
}

std::vector<double> StructuralNovelty::novelty() const {
  std::vector<double> out(max_ssim_.size());
  for (size_t i = 0; i < out.size(); ++i) out[i] = 1.0 - max_ssim_[i];
  return out;
}

double StructuralNovelty::novelty(int candidate) const {
  if (candidate < 0 || candidate >= size())
    throw Error("structural novelty: candidate " + std::to_string(candidate) + " out of range [0, " + std::to_string(size()) + ")");
  return 1.0 - max_ssim_[candidate];
}

}  // namespace sdm::engine::novelty
