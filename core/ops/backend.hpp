// core/ops/backend.hpp — the seam between ops and devices: one table of kernel entry
// points per backend, chosen by a tensor's device in one place, backend(Device).
// Internal to core (and nn/optim.cpp, whose fused steps it carries); not part of the public API.
//
// An op checks its arguments, allocates its outputs on the input's device, and calls
// `backend(x.device()).entry(...)`; it never asks which device it is on. The cpu table
// (core/ops/cpu_backend.cpp) runs kernels/cpu; the cuda table (core/ops/cuda_dispatch.cpp,
// built with GANTRY_CUDA=emu or real) runs kernels/cuda. With GANTRY_CUDA=off,
// core/ops/cuda_off.cpp stands in: cuda_backend() throws the one error saying so.
// Elementwise ops do not go through the table: their functor is a template parameter
// inlined into the loop (core/ops/common.hpp's unary_apply/binary_forward decide the
// device, and call cuda_unary<F>/cuda_binary<F>, instantiated per functor).
//
// Entries take contiguous tensors (unless they say strided), outputs first; an optional
// tensor (a weight, a bias, running statistics) may be undefined. A null entry is a
// kernel that backend lacks; the op that can do without it says so where it calls.
#pragma once
#include <cstddef>
#include <cstdint>

#include "core/profile.hpp"
#include "core/tensor.hpp"
#include "kernels/shapes.hpp"

