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

}  // namespace

void sgemm_avx512(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, const float* a, int64_t lda,
                  const float* b, int64_t ldb, float* c, int64_t ldc, bool accumulate) {
  if (m <= 0 || n <= 0) return;
  run(trans_a, trans_b, m, n, k, a, lda, b, ldb, c, ldc, accumulate);
}

}  // namespace gantry::kernels::cpu
