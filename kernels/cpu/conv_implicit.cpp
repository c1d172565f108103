// kernels/cpu/conv_implicit.cpp — conv2d as implicit GEMMs on gantry's AVX-512 SGEMM: patches
// gathered straight into its panels, tiles stored straight into the output (no column buffer,
// packing pass, copy-out or col2im); conv.cpp chooses this path (conv_common.hpp).
//
// Math: conv.cpp's header (cols, forward, backward weight, blocks of B samples, column j = b*P + p).
// Backward input by phases (stride s_h x s_w dividing the kernel, no dilation, Cin >= 16):
// the input pixels (ih, iw) = (rh + sh*a, rw + sw*c) of one phase (rh, rw) are reached only
// by the taps kh = kh0 + sh*t (kh0 = (rh + ph) mod sh, t < T = KH/sh), kw = kw0 + sw*u
// (u < U = KW/sw), from output (oh, ow) = (a + d_h - t, c + d_w - u), d_h = (rh + ph - kh0)/sh:
//   dX_phase[Cin, B*P'] = W_phase[Cin, Cout*T*U] @ G[Cout*T*U, B*P'],  P' = A_h*A_w pixels a sample,
//   W_phase[ci, (co*T + t)*U + u] = w[co, ci, kh0 + sh*t, kw0 + sw*u],
//   G[(co, t, u), b*P' + a*A_w + c] = dy[n0+b, co, a + d_h - t, c + d_w - u]  (0 outside),
// a stride-1 correlation of dy with a (KH/sh)x(KW/sw) sub-kernel; every dx element is written
// once by its phase (no zero fill, no scatter-add). Tap (t, u) of phase (rh, rw) reads dy
// shifted by (d_h - t, d_w - u) over the phase's grid, and phases with the same grid read the
// same shifted rows: a block packs each distinct (shift, grid), a Slot, once (k4 s2 p1: 9
// slots for 16 (phase, tap) pairs), and a phase's register tile runs over its taps' slots
// chunk by chunk (k = (t*U + u)*Cout + co), storing once.
// Forward and backward weight run on the SGEMM's loop nest (sgemm_avx512.hpp's gemm_nest): forward packs cols
// straight from x (a stride above 1: from a block's phase split of x, Source below, where a
// tap's inputs for one output row are consecutive) into the B panels (16-lane masked gathers
// through a per-thread index table,
// index[tap, b*P + p] = b*Cin*H*W + the tap table's pixel, or one or two masked loads where a
// 16-column group is one or two runs of consecutive pixels) and stores each register tile
// straight into y (column j at y + co*P + b*Cout*P + p: per 16-column group two masked
// stores, or a scatter where a group spans more than two samples); backward weight reads dYb
// from dy in place (the same column groups) and gathers cols^T into its B panels (16
// gathers + a 16x16 register transpose); the phase GEMMs (their own nest, run_phases) pack
// their slots from dy (one or two masked loads a 16-column group) and scatter their tiles to
// the phase's pixels of dx (all of k in one tile, so each is stored once).
// The weights (forward's W, each phase's W_phase) are packed into the micro-kernel's A panels
// once per call, not again for every block of samples, by the call's threads (each its share
// of the panels or phases, then a barrier) rather than by the caller before the region; the
// phases' slot tables are built once per geometry and thread (the memo).
// Thread mapping: as conv.cpp (thread t owns samples [N*t/T, N*(t+1)/T), blocks of B samples,
// one gemm_nest a block, per block all phases for backward input; backward weight sums
// per-thread dW); with fewer samples than threads the phase GEMMs run one (sample, phase) a
// thread, packing that phase's slots (the same FMA order per element, so the same bits).
// GCC 12 warns -W(maybe-)uninitialized inside its own avx512fintrin.h for the in-register
// transposes of sgemm_avx512.hpp (a known false positive, as in sgemm_avx512.cpp).
#pragma GCC diagnostic ignored "-Wuninitialized"
#if !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <immintrin.h>
#include <omp.h>

#include <algorithm>
#include <climits>
#include <cstdint>
#include <vector>

#include "kernels/cpu/conv_common.hpp"
#include "kernels/cpu/sgemm_avx512.hpp"

