// kernels/cuda/reduce.cu — sum, max, argmax and log-softmax over the rows of a dense
// [rows, cols] matrix.
//
// Math: out[r] = reduce_c in[r, c]; log_softmax: in[r, c] - (m_r + log sum_c exp(in[r, c] - m_r)).
// Thread mapping:
//   for r < rows                       grid (one block per row, up to 65535, then a loop)
//     for c = tid; c < cols; c += 256  thread: a private partial (sum / max / (max, index))
//     warp: __shfl_down_sync tree       warp: 32 partials -> 1
//     block: 8 warp partials in __shared__, reduced by warp 0, broadcast to all
// Memory-bound: one read of the row (log_softmax: three), one write.
// Versions: 1 (this one): a block per row; rows with few columns leave threads idle,
// which is fine for the engine's reductions (long rows: channels over N*H*W).
// sum_columns, out[c] = sum_r in[r, c]:
//   for tile of 32 columns              grid (one block a tile, up to 65535, then a loop)
//     thread (x, y) of 32 x 8           column c0 + x, rows y, y + 8, ...: a private partial
//                                       (a warp reads 32 consecutive floats of one row)
//     the 8 partials of a column        added in order y = 0..7 by thread (x, 0), from __shared__
// The order depends only on the shape, not on the schedule.
#include <cfloat>

#include "kernels/cuda/reduce.cuh"

namespace gantry::kernels::cuda {

namespace {

constexpr int kThreads = 256, kWarps = kThreads / 32;

struct SumOp {
  __device__ static float identity() { return 0.f; }
  __device__ static float combine(float a, float b) { return a + b; }
};
struct MaxOp {  // NaN wins, so a NaN anywhere in the row comes out
  __device__ static float identity() { return -INFINITY; }
  __device__ static float combine(float a, float b) { return (a != a || a > b) ? a : b; }
};

// The block's reduction of v (every thread gets the result).
template <class Op>
__device__ float block_reduce(float v) {
  __shared__ float partial[kWarps];
  for (int offset = 16; offset > 0; offset /= 2) v = Op::combine(v, __shfl_down_sync(0xffffffffu, v, offset));
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32;
  __syncthreads();  // partial[] may still be read from the previous call
  if (lane == 0) partial[warp] = v;
  __syncthreads();
  if (warp == 0) {
    v = lane < kWarps ? partial[lane] : Op::identity();
    for (int offset = 16; offset > 0; offset /= 2) v = Op::combine(v, __shfl_down_sync(0xffffffffu, v, offset));
    if (lane == 0) partial[0] = v;
  }
  __syncthreads();
  return partial[0];
}

template <class Op>
__global__ void reduce_rows_kernel(float* __restrict__ out, const float* __restrict__ in, int64_t rows, int64_t cols) {
  for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    const float* row = in + r * cols;
    float v = Op::identity();
    for (int64_t c = threadIdx.x; c < cols; c += blockDim.x) v = Op::combine(v, row[c]);
    v = block_reduce<Op>(v);
    if (threadIdx.x == 0) out[r] = v;
  }
}

__global__ void argmax_rows_kernel(int64_t* __restrict__ out, const float* __restrict__ in, int64_t rows,
                                   int64_t cols) {
  __shared__ float best_v[kThreads];
  __shared__ int64_t best_i[kThreads];
  for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    const float* row = in + r * cols;
    float v = -INFINITY;
    int64_t idx = cols;  // "none yet": loses every tie
    for (int64_t c = threadIdx.x; c < cols; c += blockDim.x)
      if (row[c] > v || (idx == cols)) v = row[c], idx = c;
    __syncthreads();
    best_v[threadIdx.x] = v, best_i[threadIdx.x] = idx;
    __syncthreads();
    for (int s = blockDim.x / 2; s > 0; s /= 2) {  // tree over threads; ties keep the lower index
      if ((int)threadIdx.x < s) {
        const float ov = best_v[threadIdx.x + s];
        const int64_t oi = best_i[threadIdx.x + s];
        if (oi < cols && (best_i[threadIdx.x] == cols || ov > best_v[threadIdx.x] ||
                          (ov == best_v[threadIdx.x] && oi < best_i[threadIdx.x])))
          best_v[threadIdx.x] = ov, best_i[threadIdx.x] = oi;
      }
      __syncthreads();
    }
    if (threadIdx.x == 0) out[r] = best_i[0];
  }
}

