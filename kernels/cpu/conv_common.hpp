// kernels/cpu/conv_common.hpp — what conv.cpp's im2col path and conv_implicit.cpp's implicit
// GEMMs share: shape sizes, per-thread scratch, the per-thread table memo, the tap table,
// blocks of samples, the per-sample thread ranges, and the implicit GEMMs' entry points.
// Internal to kernels/cpu.
#pragma once
#include <omp.h>

#include <algorithm>
#include <array>
#include <climits>
#include <cstdint>
#include <memory>
#include <type_traits>
#include <vector>

#include "kernels/cpu/sgemm.hpp"
#include "kernels/elementwise_ops.hpp"
#include "kernels/shapes.hpp"

namespace gantry::kernels::cpu::conv_detail {

// The fewest GEMM columns a block of samples aims for (see the header): for Eigen's GEMM
// (backward weight only), and for gantry's AVX-512 SGEMM (every pass).
constexpr int64_t kBlockColumns = 128;
constexpr int64_t kBlockColumnsAvx512 = 384;

// Whether forward and backward input may put several samples side by side in one GEMM: only
// when the GEMM computes each element the same way wherever it sits (gantry's AVX-512 SGEMM),
// since a sample's result must not depend on its batch neighbours (see the header).
template <class T>
inline bool batch_invariant_gemm() {
  return std::is_same_v<T, float> && sgemm_batch_invariant(sgemm_kernel());
}

inline int64_t patch_size(const Conv2dShape& s) { return s.c_in * s.k_h * s.k_w; }
inline int64_t out_pixels(const Conv2dShape& s) { return s.out_h * s.out_w; }
inline int64_t in_pixels(const Conv2dShape& s) { return s.in_h * s.in_w; }

// This thread's scratch buffer number `slot` (< 3) of element type T, at least `count` long;
// kept between calls (conv.cpp's column buffers, conv_implicit.cpp's index tables).
template <class T>
T* scratch(int slot, int64_t count) {
  thread_local std::vector<T> buffers[3];
  auto& buffer = buffers[slot];
  if ((int64_t)buffer.size() < count) buffer.resize((size_t)count);
  return buffer.data();
}

// A thread's memo of the tables a conv builds from its geometry alone (the batch size aside,
// plus `extra`, e.g. a block's sample count): a training step runs the same few layers every
// step, and building a 7x7 layer's tables (49 taps x 784 pixels, with a branch per entry) cost
// more than its GEMMs: 40% of the CycleGAN step's time went to the tap and index tables of its
// c7s1 layers. Kind separates the memos of different tables; each keeps the last
// kMemoEntries geometries (round robin), so a value stays valid until this thread has built
// that many more of its kind: longer than the one call that asked for it. build() -> V makes
// a missing value; one over kMemoMaxBytes (bytes(V)) takes the kind's one oversized slot
// instead, kept until the next oversized value replaces it.
constexpr int kMemoEntries = 16;
constexpr size_t kMemoMaxBytes = size_t(4) << 20;
template <int Kind, class V, class Build, class Bytes>
const V& memo(const Conv2dShape& s, int64_t extra, Build build, Bytes bytes) {
  using Key = std::array<int64_t, 15>;
  const Key key{s.c_in,     s.in_h,     s.in_w,  s.c_out, s.out_h, s.out_w, s.k_h, s.k_w,
                s.stride_h, s.stride_w, s.pad_h, s.pad_w, s.dil_h, s.dil_w, extra};
  struct Entry {
    Key key{};
    std::unique_ptr<V> value;
  };
  thread_local std::array<Entry, kMemoEntries> entries;
  thread_local int next = 0;
  thread_local Entry oversized;
  for (Entry& e : entries)
    if (e.value && e.key == key) return *e.value;
  if (oversized.value && oversized.key == key) return *oversized.value;
  auto value = std::make_unique<V>(build());
  Entry& slot = bytes(*value) > kMemoMaxBytes ? oversized : entries[(size_t)next];
  if (&slot != &oversized) next = (next + 1) % kMemoEntries;
  slot.key = key;
  slot.value = std::move(value);
  return *slot.value;
}

// Output rows narrower than this are gathered through a tap table (im2col_table): the span
// copy's per-row setup costs more than the copy itself on DCGAN's 7-wide rows.
constexpr int64_t kTableBelowWidth = 16;

// The tap table: table[(kh*KW + kw)*P + oh*OW + ow] = ih*W + iw, the pixel of an input plane
// that output (oh, ow) reads through tap (kh, kw), or -1 where that is padding. The same for
// every channel and sample. Empty when the rows are wide enough for the span copy.
inline std::vector<int32_t> build_tap_table(const Conv2dShape& s) {
  if (s.out_w >= kTableBelowWidth || in_pixels(s) > INT32_MAX) return {};
  const int64_t P = out_pixels(s);
  std::vector<int32_t> table((size_t)(s.k_h * s.k_w * P));
  for (int64_t kh = 0; kh < s.k_h; ++kh)
    for (int64_t kw = 0; kw < s.k_w; ++kw)
      for (int64_t oh = 0; oh < s.out_h; ++oh)
        for (int64_t ow = 0; ow < s.out_w; ++ow) {
          const int64_t ih = oh * s.stride_h - s.pad_h + kh * s.dil_h, iw = ow * s.stride_w - s.pad_w + kw * s.dil_w;
          const bool inside = ih >= 0 && ih < s.in_h && iw >= 0 && iw < s.in_w;
          table[(size_t)((kh * s.k_w + kw) * P + oh * s.out_w + ow)] = inside ? (int32_t)(ih * s.in_w + iw) : -1;
        }
  return table;
}
// The bytes of an index table (memo's size for tap tables).
inline size_t table_bytes(const std::vector<int32_t>& t) { return t.size() * sizeof(int32_t); }
// build_tap_table's table for s, built once per geometry and thread (memo).
inline const std::vector<int32_t>& tap_table(const Conv2dShape& s) {
  return memo<0, std::vector<int32_t>>(
      s, 0, [&] { return build_tap_table(s); }, table_bytes);
}

// True when im2col of a sample is the sample itself, read as one column: the kernel covers
// the whole unpadded input and the output is 1x1 (DCGAN's 7x7 first and last layers). Then
// the conv is a dense layer on X[N, K] and needs no im2col / col2im at all.
inline bool is_full_kernel(const Conv2dShape& s) {
  return s.out_h == 1 && s.out_w == 1 && s.k_h == s.in_h && s.k_w == s.in_w && s.pad_h == 0 && s.pad_w == 0 &&
         (s.dil_h == 1 || s.k_h == 1) && (s.dil_w == 1 || s.k_w == 1);
}

// Samples per block: enough for kBlockColumns GEMM columns (128 measured best of 1, 128,
// 256, 512 on the DCGAN layers: larger blocks spill the column buffer out of L2), at most `limit`.
inline int64_t block_samples(const Conv2dShape& s, int64_t limit, int64_t columns = kBlockColumns) {
  const int64_t P = std::max<int64_t>(out_pixels(s), 1);
  return std::max<int64_t>(1, std::min(limit, (columns + P - 1) / P));
}

// Runs body(n0, n1, t, T) over thread t's contiguous range of samples, in one parallel
// region when there are at least as many samples as threads (then Eigen runs serially
// inside), else on the calling thread alone (t = 0, T = 1; Eigen threads its GEMMs).
template <class F>
void for_sample_ranges(int64_t n, F body) {
  const int threads = omp_get_max_threads();
  if (threads > 1 && n >= threads) {
#pragma omp parallel
    {
      const int64_t t = omp_get_thread_num(), nt = omp_get_num_threads();
      body(n * t / nt, n * (t + 1) / nt, (int)t, (int)nt);
    }
  } else {
    body(0, n, 0, 1);
  }
}

// dw[i] = the sum over the nt threads' partials[u][i], thread t summing its slice of the
// `total` elements (after a barrier: every partial is complete).
template <class T>
void sum_partials(T* dw, const std::vector<T*>& partials, int64_t total, int t, int nt) {
  const int64_t lo = total * t / nt, hi = total * (t + 1) / nt;
  for (int64_t i = lo; i < hi; ++i) {
    T acc = T(0);
    for (int u = 0; u < nt; ++u) acc += partials[u][i];
    dw[i] = acc;
  }
}

// ---- The implicit GEMMs (kernels/cpu/conv_implicit.cpp): float, gantry's AVX-512 SGEMM ----

// y = relu(y) (slope 0) or leaky_relu(y, slope) over n values, through those ops' functors,
// where conv2d_forward fused an activation it could not put in its tile store.
template <class T>
void activate_in_place(T* y, int64_t n, T slope) {
  if (slope == T(0)) {
#pragma omp simd
    for (int64_t i = 0; i < n; ++i) y[i] = elementwise::Relu<T>{}(y[i]);
  } else {
    const elementwise::LeakyRelu<T> leaky{slope};
#pragma omp simd
    for (int64_t i = 0; i < n; ++i) y[i] = leaky(y[i]);
  }
}

// Whether forward and backward weight run as implicit GEMMs: the batch-invariant AVX-512
// SGEMM, not the dense-layer path, int32 offsets, and in the caller's parallel region, or
// with at least as many samples as threads, or under kSerialImplicitFlops (then on one
// thread: splitting so small a GEMM cost more than it saved). Else the old path, whose GEMM
// threads itself. Both compute every element as the same FMA chain, so the same bits.
bool implicit_gemm(const Conv2dShape& s);
// Fewer samples than threads and less work than this (2·N·Cout·K·P flops): the implicit GEMM
// on the calling thread. CycleGAN's bench step (batch 1, 28x28, ngf 8: every conv 0.3-1.8
// MFLOP) ran 10-25% slower on 2 threads than on 1 through the threaded GEMM path.
constexpr double kSerialImplicitFlops = 1 << 23;
// Whether the whole conv is under kSerialImplicitFlops.
inline bool small_conv(const Conv2dShape& s) {
  return 2.0 * s.n * s.c_out * patch_size(s) * out_pixels(s) < kSerialImplicitFlops;
}
// Whether backward input runs as the s_h*s_w phase GEMMs: a stride above 1 dividing the
// kernel, no dilation, at least 16 input channels, the AVX-512 SGEMM; whatever the batch size
// and thread count (the two paths round differently).
bool phase_decomposable(const Conv2dShape& s);
// conv2d_forward, conv2d_backward_weight and conv2d_backward_input (conv.hpp's contracts) on
// those paths; call them only where implicit_gemm / phase_decomposable say so.
void forward_implicit(float* y, const float* x, const float* w, const float* bias, const Conv2dShape& s,
                      float slope = -1.0f);
void backward_weight_implicit(float* dw, const float* dy, const float* x, const Conv2dShape& s);
void backward_input_phases(float* dx, const float* dy, const float* w, const Conv2dShape& s);

}  // namespace gantry::kernels::cpu::conv_detail
