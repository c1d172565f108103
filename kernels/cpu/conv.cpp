// kernels/cpu/conv.cpp — conv2d as GEMMs over blocks of samples: implicit GEMMs (patches
// gathered straight into the SGEMM's panels, tiles stored straight into the output) with
// gantry's AVX-512 SGEMM, im2col + GEMM + col2im otherwise.
//
// Math (K = Cin*KH*KW, P = OH*OW; a block of B samples n0..n0+B-1, column j = b*P + p):
//   cols[k = (ci*KH + kh)*KW + kw, j] = x[n0+b, ci, oh*sh - ph + kh*dh, ow*sw - pw + kw*dw]  (0 outside)
//   forward:          Yb[Cout, B*P] = W[Cout, K] @ cols[K, B*P];  y[n0+b, co, p] = Yb[co, b*P + p] (+ bias[co])
//   backward input:   dYb[Cout, B*P] = dy of the block, side by side; dcols[K, B*P] = W^T @ dYb; col2im
//                     adds each dcols entry back into the x position it was read from
//   backward weight:  dW[Cout, K] = sum over blocks of dYb @ cols^T
// Backward input by phases (stride s_h x s_w dividing the kernel, no dilation, Cin >= 16):
// the input pixels (ih, iw) = (rh + sh*a, rw + sw*c) of one phase (rh, rw) are reached only
// by the taps kh = kh0 + sh*t (kh0 = (rh + ph) mod sh, t < T = KH/sh), kw = kw0 + sw*u
// (u < U = KW/sw), from output (oh, ow) = (a + d_h - t, c + d_w - u), d_h = (rh + ph - kh0)/sh:
//   dX_phase[Cin, B*P'] = W_phase[Cin, Cout*T*U] @ G[Cout*T*U, B*P'],  P' = A_h*A_w pixels a sample,
//   W_phase[ci, (co*T + t)*U + u] = w[co, ci, kh0 + sh*t, kw0 + sw*u],
//   G[(co, t, u), b*P' + a*A_w + c] = dy[n0+b, co, a + d_h - t, c + d_w - u]  (0 outside),
// a stride-1 correlation of dy with a (KH/sh)x(KW/sw) sub-kernel; every dx element is written
// once by its phase (no zero fill, no scatter-add).
// The GEMM: float through gantry's AVX-512 SGEMM where the CPU has it (kernels/cpu/sgemm.hpp)
// — as implicit GEMMs on its loop nest (sgemm_avx512.hpp's gemm_nest): forward packs cols
// straight from x into the B panels (16-lane masked gathers through a per-thread index table,
// index[tap, b*P + p] = b*Cin*H*W + the tap table's pixel, or one or two masked loads where a
// 16-column group is one or two runs of consecutive pixels) and stores each register tile
// straight into y (column j at y + co*P + b*Cout*P + p: per 16-column group two masked
// stores, or a scatter where a group spans more than two samples); backward weight reads dYb
// from dy in place (the same column groups) and gathers cols^T into its B panels (16
// gathers + a 16x16 register transpose); the phase GEMMs gather G from dy and scatter their
// tiles to the phase's pixels of dx (all of k in one block, so each tile is stored once).
// Without it (Eigen: no AVX-512, kSgemmDefault = kEigen; double always) im2col into a column
// buffer, sgemm or Eigen, and a copy-out / col2im.
// Why blocks: the DCGAN layers have P = 1..196, so one GEMM per sample is a skinny product
// (W is packed again for every sample, and P = 1 is a gemv). B = ceil(columns / P) samples
// side by side make one GEMM with >= columns columns (kBlockColumns = 128 for Eigen,
// kBlockColumnsAvx512 = 384 for ours). A sample's output must be bitwise independent of its
// batch neighbours (tests/gan compare samples across batch sizes): Eigen's rounding depends
// on a column's place in the GEMM, so with Eigen only backward weight (a sum over the batch
// anyway) uses blocks and forward / backward input take B = 1; gantry's AVX-512 SGEMM
// computes every element as one FMA chain over k in order, so with it all three use blocks,
// and the dense-layer path below is one GEMM over the batch. Which backward-input path runs
// (phases or GEMM + col2im: they round differently) depends on the geometry only, never on
// the batch size or thread count.
// Layout: NCHW, dense. Loop nest / thread mapping (one OpenMP region per call):
//   parallel:  thread t owns samples [N*t/T, N*(t+1)/T)               (when N >= T > 1)
//     for each block of B samples in its range:
//       implicit: one gemm_nest (per phase, for backward input) into y / dx / this thread's dW
//       else: im2col (or the dy gather) into this thread's scratch (reused across calls),
//             one GEMM (sgemm or Eigen), single-threaded inside the region,
//             copy out to y / col2im into dx / accumulate this thread's dW
//   (backward weight: after a barrier, the threads sum the per-thread dW, split by element)
// With fewer samples than threads the blocks run on the calling thread and the GEMM threads
// itself (sgemm_threaded, or Eigen); the phase GEMMs then run one (sample, phase) a thread.
// A kernel that covers the whole unpadded input (1x1
// output: DCGAN's 7x7 layers) needs no im2col / col2im: the sample itself is its column
// (forward, backward input; with the AVX-512 SGEMM one GEMM over the batch, Y = X W^T and
// dX = dY W), and backward weight is one GEMM over the batch, dW = dY^T X.
// im2col / col2im have no per-pixel bounds test: rows of 16 or more outputs use each tap's
// precomputed in-range span (memcpy, or a 2-strided loop the compiler vectorizes); narrower
// rows go through a per-call tap table (the input pixel of each output and tap, -1 for
// padding): AVX-512 masked gathers for im2col, gather-add-scatters for col2im.
// Versions: 1 = one im2col + GEMM per sample, per-pixel bounds tests (was 40% of a DCGAN
// step in im2col/col2im); 2 = blocks of samples, span-based im2col/col2im, scratch reuse,
// the dense-layer path; 3 = the tap-table im2col and col2im for narrow rows (v2's
// im2col was still 20% of the step, col2im 10%; the table brought im2col to 8%); 4 = the
// GEMMs through sgemm, and with gantry's batch-invariant AVX-512 SGEMM blocks of samples in
// forward and backward input too (docs/kernels/cpu_gemm.md); 5 (this) = with the AVX-512
// SGEMM, implicit GEMMs for forward and backward weight (no cols buffer, no packing pass, no
// copy-out) and the phase GEMMs for strided backward input (no col2im).
// docs/kernels/cpu_conv.md has the measured rates.
// GCC 12 warns -W(maybe-)uninitialized inside its own avx512fintrin.h for the in-register
// transposes of sgemm_avx512.hpp (a known false positive, as in sgemm_avx512.cpp).
#pragma GCC diagnostic ignored "-Wuninitialized"
#if !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include "kernels/cpu/conv.hpp"

