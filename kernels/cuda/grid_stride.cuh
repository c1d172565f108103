// kernels/cuda/grid_stride.cuh — what the one-element-per-thread kernels share: the
// block size, the grid for n elements (a grid-stride loop covers the rest), and the
// offset of flat index i in a strided view.
#pragma once
#include <algorithm>
#include <cstdint>

#include "kernels/cuda/cuda_compat.cuh"
#include "kernels/shapes.hpp"

namespace gantry::kernels::cuda {

constexpr int kGridStrideThreads = 256;
constexpr int64_t kGridStrideMaxBlocks = 4096;

// Blocks for n elements: one per 256, at most 4096 (each thread then loops).
inline unsigned grid_stride_blocks(int64_t n) {
  return (unsigned)std::max<int64_t>(1, std::min<int64_t>((n + kGridStrideThreads - 1) / kGridStrideThreads,
                                                          kGridStrideMaxBlocks));
}

// sum_d digit_d(i) * strides[d], with digit_d(i) the coordinates of i in s.sizes.
__device__ __forceinline__ int64_t strided_offset(const StridedShape& s, int64_t i) {
  int64_t off = 0;
  for (int d = s.ndim - 1; d >= 0; --d) {
    off += (i % s.sizes[d]) * s.strides[d];
    i /= s.sizes[d];
  }
  return off;
}

}  // namespace gantry::kernels::cuda
