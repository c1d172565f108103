// kernels/cpu/sgemm_avx512.hpp — the parts of gantry's AVX-512 SGEMM that other kernels
// reuse (docs/kernels/cpu_gemm.md): the register tiles, the packing of plain row-major
// operands, and the loop nest as a template over how panels are packed and tiles stored, so
// an implicit GEMM (kernels/cpu/conv.cpp) packs its operands straight from the image and
// stores its tiles straight into the output. sgemm_avx512.cpp's header has the math, the
// panel layout and the loop nest.
// Everything here is compiled for AVX-512F + FMA by target attributes: call it only where
// sgemm_avx512_supported().
#pragma once
#include <immintrin.h>

#include <array>
#include <concepts>
#include <cstdint>
#include <utility>

#define GANTRY_AVX512 __attribute__((target("avx512f,fma")))

namespace gantry::kernels::cpu::avx512 {

constexpr int kMR = 14;            // rows of the register tile
constexpr int kNV = 2;             // zmm vectors (16 floats) per tile row
constexpr int kNR = 16 * kNV;      // columns of the register tile
constexpr int64_t kKC = 256;       // k block: a B panel is kKC x kNR floats (32 KiB, L1)
constexpr int64_t kMC = kMR * 12;  // rows of A packed at once (kMC x kKC: 168 KiB, L2)
constexpr int64_t kNC = kNR * 64;  // columns of B packed at once (kKC x kNC: 2 MiB)

// This thread's packing buffer `slot` (0: A, 1: B), at least `count` floats, 64-byte
// aligned; kept between calls (sgemm_avx512.cpp).
float* pack_buffer(int slot, int64_t count);

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
GANTRY_AVX512 inline void pack_a(float* __restrict ap, const float* __restrict a, int64_t lda, bool trans, int64_t i0,
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
GANTRY_AVX512 inline void pack_b(float* __restrict bp, const float* __restrict b, int64_t ldb, bool trans, int64_t j0,
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

// acc[i][v] = fma(A panel[p, i], B panel[p, 16v..16v+16), acc[i][v]) for p = 0 .. kc-1 in
// order: the FMA chain of every element of a register tile (tile and tile_cols both run it,
// so an element's bits are the same whichever stores it). R*V accumulators, V B vectors and
// one broadcast: at most 31 zmm.
template <int R, int V>
GANTRY_AVX512 __attribute__((always_inline)) inline void fma_chain(int64_t kc, const float* __restrict ap,
                                                                   const float* __restrict bp, __m512 (&acc)[R][V]) {
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
}

// A tile of fewer k steps than this that starts from 0 first prefetches the C lines it will
// store, so that their misses (a cold output, written once) overlap its FMAs: with k = 16
// (the one-channel image layers) or 64 (a dense layer's weight gradient) the FMAs are too
// few to hide them. In the DCGAN step (1 thread) those layers' passes took 8-25% less; with
// a longer k the prefetches cost more than they hide (G2's passes 2-3% slower alone).
constexpr int64_t kPrefetchBelowK = 128;

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
      if (!load_c) {
        acc[i][v] = _mm512_setzero_ps();
        if (kc < kPrefetchBelowK) _mm_prefetch((const char*)ci, _MM_HINT_T0);
      } else {
        acc[i][v] = v == V - 1 ? _mm512_maskz_loadu_ps(last, ci) : _mm512_loadu_ps(ci);
      }
    }
  fma_chain<R, V>(kc, ap, bp, acc);
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
inline constexpr auto kTiles = tile_table(std::make_integer_sequence<int, kMR>());

// The columns [16g, 16g + 16) of an operand whose columns are not evenly spaced (an
// implicit GEMM's: column j of row i lives at row_i + offset[j], or is 0 where offset[j] is
// -1): either up to two runs of consecutive addresses, lane l at off_a + l (lanes of mask_a)
// or at off_b + l (lanes of mask_b), two masked vector moves; or, with `index`, lane l at
// index[l] (lanes of mask_a), a gather / scatter. Lanes in neither mask are 0 (loads) or
// not stored: past the matrix edge, or an offset of -1.
struct ColVec {
  int32_t off_a = 0, off_b = 0;
  __mmask16 mask_a = 0, mask_b = 0;
  const int32_t* index = nullptr;
};

// out[g] for every 16 columns of n, from the columns' offsets (offset[j], j < n; -1: none).
inline void col_vectors(ColVec* out, const int32_t* offset, int64_t n) {
  for (int64_t g = 0; 16 * g < n; ++g) {
    const int32_t* o = offset + 16 * g;
    const int count = n - 16 * g < 16 ? (int)(n - 16 * g) : 16;
    int32_t base[2] = {0, 0};
    unsigned mask[2] = {0, 0}, valid = 0;
    int runs = 0;
    bool gather = false;
    for (int l = 0; l < count; ++l) {
      if (o[l] < 0) continue;
      valid |= 1u << l;
      const int32_t d = o[l] - l;  // lane l of a run starting at address d
      if (runs > 0 && d == base[runs - 1]) {
        mask[runs - 1] |= 1u << l;
      } else if (runs < 2) {
        base[runs] = d;
        mask[runs++] = 1u << l;
      } else {
        gather = true;
      }
    }
    ColVec v;
    if (gather) {
      v.index = o;
      v.mask_a = (__mmask16)valid;
    } else {
      v.off_a = base[0];
      v.off_b = base[1];
      v.mask_a = (__mmask16)mask[0];
      v.mask_b = (__mmask16)mask[1];
    }
    out[g] = v;
  }
}

// The lanes `keep` of the 16 columns `v` of the row at `row` (0 elsewhere).
GANTRY_AVX512 inline __m512 load_cols(const float* row, const ColVec& v, __mmask16 keep) {
  if (v.index) {
    const __mmask16 m = v.mask_a & keep;
    return _mm512_mask_i32gather_ps(_mm512_setzero_ps(), m, _mm512_maskz_loadu_epi32(m, v.index), row, 4);
  }
  __m512 x = _mm512_maskz_loadu_ps(v.mask_a & keep, row + v.off_a);
  if (v.mask_b & keep) x = _mm512_mask_loadu_ps(x, v.mask_b & keep, row + v.off_b);
  return x;
}

// The 16 columns `v` of the row at `row` (0 past the edge); `index` is v's index vector
// when it has one.
GANTRY_AVX512 inline __m512 load_cols(const float* row, const ColVec& v, __m512i index) {
  if (v.index) return _mm512_mask_i32gather_ps(_mm512_setzero_ps(), v.mask_a, index, row, 4);
  __m512 x = _mm512_maskz_loadu_ps(v.mask_a, row + v.off_a);
  if (v.mask_b) x = _mm512_mask_loadu_ps(x, v.mask_b, row + v.off_b);
  return x;
}
GANTRY_AVX512 inline void store_cols(float* row, const ColVec& v, __m512i index, __m512 x) {
  if (v.index) {
    _mm512_mask_i32scatter_ps(row, v.mask_a, index, x, 4);
    return;
  }
  _mm512_mask_storeu_ps(row + v.off_a, v.mask_a, x);
  if (v.mask_b) _mm512_mask_storeu_ps(row + v.off_b, v.mask_b, x);
}

// tile<R, V> with the columns at offsets (C row i at c + i*ldc, its vector v as cv[v] says),
// over `chunks` pairs of panels ap[q], bp[q] of kc steps each, added in turn into the same
// accumulators and stored once: one FMA chain per element over the chunks in order. A GEMM
// whose k rows of B lie in separate panels takes several (the phase GEMMs, which share
// their shifted dy rows); tile_cols is the one-chunk case.
template <int R, int V>
GANTRY_AVX512 __attribute__((always_inline)) inline void tile_cols_body(int chunks, int64_t kc, const float* const* ap,
                                                                        const float* const* bp, float* c, int64_t ldc,
                                                                        const ColVec* cv, bool load_c,
                                                                        float slope = -1.0f) {
  __m512i index[V];
#pragma GCC unroll 4
  for (int v = 0; v < V; ++v)
    index[v] = cv[v].index ? _mm512_maskz_loadu_epi32(cv[v].mask_a, cv[v].index) : _mm512_setzero_si512();
  __m512 acc[R][V];
#pragma GCC unroll 16
  for (int i = 0; i < R; ++i)
#pragma GCC unroll 4
    for (int v = 0; v < V; ++v)
      acc[i][v] = load_c ? load_cols(c + i * ldc, cv[v], (__mmask16)0xFFFF) : _mm512_setzero_ps();
  if (!load_c && chunks * kc < kPrefetchBelowK)
#pragma GCC unroll 16
    for (int i = 0; i < R; ++i)
#pragma GCC unroll 4
      for (int v = 0; v < V; ++v)
        if (!cv[v].index && cv[v].mask_a) _mm_prefetch((const char*)(c + i * ldc + cv[v].off_a), _MM_HINT_T0);
  for (int q = 0; q < chunks; ++q) fma_chain<R, V>(kc, ap[q], bp[q], acc);
  if (slope >= 0.0f) {  // an activation on the way out: y > 0 ? y : slope y (0: ReLU's y > 0 ? y : 0)
    const __m512 s = _mm512_set1_ps(slope), zero = _mm512_setzero_ps();
#pragma GCC unroll 16
    for (int i = 0; i < R; ++i)
#pragma GCC unroll 4
      for (int v = 0; v < V; ++v) {
        const __mmask16 pos = _mm512_cmp_ps_mask(acc[i][v], zero, _CMP_GT_OQ);
        acc[i][v] = _mm512_mask_blend_ps(pos, slope == 0.0f ? zero : _mm512_mul_ps(acc[i][v], s), acc[i][v]);
      }
  }
#pragma GCC unroll 16
  for (int i = 0; i < R; ++i)
#pragma GCC unroll 4
    for (int v = 0; v < V; ++v) store_cols(c + i * ldc, cv[v], index[v], acc[i][v]);
}
// slope >= 0: the stored values go through an activation (y > 0 ? y : slope y; 0: ReLU's 0),
// the expressions of leaky_relu / relu, so the bits of the activation applied after.
template <int R, int V>
GANTRY_AVX512 void tile_cols(int64_t kc, const float* __restrict ap, const float* __restrict bp, float* c, int64_t ldc,
                             const ColVec* cv, bool load_c, float slope) {
  const float* a = ap;
  const float* b = bp;
  tile_cols_body<R, V>(1, kc, &a, &b, c, ldc, cv, load_c, slope);
}
template <int R, int V>
GANTRY_AVX512 void tile_cols_chunked(int chunks, int64_t kc, const float* const* ap, const float* const* bp, float* c,
                                     int64_t ldc, const ColVec* cv) {
  tile_cols_body<R, V>(chunks, kc, ap, bp, c, ldc, cv, false);
}

using ColTileFn = void (*)(int64_t, const float*, const float*, float*, int64_t, const ColVec*, bool, float);

template <int R, int... V>
constexpr std::array<ColTileFn, sizeof...(V)> col_tile_row(std::integer_sequence<int, V...>) {
  return {&tile_cols<R, V + 1>...};
}
template <int... R>
constexpr std::array<std::array<ColTileFn, kNV>, sizeof...(R)> col_tile_table(std::integer_sequence<int, R...>) {
  return {col_tile_row<R + 1>(std::make_integer_sequence<int, kNV>())...};
}
// kColTiles[R-1][V-1] = tile_cols<R, V>.
inline constexpr auto kColTiles = col_tile_table(std::make_integer_sequence<int, kMR>());

using ChunkedColTileFn = void (*)(int, int64_t, const float* const*, const float* const*, float*, int64_t,
                                  const ColVec*);
template <int R, int... V>
constexpr std::array<ChunkedColTileFn, sizeof...(V)> chunked_col_tile_row(std::integer_sequence<int, V...>) {
  return {&tile_cols_chunked<R, V + 1>...};
}
template <int... R>
constexpr std::array<std::array<ChunkedColTileFn, kNV>, sizeof...(R)> chunked_col_tile_table(
    std::integer_sequence<int, R...>) {
  return {chunked_col_tile_row<R + 1>(std::make_integer_sequence<int, kNV>())...};
}
// kChunkedColTiles[R-1][V-1] = tile_cols_chunked<R, V>.
inline constexpr auto kChunkedColTiles = chunked_col_tile_table(std::make_integer_sequence<int, kMR>());

// The tile for a rows x cols corner (rows <= kMR, cols <= kNR) of a plain C at c (row stride ldc).
GANTRY_AVX512 inline void dense_tile(int64_t rows, int64_t cols, int64_t kc, const float* ap, const float* bp, float* c,
                                     int64_t ldc, bool load_c) {
  const int64_t vectors = (cols + 15) / 16;
  kTiles[rows - 1][vectors - 1](kc, ap, bp, c, ldc, lanes(cols - 16 * (vectors - 1)), load_c);
}
// The chunked tile (tile_cols_chunked) for a rows x cols corner whose columns are the ColVecs cv.
GANTRY_AVX512 inline void chunked_col_tile(int64_t rows, int64_t cols, int chunks, int64_t kc, const float* const* ap,
                                           const float* const* bp, float* c, int64_t ldc, const ColVec* cv) {
  kChunkedColTiles[rows - 1][(cols + 15) / 16 - 1](chunks, kc, ap, bp, c, ldc, cv);
}
// The tile for a rows x cols corner whose columns are the ColVecs cv (cv[0] its first 16).
GANTRY_AVX512 inline void col_tile(int64_t rows, int64_t cols, int64_t kc, const float* ap, const float* bp, float* c,
                                   int64_t ldc, const ColVec* cv, bool load_c, float slope = -1.0f) {
  kColTiles[rows - 1][(cols + 15) / 16 - 1](kc, ap, bp, c, ldc, cv, load_c, slope);
}

// An Ops whose A is packed once for every call of gemm_nest: packed_a(i0, p0) is the panel of
// rows i0 .. i0 + kMR (i0 a multiple of kMR) from column p0 on, laid out as pack_a's
// (conv_implicit.cpp's weights); gemm_nest then packs no A.
template <class Ops>
concept PrepackedA = requires(const Ops& o) {
  { o.packed_a(int64_t(0), int64_t(0)) } -> std::convertible_to<const float*>;
};

// The loop nest of sgemm_avx512.cpp's header for m, n, k >= 1, over an Ops with
//   pack_a(ap, i0, rows, p0, kc)   ap[p*kMR + i] = op(A)[i0 + i, p0 + p], i < rows (0 past it), p < kc
//                                  (may write up to 16 floats past the panel)
//   pack_b(bp, j0, cols, p0, kc)   bp[p*kNR + j] = op(B)[p0 + p, j0 + j], j < cols (0 past it), p < kc
//   tile(rows, cols, kc, ap, bp, i0, j0, load_c)   C[i0.., j0..] (+)= the panels' product, over
//                                  the C it stored for the previous k block when load_c
// (all GANTRY_AVX512 members). accumulate: the first k block adds to C too. k_block: the k
// block (kKC for sgemm; an implicit GEMM whose tile stores are costly may take all of k at
// once). The bits do not depend on it.
template <class Ops>
GANTRY_AVX512 void gemm_nest(int64_t m, int64_t n, int64_t k, const Ops& ops, bool accumulate, int64_t k_block = kKC) {
  const int64_t kc_max = k < k_block ? k : k_block;
  const int64_t mc_max = m < kMC ? (m + kMR - 1) / kMR * kMR : kMC;
  const int64_t nc_max = n < kNC ? (n + kNR - 1) / kNR * kNR : kNC;
  float* ap = PrepackedA<Ops> ? nullptr : pack_buffer(0, mc_max * kc_max + 16);
  float* bp = pack_buffer(1, nc_max * kc_max);
  for (int64_t jc = 0; jc < n; jc += kNC) {
    const int64_t nc = n - jc < kNC ? n - jc : kNC;
    for (int64_t pc = 0; pc < k; pc += k_block) {
      const int64_t kc = k - pc < k_block ? k - pc : k_block;
      const bool load_c = accumulate || pc > 0;
      for (int64_t jr = 0; jr < nc; jr += kNR) ops.pack_b(bp + jr * kc, jc + jr, nc - jr < kNR ? nc - jr : kNR, pc, kc);
      for (int64_t ic = 0; ic < m; ic += kMC) {
        const int64_t mc = m - ic < kMC ? m - ic : kMC;
        if constexpr (!PrepackedA<Ops>)
          for (int64_t ir = 0; ir < mc; ir += kMR)
            ops.pack_a(ap + ir * kc, ic + ir, mc - ir < kMR ? mc - ir : kMR, pc, kc);
        for (int64_t jr = 0; jr < nc; jr += kNR) {
          const int64_t cols = nc - jr < kNR ? nc - jr : kNR;
          for (int64_t ir = 0; ir < mc; ir += kMR) {
            const float* a_panel;
            if constexpr (PrepackedA<Ops>) a_panel = ops.packed_a(ic + ir, pc);
            else a_panel = ap + ir * kc;
            ops.tile(mc - ir < kMR ? mc - ir : kMR, cols, kc, a_panel, bp + jr * kc, ic + ir, jc + jr, load_c);
          }
        }
      }
    }
  }
}

}  // namespace gantry::kernels::cpu::avx512
