// kernels/cuda/image.cu — index maps over images and tables, one output element per
// thread (grid-stride), so every forward is a gather and needs no atomics.
//
// Math and layout (NCHW, in = [N, C, H, W]):
//   pad2d:      y[n,c,r,q] = x[n,c,src(r - top, H), src(q - left, W)], src = identity inside,
//               mirror (without the edge) for reflect, "none" (0) for zero padding
//   upsample:   y[n,c,r,q] = x[n,c,r/sh,q/sw]
//   embedding:  y[i,j] = table[idx[i], j];  one_hot: y[i,c] = (labels[i] == c)
// Backward passes:
//   upsample:   dx[n,c,h,w] = sum of dy over its sh x sw block: a gather, one thread per dx
//   pad2d:      a gather too: for zero padding dx[h,w] = dy[h+top, w+left]; for reflect an
//               input pixel is read by itself and by at most one mirror image per side and
//               dim, so the thread sums the (at most 3 x 3) output positions that read it
//   embedding:  a scatter-add of rows, with atomicAdd (repeated indices collide)
// Thread mapping: for i < numel(output)  grid-stride loop, 256 threads a block.
// Versions: 1 (this one).
#include "kernels/cuda/grid_stride.cuh"
#include "kernels/cuda/image.cuh"

namespace gantry::kernels::cuda {

namespace {

// The input index output index o reads along a dim of `size` padded by `before`; -1: zero.
__device__ __forceinline__ int64_t pad_source(int64_t o, int64_t before, int64_t size, bool reflect) {
  const int64_t i = o - before;
  if (i >= 0 && i < size) return i;
  if (!reflect) return -1;
  return i < 0 ? -i : 2 * (size - 1) - i;
}

__global__ void pad_forward_kernel(float* __restrict__ y, const float* __restrict__ x, ImageShape in, int64_t left,
                                   int64_t top, int64_t oh, int64_t ow, bool reflect, int64_t n) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x) {
    const int64_t q = i % ow, r = i / ow % oh, plane = i / (ow * oh);
    const int64_t h = pad_source(r, top, in.h, reflect), w = pad_source(q, left, in.w, reflect);
    y[i] = (h < 0 || w < 0) ? 0.f : x[(plane * in.h + h) * in.w + w];
  }
}

// Output positions along one dim that read input index `i`: itself and its mirrors.
__device__ __forceinline__ int readers(int64_t i, int64_t before, int64_t after, int64_t size, bool reflect,
                                       int64_t out[3]) {
  int k = 0;
  out[k++] = i + before;
  if (reflect) {
    if (i >= 1 && i <= before) out[k++] = before - i;                                    // mirrored left/top
    if (i >= size - 1 - after && i <= size - 2) out[k++] = before + 2 * (size - 1) - i;  // right/bottom
  }
  return k;
}

__global__ void pad_backward_kernel(float* __restrict__ dx, const float* __restrict__ dy, ImageShape in, int64_t left,
                                    int64_t right, int64_t top, int64_t bottom, bool reflect, int64_t n) {
  const int64_t oh = in.h + top + bottom, ow = in.w + left + right;
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x) {
    const int64_t w = i % in.w, h = i / in.w % in.h, plane = i / (in.w * in.h);
    int64_t rows[3], cols[3];
    const int nr = readers(h, top, bottom, in.h, reflect, rows), nc = readers(w, left, right, in.w, reflect, cols);
    float acc = 0.f;
    for (int a = 0; a < nr; ++a)
      for (int b = 0; b < nc; ++b) acc += dy[(plane * oh + rows[a]) * ow + cols[b]];
    dx[i] = acc;
  }
}

__global__ void upsample_forward_kernel(float* __restrict__ y, const float* __restrict__ x, ImageShape in, int64_t sh,
                                        int64_t sw, int64_t n) {
  const int64_t oh = in.h * sh, ow = in.w * sw;
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x) {
    const int64_t q = i % ow, r = i / ow % oh, plane = i / (ow * oh);
    y[i] = x[(plane * in.h + r / sh) * in.w + q / sw];
  }
}