#include <omp.h>

#if defined(__AVX512F__)
#include <immintrin.h>
#endif
#include <type_traits>
#include <algorithm>
#include <climits>
#include <cstdint>
#include <cstring>
#include <vector>

#include "kernels/cpu/sgemm.hpp"
#include "kernels/cpu/sgemm_avx512.hpp"

namespace gantry::kernels::cpu {

namespace {

// The fewest GEMM columns a block of samples aims for (see the header): for Eigen's GEMM
// (backward weight only), and for gantry's AVX-512 SGEMM (every pass).
constexpr int64_t kBlockColumns = 128;
constexpr int64_t kBlockColumnsAvx512 = 384;

// Whether forward and backward input may put several samples side by side in one GEMM: only
// when the GEMM computes each element the same way wherever it sits (gantry's AVX-512 SGEMM),
// since a sample's result must not depend on its batch neighbours (see the header).
template <class T>
bool batch_invariant_gemm() {
  return std::is_same_v<T, float> && sgemm_batch_invariant(sgemm_kernel());
}

int64_t patch_size(const Conv2dShape& s) { return s.c_in * s.k_h * s.k_w; }
int64_t out_pixels(const Conv2dShape& s) { return s.out_h * s.out_w; }
int64_t in_pixels(const Conv2dShape& s) { return s.in_h * s.in_w; }

// This thread's scratch buffer number `slot`, at least `count` long; kept between calls.
template <class T>
T* scratch(int slot, int64_t count) {
  thread_local std::vector<T> buffers[3];
  auto& buffer = buffers[slot];
  if ((int64_t)buffer.size() < count) buffer.resize((size_t)count);
  return buffer.data();
}

// The outputs o in [lo, hi) whose input i = o*stride - pad + k*dil, along one axis, lies in
// [0, in_size), for kernel tap k.
struct Span {
  int64_t lo, hi;
};
Span in_range(int64_t k, int64_t stride, int64_t pad, int64_t dil, int64_t in_size, int64_t out_size) {
  const int64_t offset = k * dil - pad;  // i = o*stride + offset
  const int64_t lo = offset >= 0 ? 0 : (-offset + stride - 1) / stride;
  const int64_t hi = in_size - 1 - offset < 0 ? 0 : (in_size - 1 - offset) / stride + 1;
  const int64_t lo_c = std::min(lo, out_size), hi_c = std::min(hi, out_size);
  return {lo_c, std::max(lo_c, hi_c)};
}

// out[o] = in[o*stride] for o < count.
template <class T>
void gather_strided(T* __restrict out, const T* __restrict in, int64_t count, int64_t stride) {
  if (stride == 1) {
    std::memcpy(out, in, (size_t)count * sizeof(T));
  } else if (stride == 2) {
    for (int64_t o = 0; o < count; ++o) out[o] = in[2 * o];
  } else {
    for (int64_t o = 0; o < count; ++o) out[o] = in[o * stride];
  }
}

// out[o*stride] += in[o] for o < count.
template <class T>
void scatter_add_strided(T* __restrict out, const T* __restrict in, int64_t count, int64_t stride) {
  if (stride == 1) {
    for (int64_t o = 0; o < count; ++o) out[o] += in[o];
  } else if (stride == 2) {
    for (int64_t o = 0; o < count; ++o) out[2 * o] += in[o];
  } else {
    for (int64_t o = 0; o < count; ++o) out[o * stride] += in[o];
  }
}

// cols[k, 0..P) (row k at cols + k*ld) from one sample x[Cin, H, W].
template <class T>
void im2col(T* cols, int64_t ld, const T* x, const Conv2dShape& s) {
  for (int64_t ci = 0; ci < s.c_in; ++ci)
    for (int64_t kh = 0; kh < s.k_h; ++kh) {
      const Span rows = in_range(kh, s.stride_h, s.pad_h, s.dil_h, s.in_h, s.out_h);
      for (int64_t kw = 0; kw < s.k_w; ++kw) {
        const Span cs = in_range(kw, s.stride_w, s.pad_w, s.dil_w, s.in_w, s.out_w);
        T* row = cols + ((ci * s.k_h + kh) * s.k_w + kw) * ld;
        std::fill(row, row + rows.lo * s.out_w, T(0));
        for (int64_t oh = rows.lo; oh < rows.hi; ++oh) {
          T* out = row + oh * s.out_w;
          const int64_t ih = oh * s.stride_h - s.pad_h + kh * s.dil_h;
          const int64_t iw0 = cs.lo * s.stride_w - s.pad_w + kw * s.dil_w;
          std::fill(out, out + cs.lo, T(0));
          gather_strided(out + cs.lo, x + (ci * s.in_h + ih) * s.in_w + iw0, cs.hi - cs.lo, s.stride_w);
          std::fill(out + cs.hi, out + s.out_w, T(0));
        }
        std::fill(row + rows.hi * s.out_w, row + s.out_h * s.out_w, T(0));
      }
    }
}

// Output rows narrower than this are gathered through a tap table (im2col_table): the span
// copy's per-row setup costs more than the copy itself on DCGAN's 7-wide rows.
constexpr int64_t kTableBelowWidth = 16;

// The tap table: table[(kh*KW + kw)*P + oh*OW + ow] = ih*W + iw, the pixel of an input plane
// that output (oh, ow) reads through tap (kh, kw), or -1 where that is padding. The same for
// every channel and sample. Empty when the rows are wide enough for the span copy.
std::vector<int32_t> tap_table(const Conv2dShape& s, bool any_width = false) {
  if ((!any_width && s.out_w >= kTableBelowWidth) || in_pixels(s) > INT32_MAX) return {};
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

// im2col through the tap table: one pass over the P outputs of each row, whatever the row
// width. float with AVX-512 (the build's -march=native): 16-lane masked gathers; else a
// scalar select (the portable path, and double).
template <class T>
void im2col_table(T* cols, int64_t ld, const T* x, const int32_t* table, const Conv2dShape& s) {
  const int64_t taps = s.k_h * s.k_w, P = out_pixels(s);
  for (int64_t ci = 0; ci < s.c_in; ++ci) {
    const T* plane = x + ci * in_pixels(s);
    for (int64_t tap = 0; tap < taps; ++tap) {
      const int32_t* index = table + tap * P;
      T* __restrict out = cols + (ci * taps + tap) * ld;
      int64_t p = 0;
#if defined(__AVX512F__)
      // 16 outputs a step: a masked gather (lanes of padding read nothing and stay 0); the
      // last partial step masks the loads and the store as well.
      if constexpr (std::is_same_v<T, float>) {
        const __m512i zero = _mm512_setzero_si512();
        for (; p < P; p += 16) {
          const __mmask16 lanes = P - p >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (P - p)) - 1);
          const __m512i i = _mm512_maskz_loadu_epi32(lanes, index + p);
          const __mmask16 inside = _mm512_mask_cmpge_epi32_mask(lanes, i, zero);
          const __m512 v = _mm512_mask_i32gather_ps(_mm512_setzero_ps(), inside, i, plane, 4);
          _mm512_mask_storeu_ps(out + p, lanes, v);
        }
      }
#endif
      for (; p < P; ++p) {
        const int32_t i = index[p];
        const T v = plane[i < 0 ? 0 : i];
        out[p] = i < 0 ? T(0) : v;
      }
    }
  }
}

// im2col of one sample: through the tap table when there is one, else by spans.
template <class T>
void im2col(T* cols, int64_t ld, const T* x, const std::vector<int32_t>& table, const Conv2dShape& s) {
  if (table.empty()) im2col(cols, ld, x, s);
  else im2col_table(cols, ld, x, table.data(), s);
}

// x[Cin, H, W] = the columns cols[k, 0..P) (row k at cols + k*ld) scattered back: the adjoint
// of im2col. Overwrites x; each channel plane is zeroed just before it is accumulated.
template <class T>
void col2im(T* x, const T* cols, int64_t ld, const Conv2dShape& s) {
  for (int64_t ci = 0; ci < s.c_in; ++ci) {
    T* plane = x + ci * in_pixels(s);
    std::fill(plane, plane + in_pixels(s), T(0));
    for (int64_t kh = 0; kh < s.k_h; ++kh) {
      const Span rows = in_range(kh, s.stride_h, s.pad_h, s.dil_h, s.in_h, s.out_h);
      for (int64_t kw = 0; kw < s.k_w; ++kw) {
        const Span cs = in_range(kw, s.stride_w, s.pad_w, s.dil_w, s.in_w, s.out_w);
        const T* row = cols + ((ci * s.k_h + kh) * s.k_w + kw) * ld;
        for (int64_t oh = rows.lo; oh < rows.hi; ++oh) {
          const int64_t ih = oh * s.stride_h - s.pad_h + kh * s.dil_h;
          const int64_t iw0 = cs.lo * s.stride_w - s.pad_w + kw * s.dil_w;
          scatter_add_strided(plane + ih * s.in_w + iw0, row + oh * s.out_w + cs.lo, cs.hi - cs.lo, s.stride_w);
        }
      }
    }
  }
}

// True when im2col of a sample is the sample itself, read as one column: the kernel covers
// the whole unpadded input and the output is 1x1 (DCGAN's 7x7 first and last layers). Then
// the conv is a dense layer on X[N, K] and needs no im2col / col2im at all.
bool is_full_kernel(const Conv2dShape& s) {
  return s.out_h == 1 && s.out_w == 1 && s.k_h == s.in_h && s.k_w == s.in_w && s.pad_h == 0 && s.pad_w == 0 &&
         (s.dil_h == 1 || s.k_h == 1) && (s.dil_w == 1 || s.k_w == 1);
}

// col2im through the tap table: plane[table[tap, p]] += the row's p-th value, for every tap
// of every channel; each plane is zeroed just before. Within one tap no two outputs read the
// same pixel, so the AVX-512 path's 16-lane gather-add-scatter has no conflicting lanes.
template <class T>
void col2im_table(T* x, const T* cols, int64_t ld, const int32_t* table, const Conv2dShape& s) {
  const int64_t taps = s.k_h * s.k_w, P = out_pixels(s);
  for (int64_t ci = 0; ci < s.c_in; ++ci) {
    T* plane = x + ci * in_pixels(s);
    std::fill(plane, plane + in_pixels(s), T(0));
    for (int64_t tap = 0; tap < taps; ++tap) {
      const int32_t* index = table + tap * P;
      const T* __restrict row = cols + (ci * taps + tap) * ld;
      int64_t p = 0;
#if defined(__AVX512F__)
      if constexpr (std::is_same_v<T, float>) {
        const __m512i zero = _mm512_setzero_si512();
        for (; p < P; p += 16) {
          const __mmask16 lanes = P - p >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (P - p)) - 1);
          const __m512i i = _mm512_maskz_loadu_epi32(lanes, index + p);
          const __mmask16 inside = _mm512_mask_cmpge_epi32_mask(lanes, i, zero);
          const __m512 acc = _mm512_mask_i32gather_ps(_mm512_setzero_ps(), inside, i, plane, 4);
          const __m512 sum = _mm512_add_ps(acc, _mm512_maskz_loadu_ps(inside, row + p));
          _mm512_mask_i32scatter_ps(plane, inside, i, sum, 4);
        }
      }
#endif
      for (; p < P; ++p)
        if (index[p] >= 0) plane[index[p]] += row[p];
    }
  }
}

