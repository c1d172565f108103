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
// With gantry's AVX-512 SGEMM (float) forward and backward weight run as implicit GEMMs and
// a strided backward input as s_h*s_w phase GEMMs: kernels/cpu/conv_implicit.cpp. Without it
// (Eigen: no AVX-512, kSgemmDefault = kEigen; double always) im2col into a column buffer, sgemm
// or Eigen, and a copy-out / col2im: this file.
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
// itself (sgemm_threaded, or Eigen), unless the conv is under kSerialImplicitFlops (then it
// all runs on the calling thread); the phase GEMMs then run one (sample, phase) a thread.
// A kernel that covers the whole unpadded input (1x1
// output: DCGAN's 7x7 layers) needs no im2col / col2im: the sample itself is its column
// (forward, backward input; with the AVX-512 SGEMM one GEMM over the batch, Y = X W^T and
// dX = dY W), and backward weight is one GEMM over the batch, dW = dY^T X.
// im2col / col2im have no per-pixel bounds test: rows of 16 or more outputs use each tap's
// precomputed in-range span (memcpy, or a 2-strided loop the compiler vectorizes); narrower
// rows go through a tap table (the input pixel of each output and tap, -1 for padding; built
// once per geometry and thread, conv_common.hpp's memo): AVX-512 masked gathers for im2col,
// gather-add-scatters for col2im.
// Versions: 1 = one im2col + GEMM per sample, per-pixel bounds tests (was 40% of a DCGAN
// step in im2col/col2im); 2 = blocks of samples, span-based im2col/col2im, scratch reuse,
// the dense-layer path; 3 = the tap-table im2col and col2im for narrow rows (v2's
// im2col was still 20% of the step, col2im 10%; the table brought im2col to 8%); 4 = the
// GEMMs through sgemm, and with gantry's batch-invariant AVX-512 SGEMM blocks of samples in
// forward and backward input too (docs/kernels/cpu_gemm.md); 5 (this) = with the AVX-512
// SGEMM, implicit GEMMs for forward and backward weight (no cols buffer, no packing pass, no
// copy-out) and the phase GEMMs for strided backward input (no col2im).
// docs/kernels/cpu_conv.md has the measured rates.
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

#include "kernels/cpu/conv_common.hpp"
#include "kernels/cpu/sgemm.hpp"