__global__ void upsample_backward_kernel(float* __restrict__ dx, const float* __restrict__ dy, ImageShape in,
                                         int64_t sh, int64_t sw, int64_t n) {
  const int64_t ow = in.w * sw;
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x) {
    const int64_t w = i % in.w, h = i / in.w % in.h, plane = i / (in.w * in.h);
    const float* block = dy + (plane * in.h * sh + h * sh) * ow + w * sw;
    float acc = 0.f;
    for (int64_t a = 0; a < sh; ++a)
      for (int64_t b = 0; b < sw; ++b) acc += block[a * ow + b];
    dx[i] = acc;
  }
}

__global__ void embedding_forward_kernel(float* __restrict__ y, const int64_t* __restrict__ idx,
                                         const float* __restrict__ table, int64_t dim, int64_t n) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x)
    y[i] = table[idx[i / dim] * dim + i % dim];
}

__global__ void embedding_backward_kernel(float* __restrict__ dtable, const float* __restrict__ dy,
                                          const int64_t* __restrict__ idx, int64_t dim, int64_t n) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x)
    atomicAdd(dtable + idx[i / dim] * dim + i % dim, dy[i]);
}

__global__ void one_hot_kernel(float* __restrict__ y, const int64_t* __restrict__ labels, int64_t classes, int64_t n) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x)
    y[i] = labels[i / classes] == i % classes ? 1.f : 0.f;
}

}  // namespace

void pad2d_forward(float* y, const float* x, const ImageShape& in, int64_t left, int64_t right, int64_t top,
                   int64_t bottom, bool reflect) {
  const int64_t oh = in.h + top + bottom, ow = in.w + left + right, n = in.n * in.c * oh * ow;
  if (n > 0)
    CUDA_CHECK(launch(pad_forward_kernel, dim3(grid_stride_blocks(n)), dim3(kGridStrideThreads), 0, nullptr, y, x, in,
                      left, top, oh, ow, reflect, n));
}

void pad2d_backward(float* dx, const float* dy, const ImageShape& in, int64_t left, int64_t right, int64_t top,
                    int64_t bottom, bool reflect) {
  const int64_t n = in.n * in.c * in.h * in.w;
  if (n > 0)
    CUDA_CHECK(launch(pad_backward_kernel, dim3(grid_stride_blocks(n)), dim3(kGridStrideThreads), 0, nullptr, dx, dy,
                      in, left, right, top, bottom, reflect, n));
}

void upsample_nearest2d_forward(float* y, const float* x, const ImageShape& in, int64_t sh, int64_t sw) {
  const int64_t n = in.n * in.c * in.h * sh * in.w * sw;
  if (n > 0)
    CUDA_CHECK(launch(upsample_forward_kernel, dim3(grid_stride_blocks(n)), dim3(kGridStrideThreads), 0, nullptr, y, x,
                      in, sh, sw, n));
}

void upsample_nearest2d_backward(float* dx, const float* dy, const ImageShape& in, int64_t sh, int64_t sw) {
  const int64_t n = in.n * in.c * in.h * in.w;
  if (n > 0)
    CUDA_CHECK(launch(upsample_backward_kernel, dim3(grid_stride_blocks(n)), dim3(kGridStrideThreads), 0, nullptr, dx,
                      dy, in, sh, sw, n));
}

void embedding_forward(float* y, const int64_t* idx, const float* table, int64_t n_idx, int64_t dim) {
  const int64_t n = n_idx * dim;
  if (n > 0)
    CUDA_CHECK(launch(embedding_forward_kernel, dim3(grid_stride_blocks(n)), dim3(kGridStrideThreads), 0, nullptr, y,
                      idx, table, dim, n));
}

void embedding_backward(float* dtable, const float* dy, const int64_t* idx, int64_t n_idx, int64_t num, int64_t dim) {
  CUDA_CHECK(cudaMemsetAsync(dtable, 0, sizeof(float) * num * dim, nullptr));
  const int64_t n = n_idx * dim;
  if (n > 0)
    CUDA_CHECK(launch(embedding_backward_kernel, dim3(grid_stride_blocks(n)), dim3(kGridStrideThreads), 0, nullptr,
                      dtable, dy, idx, dim, n));
}

void one_hot(float* y, const int64_t* labels, int64_t n_labels, int64_t classes) {
  const int64_t n = n_labels * classes;
  if (n > 0)
    CUDA_CHECK(launch(one_hot_kernel, dim3(grid_stride_blocks(n)), dim3(kGridStrideThreads), 0, nullptr, y, labels,
                      classes, n));
}

}  // namespace gantry::kernels::cuda