__global__ void log_softmax_rows_kernel(float* __restrict__ out, const float* __restrict__ in, int64_t rows,
                                        int64_t cols) {
  for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    const float* row = in + r * cols;
    float m = -INFINITY;
    for (int64_t c = threadIdx.x; c < cols; c += blockDim.x) m = fmaxf(m, row[c]);
    m = block_reduce<MaxOp>(m);
    float z = 0.f;
    for (int64_t c = threadIdx.x; c < cols; c += blockDim.x) z += expf(row[c] - m);
    z = block_reduce<SumOp>(z);
    const float lse = m + logf(z);
    for (int64_t c = threadIdx.x; c < cols; c += blockDim.x) out[r * cols + c] = row[c] - lse;
  }
}

constexpr int kColumnTile = 32, kRowGroups = kThreads / kColumnTile;

__global__ void sum_columns_kernel(float* __restrict__ out, const float* __restrict__ in, int64_t rows, int64_t cols) {
  __shared__ float partial[kRowGroups][kColumnTile];
  const int x = (int)threadIdx.x % kColumnTile, y = (int)threadIdx.x / kColumnTile;
  for (int64_t c0 = (int64_t)blockIdx.x * kColumnTile; c0 < cols; c0 += (int64_t)gridDim.x * kColumnTile) {
    const int64_t c = c0 + x;
    float v = 0.f;
    if (c < cols)
      for (int64_t r = y; r < rows; r += kRowGroups) v += in[r * cols + c];
    __syncthreads();  // partial[] may still be read for the previous tile
    partial[y][x] = v;
    __syncthreads();
    if (y == 0 && c < cols) {
      float s = partial[0][x];
      for (int g = 1; g < kRowGroups; ++g) s += partial[g][x];
      out[c] = s;
    }
  }
}

unsigned grid_for(int64_t rows) { return (unsigned)std::max<int64_t>(1, std::min<int64_t>(rows, 65535)); }

}  // namespace

void sum_rows(float* out, const float* in, int64_t rows, int64_t cols) {
  if (rows > 0)
    CUDA_CHECK(
        launch(reduce_rows_kernel<SumOp>, dim3(grid_for(rows)), dim3(kThreads), 0, nullptr, out, in, rows, cols));
}

void sum_columns(float* out, const float* in, int64_t rows, int64_t cols) {
  if (cols > 0)
    CUDA_CHECK(launch(sum_columns_kernel, dim3(grid_for((cols + kColumnTile - 1) / kColumnTile)), dim3(kThreads), 0,
                      nullptr, out, in, rows, cols));
}

void max_rows(float* out, const float* in, int64_t rows, int64_t cols) {
  if (rows > 0)
    CUDA_CHECK(
        launch(reduce_rows_kernel<MaxOp>, dim3(grid_for(rows)), dim3(kThreads), 0, nullptr, out, in, rows, cols));
}

void argmax_rows(int64_t* out, const float* in, int64_t rows, int64_t cols) {
  if (rows > 0)
    CUDA_CHECK(launch(argmax_rows_kernel, dim3(grid_for(rows)), dim3(kThreads), 0, nullptr, out, in, rows, cols));
}

void log_softmax_rows(float* out, const float* in, int64_t rows, int64_t cols) {
  if (rows > 0)
    CUDA_CHECK(launch(log_softmax_rows_kernel, dim3(grid_for(rows)), dim3(kThreads), 0, nullptr, out, in, rows, cols));
}

}  // namespace gantry::kernels::cuda
