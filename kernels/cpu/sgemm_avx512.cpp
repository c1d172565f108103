// kernels/cpu/sgemm_avx512.cpp — gantry's float GEMM: BLIS-style packing and a
// register-blocked AVX-512 FMA tile (docs/kernels/cpu_gemm.md).
//
// Math: C[m, n] (+)= op(A)[m, k] op(B)[k, n], all row-major; op(A) = A or A^T, op(B) = B or B^T.
// Every element is one FMA chain over k in order: acc = (accumulate ? C : 0), then
// acc = fma(op(A)[i, p], op(B)[p, j], acc) for p = 0, 1, ..., k-1. A k block after the first
// starts from the C the previous one stored, so the result does not depend on kKC, kMC, kNC,
// on where the element's tile sits, or on m and n: batching samples side by side in one
// product changes no bit of a sample's result.
// Packing reads op(A) or op(B) along its contiguous axis: a masked vector copy where that
// axis is the panel's, else 16 x 16 in-register transposes (A not transposed, B transposed).
// Layout of the packed panels (zero-padded past the matrix edge):
//   A panel (kMR rows of op(A), kc long): ap[p*kMR + i] = op(A)[ic + ir + i, pc + p]
//   B panel (kNR columns of op(B)):       bp[p*kNR + j] = op(B)[pc + p, jc + jr + j]
// Loop nest (serial; the caller owns the threads):
//   for jc < n step kNC                              B block: kc x nc
//     for pc < k step kKC                            pack op(B)[pc.., jc..] into kNR-column panels
//       for ic < m step kMC                          pack op(A)[ic.., pc..] into kMR-row panels (L2)
//         for jr < nc step kNR                       one B panel (kc x kNR: L1)
//           for ir < mc step kMR                     tile: kMR x kNR accumulators in zmm registers,
//             for p < kc                               kNV B loads, kMR broadcasts of A, kMR*kNV FMAs
// Edge tiles run the same code with fewer rows (R < kMR) or fewer vectors (V < kNV) and a
// lane mask on the last vector, chosen from a table of template instances.
// Compiled for AVX-512F + FMA by target attributes on the functions that use them (the rest
// of the build may be portable); sgemm() (kernels/cpu/sgemm.cpp) calls it only where
// __builtin_cpu_supports says the CPU has both.
// Versions: this is SgemmKernel::kAvx512 (2); kEigen (1) is in sgemm.cpp. Within it: scalar
// transposing packs first, then the 16 x 16 register transposes (backward-weight shapes
// 0.51-0.91x Eigen -> 0.89-1.05x).
// GCC 12 warns -W(maybe-)uninitialized inside its own avx512fintrin.h (the
// _mm512_undefined_ps() behind unpack and shuffle intrinsics): a known false positive,
// silenced for this file.
#pragma GCC diagnostic ignored "-Wuninitialized"
#if !defined(__clang__)  // clang has no -Wmaybe-uninitialized (and warns that it has not)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <immintrin.h>

#include <array>
#include <cstdint>
#include <cstdlib>
#include <new>
#include <utility>

#include "kernels/cpu/sgemm.hpp"

#define GANTRY_AVX512 __attribute__((target("avx512f,fma")))

namespace gantry::kernels::cpu {

namespace {

constexpr int kMR = 14;            // rows of the register tile
constexpr int kNV = 2;             // zmm vectors (16 floats) per tile row
constexpr int kNR = 16 * kNV;      // columns of the register tile
constexpr int64_t kKC = 256;       // k block: a B panel is kKC x kNR floats (32 KiB, L1)
constexpr int64_t kMC = kMR * 12;  // rows of A packed at once (kMC x kKC: 168 KiB, L2)
constexpr int64_t kNC = kNR * 64;  // columns of B packed at once (kKC x kNC: 2 MiB)

// This thread's packing buffer `slot` (0: A, 1: B), at least `count` floats, 64-byte
// aligned; kept between calls.
float* pack_buffer(int slot, int64_t count) {
  struct Buffer {
    float* data = nullptr;
    int64_t size = 0;
    ~Buffer() { std::free(data); }
  };
  thread_local Buffer buffers[2];
  Buffer& buffer = buffers[slot];
  if (buffer.size < count) {
    std::free(buffer.data);
    buffer.data = static_cast<float*>(std::aligned_alloc(64, (size_t)((count * 4 + 63) / 64 * 64)));
    if (!buffer.data) throw std::bad_alloc();
    buffer.size = count;
  }
  return buffer.data;
}

// The lanes of a vector holding `count` (1..16) floats.
GANTRY_AVX512 inline __mmask16 lanes(int64_t count) {
  return count >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << count) - 1);
}