// col2im of one sample: through the tap table when there is one, else by spans.
template <class T>
void col2im(T* x, const T* cols, int64_t ld, const std::vector<int32_t>& table, const Conv2dShape& s) {
  if (table.empty()) col2im(x, cols, ld, s);
  else col2im_table(x, cols, ld, table.data(), s);
}

// Samples per block: enough for kBlockColumns GEMM columns (128 measured best of 1, 128,
// 256, 512 on the DCGAN layers: larger blocks spill the column buffer out of L2), at most `limit`.
int64_t block_samples(const Conv2dShape& s, int64_t limit, int64_t columns = kBlockColumns) {
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

// dYb[Cout, B*P] = dy[n0 .. n0+B) side by side (backward weight's blocks) (dYb[co, b*P + p] = dy[n0+b, co, p]).
template <class T>
void gather_block(T* dyb, const T* dy, int64_t n0, int64_t B, const Conv2dShape& s) {
  const int64_t P = out_pixels(s);
  for (int64_t co = 0; co < s.c_out; ++co)
    for (int64_t b = 0; b < B; ++b)
      std::memcpy(dyb + co * B * P + b * P, dy + ((n0 + b) * s.c_out + co) * P, (size_t)P * sizeof(T));
}

// ---- The implicit GEMMs (float with gantry's AVX-512 SGEMM; see the header) ----

namespace avx = gantry::kernels::cpu::avx512;

// This thread's int32 / ColVec scratch number `slot`, at least `count` long; kept between calls.
int32_t* index_scratch(int slot, int64_t count) {
  thread_local std::vector<int32_t> buffers[4];
  auto& buffer = buffers[slot];
  if ((int64_t)buffer.size() < count) buffer.resize((size_t)count);
  return buffer.data();
}
// This thread's ColVec scratch number `slot`, at least `count` long; kept between calls.
avx::ColVec* colvec_scratch(int slot, int64_t count) {
  thread_local std::vector<avx::ColVec> buffers[2];
  auto& buffer = buffers[slot];
  if ((int64_t)buffer.size() < count) buffer.resize((size_t)count);
  return buffer.data();
}

int64_t groups_of(int64_t columns) { return (columns + 15) / 16; }

// gv[tap*groups_of(ld) + g] = the 16-column group g of index row `tap` (index[tap*ld + j]):
// a gather where its lanes are scattered, else one or two masked loads (stride-1 layers,
// and the phase GEMMs whose phase grid is dy's own).
void gather_groups(avx::ColVec* gv, const int32_t* index, int64_t taps, int64_t ld) {
  for (int64_t tap = 0; tap < taps; ++tap) avx::col_vectors(gv + tap * groups_of(ld), index + tap * ld, ld);
}

// index[tap*ld + b*P + p] = b*sample + table[tap*P + p] (-1 where the table has -1), for
// b < B, p < P, tap < taps (ld = B*P): where column b*P + p of a block of B samples reads
// through `tap`, relative to the block's first sample.
void block_index(int32_t* index, const int32_t* table, int64_t taps, int64_t P, int64_t B, int64_t sample) {
  for (int64_t tap = 0; tap < taps; ++tap)
    for (int64_t b = 0; b < B; ++b)
      for (int64_t p = 0; p < P; ++p) {
        const int32_t t = table[tap * P + p];
        index[tap * B * P + b * P + p] = t < 0 ? -1 : (int32_t)(b * sample + t);
      }
}

// Whether every offset of a block of samples, sized for `columns` pixels a sample (x, y, dx,
// dy), fits int32; whatever the batch size, so the choice of path does not depend on it.
bool offsets_fit(const Conv2dShape& s, int64_t columns) {
  const int64_t B = (kBlockColumnsAvx512 + std::max<int64_t>(columns, 1) - 1) / std::max<int64_t>(columns, 1) + 1;
  return B * s.c_in * in_pixels(s) <= INT32_MAX && B * s.c_out * out_pixels(s) <= INT32_MAX;
}

// The implicit GEMMs run in the caller's parallel region or on one thread: with fewer
// samples than threads, the old path (whose GEMM threads itself) is kept.
template <class T>
bool implicit_gemm(const Conv2dShape& s) {
  if constexpr (!std::is_same_v<T, float>) {
    return false;
  } else {
    if (!batch_invariant_gemm<float>() || is_full_kernel(s)) return false;
    const int64_t threads = omp_in_parallel() ? 1 : omp_get_max_threads();
    if (threads > 1 && s.n < threads) return false;
    return offsets_fit(s, out_pixels(s));
  }
}

// gemm_nest's operands for C[m, n] = A[m, k] @ B[k, n] with A plain row-major (a, lda), B a
// patch gather, B[k, j] = src[(k / taps)*plane + index[(k % taps)*ld + j]] (0 where the index
// is -1) by its 16-column groups gv[(k % taps)*groups + j/16] (gather_groups), and C's
// columns at offsets (row i at c + i*ldc, its 16-column groups as cv says).
struct PatchOps {
  const float* a;
  int64_t lda;
  const float* src;
  int64_t plane, taps;
  const avx::ColVec* gv;
  int64_t groups;
  float* c;
  int64_t ldc;
  const avx::ColVec* cv;
  GANTRY_AVX512 void pack_a(float* ap, int64_t i0, int64_t rows, int64_t p0, int64_t kc) const {
    avx::pack_a(ap, a, lda, false, i0, rows, p0, kc);
  }
  // Per row of the panel, two 16-lane masked gathers or loads: padding lanes read nothing.
  GANTRY_AVX512 void pack_b(float* __restrict bp, int64_t j0, int64_t cols, int64_t p0, int64_t kc) const {
    const __mmask16 m0 = avx::lanes(cols), m1 = cols > 16 ? avx::lanes(cols - 16) : (__mmask16)0;
    int64_t ch = p0 / taps, tap = p0 % taps;
    for (int64_t q = 0; q < kc; ++q) {
      const float* from = src + ch * plane;
      const avx::ColVec* g = gv + tap * groups + j0 / 16;
      _mm512_store_ps(bp + q * avx::kNR, avx::load_cols(from, g[0], m0));
      _mm512_store_ps(bp + q * avx::kNR + 16, m1 ? avx::load_cols(from, g[1], m1) : _mm512_setzero_ps());
      if (++tap == taps) {
        tap = 0;
        ++ch;
      }
    }
  }
  GANTRY_AVX512 void tile(int64_t rows, int64_t cols, int64_t kc, const float* ap, const float* bp, int64_t i0,
                          int64_t j0, bool load_c) const {
    avx::col_tile(rows, cols, kc, ap, bp, c + i0 * ldc, ldc, cv + j0 / 16, load_c);
  }
};
static_assert(avx::kNV == 2, "PatchOps::pack_b fills two vectors a panel row");

// gemm_nest's operands for backward weight, dW[Cout, K] (+)= dYb[Cout, q] @ cols[K, q]^T over
// the q = b*P + p columns of a block: A read from dy in place (row co at a + co*lda, its
// 16-column groups as cv says), B^T the patch gather of PatchOps, C plain (c, ldc).
struct WeightOps {
  const float* a;
  int64_t lda;
  const avx::ColVec* cv;
  const float* src;
  int64_t plane, taps;
  const avx::ColVec* gv;
  int64_t groups;
  float* c;
  int64_t ldc;
  // 16 columns of up to 14 rows, transposed in registers.
  GANTRY_AVX512 void pack_a(float* ap, int64_t i0, int64_t rows, int64_t p0, int64_t kc) const {
    for (int64_t q0 = 0; q0 < kc; q0 += 16) {
      const avx::ColVec& g = cv[(p0 + q0) / 16];
      __m512 r[16];
#pragma GCC unroll 16
      for (int i = 0; i < 16; ++i)
        r[i] = i < rows ? avx::load_cols(a + (i0 + i) * lda, g, (__mmask16)0xFFFF) : _mm512_setzero_ps();
      avx::transpose16(r);
      const int64_t count = kc - q0 < 16 ? kc - q0 : 16;
      for (int64_t q = 0; q < count; ++q) _mm512_storeu_ps(ap + (q0 + q) * avx::kMR, r[q]);
    }
  }
  // Per 16 patch rows, 16 gathered columns transposed in registers.
  GANTRY_AVX512 void pack_b(float* bp, int64_t j0, int64_t cols, int64_t p0, int64_t kc) const {
    for (int64_t q0 = 0; q0 < kc; q0 += 16) {
      const int64_t count = kc - q0 < 16 ? kc - q0 : 16;
      const __mmask16 qm = avx::lanes(count);
      for (int v = 0; v < avx::kNV; ++v) {
        __m512 r[16];
        for (int jj = 0; jj < 16; ++jj) {
          const int64_t col = 16 * v + jj;
          if (col >= cols) {
            r[jj] = _mm512_setzero_ps();
            continue;
          }
          const int64_t kk = j0 + col, ch = kk / taps, tap = kk - ch * taps;
          r[jj] = avx::load_cols(src + ch * plane, gv[tap * groups + (p0 + q0) / 16], qm);
        }
        avx::transpose16(r);
        for (int64_t q = 0; q < count; ++q) _mm512_store_ps(bp + (q0 + q) * avx::kNR + 16 * v, r[q]);
      }
    }
  }
  GANTRY_AVX512 void tile(int64_t rows, int64_t cols, int64_t kc, const float* ap, const float* bp, int64_t i0,
                          int64_t j0, bool load_c) const {
    avx::dense_tile(rows, cols, kc, ap, bp, c + i0 * ldc + j0, ldc, load_c);
  }
};

// offset[b*P + p] = b*sample + p, for b < B, p < P: the columns of a block of B samples in
// an NCHW tensor whose samples are `sample` floats apart (y, dy).
void sample_offsets(int32_t* offset, int64_t P, int64_t B, int64_t sample) {
  for (int64_t b = 0; b < B; ++b)
    for (int64_t p = 0; p < P; ++p) offset[b * P + p] = (int32_t)(b * sample + p);
}

// conv2d_forward as implicit GEMMs: per block of B samples, Y[Cout, B*P] = W @ cols with the
// patches gathered straight into sgemm's B panels and the tiles stored straight into y.
GANTRY_AVX512 void forward_implicit(float* y, const float* x, const float* w, const float* bias, const Conv2dShape& s) {
  const int64_t K = patch_size(s), P = out_pixels(s), taps = s.k_h * s.k_w, in_size = s.c_in * in_pixels(s),
                out_size = s.c_out * P;
  const std::vector<int32_t> table = tap_table(s, true);
  for_sample_ranges(s.n, [&](int64_t n0, int64_t n1, int, int) {
    const int64_t B_max = block_samples(s, n1 - n0, kBlockColumnsAvx512), ld = B_max * P;
    int32_t* index = index_scratch(0, taps * ld);
    int32_t* offset = index_scratch(1, ld);
    avx::ColVec* cv = colvec_scratch(0, groups_of(ld));
    avx::ColVec* gv = colvec_scratch(1, taps * groups_of(ld));
    block_index(index, table.data(), taps, P, B_max, in_size);
    gather_groups(gv, index, taps, ld);
    sample_offsets(offset, P, B_max, out_size);
    for (int64_t nb = n0; nb < n1; nb += B_max) {
      const int64_t B = std::min(B_max, n1 - nb);
      avx::col_vectors(cv, offset, B * P);
      avx::gemm_nest(s.c_out, B * P, K,
                     PatchOps{w, K, x + nb * in_size, in_pixels(s), taps, gv, groups_of(ld), y + nb * out_size, P, cv},
                     false);
      if (bias)
        for (int64_t b = 0; b < B; ++b)
          for (int64_t co = 0; co < s.c_out; ++co) {
            float* row = y + (nb + b) * out_size + co * P;
            for (int64_t p = 0; p < P; ++p) row[p] += bias[co];
          }
    }
  });
}

// conv2d_backward_weight as implicit GEMMs: per block, dW_t += dYb @ cols^T with dYb's rows
// read from dy in place and cols^T gathered straight into the B panels.
GANTRY_AVX512 void backward_weight_implicit(float* dw, const float* dy, const float* x, const Conv2dShape& s) {
  const int64_t K = patch_size(s), P = out_pixels(s), taps = s.k_h * s.k_w, in_size = s.c_in * in_pixels(s),
                out_size = s.c_out * P;
  const std::vector<int32_t> table = tap_table(s, true);
  std::vector<float*> partials(omp_get_max_threads(), nullptr);
  for_sample_ranges(s.n, [&](int64_t n0, int64_t n1, int t, int nt) {
    const int64_t B_max = block_samples(s, n1 - n0, kBlockColumnsAvx512), ld = B_max * P;
    int32_t* index = index_scratch(0, taps * ld);
    int32_t* offset = index_scratch(1, ld);
    avx::ColVec* cv = colvec_scratch(0, groups_of(ld));
    avx::ColVec* gv = colvec_scratch(1, taps * groups_of(ld));
    block_index(index, table.data(), taps, P, B_max, in_size);
    gather_groups(gv, index, taps, ld);
    sample_offsets(offset, P, B_max, out_size);
    float* partial = nt == 1 ? dw : scratch<float>(2, s.c_out * K);
    partials[t] = partial;
    for (int64_t nb = n0; nb < n1; nb += B_max) {
      const int64_t B = std::min(B_max, n1 - nb);
      avx::col_vectors(cv, offset, B * P);
      avx::gemm_nest(s.c_out, K, B * P,
                     WeightOps{dy + nb * out_size, P, cv, x + nb * in_size, in_pixels(s), taps, gv, groups_of(ld),
                               partial, K},
                     nb > n0);
    }
    if (n1 == n0) std::fill(partial, partial + s.c_out * K, 0.0f);
    if (nt == 1) return;
#pragma omp barrier
    const int64_t total = s.c_out * K, lo = total * t / nt, hi = total * (t + 1) / nt;
    for (int64_t i = lo; i < hi; ++i) {
      float acc = 0.0f;
      for (int u = 0; u < nt; ++u) acc += partials[u][i];
      dw[i] = acc;
    }
  });
}

// The phase GEMMs' k block: all of k up to this, so each tile is stored (scattered to the
// phase's pixels) once.
constexpr int64_t kPhaseKBlock = 1024;
// The fewest input channels (the phase GEMM's rows) for the phase GEMMs: with fewer (DCGAN's
// one-channel image layers) the old GEMM over K = Cin*KH*KW rows + col2im is faster.
constexpr int64_t kPhaseMinChannels = 16;

// Whether backward input runs as the s_h*s_w phase GEMMs (see the header): a stride above 1
// dividing the kernel, no dilation, at least kPhaseMinChannels input channels; float with
// gantry's AVX-512 SGEMM, not the dense-layer path. Whatever the batch size and thread
// count: the two paths round differently, and a sample's bits must not depend on its batch.
bool phase_decomposable(const Conv2dShape& s) {
  if (!batch_invariant_gemm<float>() || is_full_kernel(s)) return false;
  if (s.c_in < kPhaseMinChannels || (s.stride_h == 1 && s.stride_w == 1) || s.dil_h != 1 || s.dil_w != 1 ||
      s.k_h % s.stride_h != 0 || s.k_w % s.stride_w != 0)
    return false;
  return offsets_fit(s, ((s.in_h + s.stride_h - 1) / s.stride_h) * ((s.in_w + s.stride_w - 1) / s.stride_w));
}

// One phase (rh, rw) of dx: the input pixels (rh + sh*a, rw + sw*c), a < A_h, c < A_w.
struct Phase {
  int64_t rh, rw, a_h, a_w;
  std::vector<float>
      w;  // W_phase[Cin, Cout*T*U]: w[co, ci, kh0 + sh*t, kw0 + sw*u] at ci*(Cout*T*U) + (co*T + t)*U + u
  std::vector<int32_t> table;  // [T*U, A_h*A_w]: the dy pixel oh*OW + ow read through (t, u), or -1
};

// conv2d_backward_input as s_h*s_w stride-1 correlations, one implicit GEMM per phase and
// block: dX_phase[Cin, B*P'] = W_phase @ (dy gathered through the phase's taps), stored
// straight to the phase's pixels of dx. Every dx element is written exactly once.
GANTRY_AVX512 void backward_input_phases(float* dx, const float* dy, const float* w, const Conv2dShape& s) {
  const int64_t P = out_pixels(s), HW = in_pixels(s), in_size = s.c_in * HW, out_size = s.c_out * P;
  const int64_t T = s.k_h / s.stride_h, U = s.k_w / s.stride_w, taps = T * U, Kp = s.c_out * taps;
  std::vector<Phase> phases;
  int64_t widest = 1;
  for (int64_t rh = 0; rh < s.stride_h; ++rh)
    for (int64_t rw = 0; rw < s.stride_w; ++rw) {
      Phase f{rh,
              rw,
              rh < s.in_h ? (s.in_h - rh + s.stride_h - 1) / s.stride_h : 0,
              rw < s.in_w ? (s.in_w - rw + s.stride_w - 1) / s.stride_w : 0,
              {},
              {}};
      if (f.a_h == 0 || f.a_w == 0) continue;
      const int64_t kh0 = (rh + s.pad_h) % s.stride_h, kw0 = (rw + s.pad_w) % s.stride_w;
      const int64_t d_h = (rh + s.pad_h - kh0) / s.stride_h, d_w = (rw + s.pad_w - kw0) / s.stride_w;
      f.w.resize((size_t)(s.c_in * Kp));
      for (int64_t ci = 0; ci < s.c_in; ++ci)
        for (int64_t co = 0; co < s.c_out; ++co)
          for (int64_t t = 0; t < T; ++t)
            for (int64_t u = 0; u < U; ++u)
              f.w[(size_t)(ci * Kp + (co * T + t) * U + u)] =
                  w[((co * s.c_in + ci) * s.k_h + kh0 + s.stride_h * t) * s.k_w + kw0 + s.stride_w * u];
      const int64_t pp = f.a_h * f.a_w;
      f.table.resize((size_t)(taps * pp));
      for (int64_t t = 0; t < T; ++t)
        for (int64_t u = 0; u < U; ++u)
          for (int64_t a = 0; a < f.a_h; ++a)
            for (int64_t c = 0; c < f.a_w; ++c) {
              const int64_t oh = a + d_h - t, ow = c + d_w - u;
              const bool inside = oh >= 0 && oh < s.out_h && ow >= 0 && ow < s.out_w;
              f.table[(size_t)((t * U + u) * pp + a * f.a_w + c)] = inside ? (int32_t)(oh * s.out_w + ow) : -1;
            }
      widest = std::max(widest, pp);
      phases.push_back(std::move(f));
    }
  // Blocks as the other passes, sized by the widest phase (phase (0, 0)).
  const int64_t per_block = (kBlockColumnsAvx512 + widest - 1) / widest, F = (int64_t)phases.size();
  // For blocks of up to B_max samples: phase f's index table at index + f*taps*B_max*widest
  // and its gather groups at gv + f*taps*groups_of(B_max*widest), its column offsets (into
  // dx, from the block's first sample) at offset + f*B_max*widest.
  auto tables = [&](int64_t B_max, int32_t* index, avx::ColVec* gv, int32_t* offset) {
    const int64_t ld = B_max * widest;
    for (int64_t f = 0; f < F; ++f) {
      const Phase& ph = phases[(size_t)f];
      const int64_t pp = ph.a_h * ph.a_w;
      block_index(index + f * taps * ld, ph.table.data(), taps, pp, B_max, out_size);
      gather_groups(gv + f * taps * groups_of(ld), index + f * taps * ld, taps, B_max * pp);
      for (int64_t b = 0; b < B_max; ++b)
        for (int64_t a = 0; a < ph.a_h; ++a)
          for (int64_t c = 0; c < ph.a_w; ++c)
            offset[f * ld + b * pp + a * ph.a_w + c] =
                (int32_t)(b * in_size + (ph.rh + s.stride_h * a) * s.in_w + ph.rw + s.stride_w * c);
    }
  };
  // Phase f of the B samples from nb (tables for blocks of B_max).
  auto run = [&](int64_t nb, int64_t B, int64_t B_max, int64_t f, const avx::ColVec* gv, const int32_t* offset) {
    const Phase& ph = phases[(size_t)f];
    const int64_t pp = ph.a_h * ph.a_w, ld = B_max * widest;
    avx::ColVec* cv = colvec_scratch(0, groups_of(B * pp));
    avx::col_vectors(cv, offset + f * ld, B * pp);
    avx::gemm_nest(s.c_in, B * pp, Kp,
                   PatchOps{ph.w.data(), Kp, dy + nb * out_size, P, taps, gv + f * taps * groups_of(ld),
                            groups_of(B_max * pp), dx + nb * in_size, HW, cv},
                   false, std::min<int64_t>(Kp, kPhaseKBlock));
  };
  const int threads = omp_in_parallel() ? 1 : omp_get_max_threads();
  if (threads > 1 && s.n < threads) {  // fewer samples than threads: one (sample, phase) GEMM a work item
#pragma omp parallel
    {
      int32_t* index = index_scratch(0, F * taps * widest);
      int32_t* offset = index_scratch(1, F * widest);
      avx::ColVec* gv = colvec_scratch(1, F * taps * groups_of(widest));
      tables(1, index, gv, offset);
#pragma omp for schedule(static)
      for (int64_t item = 0; item < s.n * F; ++item) run(item / F, 1, 1, item % F, gv, offset);
    }
    return;
  }
  for_sample_ranges(s.n, [&](int64_t n0, int64_t n1, int, int) {
    const int64_t B_max = std::max<int64_t>(1, std::min(per_block, n1 - n0));
    int32_t* index = index_scratch(0, F * taps * B_max * widest);
    int32_t* offset = index_scratch(1, F * B_max * widest);
    avx::ColVec* gv = colvec_scratch(1, F * taps * groups_of(B_max * widest));
    tables(B_max, index, gv, offset);
    for (int64_t nb = n0; nb < n1; nb += B_max)
      for (int64_t f = 0; f < F; ++f) run(nb, std::min(B_max, n1 - nb), B_max, f, gv, offset);
  });
}

}  // namespace

