// kernels/cuda/block_reduce.cuh — the block-wide sum that batchnorm.cu and penalty.cu
// share (reduce.cu keeps its own, with max and argmax beside it).
//
//   warp:  __shfl_down_sync tree, 32 partials -> 1 in lane 0
//   block: the kThreads / 32 warp partials in __shared__, summed by warp 0, broadcast
#pragma once
#include "kernels/cuda/cuda_compat.cuh"

namespace gantry::kernels::cuda {

// Sums each of the K values v[k] over the kThreads threads of the block (a multiple of
// 32, at most 1024, every thread calling); every thread gets the K sums. Safe to call
// repeatedly: it waits before reusing its shared memory.
template <int kThreads, int K>
__device__ void block_sum(float (&v)[K]) {
  constexpr int kWarps = kThreads / 32;
  static_assert(kThreads % 32 == 0 && kWarps <= 32, "block_sum: whole warps, at most 1024 threads");
  __shared__ float partial[K][kWarps];
  for (int offset = 16; offset > 0; offset /= 2)
    for (int k = 0; k < K; ++k) v[k] += __shfl_down_sync(0xffffffffu, v[k], offset);
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32;
  __syncthreads();  // partial[] may still be read from the previous call
  if (lane == 0)
    for (int k = 0; k < K; ++k) partial[k][warp] = v[k];
  __syncthreads();
  if (warp == 0) {
    for (int k = 0; k < K; ++k) {
      v[k] = lane < kWarps ? partial[k][lane] : 0.f;
      for (int offset = 16; offset > 0; offset /= 2) v[k] += __shfl_down_sync(0xffffffffu, v[k], offset);
    }
    if (lane == 0)
      for (int k = 0; k < K; ++k) partial[k][0] = v[k];
  }
  __syncthreads();
  for (int k = 0; k < K; ++k) v[k] = partial[k][0];
}

}  // namespace gantry::kernels::cuda
