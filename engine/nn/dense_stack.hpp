#pragma once
// Fully connected layers (torch::nn::Linear layout) run forward and backward by BLAS sgemm on
// row-major float batches, without autograd. For small networks trained for many short steps
// (the DKL feature extractor), libtorch's per-operator dispatch and autograd bookkeeping cost
// more than the arithmetic; this does the same maths in a handful of sgemm calls.
//
// Layer l: h_l = act_l(h_{l-1} W_l^T + b_l), W_l out x in row-major, h_0 = x.
#include <vector>

namespace sdm::engine::nn {

/// tanh is nn::detail::tanh_approx (absolute error < 2e-7, vectorised).
enum class Activation { none, relu, tanh };

/// One layer's parameters (not owned). bias may be null.
struct DenseLayer {
  const float* weight = nullptr;  ///< out x in, row-major
  const float* bias = nullptr;    ///< out
  int in = 0, out = 0;
  Activation activation = Activation::none;
};

/// Where one layer's gradients go (overwritten, not accumulated). bias may be null.
struct DenseGradient {
  float* weight = nullptr;
  float* bias = nullptr;
};

/// Activation buffers of one forward pass, reused across calls (no allocation once sized).
class DenseStack {
 public:
  /// x: n x layers[0].in row-major. Returns the n x layers.back().out output, valid until the
  /// next forward(). Throws sdm::Error when consecutive layers do not chain (out != next in).
  const float* forward(const std::vector<DenseLayer>& layers, const float* x, int n);

  /// Gradients of sum_ij d_out_ij * output_ij with respect to every weight and bias, for the
  /// rows and layers of the last forward() (same `layers`, same `x`); `grads` has one entry
  /// per layer. d_input (n x layers[0].in), when not null, receives the input gradient.
  void backward(const std::vector<DenseLayer>& layers, const float* x, const float* d_out,
                const std::vector<DenseGradient>& grads, float* d_input = nullptr);

 private:
  int n_ = 0;
  std::vector<std::vector<float>> h_;  ///< post-activation output of every layer
  std::vector<float> delta_, delta_next_;
};

}  // namespace sdm::engine::nn