namespace gantry::detail {

// Row reductions of a dense [rows, cols] tensor (reduce.cpp, loss.cpp): out[r] = reduce_c
// in[r, c]; sum_columns is the one down the columns instead, out[c] = sum_r in[r, c] (a sum
// over leading dims, read in place: no transpose first).
enum class RowReduce { sum, max, argmax, log_softmax, sum_columns };

struct Backend {
  const char* name;
  // ---- storage (core/tensor.cpp) ----
  void* (*allocate)(size_t bytes, Device d);
  void (*release)(void* p, size_t bytes);
  MemoryStats (*memory_stats)();
  void (*reset_peak_memory)();
  // ---- fills, random numbers, copies ----
  void (*fill)(const Tensor& out, double value);
  // Philox by counter from g (advanced by the blocks used), so every backend draws the same numbers.
  void (*fill_uniform)(const Tensor& out, Rng& g, double lo, double hi);
  void (*fill_normal)(const Tensor& out, Rng& g, double mean, double std);
  // dst(i) = src(i), two strided views of one shape on this device; any dtypes.
  void (*assign)(const Tensor& dst, const Tensor& src);
  // ---- reductions, products ----
  void (*rows)(RowReduce kind, const Tensor& out, const Tensor& in, int64_t rows, int64_t cols);
  // c[batch, m, n] = a[batch, m, k] @ b[batch, k, n]
  void (*gemm)(const Tensor& c, const Tensor& a, const Tensor& b, int64_t batch, int64_t m, int64_t n, int64_t k);
  // ---- convolution (conv.cpp): the three contracts of kernels/cpu/conv.hpp ----
  void (*conv2d_forward)(const Tensor& y, const Tensor& x, const Tensor& w, const Tensor& b,
                         const kernels::Conv2dShape& s);
  // conv2d_forward then an activation (slope >= 0: y > 0 ? y : slope y; 0: ReLU) in the same
  // pass where the kernels can; null where the composition serves (cuda).
  void (*conv2d_forward_act)(const Tensor& y, const Tensor& x, const Tensor& w, const Tensor& b,
                             const kernels::Conv2dShape& s, double slope);
  void (*conv2d_backward_input)(const Tensor& dx, const Tensor& dy, const Tensor& w, const kernels::Conv2dShape& s);
  void (*conv2d_backward_weight)(const Tensor& dw, const Tensor& dy, const Tensor& x, const kernels::Conv2dShape& s);
  // ---- modulated convolution and FIR resampling (modconv.cpp); styles s, demodulation d may be undefined ----
  void (*modconv2d_forward)(const Tensor& y, const Tensor& x, const Tensor& w, const Tensor& s, const Tensor& d,
                            const kernels::Conv2dShape& g);
  void (*modconv2d_backward_input)(const Tensor& dx, const Tensor& dy, const Tensor& w, const Tensor& s,
                                   const Tensor& d, const kernels::Conv2dShape& g);
  void (*modconv2d_backward_weight)(const Tensor& dw, const Tensor& dy, const Tensor& x, const Tensor& s,
                                    const Tensor& d, const kernels::Conv2dShape& g);
  void (*upfirdn2d)(const Tensor& y, const Tensor& x, const Tensor& f, const kernels::UpFirDn2dShape& s);
  // ---- images and indexing (image.cpp); pads are left, right, top, bottom ----
  void (*pad2d_forward)(const Tensor& y, const Tensor& x, const int64_t pads[4], bool reflect);
  void (*pad2d_backward)(const Tensor& dx, const Tensor& g, const int64_t pads[4], bool reflect);
  void (*upsample_nearest2d_forward)(const Tensor& y, const Tensor& x, int64_t sh, int64_t sw);
  void (*upsample_nearest2d_backward)(const Tensor& dx, const Tensor& g, int64_t sh, int64_t sw);
  void (*embedding_forward)(const Tensor& y, const Tensor& indices, const Tensor& table);
  void (*embedding_backward)(const Tensor& dtable, const Tensor& g, const Tensor& indices);
  void (*one_hot)(const Tensor& y, const Tensor& labels, int64_t num_classes);  // y zeroed by the caller
  // ---- normalization (norm.cpp); x [N, C, *] ----
  // slope >= 0 fuses an activation into y: y > 0 ? y : slope y (0: ReLU); slope < 0: none.
  void (*batch_norm_forward_train)(const Tensor& y, const Tensor& save_mean, const Tensor& save_invstd,
                                   const Tensor& running_mean, const Tensor& running_var, const Tensor& x,
                                   const Tensor& w, const Tensor& b, double momentum, double eps, double slope);
  // Null where the composition of ops serves (the cpu): the eval forward for inference.
  void (*batch_norm_forward_eval)(const Tensor& y, const Tensor& x, const Tensor& running_mean,
                                  const Tensor& running_var, const Tensor& w, const Tensor& b, double eps);
  // act defined: the forward fused an activation of `slope` and act is its output; g goes
  // through it first (act > 0 ? g : slope g).
  void (*batch_norm_backward)(const Tensor& dx, const Tensor& dw, const Tensor& db, const Tensor& g, const Tensor& x,
                              const Tensor& save_mean, const Tensor& save_invstd, const Tensor& w, const Tensor& act,
                              double slope);
  // Layer norm over the rows of x viewed as [rows, len], len = w.numel(), with the elementwise
  // affine w, b (both given) and slope as batch_norm_forward_train's; act, g as
  // batch_norm_backward's; dx, dw, db undefined where not wanted. Null where the composition
  // of ops serves (cuda: batch_norm's kernels on [1, rows, len], then mul, add, the activation).
  void (*layer_norm_forward)(const Tensor& y, const Tensor& save_mean, const Tensor& save_invstd, const Tensor& x,
                             const Tensor& w, const Tensor& b, double eps, double slope);
  void (*layer_norm_backward)(const Tensor& dx, const Tensor& dw, const Tensor& db, const Tensor& g, const Tensor& x,
                              const Tensor& save_mean, const Tensor& save_invstd, const Tensor& w, const Tensor& act,
                              double slope);
  // ---- penalties (penalty.cpp); g [N, K] ----
  void (*gradient_penalty_forward)(const Tensor& p, const Tensor& norms, const Tensor& g, double lambda, double eps);
  void (*gradient_penalty_backward)(const Tensor& dg, const Tensor& up, const Tensor& g, const Tensor& norms,
                                    double lambda);
  // ---- fused optimizer steps (nn/optim.cpp): p and its state slots updated in place from g ----
  void (*sgd_step)(const Tensor& p, const Tensor& momentum, const Tensor& g, const kernels::SGDStep& h);
  void (*adam_step)(const Tensor& p, const Tensor& exp_avg, const Tensor& exp_avg_sq, const Tensor& g,
                    const kernels::AdamStep& h);
  void (*rmsprop_step)(const Tensor& p, const Tensor& square_avg, const Tensor& momentum, const Tensor& g,
                       const kernels::RMSPropStep& h);
};

const Backend& cpu_backend();
// The cuda table; with GANTRY_CUDA=off it throws "gantry was built with GANTRY_CUDA=off ...".
const Backend& cuda_backend();
// The same table with every entry timed by name (core/profile.hpp; core/ops/profiled_backend.cpp).
const Backend& profiled_backend(Device d);
inline const Backend& backend(Device d) {
  if (profile::enabled()) [[unlikely]]
    return profiled_backend(d);
  return d.is_cpu() ? cpu_backend() : cuda_backend();
}

// kernels::ImageShape of a 4-d shape [N, C, H, W].
inline kernels::ImageShape image_shape(const Shape& s) { return {s[0], s[1], s[2], s[3]}; }
// kernels::BatchNormShape of x [N, C, *]: S = the flattened spatial size.
inline kernels::BatchNormShape bn_shape(const Tensor& x) {
  const int64_t n = x.size(0), c = x.size(1);
  return {n, c, n * c != 0 ? x.numel() / (n * c) : 0};
}
template <class T>
T* ptr_or_null(const Tensor& t) {
  return t.defined() ? t.data<T>() : nullptr;
}

}  // namespace gantry::detail
