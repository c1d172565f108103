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
// A one-column or one-row product (n = 1 or m = 1) or an outer product (k = 1) skips the
// nest: column_product, row_product and outer_product below run the same FMA chains straight
// from the operands, with no packing.
// Edge tiles run the same code with fewer rows (R < kMR) or fewer vectors (V < kNV) and a
// lane mask on the last vector, chosen from a table of template instances.
// The tiles, the packing and the loop nest live in kernels/cpu/sgemm_avx512.hpp: the nest is
// gemm_nest<Ops>, a template over how a panel is packed and how a tile is stored; this file
// instantiates it for plain row-major operands (PlainOps), and kernels/cpu/conv.cpp for its
// implicit GEMMs (patches gathered into the panels, tiles stored at per-column offsets by
// tile_cols, the same FMA chain per element). The bits of sgemm did not change with it.
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
#include "kernels/cpu/sgemm_avx512.hpp"

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <new>

#include "kernels/cpu/sgemm.hpp"

namespace gantry::kernels::cpu {

namespace avx512 {

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

}  // namespace avx512

namespace {

using namespace avx512;

// A plain row-major sgemm as gemm_nest's packing and storing.
struct PlainOps {
  bool trans_a, trans_b;
  const float* a;
  int64_t lda;
  const float* b;
  int64_t ldb;
  float* c;
  int64_t ldc;
  GANTRY_AVX512 void pack_a(float* ap, int64_t i0, int64_t rows, int64_t p0, int64_t kc) const {
    avx512::pack_a(ap, a, lda, trans_a, i0, rows, p0, kc);
  }
  GANTRY_AVX512 void pack_b(float* bp, int64_t j0, int64_t cols, int64_t p0, int64_t kc) const {
    avx512::pack_b(bp, b, ldb, trans_b, j0, cols, p0, kc);
  }
  GANTRY_AVX512 void tile(int64_t rows, int64_t cols, int64_t kc, const float* ap, const float* bp, int64_t i0,
                          int64_t j0, bool load_c) const {
    dense_tile(rows, cols, kc, ap, bp, c + i0 * ldc + j0, ldc, load_c);
  }
};

// The loop nest of the header, for m, n >= 1.
GANTRY_AVX512 void run(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, const float* a, int64_t lda,
                       const float* b, int64_t ldb, float* c, int64_t ldc, bool accumulate) {
  if (k <= 0) {
    if (!accumulate)
      for (int64_t i = 0; i < m; ++i)
        for (int64_t j = 0; j < n; ++j) c[i * ldc + j] = 0.0f;
    return;
  }
  gemm_nest(m, n, k, PlainOps{trans_a, trans_b, a, lda, b, ldb, c, ldc}, accumulate);
}

// acc lane l (l < rows <= 16) continued by the FMA chain over p < k in order of
// mat[l*ld + p] * vec[p*step]: 16 dot products with one vector, the rows of mat read 16 x 16
// at a time and transposed in registers (column p of the block in one zmm).
GANTRY_AVX512 __m512 dot16_by_transposes(__m512 acc, const float* mat, int64_t ld, int64_t rows, const float* vec,
                                         int64_t step, int64_t k) {
  for (int64_t p0 = 0; p0 < k; p0 += 16) {
    const int64_t count = std::min<int64_t>(16, k - p0);
    const __mmask16 mask = lanes(count);
    __m512 r[16];
#pragma GCC unroll 16
    for (int l = 0; l < 16; ++l) r[l] = l < rows ? _mm512_maskz_loadu_ps(mask, mat + l * ld + p0) : _mm512_setzero_ps();
    transpose16(r);
    for (int64_t q = 0; q < count; ++q) acc = _mm512_fmadd_ps(r[q], _mm512_set1_ps(vec[(p0 + q) * step]), acc);
  }
  return acc;
}

// C[m, 1] (+)= op(A)[m, k] op(B)[k, 1] (n = 1: a matrix-vector product) without the nest,
// which would pack all of A into panels to use one column of each tile (DCGAN's last
// discriminator layer, 64 x 3136 x 1, spent 0.1 ms a call doing so). 16 rows a vector: lane i
// runs row i0 + i's FMA chain over k in order (op(A)'s columns by dot16_by_transposes, or
// plain loads when A is transposed), so every element has the nest's bits.
GANTRY_AVX512 void column_product(bool trans_a, bool trans_b, int64_t m, int64_t k, const float* a, int64_t lda,
                                  const float* b, int64_t ldb, float* c, int64_t ldc, bool accumulate) {
  const int64_t b_step = trans_b ? 1 : ldb;  // op(B)[p, 0] = b[p * b_step]
  alignas(64) float lane[16];
  for (int64_t i0 = 0; i0 < m; i0 += 16) {
    const int64_t rows = std::min<int64_t>(16, m - i0);
    for (int64_t i = 0; i < 16; ++i) lane[i] = accumulate && i < rows ? c[(i0 + i) * ldc] : 0.0f;
    __m512 acc = _mm512_load_ps(lane);
    if (trans_a) {  // op(A)[i, p] = a[p*lda + i]: 16 contiguous rows of op(A) per p
      const __mmask16 mask = lanes(rows);
      for (int64_t p = 0; p < k; ++p)
        acc = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(mask, a + p * lda + i0), _mm512_set1_ps(b[p * b_step]), acc);
    } else {  // op(A)[i, p] = a[i*lda + p]
      acc = dot16_by_transposes(acc, a + i0 * lda, lda, rows, b, b_step, k);
    }
    _mm512_store_ps(lane, acc);
    for (int64_t i = 0; i < rows; ++i) c[(i0 + i) * ldc] = lane[i];
  }
}

// C[1, n] (+)= op(A)[1, k] op(B)[k, n] (m = 1: a vector-matrix product, backward weight of a
// one-channel layer) without the nest, which would pack all of B to use one row of each tile.
// Each element runs its FMA chain over k in order, the nest's bits. B plain: per chunk of
// kRowChunk columns of C (in L1), p outer, so B is read row after row, each run contiguous
// (16 columns at a time down all k rows would read k strided streams at once). B transposed:
// 16 columns a vector, its rows by dot16_by_transposes.
constexpr int64_t kRowChunk = 1024;
GANTRY_AVX512 void row_product(bool trans_a, bool trans_b, int64_t n, int64_t k, const float* a, int64_t lda,
                               const float* b, int64_t ldb, float* c, bool accumulate) {
  const int64_t a_step = trans_a ? lda : 1;  // op(A)[0, p] = a[p * a_step]
  if (!trans_b) {                            // op(B)[p, j] = b[p*ldb + j]
    for (int64_t j0 = 0; j0 < n; j0 += kRowChunk) {
      const int64_t j1 = std::min(n, j0 + kRowChunk);
      if (!accumulate)
        for (int64_t j = j0; j < j1; j += 16) _mm512_mask_storeu_ps(c + j, lanes(j1 - j), _mm512_setzero_ps());
      for (int64_t p = 0; p < k; ++p) {
        const __m512 ap = _mm512_set1_ps(a[p * a_step]);
        for (int64_t j = j0; j < j1; j += 16) {
          const __mmask16 mask = lanes(j1 - j);
          _mm512_mask_storeu_ps(c + j, mask,
                                _mm512_fmadd_ps(ap, _mm512_maskz_loadu_ps(mask, b + p * ldb + j),
                                                _mm512_maskz_loadu_ps(mask, c + j)));
        }
      }
    }
    return;
  }
  for (int64_t j0 = 0; j0 < n; j0 += 16) {  // op(B)[p, j] = b[j*ldb + p]
    const int64_t cols = std::min<int64_t>(16, n - j0);
    const __mmask16 out = lanes(cols);
    const __m512 acc = accumulate ? _mm512_maskz_loadu_ps(out, c + j0) : _mm512_setzero_ps();
    _mm512_mask_storeu_ps(c + j0, out, dot16_by_transposes(acc, b + j0 * ldb, ldb, cols, a, a_step, k));
  }
}

// C[m, n] (+)= op(A)[m, 1] op(B)[1, n] (k = 1: an outer product, a dense layer's input
// gradient with one output channel): each element one FMA, fma(a_i, b_j, C or 0), the nest's
// bits, written row after row (the nest's 14 x 32 tiles would write 14 rows, 64 for a
// 64-row C, as as many strided streams at once). A transposed B is first copied contiguous.
GANTRY_AVX512 void outer_product(bool trans_a, bool trans_b, int64_t m, int64_t n, const float* a, int64_t lda,
                                 const float* b, int64_t ldb, float* c, int64_t ldc, bool accumulate) {
  if (trans_b) {  // op(B)[0, j] = b[j*ldb]
    float* row = pack_buffer(1, n);
    for (int64_t j = 0; j < n; ++j) row[j] = b[j * ldb];
    b = row;
  }
  for (int64_t i = 0; i < m; ++i) {
    const __m512 ai = _mm512_set1_ps(trans_a ? a[i] : a[i * lda]);
    float* ci = c + i * ldc;
    for (int64_t j = 0; j < n; j += 16) {
      const __mmask16 mask = lanes(n - j);
      const __m512 start = accumulate ? _mm512_maskz_loadu_ps(mask, ci + j) : _mm512_setzero_ps();
      _mm512_mask_storeu_ps(ci + j, mask, _mm512_fmadd_ps(ai, _mm512_maskz_loadu_ps(mask, b + j), start));
    }
  }
}

}  // namespace

void sgemm_avx512(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, const float* a, int64_t lda,
                  const float* b, int64_t ldb, float* c, int64_t ldc, bool accumulate) {
  if (m <= 0 || n <= 0) return;
  if (n == 1) return column_product(trans_a, trans_b, m, k, a, lda, b, ldb, c, ldc, accumulate);
  if (m == 1) return row_product(trans_a, trans_b, n, k, a, lda, b, ldb, c, accumulate);
  if (k == 1) return outer_product(trans_a, trans_b, m, n, a, lda, b, ldb, c, ldc, accumulate);
  run(trans_a, trans_b, m, n, k, a, lda, b, ldb, c, ldc, accumulate);
}

}  // namespace gantry::kernels::cpu
