// kernels/cuda/gemm.cu — SGEMM: C[M,N] = A[M,K] @ B[K,N], row-major floats, batched.
//
// Math: C[m][n] = sum_k A[m][k] * B[k][n]. Every matrix dense row-major; batch i of A
// starts at a + i*M*K (and likewise for B, C). 2*M*N*K flops; at least 4*(MK + KN + MN)
// bytes. Sizes need not be multiples of any tile: loads past an edge read 0, stores
// past an edge are skipped.
//
// Thread mapping (versions 2 and 3), as a loop nest tagged with who runs each loop:
//   for bz < batch                          grid.z
//   for by < ceil(M/64), bx < ceil(N/64)    grid.y, grid.x   -> one 64x64 tile of C
//     for k0 = 0; k0 < K; k0 += 16          block, in step   -> stage A[64x16], B[16x64]
//                                                                in shared memory
//       for ty < 16, tx < 16                threads (256)    -> a 4x4 patch of the tile:
//         for kk < 16                       thread              rows ty + 16i, cols tx + 16j
//           for i < 4, j < 4                thread registers
//             acc[i][j] += As[kk][ty+16i] * Bs[kk][tx+16j]
// Rows and columns are interleaved (ty + 16i, not 4ty + i) so the 16 threads of a
// half-warp read 16 consecutive shared-memory words: no bank conflicts. The tile sizes,
// the shared-memory layout (As transposed with one float of padding a row: kAPitch = 65)
// and the kk loop are kernels/cuda/tile_gemm.cuh, shared with the conv kernels; this file
// stages the tiles.
//
// Versions (KernelVersions::gemm in versions.hpp picks the one the ops run):
//   1  one output per thread, 32x32 tiles in shared memory: the textbook tiled kernel
//   2  64x64 tiles, 16 K per stage, 4x4 outputs per thread in registers: each shared
//      load feeds 4 FMAs instead of 1
//   3  as 2, with A and B staged by float4 loads where a whole float4 is in bounds and
//      aligned (K and N multiples of 4): a quarter of the load instructions
//   4  cuBLAS, the real build's default for matmul (set_kernel_versions picks ours in bench_kernels and tests)
#include <cstdlib>
#include <string>

#include "kernels/cuda/gemm.cuh"
#include "kernels/cuda/tile_gemm.cuh"
#if !defined(GANTRY_CUDA_EMU)
#include <cublas_v2.h>
#endif