template <class T>
void conv2d_forward(T* y, const T* x, const T* w, const T* bias, const Conv2dShape& s) {
  const int64_t K = patch_size(s), P = out_pixels(s), in_size = s.c_in * in_pixels(s);
  if (s.n == 0 || P == 0 || s.c_out == 0) return;
  if constexpr (std::is_same_v<T, float>)
    if (implicit_gemm<T>(s)) {
      forward_implicit(y, x, w, bias, s);
      return;
    }
  const bool full = is_full_kernel(s), blocked = batch_invariant_gemm<T>();
  const std::vector<int32_t> table = tap_table(s);
  auto add_bias = [&](T* yn) {
    if (bias)
      for (int64_t co = 0; co < s.c_out; ++co)
        for (int64_t p = 0; p < P; ++p) yn[co * P + p] += bias[co];
  };
  if (full && blocked) {  // Y[N, Cout] = X[N, K] @ W^T, one GEMM over the batch (threaded)
    gemm<T>(false, true, s.n, s.c_out, K, x, K, w, K, y, s.c_out, false);
    for (int64_t n = 0; n < s.n; ++n) add_bias(y + n * s.c_out);
    return;
  }
  // Without a batch-invariant GEMM, one sample a GEMM, written straight into y: a sample's
  // output must not depend on its batch neighbours (tests/gan compare samples bit for bit
  // across batch sizes). With one, blocks of B samples: Yb[Cout, B*P] = W @ cols, copied out.
  for_sample_ranges(s.n, [&](int64_t n0, int64_t n1, int, int) {
    const int64_t B_max = blocked ? block_samples(s, n1 - n0, kBlockColumnsAvx512) : 1;
    T* cols = full ? nullptr : scratch<T>(0, K * B_max * P);
    T* yb = B_max > 1 ? scratch<T>(1, s.c_out * B_max * P) : nullptr;
    for (int64_t nb = n0; nb < n1; nb += B_max) {
      const int64_t B = std::min(B_max, n1 - nb), ld = B * P;
      for (int64_t b = 0; b < B && !full; ++b) im2col(cols + b * P, ld, x + (nb + b) * in_size, table, s);
      const T* src = full ? x + nb * in_size : cols;  // a whole-input kernel's column is the sample
      T* yn = y + nb * s.c_out * P;
      if (B == 1) {
        gemm<T>(false, false, s.c_out, P, K, w, K, src, P, yn, P, false);
      } else {
        gemm<T>(false, false, s.c_out, ld, K, w, K, src, ld, yb, ld, false);
        for (int64_t b = 0; b < B; ++b)
          for (int64_t co = 0; co < s.c_out; ++co)
            std::memcpy(yn + (b * s.c_out + co) * P, yb + co * ld + b * P, (size_t)P * sizeof(T));
      }
      for (int64_t b = 0; b < B; ++b) add_bias(yn + b * s.c_out * P);
    }
  });
}