// The 64-bit pairs of x and y interleaved: unpacklo / unpackhi_pd on floats. (Functions, not
// lambdas: a lambda does not inherit the target attribute.)
GANTRY_AVX512 inline __m512 lo(__m512 x, __m512 y) {
  return _mm512_castpd_ps(_mm512_unpacklo_pd(_mm512_castps_pd(x), _mm512_castps_pd(y)));
}
GANTRY_AVX512 inline __m512 hi(__m512 x, __m512 y) {
  return _mm512_castpd_ps(_mm512_unpackhi_pd(_mm512_castps_pd(x), _mm512_castps_pd(y)));
}

// r[q] = column q of the 16 x 16 block whose rows are r[0..16): an in-register transpose
// (unpack pairs, then quads, then two 128-bit lane shuffles).
GANTRY_AVX512 inline void transpose16(__m512 r[16]) {
  __m512 t[16];
  for (int i = 0; i < 16; i += 2) {
    t[i] = _mm512_unpacklo_ps(r[i], r[i + 1]);
    t[i + 1] = _mm512_unpackhi_ps(r[i], r[i + 1]);
  }
  for (int g = 0; g < 16; g += 4) {  // r[g + c], lane L: column 4L + c of rows g .. g+3
    r[g] = lo(t[g], t[g + 2]);
    r[g + 1] = hi(t[g], t[g + 2]);
    r[g + 2] = lo(t[g + 1], t[g + 3]);
    r[g + 3] = hi(t[g + 1], t[g + 3]);
  }
  for (int c = 0; c < 4; ++c) {
    t[c] = _mm512_shuffle_f32x4(r[c], r[c + 4], 0x88);
    t[c + 4] = _mm512_shuffle_f32x4(r[c], r[c + 4], 0xdd);
    t[c + 8] = _mm512_shuffle_f32x4(r[c + 8], r[c + 12], 0x88);
    t[c + 12] = _mm512_shuffle_f32x4(r[c + 8], r[c + 12], 0xdd);
  }
  for (int c = 0; c < 8; ++c) {
    r[c] = _mm512_shuffle_f32x4(t[c], t[c + 8], 0x88);
    r[c + 8] = _mm512_shuffle_f32x4(t[c], t[c + 8], 0xdd);
  }
}

// out[q*stride + 0..16) = src[i*ld + q] for i < rows (<= 16; 0 past it), q < count (<= 16):
// the transpose of a rows x count block, one 16-float store per q in increasing q (a
// stride under 16 overlaps the next store, which comes after).
GANTRY_AVX512 inline void transpose_block(float* out, int64_t stride, const float* src, int64_t ld, int64_t rows,
                                          int64_t count) {
  const __mmask16 mask = lanes(count);
  __m512 r[16];
#pragma GCC unroll 16
  for (int i = 0; i < 16; ++i) r[i] = i < rows ? _mm512_maskz_loadu_ps(mask, src + i * ld) : _mm512_setzero_ps();
  transpose16(r);
  for (int q = 0; q < count; ++q) _mm512_storeu_ps(out + q * stride, r[q]);
}

