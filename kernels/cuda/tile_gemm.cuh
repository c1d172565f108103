// kernels/cuda/tile_gemm.cuh — the register-blocked tile GEMM every tiled kernel runs:
// SGEMM (gemm.cu, versions 2 and 3) and the implicit-GEMM convolutions (conv.cu,
// conv_backward.cu, modconv.cu, via conv_common.cuh). One piece: the block tile, the
// shared-memory layout (with its padding), the inner product over a staged K slice, and
// the store of a row-major C tile (the kernels whose C is row-major: SGEMM, the weight
// gradients, modconv's per-sample forward and backward-input).
// Staging the tiles is the caller's: SGEMM reads A and B as they lie, a convolution
// gathers patches by its index maps. Internal to kernels/cuda.
//
// Math: one block owns C[row0 .. row0+64, col0 .. col0+64] of C[M, N] = A[M, K] @ B[K, N].
// Each stage the caller writes A[row0.., k0 .. k0+16] and B[k0 .., col0..] (0 past an edge)
// into the layout below, __syncthreads(), calls multiply_stage, __syncthreads().
// Layout (shared memory, one block):
//   as[kBK][kAPitch]  A transposed, as[kk][m] = A[row0 + m][k0 + kk]; kAPitch = 65: one
//                     float of padding a row, so staging threads that write different kk
//                     at the same m fall in different banks (16-way conflict without it
//                     for one-element-a-thread staging, 4-way for float4 staging; at
//                     most 2-way with it)
//   bs[kBK][kBN]      B as it lies, bs[kk][n] = B[k0 + kk][col0 + n]
// Thread mapping: 16 x 16 threads; thread (tx, ty) owns the 4x4 outputs at rows ty + 16i,
// columns tx + 16j (i, j < 4), in registers acc[i][j]. Interleaved, not 4ty + i, so a
// half-warp reads 16 consecutive words of bs and one broadcast word of as.
#pragma once
#include <cstddef>

namespace gantry::kernels::cuda::tile_gemm {

constexpr int kBM = 64, kBN = 64, kBK = 16;    // block tile of C[M, N], K per stage
constexpr int kThreadsX = 16, kThreadsY = 16;  // 256 threads ...
constexpr int kThreads = kThreadsX * kThreadsY;
constexpr int kPerThread = 4;                  // ... each owning 4x4 outputs in registers
constexpr int kALoads = kBM * kBK / kThreads;  // A elements each thread stages per stage (4)
constexpr int kBLoads = kBK * kBN / kThreads;  // B elements each thread stages per stage (4)
constexpr int kAPitch = kBM + 1;               // as[kBK][kAPitch]: see the layout above

// acc[i][j] += sum_kk as[kk][ty + 16i] * bs[kk][tx + 16j]: one staged K slice, every
// shared load reused kPerThread times from registers.
__device__ __forceinline__ void multiply_stage(float (&acc)[kPerThread][kPerThread], const float (*as)[kAPitch],
                                               const float (*bs)[kBN], int tx, int ty) {
  for (int kk = 0; kk < kBK; ++kk) {
    float ra[kPerThread], rb[kPerThread];
    for (int i = 0; i < kPerThread; ++i) ra[i] = as[kk][ty + kThreadsY * i];
    for (int j = 0; j < kPerThread; ++j) rb[j] = bs[kk][tx + kThreadsX * j];
    for (int i = 0; i < kPerThread; ++i)
      for (int j = 0; j < kPerThread; ++j) acc[i][j] += ra[i] * rb[j];
  }
}

// c[row][col] = acc[i][j] (row = row0 + ty + 16i, col = col0 + tx + 16j) for the outputs
// inside M x N: C dense row-major [M, N]; past an edge nothing is stored.
__device__ __forceinline__ void store_tile(float* __restrict__ c, const float (&acc)[kPerThread][kPerThread], int m,
                                           int n, int row0, int col0, int tx, int ty) {
  for (int i = 0; i < kPerThread; ++i) {
    const int row = row0 + ty + kThreadsY * i;
    if (row >= m) continue;
    for (int j = 0; j < kPerThread; ++j) {
      const int col = col0 + tx + kThreadsX * j;
      if (col < n) c[(size_t)row * n + col] = acc[i][j];
    }
  }
}

}  // namespace gantry::kernels::cuda::tile_gemm
