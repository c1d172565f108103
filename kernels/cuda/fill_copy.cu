// kernels/cuda/fill_copy.cu — fills and strided copies, one element per thread.
//
// Math: fill: p[i] = v. Philox: p[i] = f(philox_block(seed, offset, i/4).word[i%4]) as
// in kernels/philox.hpp, so every element is computed alone and matches the CPU.
// Strided copy: for flat index i over the sizes, out[offset_o(i)] = in[offset_i(i)]
// where offset(i) = sum_d digit_d(i) * stride_d (digits of i in the mixed radix of sizes).
// Thread mapping:
//   for i < n                     grid-stride loop: blocks of 256 threads, at most 4096
//     one element                 thread
// Memory-bound: 1 read + 1 write per element (0 reads for fills).
// Versions: 1 (this one): grid-stride, one element per thread.
#include "kernels/cuda/fill_copy.cuh"
#include "kernels/cuda/grid_stride.cuh"
#include "kernels/philox.hpp"

namespace gantry::kernels::cuda {

namespace {

template <class T>
__global__ void fill_kernel(T* __restrict__ p, int64_t n, T value) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x)
    p[i] = value;
}

__global__ void uniform_kernel(float* __restrict__ out, int64_t n, uint64_t seed, uint64_t offset, float lo,
                               float span) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x)
    out[i] = lo + span * philox_uniform_float(seed, offset, (uint64_t)i);
}

__global__ void normal_kernel(float* __restrict__ out, int64_t n, uint64_t seed, uint64_t offset, float mean,
                              float std) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x)
    out[i] = mean + std * philox_normal_float(seed, offset, (uint64_t)i);
}

template <class TOut, class TIn>
__global__ void assign_kernel(TOut* __restrict__ out, StridedShape so, const TIn* __restrict__ in, StridedShape si,
                              int64_t n) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x)
    out[strided_offset(so, i)] = static_cast<TOut>(in[strided_offset(si, i)]);
}

}  // namespace

template <class T>
void fill(T* p, int64_t n, T value) {
  if (n > 0)
    CUDA_CHECK(launch(fill_kernel<T>, dim3(grid_stride_blocks(n)), dim3(kGridStrideThreads), 0, nullptr, p, n, value));
}

void fill_uniform(float* out, int64_t n, uint64_t seed, uint64_t offset, float lo, float hi) {
  if (n > 0)
    CUDA_CHECK(launch(uniform_kernel, dim3(grid_stride_blocks(n)), dim3(kGridStrideThreads), 0, nullptr, out, n, seed,
                      offset, lo, hi - lo));
}

void fill_normal(float* out, int64_t n, uint64_t seed, uint64_t offset, float mean, float std) {
  if (n > 0)
    CUDA_CHECK(launch(normal_kernel, dim3(grid_stride_blocks(n)), dim3(kGridStrideThreads), 0, nullptr, out, n, seed,
                      offset, mean, std));
}

template <class TOut, class TIn>
void assign_strided(TOut* out, const StridedShape& so, const TIn* in, const StridedShape& si) {
  int64_t n = 1;
  for (int d = 0; d < so.ndim; ++d) n *= so.sizes[d];
  if (n > 0)
    CUDA_CHECK(launch(assign_kernel<TOut, TIn>, dim3(grid_stride_blocks(n)), dim3(kGridStrideThreads), 0, nullptr, out,
                      so, in, si, n));
}

template void fill<float>(float*, int64_t, float);
template void fill<int64_t>(int64_t*, int64_t, int64_t);
template void assign_strided<float, float>(float*, const StridedShape&, const float*, const StridedShape&);
template void assign_strided<int64_t, int64_t>(int64_t*, const StridedShape&, const int64_t*, const StridedShape&);
template void assign_strided<float, int64_t>(float*, const StridedShape&, const int64_t*, const StridedShape&);
template void assign_strided<int64_t, float>(int64_t*, const StridedShape&, const float*, const StridedShape&);

}  // namespace gantry::kernels::cuda