// ap[p*kMR + i] = op(A)[i0 + i, p0 + p] for i < rows (<= kMR), p < kc; rows past `rows` are 0.
// Writes up to 16 floats past the panel (the buffer has room; the next panel overwrites them).
GANTRY_AVX512 void pack_a(float* __restrict ap, const float* __restrict a, int64_t lda, bool trans, int64_t i0,
                          int64_t rows, int64_t p0, int64_t kc) {
  if (trans) {  // op(A)[i, p] = a[p*lda + i]: kMR contiguous floats of row p0 + p
    const __mmask16 mask = lanes(rows);
    for (int64_t p = 0; p < kc; ++p)
      _mm512_storeu_ps(ap + p * kMR, _mm512_maskz_loadu_ps(mask, a + (p0 + p) * lda + i0));
    return;
  }
  // op(A)[i, p] = a[i*lda + p]: 16 x 16 transposes of the rows
  for (int64_t p = 0; p < kc; p += 16)
    transpose_block(ap + p * kMR, kMR, a + i0 * lda + p0 + p, lda, rows, kc - p < 16 ? kc - p : 16);
}

// bp[p*kNR + j] = op(B)[p0 + p, j0 + j] for j < cols (<= kNR), p < kc; columns past `cols` are 0.
GANTRY_AVX512 void pack_b(float* __restrict bp, const float* __restrict b, int64_t ldb, bool trans, int64_t j0,
                          int64_t cols, int64_t p0, int64_t kc) {
  if (!trans) {  // op(B)[p, j] = b[p*ldb + j]: kNR contiguous floats of row p0 + p
    __mmask16 mask[kNV];
    for (int v = 0; v < kNV; ++v) mask[v] = cols > 16 * v ? lanes(cols - 16 * v) : (__mmask16)0;
    for (int64_t p = 0; p < kc; ++p) {
      const float* src = b + (p0 + p) * ldb + j0;
      for (int v = 0; v < kNV; ++v)
        _mm512_store_ps(bp + p * kNR + 16 * v, _mm512_maskz_loadu_ps(mask[v], src + 16 * v));
    }
    return;
  }
  // op(B)[p, j] = b[j*ldb + p]: 16 x 16 transposes, 16 columns of the panel at a time
  for (int64_t p = 0; p < kc; p += 16)
    for (int v = 0; v < kNV && 16 * v < cols; ++v)
      transpose_block(bp + p * kNR + 16 * v, kNR, b + (j0 + 16 * v) * ldb + p0 + p, ldb,
                      cols - 16 * v < 16 ? cols - 16 * v : 16, kc - p < 16 ? kc - p : 16);
  for (int v = 0; v < kNV; ++v)  // whole vectors past `cols`
    if (16 * v >= cols)
      for (int64_t p = 0; p < kc; ++p) _mm512_store_ps(bp + p * kNR + 16 * v, _mm512_setzero_ps());
}

// The register tile: C[0..R, 0..16V) (+)= A panel @ B panel over kc, the last vector of
// each row masked by `last`. load_c: start from C (accumulate, or a k block after the
// first); else from 0. R*V accumulators, V B vectors and one broadcast: at most 31 zmm.
template <int R, int V>
GANTRY_AVX512 void tile(int64_t kc, const float* __restrict ap, const float* __restrict bp, float* __restrict c,
                        int64_t ldc, __mmask16 last, bool load_c) {
  __m512 acc[R][V];
#pragma GCC unroll 16
  for (int i = 0; i < R; ++i)
#pragma GCC unroll 4
    for (int v = 0; v < V; ++v) {
      const float* ci = c + i * ldc + 16 * v;
      if (!load_c) acc[i][v] = _mm512_setzero_ps();
      else acc[i][v] = v == V - 1 ? _mm512_maskz_loadu_ps(last, ci) : _mm512_loadu_ps(ci);
    }
  for (int64_t p = 0; p < kc; ++p) {
    __m512 bv[V];
#pragma GCC unroll 4
    for (int v = 0; v < V; ++v) bv[v] = _mm512_load_ps(bp + 16 * v);
#pragma GCC unroll 16
    for (int i = 0; i < R; ++i) {
      const __m512 ai = _mm512_set1_ps(ap[i]);
#pragma GCC unroll 4
      for (int v = 0; v < V; ++v) acc[i][v] = _mm512_fmadd_ps(ai, bv[v], acc[i][v]);
    }
    ap += kMR;
    bp += kNR;
  }
#pragma GCC unroll 16
  for (int i = 0; i < R; ++i)
#pragma GCC unroll 4
    for (int v = 0; v < V; ++v) {
      float* ci = c + i * ldc + 16 * v;
      if (v == V - 1) _mm512_mask_storeu_ps(ci, last, acc[i][v]);
      else _mm512_storeu_ps(ci, acc[i][v]);
    }
}