namespace gantry::kernels::cpu::conv_detail {

namespace {
namespace avx = gantry::kernels::cpu::avx512;

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

// Whether every offset of a block of samples, sized for `columns` pixels a sample (x or its
// phase split, `in_sample` floats a sample; y, dx, dy), fits int32; whatever the batch size,
// so the choice of path does not depend on it.
bool offsets_fit(const Conv2dShape& s, int64_t columns, int64_t in_sample) {
  const int64_t B = (kBlockColumnsAvx512 + std::max<int64_t>(columns, 1) - 1) / std::max<int64_t>(columns, 1) + 1;
  return B * in_sample <= INT32_MAX && B * s.c_out * out_pixels(s) <= INT32_MAX;
}

// Floats a packed weight panel takes (kMR rows of k) plus 16: pack_a's overrun stays inside.
constexpr int64_t panel_floats(int64_t k) { return avx::kMR * k + 16; }

// gemm_nest's operands for C[m, n] = A[m, k] @ B[k, n] with A, the weights, packed once per
// call (pack_weights_shared, over all of k: the same for every block of samples, so not
// packed again for each), B a patch gather, B[k, j] = src[(k / taps)*plane + index[(k % taps)*ld + j]]
// (0 where the index is -1) by its 16-column groups gv[(k % taps)*groups + j/16]
// (gather_groups), and C's columns at offsets (row i at c + i*ldc, its 16-column groups as cv
// says).
struct PatchOps {
  const float* packed;  // A packed whole (pack_weights_shared): panel r at packed + r*panel_floats(k)
  int64_t k;
  const float* src;
  int64_t plane, taps;
  const avx::ColVec* gv;
  int64_t groups;
  float* c;
  int64_t ldc;
  const avx::ColVec* cv;
  float slope = -1.0f;  // >= 0: an activation as the tiles are stored (all of k in one block only)
  const float* packed_a(int64_t i0, int64_t p0) const {
    return packed + i0 / avx::kMR * panel_floats(k) + p0 * avx::kMR;
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
    avx::col_tile(rows, cols, kc, ap, bp, c + i0 * ldc, ldc, cv + j0 / 16, load_c, slope);
  }
};
static_assert(avx::kNV == 2, "PatchOps::pack_b fills two vectors a panel row");

// Room for A[m, k] packed whole (PatchOps' A), in this thread's scratch slot `slot`.
float* packed_weights_room(int64_t m, int64_t k, int slot) {
  return scratch<float>(slot, (m + avx::kMR - 1) / avx::kMR * panel_floats(k));
}

// Thread t of nt runs pack(u) for its share of units u < units (every nt-th), then waits for
// the others: what is packed (the weights) is read by every thread's GEMMs. Packed inside the
// region, not before it, so the other threads are not idle meanwhile.
template <class Pack>
void pack_shared(int64_t units, int t, int nt, Pack pack) {
  for (int64_t u = t; u < units; u += nt) pack(u);
  if (nt > 1) {
#pragma omp barrier
  }
}

// pack_shared over A[m, k]'s kMR-row panels into out (pack_a's layout, panel r at out +
// r*panel_floats(k): the 16 floats pack_a may write past a panel land in the gap, not in a
// panel another thread packs).
GANTRY_AVX512 void pack_weights_shared(float* out, const float* a, int64_t m, int64_t k, int t, int nt) {
  pack_shared((m + avx::kMR - 1) / avx::kMR, t, nt, [&](int64_t r) GANTRY_AVX512 {
    avx::pack_a(out + r * panel_floats(k), a, k, false, r * avx::kMR, std::min<int64_t>(avx::kMR, m - r * avx::kMR), 0,
                k);
  });
}

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

// The tables for forward's and backward weight's blocks of up to B_max samples (block_samples
// of a thread's sample count): the patch gather groups gv[tap*groups_of(B_max*P) + g] of the
// tap table through each column's sample, `sample` floats apart in the source the patches
// are read from (block_index into `index`, which gv's gathers point into; gather_groups), and
// the column offsets of y / dy (offset[b*P + p] = b*Cout*P + p). Built once per geometry and
// thread (memo); a block's column groups cv, filled per block by col_vectors, are this
// thread's ColVec scratch.
struct GatherTables {
  std::vector<int32_t> index, offset;
  std::vector<avx::ColVec> gv;
};
struct BlockGather {
  int64_t B_max;
  const int32_t* offset;
  avx::ColVec* cv;
  const avx::ColVec* gv;
};
BlockGather block_gather(const Conv2dShape& s, const std::vector<int32_t>& table, int64_t count, int64_t sample) {
  const int64_t P = out_pixels(s), taps = s.k_h * s.k_w;
  const int64_t B_max = block_samples(s, count, kBlockColumnsAvx512), ld = B_max * P;
  const GatherTables& g = memo<2, GatherTables>(
      s, B_max,
      [&] {
        GatherTables t{std::vector<int32_t>((size_t)(taps * ld)), std::vector<int32_t>((size_t)ld),
                       std::vector<avx::ColVec>((size_t)(taps * groups_of(ld)))};
        block_index(t.index.data(), table.data(), taps, P, B_max, sample);
        gather_groups(t.gv.data(), t.index.data(), taps, ld);
        sample_offsets(t.offset.data(), P, B_max, s.c_out * P);
        return t;
      },
      [](const GatherTables& t) {
        return (t.index.size() + t.offset.size()) * sizeof(int32_t) + t.gv.size() * sizeof(avx::ColVec);
      });
  return {B_max, g.offset.data(), scratch<avx::ColVec>(0, groups_of(ld)), g.gv.data()};
}

// Where forward and backward weight read their patches: x itself, or (a stride above 1) a
// phase-split copy of a block of x, xs[b, ci, rh, rw, a, c] = x[b, ci, rh + sh*a, rw + sw*c]
// (rh < sh, rw < sw, a < ceil(H/sh), c < ceil(W/sw); the tail past H or W is never read).
// Through the split, a tap's inputs for consecutive outputs of a row are consecutive floats
// (ih = oh*sh - ph + kh*dh lies in phase rh = (kh*dh - ph) mod sh at a = oh + (kh*dh - ph - rh)/sh),
// so the 16-column groups become one or two masked loads instead of 16-lane gathers.
struct Source {
  bool split;
  int64_t ph_h, ph_w;  // the split's plane: ceil(H/sh) x ceil(W/sw)
  int64_t plane;       // floats from one channel to the next: H*W, or sh*sw*ph_h*ph_w
  int64_t sample;      // floats from one sample to the next: Cin*plane
};
Source source_of(const Conv2dShape& s) {
  const bool split = s.stride_h > 1 || s.stride_w > 1;
  const int64_t ph_h = (s.in_h + s.stride_h - 1) / s.stride_h, ph_w = (s.in_w + s.stride_w - 1) / s.stride_w;
  const int64_t plane = split ? s.stride_h * s.stride_w * ph_h * ph_w : in_pixels(s);
  return {split, ph_h, ph_w, plane, s.c_in * plane};
}

// The tap table (conv_common.hpp's tap_table) into the source: table[(kh*KW + kw)*P + p]
// = (rh*sw + rw)*ph_h*ph_w + a*ph_w + c for the input pixel output p reads through (kh, kw),
// -1 where that is padding. Unsplit (both strides 1: rh = rw = 0, a = ih, c = iw, ph_w = W)
// that is tap_table's ih*W + iw.
std::vector<int32_t> build_source_tap_table(const Conv2dShape& s, const Source& src) {
  const int64_t P = out_pixels(s);
  std::vector<int32_t> table((size_t)(s.k_h * s.k_w * P));
  for (int64_t kh = 0; kh < s.k_h; ++kh)
    for (int64_t kw = 0; kw < s.k_w; ++kw) {
      const int64_t eh = kh * s.dil_h - s.pad_h, ew = kw * s.dil_w - s.pad_w;
      const int64_t rh = ((eh % s.stride_h) + s.stride_h) % s.stride_h,
                    rw = ((ew % s.stride_w) + s.stride_w) % s.stride_w;
      const int64_t base = (rh * s.stride_w + rw) * src.ph_h * src.ph_w;
      for (int64_t oh = 0; oh < s.out_h; ++oh)
        for (int64_t ow = 0; ow < s.out_w; ++ow) {
          const int64_t ih = oh * s.stride_h + eh, iw = ow * s.stride_w + ew;
          const bool inside = ih >= 0 && ih < s.in_h && iw >= 0 && iw < s.in_w;
          const int64_t a = oh + (eh - rh) / s.stride_h, c = ow + (ew - rw) / s.stride_w;
          table[(size_t)((kh * s.k_w + kw) * P + oh * s.out_w + ow)] = inside ? (int32_t)(base + a * src.ph_w + c) : -1;
        }
    }
  return table;
}
// build_source_tap_table's table, built once per geometry and thread (memo).
const std::vector<int32_t>& source_tap_table(const Conv2dShape& s, const Source& src) {
  return memo<1, std::vector<int32_t>>(
      s, 0, [&] { return build_source_tap_table(s, src); }, table_bytes);
}

// xs = the phase split (Source) of the B samples at x: per input row, a stride-2 row is
// split into its even and odd floats by two permutes of up to 32 loaded floats (rows of up
// to 16: one load). Rows are visited phase by phase (ih = rh + sh*a), so no division per row.
GANTRY_AVX512 void phase_split(float* __restrict xs, const float* __restrict x, int64_t B, const Conv2dShape& s,
                               const Source& src) {
  const int64_t sh = s.stride_h, sw = s.stride_w, pp = src.ph_h * src.ph_w, W = s.in_w;
  const __m512i even = _mm512_set_epi32(30, 28, 26, 24, 22, 20, 18, 16, 14, 12, 10, 8, 6, 4, 2, 0);
  const __m512i odd = _mm512_set_epi32(31, 29, 27, 25, 23, 21, 19, 17, 15, 13, 11, 9, 7, 5, 3, 1);
  const __mmask16 m_row = avx::lanes(std::min<int64_t>(W, 16)), m_even = avx::lanes((std::min<int64_t>(W, 16) + 1) / 2),
                  m_odd = avx::lanes(std::max<int64_t>(std::min<int64_t>(W, 16) / 2, 1));
  for (int64_t bc = 0; bc < B * s.c_in; ++bc)
    for (int64_t rh = 0; rh < std::min(sh, s.in_h); ++rh) {
      const float* row = x + (bc * s.in_h + rh) * W;
      float* out = xs + bc * src.plane + rh * sw * pp;
      for (int64_t ih = rh; ih < s.in_h; ih += sh, row += sh * W, out += src.ph_w) {
        if (sw == 1) {
          std::copy(row, row + W, out);
        } else if (sw == 2 && W <= 16) {
          const __m512 v = _mm512_maskz_loadu_ps(m_row, row);
          _mm512_mask_storeu_ps(out, m_even, _mm512_permutexvar_ps(even, v));
          if (W > 1) _mm512_mask_storeu_ps(out + pp, m_odd, _mm512_permutexvar_ps(odd, v));
        } else if (sw == 2) {
          for (int64_t iw = 0; iw < W; iw += 32) {
            const int64_t n = std::min<int64_t>(32, W - iw), n_even = (n + 1) / 2, n_odd = n / 2;
            const __m512 v0 = _mm512_maskz_loadu_ps(avx::lanes(n), row + iw);
            const __m512 v1 = n > 16 ? _mm512_maskz_loadu_ps(avx::lanes(n - 16), row + iw + 16) : _mm512_setzero_ps();
            _mm512_mask_storeu_ps(out + iw / 2, avx::lanes(n_even), _mm512_permutex2var_ps(v0, even, v1));
            if (n_odd > 0)
              _mm512_mask_storeu_ps(out + pp + iw / 2, avx::lanes(n_odd), _mm512_permutex2var_ps(v0, odd, v1));
          }
        } else {
          for (int64_t rw = 0; rw < std::min(sw, W); ++rw)
            for (int64_t iw = rw, c = 0; iw < W; iw += sw, ++c) out[rw * pp + c] = row[iw];
        }
      }
    }
}

// The patch source of the B samples at x for a block: x itself, or their phase split in this
// thread's scratch.
GANTRY_AVX512 const float* block_source(const float* x, int64_t B, const Conv2dShape& s, const Source& src) {
  if (!src.split) return x;
  float* xs = scratch<float>(0, B * src.sample);
  phase_split(xs, x, B, s, src);
  return xs;
}

// conv2d_forward as implicit GEMMs: per block of B samples, Y[Cout, B*P] = W @ cols with the
// patches gathered straight into sgemm's B panels and the tiles stored straight into y;
// slope >= 0: then the activation, in the tile's store where all of k is one block and there
// is no bias, else over the block after it.
GANTRY_AVX512 void forward_avx512(float* y, const float* x, const float* w, const float* bias, const Conv2dShape& s,
                                  float slope) {
  const int64_t K = patch_size(s), P = out_pixels(s), taps = s.k_h * s.k_w, in_size = s.c_in * in_pixels(s),
                out_size = s.c_out * P;
  const Source src = source_of(s);
  const std::vector<int32_t>& table = source_tap_table(s, src);
  float* wp = packed_weights_room(s.c_out, K, 1);  // the calling thread's scratch, read by all
  for_sample_ranges(s.n, [&](int64_t n0, int64_t n1, int t, int nt) {
    pack_weights_shared(wp, w, s.c_out, K, t, nt);
    const BlockGather g = block_gather(s, table, n1 - n0, src.sample);
    const int64_t B_max = g.B_max, ld = B_max * P;
    for (int64_t nb = n0; nb < n1; nb += B_max) {
      const int64_t B = std::min(B_max, n1 - nb);
      avx::col_vectors(g.cv, g.offset, B * P);
      const float* xb = block_source(x + nb * in_size, B, s, src);
      const bool in_store = slope >= 0 && !bias && K <= avx::kKC;
      avx::gemm_nest(s.c_out, B * P, K,
                     PatchOps{wp, K, xb, src.plane, taps, g.gv, groups_of(ld), y + nb * out_size, P, g.cv,
                              in_store ? slope : -1.0f},
                     false);
      if (bias)
        for (int64_t b = 0; b < B; ++b)
          for (int64_t co = 0; co < s.c_out; ++co) {
            float* row = y + (nb + b) * out_size + co * P;
            for (int64_t p = 0; p < P; ++p) row[p] += bias[co];
          }
      if (slope >= 0 && !in_store) activate_in_place(y + nb * out_size, B * out_size, slope);
    }
  });
}

// conv2d_backward_weight as implicit GEMMs: per block, dW_t += dYb @ cols^T with dYb's rows
// read from dy in place and cols^T gathered straight into the B panels.
GANTRY_AVX512 void backward_weight_avx512(float* dw, const float* dy, const float* x, const Conv2dShape& s) {
  const int64_t K = patch_size(s), P = out_pixels(s), taps = s.k_h * s.k_w, in_size = s.c_in * in_pixels(s),
                out_size = s.c_out * P;
  const Source src = source_of(s);
  const std::vector<int32_t>& table = source_tap_table(s, src);
  std::vector<float*> partials(omp_get_max_threads(), nullptr);
  for_sample_ranges(s.n, [&](int64_t n0, int64_t n1, int t, int nt) {
    const BlockGather g = block_gather(s, table, n1 - n0, src.sample);
    const int64_t B_max = g.B_max, ld = B_max * P;
    float* partial = nt == 1 ? dw : scratch<float>(2, s.c_out * K);
    partials[t] = partial;
    for (int64_t nb = n0; nb < n1; nb += B_max) {
      const int64_t B = std::min(B_max, n1 - nb);
      avx::col_vectors(g.cv, g.offset, B * P);
      const float* xb = block_source(x + nb * in_size, B, s, src);
      avx::gemm_nest(s.c_out, K, B * P,
                     WeightOps{dy + nb * out_size, P, g.cv, xb, src.plane, taps, g.gv, groups_of(ld), partial, K},
                     nb > n0);
    }
    if (n1 == n0) std::fill(partial, partial + s.c_out * K, 0.0f);
    if (nt == 1) return;
#pragma omp barrier
    sum_partials(dw, partials, s.c_out * K, t, nt);
  });
}

// The fewest input channels (the phase GEMM's rows) for the phase GEMMs: with fewer (DCGAN's
// one-channel image layers) the old GEMM over K = Cout*KH*KW rows + col2im is faster.
constexpr int64_t kPhaseMinChannels = 16;
// The packed shifted rows of a block of samples (all its slots) stay within this many floats
// (1 MiB: half this core's L2), which bounds the samples a block.
constexpr int64_t kSlotFloats = 1 << 18;

// One shifted copy of dy the phase GEMMs read: over a phase grid of a_h x a_w pixels,
// G_slot[co, b*a_h*a_w + a*a_w + c] = dy[b, co, a + shift_h, c + shift_w] (0 outside dy).
// Phase (rh, rw)'s tap (t, u) reads the slot of shift (d_h - t, d_w - u) over its grid, and
// phases with the same grid share slots: DCGAN's k4 s2 p1 has 16 (phase, tap) pairs and 9
// slots, so a block packs 9 shifted copies of dy where one GEMM a phase packed 16.
struct Slot {
  int64_t shift_h, shift_w, a_h, a_w;
  std::vector<int32_t> table;  // [a_h*a_w]: the dy pixel oh*OW + ow read, or -1
  bool operator==(const Slot& o) const {
    return shift_h == o.shift_h && shift_w == o.shift_w && a_h == o.a_h && a_w == o.a_w;
  }
};

// One phase (rh, rw) of dx: the input pixels (rh + sh*a, rw + sw*c), a < A_h, c < A_w.
struct Phase {
  int64_t rh, rw, a_h, a_w;
  int64_t kh0, kw0;        // its taps: kh = kh0 + sh*t, kw = kw0 + sw*u
  std::vector<int> slots;  // per tap t*U + u: the Slot it reads
};

// The phases of dx with their slots (phases with no pixels left out): the geometry's part of
// the plan, built once per geometry and thread (memo); the weights are packed per call.
struct PhasePlan {
  std::vector<Phase> phases;
  std::vector<Slot> slots;
};
PhasePlan build_phase_plan(const Conv2dShape& s) {
  PhasePlan plan;
  const int64_t T = s.k_h / s.stride_h, U = s.k_w / s.stride_w;
  for (int64_t rh = 0; rh < s.stride_h; ++rh)
    for (int64_t rw = 0; rw < s.stride_w; ++rw) {
      const int64_t a_h = rh < s.in_h ? (s.in_h - rh + s.stride_h - 1) / s.stride_h : 0,
                    a_w = rw < s.in_w ? (s.in_w - rw + s.stride_w - 1) / s.stride_w : 0;
      if (a_h == 0 || a_w == 0) continue;
      const int64_t kh0 = (rh + s.pad_h) % s.stride_h, kw0 = (rw + s.pad_w) % s.stride_w;
      Phase f{rh, rw, a_h, a_w, kh0, kw0, {}};
      const int64_t d_h = (rh + s.pad_h - kh0) / s.stride_h, d_w = (rw + s.pad_w - kw0) / s.stride_w;
      for (int64_t t = 0; t < T; ++t)
        for (int64_t u = 0; u < U; ++u) {
          Slot slot{d_h - t, d_w - u, a_h, a_w, {}};
          auto at = std::find(plan.slots.begin(), plan.slots.end(), slot);
          if (at == plan.slots.end()) {
            slot.table.resize((size_t)(a_h * a_w));
            for (int64_t a = 0; a < a_h; ++a)
              for (int64_t c = 0; c < a_w; ++c) {
                const int64_t oh = a + slot.shift_h, ow = c + slot.shift_w;
                const bool inside = oh >= 0 && oh < s.out_h && ow >= 0 && ow < s.out_w;
                slot.table[(size_t)(a * a_w + c)] = inside ? (int32_t)(oh * s.out_w + ow) : -1;
              }
            plan.slots.push_back(std::move(slot));
            at = plan.slots.end() - 1;
          }
          f.slots.push_back((int)(at - plan.slots.begin()));
        }
      plan.phases.push_back(std::move(f));
    }
  return plan;
}
const PhasePlan& phase_plan(const Conv2dShape& s) {
  return memo<3, PhasePlan>(
      s, 0, [&] { return build_phase_plan(s); },
      [](const PhasePlan& p) {
        size_t bytes = 0;
        for (const Slot& k : p.slots) bytes += table_bytes(k.table);
        return bytes;
      });
}

// Floats of one phase's packed weights: W_phase[Cin, Kp] as pack_a's panels, one after another.
int64_t phase_weight_floats(const Conv2dShape& s) {
  return (s.c_in + avx::kMR - 1) / avx::kMR * avx::kMR * s.c_out * (s.k_h / s.stride_h) * (s.k_w / s.stride_w);
}

// out = phase f's W_phase[ci, (t*U + u)*Cout + co] = w[co, ci, kh0 + sh*t, kw0 + sw*u] written
// straight in pack_a's panel layout (panel r: out[r*kMR*Kp + kk*kMR + i] = W_phase[r*kMR + i,
// kk], rows past Cin 0), which the phase GEMMs read as their A.
void pack_phase_weights(float* out, const float* w, const Conv2dShape& s, const Phase& f) {
  const int64_t T = s.k_h / s.stride_h, U = s.k_w / s.stride_w, Kp = s.c_out * T * U;
  for (int64_t r = 0; r * avx::kMR < s.c_in; ++r) {
    float* panel = out + r * avx::kMR * Kp;
    for (int64_t t = 0; t < T; ++t)
      for (int64_t u = 0; u < U; ++u)
        for (int64_t co = 0; co < s.c_out; ++co) {
          float* to = panel + ((t * U + u) * s.c_out + co) * avx::kMR;
          const float* from =
              w + ((co * s.c_in + r * avx::kMR) * s.k_h + f.kh0 + s.stride_h * t) * s.k_w + f.kw0 + s.stride_w * u;
          for (int64_t i = 0; i < avx::kMR; ++i) to[i] = r * avx::kMR + i < s.c_in ? from[i * s.k_h * s.k_w] : 0.0f;
        }
  }
}

// pack_shared over the phases' weights (phase f at packed + f*phase_weight_floats(s)).
void pack_phases_shared(float* packed, const float* w, const Conv2dShape& s, const std::vector<Phase>& phases, int t,
                        int nt) {
  pack_shared((int64_t)phases.size(), t, nt,
              [&](int64_t f) { pack_phase_weights(packed + f * phase_weight_floats(s), w, s, phases[(size_t)f]); });
}

// A thread's tables for blocks of up to B_max samples: per slot its 16-column groups of dy
// (gv + slot*groups), per phase its dx column offsets (offset + f*ld, from the block's first
// sample), ld = B_max * the widest grid; in this thread's index / ColVec scratch.
struct PhaseTables {
  int64_t ld, groups;
  const avx::ColVec* gv;
  const int32_t* offset;
};
PhaseTables phase_tables(const Conv2dShape& s, const std::vector<Phase>& phases, const std::vector<Slot>& slots,
                         int64_t B_max, int64_t widest) {
  const int64_t ld = B_max * widest, groups = groups_of(ld), S = (int64_t)slots.size(), F = (int64_t)phases.size();
  const int64_t in_size = s.c_in * in_pixels(s), out_size = s.c_out * out_pixels(s);
  int32_t* index = scratch<int32_t>(0, S * ld);
  int32_t* offset = scratch<int32_t>(1, F * ld);
  avx::ColVec* gv = scratch<avx::ColVec>(1, S * groups);
  for (int64_t k = 0; k < S; ++k) {
    const Slot& slot = slots[(size_t)k];
    block_index(index + k * ld, slot.table.data(), 1, slot.a_h * slot.a_w, B_max, out_size);
    avx::col_vectors(gv + k * groups, index + k * ld, B_max * slot.a_h * slot.a_w);
  }
  for (int64_t f = 0; f < F; ++f) {
    const Phase& ph = phases[(size_t)f];
    for (int64_t b = 0; b < B_max; ++b)
      for (int64_t a = 0; a < ph.a_h; ++a)
        for (int64_t c = 0; c < ph.a_w; ++c)
          offset[f * ld + (b * ph.a_h + a) * ph.a_w + c] =
              (int32_t)(b * in_size + (ph.rh + s.stride_h * a) * s.in_w + ph.rw + s.stride_w * c);
  }
  return {ld, groups, gv, offset};
}

// Phases [f0, f1) of dx for the B samples from nb: the slots they read packed once into
// 32-column panels (bp: slot k's panel j at base[k] + j*Cout*32, its row co at + co*32), then
// per 32 columns, phase and 14 rows of Cin one register tile over the phase's taps, chunk by
// chunk (Cout steps each: its A panel's rows for that tap, its slot's panel), stored straight
// to the phase's pixels of dx.
GANTRY_AVX512 void run_phases(float* dx, const float* dy, const Conv2dShape& s, const std::vector<Phase>& phases,
                              const std::vector<Slot>& slots, const float* packed, const PhaseTables& tb, int64_t nb,
                              int64_t B, int64_t f0, int64_t f1) {
  const int64_t P = out_pixels(s), Cout = s.c_out, taps = (int64_t)phases[0].slots.size(), Kp = Cout * taps;
  const int64_t in_size = s.c_in * in_pixels(s), out_size = Cout * P, S = (int64_t)slots.size();
  std::vector<int64_t> at((size_t)S, -1);  // slot k's panels at bp + at[k], or -1: not read here
  int64_t floats = 0;
  for (int64_t f = f0; f < f1; ++f)
    for (int k : phases[(size_t)f].slots)
      if (at[(size_t)k] < 0) {
        at[(size_t)k] = floats;
        floats += (B * slots[(size_t)k].a_h * slots[(size_t)k].a_w + avx::kNR - 1) / avx::kNR * avx::kNR * Cout;
      }
  float* bp = avx::pack_buffer(1, floats);  // 64-byte aligned (the SGEMM's B buffer; no gemm_nest runs here)
  const float* src = dy + nb * out_size;
  for (int64_t k = 0; k < S; ++k) {
    if (at[(size_t)k] < 0) continue;
    float* out = bp + at[(size_t)k];
    const int64_t cols = B * slots[(size_t)k].a_h * slots[(size_t)k].a_w;
    const avx::ColVec* g = tb.gv + k * tb.groups;
    for (int64_t j0 = 0; j0 < cols; j0 += avx::kNR, out += avx::kNR * Cout) {
      const int64_t n = std::min<int64_t>(avx::kNR, cols - j0);
      const __mmask16 m0 = avx::lanes(n), m1 = n > 16 ? avx::lanes(n - 16) : (__mmask16)0;
      for (int64_t co = 0; co < Cout; ++co) {
        _mm512_store_ps(out + co * avx::kNR, avx::load_cols(src + co * P, g[j0 / 16], m0));
        _mm512_store_ps(out + co * avx::kNR + 16,
                        m1 ? avx::load_cols(src + co * P, g[j0 / 16 + 1], m1) : _mm512_setzero_ps());
      }
    }
  }
  int64_t widest = 0;
  for (int64_t f = f0; f < f1; ++f) widest = std::max(widest, B * phases[(size_t)f].a_h * phases[(size_t)f].a_w);
  avx::ColVec* cv = scratch<avx::ColVec>(0, (f1 - f0) * groups_of(widest));
  for (int64_t f = f0; f < f1; ++f) {
    const Phase& ph = phases[(size_t)f];
    avx::col_vectors(cv + (f - f0) * groups_of(widest), tb.offset + f * tb.ld, B * ph.a_h * ph.a_w);
  }
  std::vector<const float*> ap((size_t)taps), bq((size_t)taps);
  for (int64_t j0 = 0; j0 < widest; j0 += avx::kNR)
    for (int64_t f = f0; f < f1; ++f) {
      const Phase& ph = phases[(size_t)f];
      const int64_t cols = B * ph.a_h * ph.a_w;
      if (j0 >= cols) continue;
      for (int64_t q = 0; q < taps; ++q) bq[(size_t)q] = bp + at[(size_t)ph.slots[(size_t)q]] + j0 * Cout;
      const float* wf = packed + f * phase_weight_floats(s);  // this phase's W_phase panels
      for (int64_t i0 = 0; i0 < s.c_in; i0 += avx::kMR) {
        for (int64_t q = 0; q < taps; ++q) ap[(size_t)q] = wf + i0 * Kp + q * Cout * avx::kMR;
        avx::chunked_col_tile(std::min<int64_t>(avx::kMR, s.c_in - i0), std::min<int64_t>(avx::kNR, cols - j0),
                              (int)taps, Cout, ap.data(), bq.data(), dx + nb * in_size + i0 * in_pixels(s),
                              in_pixels(s), cv + (f - f0) * groups_of(widest) + j0 / 16);
      }
    }
}

// conv2d_backward_input as s_h*s_w stride-1 correlations, one implicit GEMM per phase and
// block: dX_phase[Cin, B*P'] = W_phase @ (dy read through the phase's taps, from the block's
// shared slots), stored straight to the phase's pixels of dx. Every dx element is written
// exactly once.
GANTRY_AVX512 void backward_input_phases_avx512(float* dx, const float* dy, const float* w, const Conv2dShape& s) {
  const PhasePlan& plan = phase_plan(s);
  const std::vector<Phase>& phases = plan.phases;
  const std::vector<Slot>& slots = plan.slots;
  const int64_t F = (int64_t)phases.size();
  if (F == 0) return;
  int64_t widest = 1, slot_columns = 0;
  for (const Phase& f : phases) widest = std::max(widest, f.a_h * f.a_w);
  for (const Slot& k : slots) slot_columns += k.a_h * k.a_w;
  // Blocks as the other passes, sized by the widest phase, and so that a block's slots fit kSlotFloats.
  const int64_t per_block = std::max<int64_t>(1, std::min((kBlockColumnsAvx512 + widest - 1) / widest,
                                                          kSlotFloats / std::max<int64_t>(1, slot_columns * s.c_out)));
  // Every phase's packed weights, in the calling thread's scratch, read by all.
  float* packed = scratch<float>(1, F * phase_weight_floats(s));
  const int threads = omp_in_parallel() ? 1 : omp_get_max_threads();
  if (threads > 1 && s.n < threads) {  // fewer samples than threads: one (sample, phase) a work item
#pragma omp parallel
    {
      pack_phases_shared(packed, w, s, phases, omp_get_thread_num(), omp_get_num_threads());
      const PhaseTables tb = phase_tables(s, phases, slots, 1, widest);
#pragma omp for schedule(static)
      for (int64_t item = 0; item < s.n * F; ++item)
        run_phases(dx, dy, s, phases, slots, packed, tb, item / F, 1, item % F, item % F + 1);
    }
    return;
  }
  for_sample_ranges(s.n, [&](int64_t n0, int64_t n1, int t, int nt) {
    pack_phases_shared(packed, w, s, phases, t, nt);
    const int64_t B_max = std::max<int64_t>(1, std::min(per_block, n1 - n0));
    const PhaseTables tb = phase_tables(s, phases, slots, B_max, widest);
    for (int64_t nb = n0; nb < n1; nb += B_max)
      run_phases(dx, dy, s, phases, slots, packed, tb, nb, std::min(B_max, n1 - nb), 0, F);
  });
}

}  // namespace

bool implicit_gemm(const Conv2dShape& s) {
  if (!batch_invariant_gemm<float>() || is_full_kernel(s)) return false;
  const int64_t threads = omp_in_parallel() ? 1 : omp_get_max_threads();
  if (threads > 1 && s.n < threads && !small_conv(s)) return false;
  return offsets_fit(s, out_pixels(s), source_of(s).sample);
}

bool phase_decomposable(const Conv2dShape& s) {
  if (!batch_invariant_gemm<float>() || is_full_kernel(s)) return false;
  if (s.c_in < kPhaseMinChannels || (s.stride_h == 1 && s.stride_w == 1) || s.dil_h != 1 || s.dil_w != 1 ||
      s.k_h % s.stride_h != 0 || s.k_w % s.stride_w != 0)
    return false;
  return offsets_fit(s, ((s.in_h + s.stride_h - 1) / s.stride_h) * ((s.in_w + s.stride_w - 1) / s.stride_w),
                     s.c_in * in_pixels(s));
}

void forward_implicit(float* y, const float* x, const float* w, const float* bias, const Conv2dShape& s, float slope) {
  forward_avx512(y, x, w, bias, s, slope);
}
void backward_weight_implicit(float* dw, const float* dy, const float* x, const Conv2dShape& s) {
  backward_weight_avx512(dw, dy, x, s);
}
void backward_input_phases(float* dx, const float* dy, const float* w, const Conv2dShape& s) {
  backward_input_phases_avx512(dx, dy, w, s);
}

}  // namespace gantry::kernels::cpu::conv_detail
