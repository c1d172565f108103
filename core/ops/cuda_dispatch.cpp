// core/ops/cuda_dispatch.cpp — the cuda device's table of core/ops/backend.hpp, and the
// elementwise functors' device side: checks the operands are float32 (or int64 indices)
// on the cuda device and hands raw pointers to kernels/cuda. Built with GANTRY_CUDA=emu
// or real (CMakeLists.txt); GANTRY_CUDA=off builds core/ops/cuda_off.cpp instead.
#include "core/cuda_device.hpp"
#include "core/ops/backend.hpp"
#include "core/ops/common.hpp"
#include "kernels/cpu/random.hpp"
#include "kernels/cuda/batchnorm.cuh"
#include "kernels/cuda/conv.cuh"
#include "kernels/cuda/dnn.cuh"
#include "kernels/cuda/elementwise.cuh"
#include "kernels/cuda/fill_copy.cuh"
#include "kernels/cuda/gemm.cuh"
#include "kernels/cuda/image.cuh"
#include "kernels/cuda/modconv.cuh"
#include "kernels/cuda/optim.cuh"
#include "kernels/cuda/penalty.cuh"
#include "kernels/cuda/reduce.cuh"
#include "kernels/cuda/upfirdn.cuh"

namespace gantry::detail {

namespace {
void check_float32(const Tensor& t) {
  GANTRY_CHECK(t.dtype() == DType::f32, "cuda: kernels take float32, got ", dtype_name(t.dtype()));
}
float* f32(const Tensor& t) { return ptr_or_null<float>(t); }
}  // namespace

// ---- elementwise: one instantiation per functor of kernels/elementwise_ops.hpp ----------
template <class F>
void cuda_unary(const Tensor& y, const Tensor& x, F f) {
  check_float32(x);
  kernels::cuda::unary(y.data<float>(), x.data<float>(), strided(x, y.shape()), f);
}

template <class F>
void cuda_binary(const Tensor& y, const Tensor& a, const Tensor& b, F f) {
  check_float32(a);
  kernels::cuda::binary(y.data<float>(), a.data<float>(), strided(a, y.shape()), b.data<float>(), strided(b, y.shape()),
                        f);
}

void cuda_where(const Tensor& y, const Tensor& c, const Tensor& a, const Tensor& b) {
  check_float32(a);
  kernels::cuda::where(y.data<float>(), c.data<float>(), strided(c, y.shape()), a.data<float>(), strided(a, y.shape()),
                       b.data<float>(), strided(b, y.shape()));
}

#define GANTRY_INSTANTIATE_UNARY(Op) \
  template void cuda_unary(const Tensor&, const Tensor&, kernels::elementwise::Op<float>);
#define GANTRY_INSTANTIATE_BINARY(Op) \
  template void cuda_binary(const Tensor&, const Tensor&, const Tensor&, kernels::elementwise::Op<float>);
GANTRY_UNARY_FUNCTORS(GANTRY_INSTANTIATE_UNARY)
GANTRY_BINARY_FUNCTORS(GANTRY_INSTANTIATE_BINARY)
#undef GANTRY_INSTANTIATE_UNARY
#undef GANTRY_INSTANTIATE_BINARY

namespace {

// ---- storage: the caching allocator of core/cuda_device.cpp ----------------------------
void* allocate(size_t n, Device d) {
  GANTRY_CHECK(d.index == 0, "gantry drives one GPU, cuda:0; got ", d.str());
  GANTRY_CHECK(cuda_device::available(), "cuda: no CUDA device found (cudaGetDeviceCount is 0)");
  return n ? cuda_device::allocate(n) : nullptr;
}
void release(void* p, size_t n) { cuda_device::release(p, n); }
MemoryStats memory_stats() {
  auto s = cuda_device::stats();
  return {s.current_bytes, s.peak_bytes};
}
void reset_peak_memory() { cuda_device::reset_peak(); }

// ---- fills and copies ------------------------------------------------------------------
void fill(const Tensor& out, double value) {
  if (out.dtype() == DType::f32) kernels::cuda::fill<float>(out.data<float>(), out.numel(), (float)value);
  else kernels::cuda::fill<int64_t>(out.data<int64_t>(), out.numel(), (int64_t)value);
}
void fill_uniform(const Tensor& out, Rng& g, double lo, double hi) {
  GANTRY_CHECK(out.dtype() == DType::f32, "rand: cuda makes float32 only, not ", dtype_name(out.dtype()));
  uint64_t off = g.advance(kernels::cpu::philox_blocks_used<float>(out.numel()));
  kernels::cuda::fill_uniform(out.data<float>(), out.numel(), g.seed(), off, (float)lo, (float)hi);
}
void fill_normal(const Tensor& out, Rng& g, double mean, double std) {
  GANTRY_CHECK(out.dtype() == DType::f32, "randn: cuda makes float32 only, not ", dtype_name(out.dtype()));
  uint64_t off = g.advance(kernels::cpu::philox_blocks_used<float>(out.numel()));
  kernels::cuda::fill_normal(out.data<float>(), out.numel(), g.seed(), off, (float)mean, (float)std);
}
void assign(const Tensor& dst, const Tensor& src) {
  auto so = strided(dst, dst.shape()), si = strided(src, dst.shape());
  auto run = [&](auto* out, const auto* in) { kernels::cuda::assign_strided(out, so, in, si); };
  const bool of = dst.dtype() == DType::f32, inf = src.dtype() == DType::f32;
  if (of && inf) run(dst.data<float>(), src.data<float>());
  else if (of) run(dst.data<float>(), src.data<int64_t>());
  else if (inf) run(dst.data<int64_t>(), src.data<float>());
  else run(dst.data<int64_t>(), src.data<int64_t>());
}

// ---- reductions, products --------------------------------------------------------------
void rows(RowReduce kind, const Tensor& out, const Tensor& in, int64_t rows, int64_t cols) {
  check_float32(in);
  switch (kind) {
    case RowReduce::sum: kernels::cuda::sum_rows(out.data<float>(), in.data<float>(), rows, cols); break;
    case RowReduce::max: kernels::cuda::max_rows(out.data<float>(), in.data<float>(), rows, cols); break;
    case RowReduce::argmax: kernels::cuda::argmax_rows(out.data<int64_t>(), in.data<float>(), rows, cols); break;
    case RowReduce::log_softmax:
      kernels::cuda::log_softmax_rows(out.data<float>(), in.data<float>(), rows, cols);
      break;
    case RowReduce::sum_columns: kernels::cuda::sum_columns(out.data<float>(), in.data<float>(), rows, cols); break;
  }
}
void gemm(const Tensor& c, const Tensor& a, const Tensor& b, int64_t batch, int64_t m, int64_t n, int64_t k) {
  check_float32(a);
  kernels::cuda::gemm_batched(c.data<float>(), a.data<float>(), b.data<float>(), batch, m, n, k);
}

// ---- convolution: gantry's kernels (kernels/cuda/conv.cu) or cuDNN (kernels/cuda/dnn.cuh) ----
// cuDNN checks its output descriptor against the natural conv2d size, so a cut geometry
// (conv_transpose2d with output_padding >= stride) runs gantry's kernels.
bool natural(const kernels::Conv2dShape& s) {
  auto out = [](int64_t in, int64_t pad, int64_t dil, int64_t k, int64_t stride) {
    return (in + 2 * pad - dil * (k - 1) - 1) / stride + 1;
  };
  return s.out_h == out(s.in_h, s.pad_h, s.dil_h, s.k_h, s.stride_h) &&
         s.out_w == out(s.in_w, s.pad_w, s.dil_w, s.k_w, s.stride_w);
}
// Runs run(scratch) with `bytes` of scratch from the caching allocator (null when 0),
// so the memory counters see a kernel's (or cuDNN's) workspace; it goes back to the cache after.
template <class Run>
void with_workspace_bytes(size_t bytes, Run run) {
  void* ws = bytes ? cuda_device::allocate(bytes) : nullptr;
  try {
    run(ws);
  } catch (...) {
    cuda_device::release(ws, bytes);
    throw;
  }
  cuda_device::release(ws, bytes);
}
// The same with `floats` of float scratch (the split-K workspaces).
template <class Run>
void with_workspace(size_t floats, Run run) {
  with_workspace_bytes(floats * sizeof(float), [&](void* ws) { run(static_cast<float*>(ws)); });
}
bool conv_cudnn(const kernels::Conv2dShape& s) { return kernels::cuda::kernel_versions().cudnn && natural(s); }
void conv2d_forward(const Tensor& y, const Tensor& x, const Tensor& w, const Tensor& b, const kernels::Conv2dShape& s) {
  check_float32(x);
  if (conv_cudnn(s)) {
    const size_t bytes = kernels::cudnn::conv2d_forward_workspace(s);
    with_workspace_bytes(bytes, [&](void* ws) {
      kernels::cudnn::conv2d_forward(f32(y), f32(x), f32(w), f32(b), s, ws, bytes);
    });
  } else {
    kernels::cuda::conv2d_forward(f32(y), f32(x), f32(w), f32(b), s);
  }
}
void conv2d_backward_input(const Tensor& dx, const Tensor& dy, const Tensor& w, const kernels::Conv2dShape& s) {
  check_float32(dy);
  if (conv_cudnn(s)) {
    const size_t bytes = kernels::cudnn::conv2d_backward_input_workspace(s);
    with_workspace_bytes(bytes, [&](void* ws) {
      kernels::cudnn::conv2d_backward_input(f32(dx), f32(dy), f32(w), s, ws, bytes);
    });
  } else {
    kernels::cuda::conv2d_backward_input(f32(dx), f32(dy), f32(w), s);
  }
}
void conv2d_backward_weight(const Tensor& dw, const Tensor& dy, const Tensor& x, const kernels::Conv2dShape& s) {
  check_float32(x);
  if (conv_cudnn(s)) {
    const size_t bytes = kernels::cudnn::conv2d_backward_weight_workspace(s);
    with_workspace_bytes(bytes, [&](void* ws) {
      kernels::cudnn::conv2d_backward_weight(f32(dw), f32(dy), f32(x), s, ws, bytes);
    });
  } else {
    with_workspace(kernels::cuda::conv2d_backward_weight_workspace(s),
                   [&](float* ws) { kernels::cuda::conv2d_backward_weight(f32(dw), f32(dy), f32(x), s, ws, 0); });
  }
}
void modconv2d_forward(const Tensor& y, const Tensor& x, const Tensor& w, const Tensor& s, const Tensor& d,
                       const kernels::Conv2dShape& g) {
  check_float32(x);
  kernels::cuda::modconv2d_forward(f32(y), f32(x), f32(w), f32(s), f32(d), g);
}
void modconv2d_backward_input(const Tensor& dx, const Tensor& dy, const Tensor& w, const Tensor& s, const Tensor& d,
                              const kernels::Conv2dShape& g) {
  check_float32(dy);
  kernels::cuda::modconv2d_backward_input(f32(dx), f32(dy), f32(w), f32(s), f32(d), g);
}
void modconv2d_backward_weight(const Tensor& dw, const Tensor& dy, const Tensor& x, const Tensor& s, const Tensor& d,
                               const kernels::Conv2dShape& g) {
  check_float32(dy);
  with_workspace(kernels::cuda::modconv2d_backward_weight_workspace(g), [&](float* ws) {
    kernels::cuda::modconv2d_backward_weight(f32(dw), f32(dy), f32(x), f32(s), f32(d), g, ws);
  });
}
void upfirdn2d(const Tensor& y, const Tensor& x, const Tensor& f, const kernels::UpFirDn2dShape& s) {
  check_float32(x);
  kernels::cuda::upfirdn2d(f32(y), f32(x), f32(f), s);
}

// ---- images and indexing -----------------------------------------------------------------
void pad2d_forward(const Tensor& y, const Tensor& x, const int64_t p[4], bool reflect) {
  kernels::cuda::pad2d_forward(y.data<float>(), x.data<float>(), image_shape(x.shape()), p[0], p[1], p[2], p[3],
                               reflect);
}
void pad2d_backward(const Tensor& dx, const Tensor& g, const int64_t p[4], bool reflect) {
  kernels::cuda::pad2d_backward(dx.data<float>(), g.data<float>(), image_shape(dx.shape()), p[0], p[1], p[2], p[3],
                                reflect);
}
void upsample_forward(const Tensor& y, const Tensor& x, int64_t sh, int64_t sw) {
  kernels::cuda::upsample_nearest2d_forward(y.data<float>(), x.data<float>(), image_shape(x.shape()), sh, sw);
}
void upsample_backward(const Tensor& dx, const Tensor& g, int64_t sh, int64_t sw) {
  kernels::cuda::upsample_nearest2d_backward(dx.data<float>(), g.data<float>(), image_shape(dx.shape()), sh, sw);
}
void embedding_forward(const Tensor& y, const Tensor& idx, const Tensor& table) {
  kernels::cuda::embedding_forward(y.data<float>(), idx.data<int64_t>(), table.data<float>(), idx.numel(),
                                   table.size(1));
}
void embedding_backward(const Tensor& dt, const Tensor& g, const Tensor& idx) {
  kernels::cuda::embedding_backward(dt.data<float>(), g.data<float>(), idx.data<int64_t>(), idx.numel(), dt.size(0),
                                    dt.size(1));
}
void one_hot(const Tensor& y, const Tensor& labels, int64_t classes) {
  kernels::cuda::one_hot(y.data<float>(), labels.data<int64_t>(), labels.numel(), classes);
}

// ---- normalization: gantry's kernels or cuDNN's (kernels/cuda/dnn.cuh) ------------------
bool use_cudnn() { return kernels::cuda::kernel_versions().cudnn; }

void batch_norm_forward_train(const Tensor& y, const Tensor& save_mean, const Tensor& save_invstd, const Tensor& rm,
                              const Tensor& rv, const Tensor& x, const Tensor& w, const Tensor& b, double momentum,
                              double eps, double slope) {
  if (use_cudnn())
    kernels::cudnn::batch_norm_forward_train(f32(y), f32(save_mean), f32(save_invstd), f32(rm), f32(rv), f32(x), f32(w),
                                             f32(b), bn_shape(x), (float)momentum, (float)eps);
  else
    kernels::cuda::batch_norm_forward_train(f32(y), f32(save_mean), f32(save_invstd), f32(rm), f32(rv), f32(x), f32(w),
                                            f32(b), bn_shape(x), (float)momentum, (float)eps);
  // The fused activation, as its own elementwise pass over y on this device (the same
  // functors as relu / leaky_relu; no fused CUDA kernel yet).
  if (slope == 0) cuda_unary(y, y, kernels::elementwise::Relu<float>{});
  else if (slope > 0) cuda_unary(y, y, kernels::elementwise::LeakyRelu<float>{(float)slope});
}
void batch_norm_forward_eval(const Tensor& y, const Tensor& x, const Tensor& rm, const Tensor& rv, const Tensor& w,
                             const Tensor& b, double eps) {
  if (use_cudnn())
    kernels::cudnn::batch_norm_forward_eval(f32(y), f32(x), f32(rm), f32(rv), f32(w), f32(b), bn_shape(x), (float)eps);
  else
    kernels::cuda::batch_norm_forward_eval(f32(y), f32(x), f32(rm), f32(rv), f32(w), f32(b), bn_shape(x), (float)eps);
}
void batch_norm_backward(const Tensor& dx, const Tensor& dw, const Tensor& db, const Tensor& g_in, const Tensor& x,
                         const Tensor& save_mean, const Tensor& save_invstd, const Tensor& w, const Tensor& act,
                         double slope) {
  Tensor g = g_in;  // through the fused activation first, as leaky_relu_backward's own pass
  if (act.defined()) {
    g = empty(g_in.shape(), g_in.dtype(), g_in.device());
    cuda_binary(g, g_in, act, kernels::elementwise::LeakyReluBackward<float>{(float)slope});
  }
  if (use_cudnn())
    kernels::cudnn::batch_norm_backward(f32(dx), f32(dw), f32(db), f32(g), f32(x), f32(save_mean), f32(save_invstd),
                                        f32(w), bn_shape(x));
  else
    kernels::cuda::batch_norm_backward(f32(dx), f32(dw), f32(db), f32(g), f32(x), f32(save_mean), f32(save_invstd),
                                       f32(w), bn_shape(x));
}

// ---- penalties ----------------------------------------------------------------------------
void gradient_penalty_forward(const Tensor& p, const Tensor& norms, const Tensor& g, double lambda, double eps) {
  const int64_t n = g.size(0), k = g.numel() / n;
  kernels::cuda::gradient_penalty_forward(p.data<float>(), norms.data<float>(), g.data<float>(), n, k, (float)lambda,
                                          (float)eps);
}
void gradient_penalty_backward(const Tensor& dg, const Tensor& up, const Tensor& g, const Tensor& norms,
                               double lambda) {
  const int64_t n = g.size(0), k = g.numel() / n;
  kernels::cuda::gradient_penalty_backward(dg.data<float>(), up.data<float>(), g.data<float>(), norms.data<float>(), n,
                                           k, (float)lambda);
}

// ---- fused optimizer steps (float32 on the device) -------------------------------------
void sgd_step(const Tensor& p, const Tensor& buf, const Tensor& g, const kernels::SGDStep& h) {
  check_float32(p);
  kernels::cuda::sgd_step(p.data<float>(), buf.data<float>(), g.data<float>(), p.numel(), h);
}
void adam_step(const Tensor& p, const Tensor& m, const Tensor& v, const Tensor& g, const kernels::AdamStep& h) {
  check_float32(p);
  kernels::cuda::adam_step(p.data<float>(), m.data<float>(), v.data<float>(), g.data<float>(), p.numel(), h);
}
void rmsprop_step(const Tensor& p, const Tensor& sq, const Tensor& mom, const Tensor& g,
                  const kernels::RMSPropStep& h) {
  check_float32(p);
  kernels::cuda::rmsprop_step(p.data<float>(), sq.data<float>(), mom.data<float>(), g.data<float>(), p.numel(), h);
}

}  // namespace

const Backend& cuda_backend() {
  static const Backend b = {
      .name = "cuda",
      .allocate = allocate,
      .release = release,
      .memory_stats = memory_stats,
      .reset_peak_memory = reset_peak_memory,
      .fill = fill,
      .fill_uniform = fill_uniform,
      .fill_normal = fill_normal,
      .assign = assign,
      .rows = rows,
      .gemm = gemm,
      .conv2d_forward = conv2d_forward,
      .conv2d_forward_act = nullptr,  // the composition serves: conv2d_forward, then the elementwise activation
      .conv2d_backward_input = conv2d_backward_input,
      .conv2d_backward_weight = conv2d_backward_weight,
      .modconv2d_forward = modconv2d_forward,
      .modconv2d_backward_input = modconv2d_backward_input,
      .modconv2d_backward_weight = modconv2d_backward_weight,
      .upfirdn2d = upfirdn2d,
      .pad2d_forward = pad2d_forward,
      .pad2d_backward = pad2d_backward,
      .upsample_nearest2d_forward = upsample_forward,
      .upsample_nearest2d_backward = upsample_backward,
      .embedding_forward = embedding_forward,
      .embedding_backward = embedding_backward,
      .one_hot = one_hot,
      .batch_norm_forward_train = batch_norm_forward_train,
      .batch_norm_forward_eval = batch_norm_forward_eval,
      .batch_norm_backward = batch_norm_backward,
      .layer_norm_forward = nullptr,  // the composition serves: batch_norm's kernels, then mul, add, the activation
      .layer_norm_backward = nullptr,
      .gradient_penalty_forward = gradient_penalty_forward,
      .gradient_penalty_backward = gradient_penalty_backward,
      .sgd_step = sgd_step,
      .adam_step = adam_step,
      .rmsprop_step = rmsprop_step,
  };
  return b;
}

}  // namespace gantry::detail