namespace gantry::kernels::cpu {

using namespace conv_detail;

namespace {

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

// The GEMM of an im2col / col2im block: gemm (threaded outside a parallel region) unless the
// whole conv is under kSerialImplicitFlops; then, with gantry's AVX-512 SGEMM, on the calling
// thread, which also runs the block's im2col or col2im: a threaded GEMM's output would cross
// cores to it (CycleGAN's bench step, batch 1: its last layer's input gradient, a 392 x 784
// outer product and a col2im, took 216 us a call on 2 threads against 133 on 1). Same bits.
template <class T>
void block_gemm(bool serial, bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, const T* a, int64_t lda,
                const T* b, int64_t ldb, T* c, int64_t ldc, bool accumulate) {
  if constexpr (std::is_same_v<T, float>)
    if (serial) {  // sgemm: serial for kAvx512 (Eigen threads itself either way, as through gemm)
      sgemm(trans_a, trans_b, m, n, k, a, lda, b, ldb, c, ldc, accumulate, sgemm_kernel());
      return;
    }
  gemm<T>(trans_a, trans_b, m, n, k, a, lda, b, ldb, c, ldc, accumulate);
}

// dYb[Cout, B*P] = dy[n0 .. n0+B) side by side (backward weight's blocks) (dYb[co, b*P + p] = dy[n0+b, co, p]).
template <class T>
void gather_block(T* dyb, const T* dy, int64_t n0, int64_t B, const Conv2dShape& s) {
  const int64_t P = out_pixels(s);
  for (int64_t co = 0; co < s.c_out; ++co)
    for (int64_t b = 0; b < B; ++b)
      std::memcpy(dyb + co * B * P + b * P, dy + ((n0 + b) * s.c_out + co) * P, (size_t)P * sizeof(T));
}

// conv2d_forward's GEMMs; true where the implicit path also applied the activation (slope >= 0).
template <class T>
bool forward_gemms(T* y, const T* x, const T* w, const T* bias, const Conv2dShape& s, T slope) {
  const int64_t K = patch_size(s), P = out_pixels(s), in_size = s.c_in * in_pixels(s);
  if (s.n == 0 || P == 0 || s.c_out == 0) return true;
  if constexpr (std::is_same_v<T, float>)
    if (implicit_gemm(s)) {
      forward_implicit(y, x, w, bias, s, (float)slope);
      return true;
    }
  const bool full = is_full_kernel(s), blocked = batch_invariant_gemm<T>();
  const std::vector<int32_t>& table = tap_table(s);
  auto add_bias = [&](T* yn) {
    if (bias)
      for (int64_t co = 0; co < s.c_out; ++co)
        for (int64_t p = 0; p < P; ++p) yn[co * P + p] += bias[co];
  };
  if (full && blocked) {  // Y[N, Cout] = X[N, K] @ W^T, one GEMM over the batch (threaded)
    gemm<T>(false, true, s.n, s.c_out, K, x, K, w, K, y, s.c_out, false);
    for (int64_t n = 0; n < s.n; ++n) add_bias(y + n * s.c_out);
    return false;
  }
  // Without a batch-invariant GEMM, one sample a GEMM, written straight into y: a sample's
  // output must not depend on its batch neighbours (tests/gan compare samples bit for bit
  // across batch sizes). With one, blocks of B samples: Yb[Cout, B*P] = W @ cols, copied out.
  const bool serial = small_conv(s);
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
        block_gemm<T>(serial, false, false, s.c_out, P, K, w, K, src, P, yn, P, false);
      } else {
        block_gemm<T>(serial, false, false, s.c_out, ld, K, w, K, src, ld, yb, ld, false);
        for (int64_t b = 0; b < B; ++b)
          for (int64_t co = 0; co < s.c_out; ++co)
            std::memcpy(yn + (b * s.c_out + co) * P, yb + co * ld + b * P, (size_t)P * sizeof(T));
      }
      for (int64_t b = 0; b < B; ++b) add_bias(yn + b * s.c_out * P);
    }
  });
  return false;
}

}  // namespace

template <class T>
void conv2d_forward(T* y, const T* x, const T* w, const T* bias, const Conv2dShape& s, T slope) {
  if (!forward_gemms(y, x, w, bias, s, slope) && slope >= T(0))  // one pass after, where the GEMMs did not take it
    activate_in_place(y, s.n * s.c_out * out_pixels(s), slope);
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
  const std::vector<int32_t>& table = tap_table(s);
  // One sample a GEMM, or blocks of samples with a batch-invariant GEMM, as in conv2d_forward.
  const bool serial = small_conv(s);
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
        block_gemm<T>(serial, true, false, K, P, s.c_out, w, K, dy_block, P, dx + nb * in_size, P, false);
        continue;
      }
      block_gemm<T>(serial, true, false, K, ld, s.c_out, w, K, dy_block, ld, dcols, ld, false);
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
    if (implicit_gemm(s)) {
      backward_weight_implicit(dw, dy, x, s);
      return;
    }
  std::vector<T*> partials(omp_get_max_threads(), nullptr);
  const std::vector<int32_t>& table = tap_table(s);
  const int64_t columns = batch_invariant_gemm<T>() ? kBlockColumnsAvx512 : kBlockColumns;
  const bool serial = small_conv(s);
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
      block_gemm<T>(serial, false, true, s.c_out, K, ld, dy_block, ld, cols, ld, partial, K, true);
    }
    if (nt == 1) return;
#pragma omp barrier
    sum_partials(dw, partials, s.c_out * K, t, nt);
  });
}

#define GANTRY_INSTANTIATE(T)                                                               \
  template void conv2d_forward<T>(T*, const T*, const T*, const T*, const Conv2dShape&, T); \
  template void conv2d_backward_input<T>(T*, const T*, const T*, const Conv2dShape&);       \
  template void conv2d_backward_weight<T>(T*, const T*, const T*, const Conv2dShape&);
GANTRY_INSTANTIATE(float)
GANTRY_INSTANTIATE(double)
#undef GANTRY_INSTANTIATE

}  // namespace gantry::kernels::cpu
