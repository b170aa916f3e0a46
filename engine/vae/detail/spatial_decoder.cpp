#include "engine/vae/detail/spatial_decoder.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <thread>
#include <vector>

#include "core/error.hpp"
#include "core/target_clones.hpp"
#include "engine/nn/detail/vector_tanh.hpp"

namespace sdm::engine::vae::detail {
namespace {

using nn::detail::tanh_approx;

// Backward of one block of 4 pixels: accumulates Σ_q ∂/∂pre (and × c) and Σ_q g_q·h_q.
__attribute__((always_inline)) inline void backward_block(int H, const float* __restrict w, const float* __restrict h,
                                                          const float* g, const float* cx, const float* cy,
                                                          float* __restrict ga, float* __restrict g0,
                                                          float* __restrict g1, float* __restrict dw) {
  const float* __restrict h0 = h;
  const float* __restrict h1 = h + H;
  const float* __restrict h2 = h + 2 * H;
  const float* __restrict h3 = h + 3 * H;
  const float q0 = g[0], q1 = g[1], q2 = g[2], q3 = g[3];
  const float x0 = cx[0], x1 = cx[1], x2 = cx[2], x3 = cx[3];
  const float y0 = cy[0], y1 = cy[1], y2 = cy[2], y3 = cy[3];
  for (int k = 0; k < H; ++k) {
    const float wk = w[k];
    const float d0 = q0 * wk * (1.0f - h0[k] * h0[k]), d1 = q1 * wk * (1.0f - h1[k] * h1[k]);
    const float d2 = q2 * wk * (1.0f - h2[k] * h2[k]), d3 = q3 * wk * (1.0f - h3[k] * h3[k]);
    ga[k] += (d0 + d1) + (d2 + d3);
    g0[k] += (d0 * x0 + d1 * x1) + (d2 * x2 + d3 * x3);
    g1[k] += (d0 * y0 + d1 * y1) + (d2 * y2 + d3 * y3);
    dw[k] += (q0 * h0[k] + q1 * h1[k]) + (q2 * h2[k] + q3 * h3[k]);
  }
}

struct Pass {
  int P = 0, H = 0;
  const float* grid = nullptr;  // P × 2
  const float* w = nullptr;     // H
  float b = 0;
};

constexpr int kPixels = 4;  // pixels per register block (amortises the per-k loads and stores)

// One sample (compiled per instruction set, see core/target_clones.hpp): logits of its P pixels and, with a target, Σ BCE and the gradients.
// scratch: (5 + kPixels)·H floats. dw (H) receives this sample's Σ_j g_j·h_j (overwritten).
SDM_TARGET_CLONES
void sample_pass(int P, int H, const float* __restrict grid, const float* __restrict w, float b,
                 const float* __restrict a, const float* __restrict M, const float* __restrict x,
                 float* __restrict logits_out, bool grads, float* __restrict da, float* __restrict dM,
                 float* __restrict dw, double* loss_out, double* db_out, float* __restrict scratch) {
  float* __restrict m0 = scratch;
  float* __restrict m1 = scratch + H;
  float* __restrict ga = scratch + 2 * H;
  float* __restrict g0 = scratch + 3 * H;
  float* __restrict g1 = scratch + 4 * H;
  float* __restrict h = scratch + 5 * H;  // kPixels × H activations of the current block
  for (int k = 0; k < H; ++k) {
    m0[k] = M[2 * k];
    m1[k] = M[2 * k + 1];
    ga[k] = g0[k] = g1[k] = 0.0f;
    dw[k] = 0.0f;
  }
  const int H16 = H - H % 16;
  double loss = 0.0, db = 0.0;
  for (int j0 = 0; j0 < P; j0 += kPixels) {
    const int nb = std::min(kPixels, P - j0);
    float cx[kPixels], cy[kPixels], g[kPixels], logit[kPixels];
    for (int q = 0; q < kPixels; ++q) {  // pixels past the end: coordinate 0, zero gradient
      cx[q] = q < nb ? grid[2 * (j0 + q)] : 0.0f;
      cy[q] = q < nb ? grid[2 * (j0 + q) + 1] : 0.0f;
    }
    // Forward: activations, then the logits with 16 independent partial sums per pixel (a
    // vector accumulator, fixed order).
    for (int q = 0; q < kPixels; ++q) {
      float* __restrict hq = h + q * H;
      const float x0 = cx[q], y0 = cy[q];
      for (int k = 0; k < H; ++k) hq[k] = tanh_approx(a[k] + m0[k] * x0 + m1[k] * y0);
      float acc[16] = {0};
      for (int k = 0; k < H16; k += 16)
        for (int l = 0; l < 16; ++l) acc[l] += w[k + l] * hq[k + l];
      logit[q] = b;
      for (int l = 0; l < 16; ++l) logit[q] += acc[l];
      for (int k = H16; k < H; ++k) logit[q] += w[k] * hq[k];
    }
    for (int q = 0; q < kPixels; ++q) g[q] = 0.0f;
    for (int q = 0; q < nb; ++q) {
      if (logits_out) logits_out[j0 + q] = logit[q];
      if (!x) continue;
      const float xt = x[j0 + q];
      const float e = std::exp(-std::fabs(logit[q]));
      loss += static_cast<double>(std::max(logit[q], 0.0f) - logit[q] * xt + std::log(1.0f + e));
      const float sig = logit[q] >= 0.0f ? 1.0f / (1.0f + e) : e / (1.0f + e);
      g[q] = sig - xt;  // ∂BCE/∂logit
      db += g[q];
    }
    if (!grads || !x) continue;
    // Backward through tanh and the first layer, the block's pixels summed before the accumulators.
    static_assert(kPixels == 4, "the backward pass is written out for 4 pixels");
    backward_block(H, w, h, g, cx, cy, ga, g0, g1, dw);
  }
  if (grads) {
    for (int k = 0; k < H; ++k) {
      da[k] = ga[k];
      dM[2 * k] = g0[k];
      dM[2 * k + 1] = g1[k];
    }
  }
  *loss_out = loss;
  *db_out = db;
}

constexpr int kBlock = 4;  // samples per reduction block (fixed: results independent of threads)

int resolve_threads(int threads, long long work, int blocks) {
  int t = threads > 0 ? threads : static_cast<int>(std::min(8u, std::max(1u, std::thread::hardware_concurrency())));
  if (work < (1LL << 21)) t = 1;  // not worth a thread start
  return std::max(1, std::min(t, blocks));
}

struct Result {
  double loss = 0;
  double db = 0;
  std::vector<double> dw;
};

void check(const torch::Tensor& t, const char* name, std::initializer_list<int64_t> shape) {
  if (t.scalar_type() != torch::kFloat32 || !t.device().is_cpu() || !t.is_contiguous())
    throw Error(std::string("spatial decoder: ") + name + " must be a contiguous float32 CPU tensor");
  if (t.dim() != static_cast<int64_t>(shape.size())) throw Error(std::string("spatial decoder: ") + name + " has the wrong rank");
  int i = 0;
  for (auto s : shape) {
    if (s >= 0 && t.size(i) != s) throw Error(std::string("spatial decoder: ") + name + " has the wrong shape");
    ++i;
  }
}

// Runs every sample on raw storage; logits (n × P) optional; target optional; grads need the target.
Result run_raw(int n, int H, int P, const float* ap, const float* Mp, const float* wp, float bias, const float* gp,
               const float* xp, float* logits, bool grads, float* da, float* dM, int threads) {
  const int blocks = (n + kBlock - 1) / kBlock;
  std::vector<double> block_loss(blocks, 0.0), block_db(blocks, 0.0);
  std::vector<double> block_dw(grads ? static_cast<std::size_t>(blocks) * H : 0, 0.0);
  const int t = resolve_threads(threads, static_cast<long long>(n) * P * H, blocks);
  auto worker = [&](int tid) {
    std::vector<float> scratch((5 + kPixels) * static_cast<std::size_t>(H)), dw(H);
    for (int blk = tid; blk < blocks; blk += t) {
      for (int i = blk * kBlock; i < std::min(n, (blk + 1) * kBlock); ++i) {
        double loss = 0, db = 0;
        sample_pass(P, H, gp, wp, bias, ap + static_cast<std::size_t>(i) * H, Mp + static_cast<std::size_t>(i) * H * 2,
                    xp ? xp + static_cast<std::size_t>(i) * P : nullptr, logits ? logits + static_cast<std::size_t>(i) * P : nullptr,
                    grads, grads ? da + static_cast<std::size_t>(i) * H : nullptr,
                    grads ? dM + static_cast<std::size_t>(i) * H * 2 : nullptr, dw.data(), &loss, &db, scratch.data());
        block_loss[blk] += loss;
        block_db[blk] += db;
        if (grads)
          for (int k = 0; k < H; ++k) block_dw[static_cast<std::size_t>(blk) * H + k] += dw[k];
      }
    }
  };
  if (t == 1) {
    worker(0);
  } else {
    std::vector<std::thread> pool;
    for (int i = 1; i < t; ++i) pool.emplace_back(worker, i);
    worker(0);
    for (auto& th : pool) th.join();
  }
  Result r;
  r.dw.assign(grads ? H : 0, 0.0);
  for (int blk = 0; blk < blocks; ++blk) {  // fixed order
    r.loss += block_loss[blk];
    r.db += block_db[blk];
    if (grads)
      for (int k = 0; k < H; ++k) r.dw[k] += block_dw[static_cast<std::size_t>(blk) * H + k];
  }
  return r;
}

// The same on tensors, after checking their types and shapes.
Result run(const torch::Tensor& a, const torch::Tensor& M, const torch::Tensor& w, const torch::Tensor& b,
           const torch::Tensor& grid, const torch::Tensor* target, float* logits, bool grads, float* da, float* dM,
           int threads) {
  const int n = static_cast<int>(a.size(0)), H = static_cast<int>(a.size(1)), P = static_cast<int>(grid.size(0));
  check(a, "a", {n, H});
  check(M, "M", {n, H, 2});
  check(w, "w", {H});
  check(b, "b", {1});
  check(grid, "grid", {P, 2});
  if (target) check(*target, "target", {n, P});
  return run_raw(n, H, P, a.data_ptr<float>(), M.data_ptr<float>(), w.data_ptr<float>(), b.data_ptr<float>()[0],
                 grid.data_ptr<float>(), target ? target->data_ptr<float>() : nullptr, logits, grads, da, dM, threads);
}

class SpatialBceFunction : public torch::autograd::Function<SpatialBceFunction> {
 public:
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, torch::Tensor a, torch::Tensor M, torch::Tensor w,
                               torch::Tensor b, torch::Tensor grid, torch::Tensor target, int64_t threads) {
    auto da = torch::empty_like(a);
    auto dM = torch::empty_like(M);
    const Result r = run(a, M, w, b, grid, &target, nullptr, true, da.data_ptr<float>(), dM.data_ptr<float>(),
                         static_cast<int>(threads));
    auto dw = torch::empty({w.size(0)}, torch::kFloat32);
    for (int k = 0; k < w.size(0); ++k) dw[k] = static_cast<float>(r.dw[k]);
    auto db = torch::full({1}, static_cast<float>(r.db), torch::kFloat32);
    ctx->saved_data["da"] = da;
    ctx->saved_data["dM"] = dM;
    ctx->saved_data["dw"] = dw;
    ctx->saved_data["db"] = db;
    return torch::scalar_tensor(static_cast<float>(r.loss), torch::kFloat32);
  }
  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grad_output) {
    const auto g = grad_output[0];
    return {ctx->saved_data["da"].toTensor() * g,
            ctx->saved_data["dM"].toTensor() * g,
            ctx->saved_data["dw"].toTensor() * g,
            ctx->saved_data["db"].toTensor() * g,
            torch::Tensor(),
            torch::Tensor(),
            torch::Tensor()};
  }
};

}  // namespace