namespace gantry::kernels::cuda {

namespace {

constexpr int kTile1 = 32;  // version 1
// Versions 2 and 3: block tile, shared-memory layout and inner product from tile_gemm.cuh
// (the same as the conv kernels'); this file only stages A and B.
using namespace tile_gemm;

// ---- version 1 --------------------------------------------------------------------------
__global__ void gemm_kernel1(float* __restrict__ c, const float* __restrict__ a, const float* __restrict__ b, int m,
                             int n, int k) {
  __shared__ float as[kTile1][kTile1];
  __shared__ float bs[kTile1][kTile1];
  const size_t batch = blockIdx.z;
  a += batch * m * k, b += batch * k * n, c += batch * m * n;
  const int row = blockIdx.y * kTile1 + threadIdx.y, col = blockIdx.x * kTile1 + threadIdx.x;
  float acc = 0.f;
  for (int k0 = 0; k0 < k; k0 += kTile1) {
    const int ka = k0 + threadIdx.x, kb = k0 + threadIdx.y;
    as[threadIdx.y][threadIdx.x] = (row < m && ka < k) ? a[(size_t)row * k + ka] : 0.f;
    bs[threadIdx.y][threadIdx.x] = (kb < k && col < n) ? b[(size_t)kb * n + col] : 0.f;
    __syncthreads();
    for (int kk = 0; kk < kTile1; ++kk) acc += as[threadIdx.y][kk] * bs[kk][threadIdx.x];
    __syncthreads();
  }
  if (row < m && col < n) c[(size_t)row * n + col] = acc;
}

// ---- versions 2 and 3 -------------------------------------------------------------------
// Stages A[row0.., k0..] (64x16) into as[k][m] (transposed, padded rows: kAPitch) and
// B[k0.., col0..] (16x64) into bs[k][n]. kVector: float4 loads where a whole aligned float4 is in bounds.
template <bool kVector>
__device__ void stage_tiles(float (*as)[kAPitch], float (*bs)[kBN], const float* __restrict__ a,
                            const float* __restrict__ b, int m, int n, int k, int row0, int col0, int k0, int tid) {
  if (kVector && k % 4 == 0) {  // A: 64 rows x 4 float4 = 256 loads, one per thread
    const int r = tid / 4, kq = (tid % 4) * 4, gr = row0 + r, gk = k0 + kq;
    float4 v = make_float4(0.f, 0.f, 0.f, 0.f);
    if (gr < m && gk + 3 < k) v = *reinterpret_cast<const float4*>(a + (size_t)gr * k + gk);
    else if (gr < m)
      for (int q = 0; q < 4; ++q) (&v.x)[q] = gk + q < k ? a[(size_t)gr * k + gk + q] : 0.f;
    as[kq][r] = v.x, as[kq + 1][r] = v.y, as[kq + 2][r] = v.z, as[kq + 3][r] = v.w;
  } else {
    for (int e = tid; e < kBM * kBK; e += kThreads) {
      const int r = e / kBK, kk = e % kBK, gr = row0 + r, gk = k0 + kk;
      as[kk][r] = (gr < m && gk < k) ? a[(size_t)gr * k + gk] : 0.f;
    }
  }
  if (kVector && n % 4 == 0) {  // B: 16 rows x 16 float4 = 256 loads, one per thread
    const int kk = tid / 16, cq = (tid % 16) * 4, gk = k0 + kk, gc = col0 + cq;
    float4 v = make_float4(0.f, 0.f, 0.f, 0.f);
    if (gk < k && gc + 3 < n) v = *reinterpret_cast<const float4*>(b + (size_t)gk * n + gc);
    else if (gk < k)
      for (int q = 0; q < 4; ++q) (&v.x)[q] = gc + q < n ? b[(size_t)gk * n + gc + q] : 0.f;
    bs[kk][cq] = v.x, bs[kk][cq + 1] = v.y, bs[kk][cq + 2] = v.z, bs[kk][cq + 3] = v.w;
  } else {
    for (int e = tid; e < kBK * kBN; e += kThreads) {
      const int kk = e / kBN, cc = e % kBN, gk = k0 + kk, gc = col0 + cc;
      bs[kk][cc] = (gk < k && gc < n) ? b[(size_t)gk * n + gc] : 0.f;
    }
  }
}

template <bool kVector>
__global__ void gemm_kernel_tiled(float* __restrict__ c, const float* __restrict__ a, const float* __restrict__ b,
                                  int m, int n, int k) {
  __shared__ float as[kBK][kAPitch];
  __shared__ float bs[kBK][kBN];
  const size_t batch = blockIdx.z;
  a += batch * m * k, b += batch * k * n, c += batch * m * n;
  const int tx = threadIdx.x, ty = threadIdx.y, tid = ty * kThreadsX + tx;
  const int row0 = blockIdx.y * kBM, col0 = blockIdx.x * kBN;
  float acc[kPerThread][kPerThread] = {};
  for (int k0 = 0; k0 < k; k0 += kBK) {
    stage_tiles<kVector>(as, bs, a, b, m, n, k, row0, col0, k0, tid);
    __syncthreads();  // the tiles are staged
    multiply_stage(acc, as, bs, tx, ty);
    __syncthreads();  // everyone is done reading before the next stage overwrites
  }
  store_tile(c, acc, m, n, row0, col0, tx, ty);
}

unsigned blocks_for(int64_t size, int tile) { return (unsigned)((size + tile - 1) / tile); }

#if !defined(GANTRY_CUDA_EMU)
cublasHandle_t cublas() {
  static cublasHandle_t h = [] {
    cublasHandle_t handle = nullptr;
    if (cublasCreate(&handle) != CUBLAS_STATUS_SUCCESS) throw gantry::cuda::CudaError("cublasCreate failed");
    return handle;
  }();
  return h;
}

// Row-major C = A B is column-major C^T = B^T A^T: hand cuBLAS B first.
void gemm_cublas(float* c, const float* a, const float* b, int64_t batch, int m, int n, int k) {
  const float one = 1.f, zero = 0.f;
  cublasSetStream(cublas(), nullptr);
  const cublasStatus_t st =
      cublasSgemmStridedBatched(cublas(), CUBLAS_OP_N, CUBLAS_OP_N, n, m, k, &one, b, n, (long long)k * n, a, k,
                                (long long)m * k, &zero, c, n, (long long)m * n, (int)batch);
  if (st != CUBLAS_STATUS_SUCCESS)
    throw gantry::cuda::CudaError("cublasSgemmStridedBatched failed with status " + std::to_string((int)st));
}
#endif

}  // namespace

void gemm_batched(float* c, const float* a, const float* b, int64_t batch, int64_t m, int64_t n, int64_t k,
                  int version) {
  if (batch == 0 || m == 0 || n == 0) return;
  if (k == 0) {
    CUDA_CHECK(cudaMemsetAsync(c, 0, sizeof(float) * batch * m * n, nullptr));
    return;
  }
  if (version == 0) version = kernel_versions().gemm;
  const int M = (int)m, N = (int)n, K = (int)k;
  switch (version) {
    case 1:
      CUDA_CHECK(launch(gemm_kernel1, dim3(blocks_for(n, kTile1), blocks_for(m, kTile1), (unsigned)batch),
                        dim3(kTile1, kTile1), 0, nullptr, c, a, b, M, N, K));
      break;
    case 2:
      CUDA_CHECK(launch(gemm_kernel_tiled<false>, dim3(blocks_for(n, kBN), blocks_for(m, kBM), (unsigned)batch),
                        dim3(kThreadsX, kThreadsY), 0, nullptr, c, a, b, M, N, K));
      break;
    case 3:
      CUDA_CHECK(launch(gemm_kernel_tiled<true>, dim3(blocks_for(n, kBN), blocks_for(m, kBM), (unsigned)batch),
                        dim3(kThreadsX, kThreadsY), 0, nullptr, c, a, b, M, N, K));
      break;
    case kGemmCublas:
#if defined(GANTRY_CUDA_EMU)
      throw gantry::cuda::CudaError("gemm_batched: cuBLAS cannot run on the emulator; use versions 1..3");
#else
      gemm_cublas(c, a, b, batch, M, N, K);
      break;
#endif
    default: throw gantry::cuda::CudaError("gemm_batched: no version " + std::to_string(version) + " (1..4)");
  }
}

}  // namespace gantry::kernels::cuda
