#include "engine/nn/dense_stack.hpp"

#include <algorithm>
#include <cmath>
#include <string>

#include "core/error.hpp"
#include "core/target_clones.hpp"
#include "engine/nn/detail/vector_tanh.hpp"

extern "C" void sgemm_(const char* transa, const char* transb, const int* m, const int* n, const int* k,
                       const float* alpha, const float* a, const int* lda, const float* b, const int* ldb,
                       const float* beta, float* c, const int* ldc, std::size_t, std::size_t);

namespace sdm::engine::nn {
namespace {

// Column-major C (m x n) = alpha op(A) op(B) + beta C. A row-major r x c matrix is the
// column-major c x r matrix, which is how the row-major batches below are passed.
void gemm(char ta, char tb, int m, int n, int k, const float* a, int lda, const float* b, int ldb, float beta,
          float* c, int ldc) {
  const float one = 1.0f;
  sgemm_(&ta, &tb, &m, &n, &k, &one, a, &lda, b, &ldb, &beta, c, &ldc, 1, 1);
}

// In place; vectorised (the per-element libm call was the stack's largest cost after sgemm).
SDM_TARGET_CLONES
void tanh_in_place(float* __restrict v, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) v[i] = detail::tanh_approx(v[i]);
}

}  // namespace

const float* DenseStack::forward(const std::vector<DenseLayer>& layers, const float* x, int n) {
  if (layers.empty()) throw Error("DenseStack::forward: no layers");
  for (size_t l = 1; l < layers.size(); ++l)
    if (layers[l].in != layers[l - 1].out)
      throw Error("DenseStack: layer " + std::to_string(l) + " takes " + std::to_string(layers[l].in) +
                  " inputs but layer " + std::to_string(l - 1) + " gives " + std::to_string(layers[l - 1].out));
  n_ = n;
  h_.resize(layers.size());
  const float* in = x;
  for (size_t l = 0; l < layers.size(); ++l) {
    const DenseLayer& L = layers[l];
    std::vector<float>& h = h_[l];
    h.resize(static_cast<std::size_t>(n) * L.out);
    if (n == 0) continue;
    // H (n x out, row-major) = X W^T: column-major H^T (out x n) = W_cm^T X_cm.
    if (L.bias) {
      for (int i = 0; i < n; ++i) std::copy(L.bias, L.bias + L.out, h.data() + static_cast<std::size_t>(i) * L.out);
    }
    gemm('T', 'N', L.out, n, L.in, L.weight, L.in, in, L.in, L.bias ? 1.0f : 0.0f, h.data(), L.out);
    if (L.activation == Activation::relu) {
      for (float& v : h) v = v > 0.0f ? v : 0.0f;
    } else if (L.activation == Activation::tanh) {
      tanh_in_place(h.data(), h.size());
    }
    in = h.data();
  }
  return h_.back().data();
}

void DenseStack::backward(const std::vector<DenseLayer>& layers, const float* x, const float* d_out,
                          const std::vector<DenseGradient>& grads, float* d_input) {
  if (layers.size() != h_.size() || grads.size() != layers.size())
    throw Error("DenseStack::backward: call forward() first with the same layers, and give one gradient per layer");
  const int n = n_;
  const DenseLayer& last = layers.back();
  delta_.assign(d_out, d_out + static_cast<std::size_t>(n) * last.out);
  for (size_t l = layers.size(); l-- > 0;) {
    const DenseLayer& L = layers[l];
    const std::vector<float>& h = h_[l];
    // delta: d(loss)/d(pre-activation) of this layer, n x out.
    if (L.activation == Activation::relu) {
      for (std::size_t i = 0; i < delta_.size(); ++i) delta_[i] = h[i] > 0.0f ? delta_[i] : 0.0f;
    } else if (L.activation == Activation::tanh) {
      for (std::size_t i = 0; i < delta_.size(); ++i) delta_[i] *= 1.0f - h[i] * h[i];
    }
    const float* in = l == 0 ? x : h_[l - 1].data();
    // dW (out x in, row-major) = delta^T X: column-major dW^T (in x out) = X_cm delta_cm^T.
    if (n > 0) {
      gemm('N', 'T', L.in, L.out, n, in, L.in, delta_.data(), L.out, 0.0f, grads[l].weight, L.in);
    } else {
      std::fill(grads[l].weight, grads[l].weight + static_cast<std::size_t>(L.in) * L.out, 0.0f);
    }
    if (grads[l].bias) {
      std::fill(grads[l].bias, grads[l].bias + L.out, 0.0f);
      for (int i = 0; i < n; ++i) {
        const float* d = delta_.data() + static_cast<std::size_t>(i) * L.out;
        for (int k = 0; k < L.out; ++k) grads[l].bias[k] += d[k];
      }
    }
    if (l == 0 && !d_input) break;
    // d(input) (n x in) = delta W: column-major (in x n) = W_cm delta_cm.
    float* target = l == 0 ? d_input : nullptr;
    if (!target) {
      delta_next_.resize(static_cast<std::size_t>(n) * L.in);
      target = delta_next_.data();
    }
    if (n > 0) gemm('N', 'N', L.in, n, L.out, L.weight, L.in, delta_.data(), L.out, 0.0f, target, L.in);
    if (l > 0) delta_.swap(delta_next_);
  }
}

}  // namespace sdm::engine::nn