using TileFn = void (*)(int64_t, const float*, const float*, float*, int64_t, __mmask16, bool);

// kTiles[R-1][V-1] = tile<R, V>, for every edge shape.
template <int R, int... V>
constexpr std::array<TileFn, sizeof...(V)> tile_row(std::integer_sequence<int, V...>) {
  return {&tile<R, V + 1>...};
}
template <int... R>
constexpr std::array<std::array<TileFn, kNV>, sizeof...(R)> tile_table(std::integer_sequence<int, R...>) {
  return {tile_row<R + 1>(std::make_integer_sequence<int, kNV>())...};
}
constexpr auto kTiles = tile_table(std::make_integer_sequence<int, kMR>());

// The loop nest of the header, for m, n >= 1.
GANTRY_AVX512 void run(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, const float* a, int64_t lda,
                       const float* b, int64_t ldb, float* c, int64_t ldc, bool accumulate) {
  if (k <= 0) {
    if (!accumulate)
      for (int64_t i = 0; i < m; ++i)
        for (int64_t j = 0; j < n; ++j) c[i * ldc + j] = 0.0f;
    return;
  }
  const int64_t kc_max = k < kKC ? k : kKC;
  const int64_t mc_max = m < kMC ? (m + kMR - 1) / kMR * kMR : kMC;
  const int64_t nc_max = n < kNC ? (n + kNR - 1) / kNR * kNR : kNC;
  float* ap = pack_buffer(0, mc_max * kc_max + 16);
  float* bp = pack_buffer(1, nc_max * kc_max);
  for (int64_t jc = 0; jc < n; jc += kNC) {
    const int64_t nc = n - jc < kNC ? n - jc : kNC;
    for (int64_t pc = 0; pc < k; pc += kKC) {
      const int64_t kc = k - pc < kKC ? k - pc : kKC;
      const bool load_c = accumulate || pc > 0;
      for (int64_t jr = 0; jr < nc; jr += kNR)
        pack_b(bp + jr * kc, b, ldb, trans_b, jc + jr, nc - jr < kNR ? nc - jr : kNR, pc, kc);
      for (int64_t ic = 0; ic < m; ic += kMC) {
        const int64_t mc = m - ic < kMC ? m - ic : kMC;
        for (int64_t ir = 0; ir < mc; ir += kMR)
          pack_a(ap + ir * kc, a, lda, trans_a, ic + ir, mc - ir < kMR ? mc - ir : kMR, pc, kc);
        for (int64_t jr = 0; jr < nc; jr += kNR) {
          const int64_t cols = nc - jr < kNR ? nc - jr : kNR;
          const int64_t vectors = (cols + 15) / 16;
          const __mmask16 last = lanes(cols - 16 * (vectors - 1));
          for (int64_t ir = 0; ir < mc; ir += kMR) {
            const int64_t rows = mc - ir < kMR ? mc - ir : kMR;
            kTiles[rows - 1][vectors - 1](kc, ap + ir * kc, bp + jr * kc, c + (ic + ir) * ldc + jc + jr, ldc, last,
                                          load_c);
          }
        }
      }
    }
  }
}

}  // namespace

void sgemm_avx512(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, const float* a, int64_t lda,
                  const float* b, int64_t ldb, float* c, int64_t ldc, bool accumulate) {
  if (m <= 0 || n <= 0) return;
  run(trans_a, trans_b, m, n, k, a, lda, b, ldb, c, ldc, accumulate);
}

}  // namespace gantry::kernels::cpu
