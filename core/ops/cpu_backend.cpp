// core/ops/cpu_backend.cpp — the cpu's table of core/ops/backend.hpp: each entry picks
// the element type (float32 or float64) and calls kernels/cpu over raw pointers.
#include <cstdlib>

#include "core/block_cache.hpp"
#include "core/ops/backend.hpp"
#include "core/ops/common.hpp"
#include "kernels/cpu/batchnorm.hpp"
#include "kernels/cpu/conv.hpp"
#include "kernels/cpu/embedding.hpp"
#include "kernels/cpu/gemm.hpp"
#include "kernels/cpu/image.hpp"
#include "kernels/cpu/modconv.hpp"
#include "kernels/cpu/optim.hpp"
#include "kernels/cpu/penalty.hpp"
#include "kernels/cpu/random.hpp"
#include "kernels/cpu/reduce.hpp"
#include "kernels/cpu/upfirdn.hpp"

namespace gantry::detail {

namespace {

// ---- storage: 64-byte aligned (Eigen and AVX loads), through a caching allocator --------
void* raw_allocate(size_t bytes) { return std::aligned_alloc(64, bytes); }  // bytes: a multiple of 64
void raw_release(void* p) { std::free(p); }
// Never destroyed: a tensor that outlives static destruction can still give its block back.
// Holds up to max(the most live bytes ever, 64 MiB) of freed blocks; off under AddressSanitizer.
BlockCache& cache() {
  static BlockCache* c = new BlockCache({raw_allocate, raw_release}, 64, (size_t)64 << 20, !kAddressSanitizer);
  return *c;
}

void* allocate(size_t n, Device d) {
  if (n == 0) return nullptr;
  void* p = cache().allocate(n);
  GANTRY_CHECK(p, "out of memory allocating ", n, " bytes on ", d.str());
  return p;
}
void release(void* p, size_t n) { cache().release(p, n); }
MemoryStats memory_stats() {
  const BlockCache::Stats s = cache().stats();
  return {s.current_bytes, s.peak_bytes};
}
void reset_peak_memory() { cache().reset_peak(); }

// ---- fills and copies ------------------------------------------------------------------
void fill(const Tensor& out, double value) {
  dispatch_all(out.dtype(), [&](auto tag) {
    using T = decltype(tag);
    T* p = out.data<T>();
    const int64_t n = out.numel();
    for (int64_t i = 0; i < n; ++i) p[i] = static_cast<T>(value);
  });
}
void fill_uniform(const Tensor& out, Rng& g, double lo, double hi) {
  dispatch_floating(out.dtype(), "rand", [&](auto tag) {
    using T = decltype(tag);
    uint64_t off = g.advance(kernels::cpu::philox_blocks_used<T>(out.numel()));
    kernels::cpu::fill_uniform<T>(out.data<T>(), out.numel(), g.seed(), off, (T)lo, (T)hi);
  });
}
void fill_normal(const Tensor& out, Rng& g, double mean, double std) {
  dispatch_floating(out.dtype(), "randn", [&](auto tag) {
    using T = decltype(tag);
    uint64_t off = g.advance(kernels::cpu::philox_blocks_used<T>(out.numel()));
    kernels::cpu::fill_normal<T>(out.data<T>(), out.numel(), g.seed(), off, (T)mean, (T)std);
  });
}
void assign(const Tensor& dst, const Tensor& src) {
  dispatch_all(dst.dtype(), [&](auto to) {
    using TO = decltype(to);
    dispatch_all(src.dtype(), [&](auto from) {
      using FROM = decltype(from);
      kernels::cpu::assign_strided<TO, FROM>(dst.data<TO>(), strided(dst, dst.shape()), src.data<FROM>(),
                                             strided(src, dst.shape()));
    });
  });
}

// ---- reductions, products --------------------------------------------------------------
void rows(RowReduce kind, const Tensor& out, const Tensor& in, int64_t rows, int64_t cols) {
  dispatch_floating(in.dtype(), "reduce", [&](auto tag) {
    using T = decltype(tag);
    switch (kind) {
      case RowReduce::sum: kernels::cpu::sum_rows(out.data<T>(), in.data<T>(), rows, cols); break;
      case RowReduce::max: kernels::cpu::max_rows(out.data<T>(), in.data<T>(), rows, cols); break;
      case RowReduce::argmax: kernels::cpu::argmax_rows(out.data<int64_t>(), in.data<T>(), rows, cols); break;
      case RowReduce::log_softmax: kernels::cpu::log_softmax_rows(out.data<T>(), in.data<T>(), rows, cols); break;
      case RowReduce::sum_columns: kernels::cpu::sum_columns(out.data<T>(), in.data<T>(), rows, cols); break;
    }
  });
}
void gemm(const Tensor& c, const Tensor& a, const Tensor& b, int64_t batch, int64_t m, int64_t n, int64_t k) {
  dispatch_floating(a.dtype(), "matmul", [&](auto tag) {
    using T = decltype(tag);
    kernels::cpu::gemm_batched<T>(c.data<T>(), a.data<T>(), b.data<T>(), batch, m, n, k);
  });
}

// ---- convolution --------------------------------------------------------------------------
void conv2d_forward(const Tensor& y, const Tensor& x, const Tensor& w, const Tensor& b, const kernels::Conv2dShape& s) {
  dispatch_floating(x.dtype(), "conv2d", [&](auto tag) {
    using T = decltype(tag);
    kernels::cpu::conv2d_forward<T>(y.data<T>(), x.data<T>(), w.data<T>(), ptr_or_null<T>(b), s);
  });
}
void conv2d_forward_act(const Tensor& y, const Tensor& x, const Tensor& w, const Tensor& b,
                        const kernels::Conv2dShape& s, double slope) {
  dispatch_floating(x.dtype(), "conv2d_act", [&](auto tag) {
    using T = decltype(tag);
    kernels::cpu::conv2d_forward<T>(y.data<T>(), x.data<T>(), w.data<T>(), ptr_or_null<T>(b), s, (T)slope);
  });
}
void conv2d_backward_input(const Tensor& dx, const Tensor& dy, const Tensor& w, const kernels::Conv2dShape& s) {
  dispatch_floating(dy.dtype(), "conv_transpose2d", [&](auto tag) {
    using T = decltype(tag);
    kernels::cpu::conv2d_backward_input<T>(dx.data<T>(), dy.data<T>(), w.data<T>(), s);
  });
}
void conv2d_backward_weight(const Tensor& dw, const Tensor& dy, const Tensor& x, const kernels::Conv2dShape& s) {
  dispatch_floating(x.dtype(), "conv2d_backward_weight", [&](auto tag) {
    using T = decltype(tag);
    kernels::cpu::conv2d_backward_weight<T>(dw.data<T>(), dy.data<T>(), x.data<T>(), s);
  });
}
// One modulated-conv pass: out = kernel(a, b, s, d) in a's dtype.
template <class Kernel>
void modconv_pass(const char* op, const Tensor& out, const Tensor& a, const Tensor& b, const Tensor& s, const Tensor& d,
                  Kernel k) {
  dispatch_floating(a.dtype(), op, [&](auto tag) {
    using T = decltype(tag);
    k(out.data<T>(), (const T*)a.data<T>(), (const T*)b.data<T>(), (const T*)ptr_or_null<T>(s),
      (const T*)ptr_or_null<T>(d));
  });
}
void modconv2d_forward(const Tensor& y, const Tensor& x, const Tensor& w, const Tensor& s, const Tensor& d,
                       const kernels::Conv2dShape& g) {
  modconv_pass("modulated_conv2d", y, x, w, s, d, [&](auto* o, auto pa, auto pb, auto ps, auto pd) {
    kernels::cpu::modconv2d_forward(o, pa, pb, ps, pd, g);
  });
}
void modconv2d_backward_input(const Tensor& dx, const Tensor& dy, const Tensor& w, const Tensor& s, const Tensor& d,
                              const kernels::Conv2dShape& g) {
  modconv_pass("modulated_conv2d", dx, dy, w, s, d, [&](auto* o, auto pa, auto pb, auto ps, auto pd) {
    kernels::cpu::modconv2d_backward_input(o, pa, pb, ps, pd, g);
  });
}
void modconv2d_backward_weight(const Tensor& dw, const Tensor& dy, const Tensor& x, const Tensor& s, const Tensor& d,
                               const kernels::Conv2dShape& g) {
  modconv_pass("modulated_conv2d", dw, dy, x, s, d, [&](auto* o, auto pa, auto pb, auto ps, auto pd) {
    kernels::cpu::modconv2d_backward_weight(o, pa, pb, ps, pd, g);
  });
}
void upfirdn2d(const Tensor& y, const Tensor& x, const Tensor& f, const kernels::UpFirDn2dShape& s) {
  dispatch_floating(x.dtype(), "upfirdn2d", [&](auto tag) {
    using T = decltype(tag);
    kernels::cpu::upfirdn2d<T>(y.data<T>(), x.data<T>(), f.data<T>(), s);
  });
}

// ---- images and indexing -----------------------------------------------------------------
kernels::cpu::PadMode pad_mode(bool reflect) {
  return reflect ? kernels::cpu::PadMode::reflect : kernels::cpu::PadMode::zero;
}
void pad2d_forward(const Tensor& y, const Tensor& x, const int64_t p[4], bool reflect) {
  dispatch_floating(x.dtype(), "pad2d", [&](auto tag) {
    using T = decltype(tag);
    kernels::cpu::pad2d_forward<T>(y.data<T>(), x.data<T>(), image_shape(x.shape()), p[0], p[1], p[2], p[3],
                                   pad_mode(reflect));
  });
}
void pad2d_backward(const Tensor& dx, const Tensor& g, const int64_t p[4], bool reflect) {
  dispatch_floating(g.dtype(), "pad2d_backward", [&](auto tag) {
    using T = decltype(tag);
    kernels::cpu::pad2d_backward<T>(dx.data<T>(), g.data<T>(), image_shape(dx.shape()), p[0], p[1], p[2], p[3],
                                    pad_mode(reflect));
  });
}
void upsample_forward(const Tensor& y, const Tensor& x, int64_t sh, int64_t sw) {
  dispatch_floating(x.dtype(), "upsample_nearest2d", [&](auto tag) {
    using T = decltype(tag);
    kernels::cpu::upsample_nearest2d_forward<T>(y.data<T>(), x.data<T>(), image_shape(x.shape()), sh, sw);
  });
}
void upsample_backward(const Tensor& dx, const Tensor& g, int64_t sh, int64_t sw) {
  dispatch_floating(g.dtype(), "upsample_nearest2d_backward", [&](auto tag) {
    using T = decltype(tag);
    kernels::cpu::upsample_nearest2d_backward<T>(dx.data<T>(), g.data<T>(), image_shape(dx.shape()), sh, sw);
  });
}
void embedding_forward(const Tensor& y, const Tensor& idx, const Tensor& table) {
  dispatch_floating(table.dtype(), "embedding", [&](auto tag) {
    using T = decltype(tag);
    kernels::cpu::embedding_forward<T>(y.data<T>(), idx.data<int64_t>(), table.data<T>(), idx.numel(), table.size(0),
                                       table.size(1));
  });
}
void embedding_backward(const Tensor& dt, const Tensor& g, const Tensor& idx) {
  dispatch_floating(g.dtype(), "embedding_backward", [&](auto tag) {
    using T = decltype(tag);
    kernels::cpu::embedding_backward<T>(dt.data<T>(), g.data<T>(), idx.data<int64_t>(), idx.numel(), dt.size(0),
                                        dt.size(1));
  });
}
void one_hot(const Tensor& y, const Tensor& labels, int64_t classes) {
  dispatch_floating(y.dtype(), "one_hot", [&](auto tag) {
    using T = decltype(tag);
    const int64_t* l = labels.data<int64_t>();
    T* p = y.data<T>();
    for (int64_t i = 0; i < labels.numel(); ++i) p[i * classes + l[i]] = T(1);
  });
}

// ---- normalization, penalties --------------------------------------------------------------
void batch_norm_forward_train(const Tensor& y, const Tensor& save_mean, const Tensor& save_invstd, const Tensor& rm,
                              const Tensor& rv, const Tensor& x, const Tensor& w, const Tensor& b, double momentum,
                              double eps, double slope) {
  dispatch_floating(x.dtype(), "batch_norm", [&](auto tag) {
    using T = decltype(tag);
    kernels::cpu::batch_norm_forward_train<T>(y.data<T>(), save_mean.data<T>(), save_invstd.data<T>(),
                                              ptr_or_null<T>(rm), ptr_or_null<T>(rv), x.data<T>(), ptr_or_null<T>(w),
                                              ptr_or_null<T>(b), bn_shape(x), (T)momentum, (T)eps, (T)slope);
  });
}
void batch_norm_backward(const Tensor& dx, const Tensor& dw, const Tensor& db, const Tensor& g, const Tensor& x,
                         const Tensor& save_mean, const Tensor& save_invstd, const Tensor& w, const Tensor& act,
                         double slope) {
  dispatch_floating(x.dtype(), "batch_norm", [&](auto tag) {
    using T = decltype(tag);
    kernels::cpu::batch_norm_backward<T>(dx.data<T>(), ptr_or_null<T>(dw), ptr_or_null<T>(db), g.data<T>(), x.data<T>(),
                                         save_mean.data<T>(), save_invstd.data<T>(), ptr_or_null<T>(w), bn_shape(x),
                                         ptr_or_null<T>(act), (T)slope);
  });
}
void layer_norm_forward(const Tensor& y, const Tensor& save_mean, const Tensor& save_invstd, const Tensor& x,
                        const Tensor& w, const Tensor& b, double eps, double slope) {
  const int64_t len = w.numel(), rows = len ? x.numel() / len : 0;
  dispatch_floating(x.dtype(), "layer_norm", [&](auto tag) {
    using T = decltype(tag);
    kernels::cpu::layer_norm_forward<T>(y.data<T>(), save_mean.data<T>(), save_invstd.data<T>(), x.data<T>(),
                                        w.data<T>(), b.data<T>(), rows, len, (T)eps, (T)slope);
  });
}
void layer_norm_backward(const Tensor& dx, const Tensor& dw, const Tensor& db, const Tensor& g, const Tensor& x,
                         const Tensor& save_mean, const Tensor& save_invstd, const Tensor& w, const Tensor& act,
                         double slope) {
  const int64_t len = w.numel(), rows = len ? x.numel() / len : 0;
  dispatch_floating(x.dtype(), "layer_norm", [&](auto tag) {
    using T = decltype(tag);
    kernels::cpu::layer_norm_backward<T>(ptr_or_null<T>(dx), ptr_or_null<T>(dw), ptr_or_null<T>(db), g.data<T>(),
                                         x.data<T>(), save_mean.data<T>(), save_invstd.data<T>(), w.data<T>(), rows,
                                         len, ptr_or_null<T>(act), (T)slope);
  });
}
void gradient_penalty_forward(const Tensor& p, const Tensor& norms, const Tensor& g, double lambda, double eps) {
  const int64_t n = g.size(0), k = g.numel() / n;
  dispatch_floating(g.dtype(), "gradient_penalty", [&](auto tag) {
    using T = decltype(tag);
    kernels::cpu::gradient_penalty_forward<T>(p.data<T>(), norms.data<T>(), g.data<T>(), n, k, (T)lambda, (T)eps);
  });
}
void gradient_penalty_backward(const Tensor& dg, const Tensor& up, const Tensor& g, const Tensor& norms,
                               double lambda) {
  const int64_t n = g.size(0), k = g.numel() / n;
  dispatch_floating(g.dtype(), "gradient_penalty", [&](auto tag) {
    using T = decltype(tag);
    kernels::cpu::gradient_penalty_backward<T>(dg.data<T>(), up.data<T>(), g.data<T>(), norms.data<T>(), n, k,
                                               (T)lambda);
  });
}

// ---- fused optimizer steps -------------------------------------------------------------
void sgd_step(const Tensor& p, const Tensor& buf, const Tensor& g, const kernels::SGDStep& h) {
  dispatch_floating(p.dtype(), "sgd_step", [&](auto tag) {
    using T = decltype(tag);
    kernels::cpu::sgd_step<T>(p.data<T>(), buf.data<T>(), g.data<T>(), p.numel(), h);
  });
}
void adam_step(const Tensor& p, const Tensor& m, const Tensor& v, const Tensor& g, const kernels::AdamStep& h) {
  dispatch_floating(p.dtype(), "adam_step", [&](auto tag) {
    using T = decltype(tag);
    kernels::cpu::adam_step<T>(p.data<T>(), m.data<T>(), v.data<T>(), g.data<T>(), p.numel(), h);
  });
}
void rmsprop_step(const Tensor& p, const Tensor& sq, const Tensor& mom, const Tensor& g,
                  const kernels::RMSPropStep& h) {
  dispatch_floating(p.dtype(), "rmsprop_step", [&](auto tag) {
    using T = decltype(tag);
    kernels::cpu::rmsprop_step<T>(p.data<T>(), sq.data<T>(), mom.data<T>(), g.data<T>(), p.numel(), h);
  });
}

}  // namespace

const Backend& cpu_backend() {
  static const Backend b = {
      .name = "cpu",
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
      .conv2d_forward_act = conv2d_forward_act,
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
      .batch_norm_forward_eval = nullptr,  // the composition of ops serves the cpu
      .batch_norm_backward = batch_norm_backward,
      .layer_norm_forward = layer_norm_forward,
      .layer_norm_backward = layer_norm_backward,
      .gradient_penalty_forward = gradient_penalty_forward,
      .gradient_penalty_backward = gradient_penalty_backward,
      .sgd_step = sgd_step,
      .adam_step = adam_step,
      .rmsprop_step = rmsprop_step,
  };
  return b;
}

}  // namespace gantry::detail