torch::Tensor spatial_bce_sum(const torch::Tensor& a, const torch::Tensor& M, const torch::Tensor& w,
                              const torch::Tensor& b, const torch::Tensor& grid, const torch::Tensor& target,
                              int threads) {
  const bool needs_grad = torch::GradMode::is_enabled() &&
                          (a.requires_grad() || M.requires_grad() || w.requires_grad() || b.requires_grad());
  if (needs_grad) return SpatialBceFunction::apply(a, M, w, b, grid, target, static_cast<int64_t>(threads));
  const Result r = run(a, M, w, b, grid, &target, nullptr, false, nullptr, nullptr, threads);
  return torch::scalar_tensor(static_cast<float>(r.loss), torch::kFloat32);
}

torch::Tensor spatial_logits(const torch::Tensor& a, const torch::Tensor& M, const torch::Tensor& w,
                             const torch::Tensor& b, const torch::Tensor& grid, int threads) {
  torch::NoGradGuard no_grad;
  auto logits = torch::empty({a.size(0), grid.size(0)}, torch::kFloat32);
  run(a.detach(), M.detach(), w.detach(), b.detach(), grid, nullptr, logits.data_ptr<float>(), false, nullptr, nullptr,
      threads);
  return logits;
}

double spatial_bce_gradient(int n, int H, int P, const float* a, const float* M, const float* w, float b,
                            const float* grid, const float* target, float* da, float* dM, float* dw, double* db,
                            int threads) {
  const Result r = run_raw(n, H, P, a, M, w, b, grid, target, nullptr, true, da, dM, threads);
  for (int k = 0; k < H; ++k) dw[k] = static_cast<float>(r.dw[k]);
  *db = r.db;
  return r.loss;
}

torch::Tensor coordinate_grid(int side) {
  auto grid = torch::empty({static_cast<int64_t>(side) * side, 2}, torch::kFloat32);
  auto g = grid.accessor<float, 2>();
  for (int r = 0; r < side; ++r)
    for (int c = 0; c < side; ++c) {
      g[r * side + c][0] = static_cast<float>(-1.0 + 2.0 * c / (side - 1));
      g[r * side + c][1] = static_cast<float>(1.0 - 2.0 * r / (side - 1));
    }
  return grid;
}

}  // namespace sdm::engine::vae::detail