template <class T>
void conv2d_backward_input(T* dx, const T* dy, const T* w, const Conv2dShape& s) {
  const int64_t K = patch_size(s), P = out_pixels(s), in_size = s.c_in * in_pixels(s);
  if (s.n == 0) return;
  if (P == 0 || s.c_out == 0) {
    std::fill(dx, dx + s.n * in_size, T(0));
    return;
  }
  if constexpr (std::is_same_v<T, float>)
    if (phase_decomposable(s)) {
      backward_input_phases(dx, dy, w, s);
      return;
    }
  const bool full = is_full_kernel(s), blocked = batch_invariant_gemm<T>();
  if (full && blocked) {  // dX[N, K] = dY[N, Cout] @ W, one GEMM over the batch (threaded)
    gemm<T>(false, false, s.n, K, s.c_out, dy, s.c_out, w, K, dx, K, false);
    return;
  }
  const std::vector<int32_t> table = tap_table(s);
  // One sample a GEMM, or blocks of samples with a batch-invariant GEMM, as in conv2d_forward.
  for_sample_ranges(s.n, [&](int64_t n0, int64_t n1, int, int) {
    const int64_t B_max = blocked ? block_samples(s, n1 - n0, kBlockColumnsAvx512) : 1;
    T* dcols = full ? nullptr : scratch<T>(0, K * B_max * P);
    T* dyb = B_max > 1 ? scratch<T>(1, s.c_out * B_max * P) : nullptr;
    for (int64_t nb = n0; nb < n1; nb += B_max) {
      const int64_t B = std::min(B_max, n1 - nb), ld = B * P;
      const T* dy_block = dy + nb * s.c_out * P;
      if (B > 1) {
        gather_block(dyb, dy, nb, B, s);
        dy_block = dyb;
      }
      if (full) {  // col2im of a whole-input kernel is the identity: write dx directly (B = 1)
        gemm<T>(true, false, K, P, s.c_out, w, K, dy_block, P, dx + nb * in_size, P, false);
        continue;
      }
      gemm<T>(true, false, K, ld, s.c_out, w, K, dy_block, ld, dcols, ld, false);
      for (int64_t b = 0; b < B; ++b) col2im(dx + (nb + b) * in_size, dcols + b * P, ld, table, s);
    }
  });
}

template <class T>
void conv2d_backward_weight(T* dw, const T* dy, const T* x, const Conv2dShape& s) {
  const int64_t K = patch_size(s), P = out_pixels(s);
  if (s.n == 0 || P == 0) {
    std::fill(dw, dw + s.c_out * K, T(0));
    return;
  }
  if (is_full_kernel(s)) {  // dW[Cout, K] = dY^T[Cout, N] @ X[N, K]
    gemm<T>(true, false, s.c_out, K, s.n, dy, s.c_out, x, K, dw, K, false);
    return;
  }
  if constexpr (std::is_same_v<T, float>)
    if (implicit_gemm<T>(s)) {
      backward_weight_implicit(dw, dy, x, s);
      return;
    }
  std::vector<T*> partials(omp_get_max_threads(), nullptr);
  const std::vector<int32_t> table = tap_table(s);
  const int64_t columns = batch_invariant_gemm<T>() ? kBlockColumnsAvx512 : kBlockColumns;
  for_sample_ranges(s.n, [&](int64_t n0, int64_t n1, int t, int nt) {
    const int64_t B_max = block_samples(s, n1 - n0, columns);
    T* cols = scratch<T>(0, K * B_max * P);
    T* dyb = scratch<T>(1, s.c_out * B_max * P);
    // Thread 0 of a serial call accumulates straight into dw.
    T* partial = nt == 1 ? dw : scratch<T>(2, s.c_out * K);
    partials[t] = partial;
    std::fill(partial, partial + s.c_out * K, T(0));
    for (int64_t nb = n0; nb < n1; nb += B_max) {
      const int64_t B = std::min(B_max, n1 - nb), ld = B * P;
      for (int64_t b = 0; b < B; ++b) im2col(cols + b * P, ld, x + (nb + b) * s.c_in * in_pixels(s), table, s);
      const T* dy_block = dy + nb * s.c_out * P;
      if (B > 1) {
        gather_block(dyb, dy, nb, B, s);
        dy_block = dyb;
      }
      // dW_t[Cout, K] += dYb[Cout, B*P] @ cols[K, B*P]^T
      gemm<T>(false, true, s.c_out, K, ld, dy_block, ld, cols, ld, partial, K, true);
    }
    if (nt == 1) return;
#pragma omp barrier
    // dw = the sum of the threads' partials, each thread summing a slice of the elements.
    const int64_t total = s.c_out * K, lo = total * t / nt, hi = total * (t + 1) / nt;
    for (int64_t i = lo; i < hi; ++i) {
      T acc = T(0);
      for (int u = 0; u < nt; ++u) acc += partials[u][i];
      dw[i] = acc;
    }
  });
}

#define GANTRY_INSTANTIATE(T)                                                            \
  template void conv2d_forward<T>(T*, const T*, const T*, const T*, const Conv2dShape&); \
  template void conv2d_backward_input<T>(T*, const T*, const T*, const Conv2dShape&);    \
  template void conv2d_backward_weight<T>(T*, const T*, const T*, const Conv2dShape&);
GANTRY_INSTANTIATE(float)
GANTRY_INSTANTIATE(double)
#undef GANTRY_INSTANTIATE

}  // namespace gantry::kernels::cpu
