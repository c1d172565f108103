// kernels/cuda/batchnorm.cu — batch normalization over x [N, C, S] on the device.
//
// Math (per channel c, over its M = N*S values; gamma/beta nullptr = 1/0):
//   train    mean_c = sum x / M,  var_c = sum (x - mean_c)^2 / M (biased),  invstd_c = 1/sqrt(var_c + eps)
//            y = x * scale_c + shift_c,  scale_c = invstd_c gamma_c,  shift_c = beta_c - mean_c scale_c
//            running_mean = (1 - momentum) running_mean + momentum mean_c
//            running_var  = (1 - momentum) running_var  + momentum var_c M / (M - 1)   (M = 1: var_c)
//   eval     the same y with running_mean, running_var in place of the batch statistics
//   backward xhat = (x - mean_c) invstd_c,  dbeta_c = sum dy,  dgamma_c = sum dy xhat
//            dx = gamma_c invstd_c (dy - dbeta_c / M - xhat dgamma_c / M)
// Derivation and roofline: docs/kernels/batch_norm.md.
//
// Layout [N, C, S] row-major: channel c is N runs of S contiguous floats, x[(n C + c) S + i].
//
// Thread mapping (train forward and backward; kBnThreads = 256):
//   for c < C                            grid: one block per channel (grid-stride past 65535)
//     for j = tid; j < M; j += 256        thread: its share of the channel, j = n S + i
//       accumulate (sum / Welford / (sum dy, sum dy xhat))
//     warp: __shfl_down_sync tree, 32 partials -> 1
//     block: 8 warp partials in __shared__, merged by warp 0, broadcast to all threads
//     thread 0: save_mean, save_invstd, running stats (or dgamma, dbeta)
//     for j = tid; j < M; j += 256        thread: y (or dx) of its share
// Eval forward: for e < N C S (grid-stride, 256 threads a block): y[e] from channel (e / S) % C.
//
// Versions (train forward and backward; KernelVersions::batch_norm in versions.hpp picks the one the ops run):
//   1  two-pass statistics (sum, then centred squares) and (n, i) = divmod(j, S) at every
//      element: the plain transcription of the cpu kernel. x is read 3 times in the forward.
//   2  one-pass Welford statistics merged by Chan's formula across lanes and warps, so x is
//      read twice, not 3 times; (n, i) is stepped by a precomputed (256 / S, 256 % S) instead
//      of a 64-bit divide per element (tens of instructions on a GPU, in a memory-bound loop).
#include "kernels/cuda/batchnorm.cuh"
#include "kernels/cuda/block_reduce.cuh"
#include "kernels/cuda/grid_stride.cuh"

namespace gantry::kernels::cuda {

namespace {

constexpr int kBnThreads = 256, kBnWarps = kBnThreads / 32;
constexpr unsigned kMaxChannelBlocks = 65535;

unsigned channel_blocks(int64_t c) { return (unsigned)std::max<int64_t>(1, std::min<int64_t>(c, kMaxChannelBlocks)); }

// ---- block reductions (block_sum: kernels/cuda/block_reduce.cuh) ---------------------------
// Welford's running (count, mean, sum of squared deviations) of a set of values.
struct Welford {
  float count = 0.f, mean = 0.f, m2 = 0.f;
};

__device__ __forceinline__ void welford_push(Welford& w, float v) {
  w.count += 1.f;
  const float d = v - w.mean;
  w.mean += d / w.count;
  w.m2 += d * (v - w.mean);
}

// Chan et al.'s merge of two disjoint sets' statistics.
__device__ __forceinline__ Welford welford_merge(Welford a, Welford b) {
  const float count = a.count + b.count;
  if (count == 0.f) return a;
  const float delta = b.mean - a.mean, fb = b.count / count;
  return {count, a.mean + delta * fb, a.m2 + b.m2 + delta * delta * a.count * fb};
}

__device__ Welford warp_welford(Welford w) {
  for (int offset = 16; offset > 0; offset /= 2) {
    Welford o;
    o.count = __shfl_down_sync(0xffffffffu, w.count, offset);
    o.mean = __shfl_down_sync(0xffffffffu, w.mean, offset);
    o.m2 = __shfl_down_sync(0xffffffffu, w.m2, offset);
    w = welford_merge(w, o);
  }
  return w;
}

// The block's merged statistics; every thread gets them.
__device__ Welford block_welford(Welford w) {
  __shared__ Welford partial[kBnWarps];
  w = warp_welford(w);
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32;
  __syncthreads();
  if (lane == 0) partial[warp] = w;
  __syncthreads();
  if (warp == 0) {
    w = lane < kBnWarps ? partial[lane] : Welford{};
    w = warp_welford(w);
    if (lane == 0) partial[0] = w;
  }
  __syncthreads();
  return partial[0];
}

// ---- the walk over one channel ---------------------------------------------------------------
// Version 1: element j = n S + i of channel c, by division.
__device__ __forceinline__ int64_t channel_offset(const BatchNormShape& s, int64_t c, int64_t j) {
  return ((j / s.s) * s.c + c) * s.s + j % s.s;
}

// Version 2: thread tid's elements j = tid, tid + 256, ... as (n, i), stepped without dividing.
struct ChannelCursor {
  int64_t n, i, step_n, step_i;
  __device__ ChannelCursor(const BatchNormShape& s)
      : n(s.s ? threadIdx.x / s.s : s.n),
        i(s.s ? threadIdx.x % s.s : 0),
        step_n(s.s ? kBnThreads / s.s : 0),
        step_i(s.s ? kBnThreads % s.s : 0) {}  // S = 0: no elements
  __device__ bool valid(const BatchNormShape& s) const { return n < s.n; }
  __device__ int64_t offset(const BatchNormShape& s, int64_t c) const { return (n * s.c + c) * s.s + i; }
  __device__ void next(const BatchNormShape& s) {
    n += step_n, i += step_i;
    if (i >= s.s) i -= s.s, ++n;
  }
};

// Thread 0's bookkeeping after the statistics: the saved and the running statistics.
__device__ void store_statistics(float* save_mean, float* save_invstd, float* running_mean, float* running_var,
                                 int64_t c, float mean, float var, float invstd, int64_t m, float momentum) {
  save_mean[c] = mean;
  save_invstd[c] = invstd;
  if (running_mean) running_mean[c] = (1.f - momentum) * running_mean[c] + momentum * mean;
  if (running_var) {
    const float unbiased = m > 1 ? var * ((float)m / (float)(m - 1)) : var;
    running_var[c] = (1.f - momentum) * running_var[c] + momentum * unbiased;
  }
}

// ---- training forward ------------------------------------------------------------------------
__global__ void bn_forward_train_kernel1(float* __restrict__ y, float* __restrict__ save_mean,
                                         float* __restrict__ save_invstd, float* running_mean, float* running_var,
                                         const float* __restrict__ x, const float* __restrict__ gamma,
                                         const float* __restrict__ beta, BatchNormShape s, float momentum, float eps) {
  const int64_t m = s.n * s.s;
  for (int64_t c = blockIdx.x; c < s.c; c += gridDim.x) {
    float acc[1] = {0.f};
    for (int64_t j = threadIdx.x; j < m; j += blockDim.x) acc[0] += x[channel_offset(s, c, j)];
    block_sum<kBnThreads>(acc);
    const float mean = m > 0 ? acc[0] / (float)m : 0.f;
    acc[0] = 0.f;
    for (int64_t j = threadIdx.x; j < m; j += blockDim.x) {
      const float d = x[channel_offset(s, c, j)] - mean;
      acc[0] += d * d;
    }
    block_sum<kBnThreads>(acc);
    const float var = m > 0 ? acc[0] / (float)m : 0.f, invstd = 1.f / sqrtf(var + eps);
    if (threadIdx.x == 0)
      store_statistics(save_mean, save_invstd, running_mean, running_var, c, mean, var, invstd, m, momentum);
    const float scale = invstd * (gamma ? gamma[c] : 1.f), shift = (beta ? beta[c] : 0.f) - mean * scale;
    for (int64_t j = threadIdx.x; j < m; j += blockDim.x) {
      const int64_t e = channel_offset(s, c, j);
      y[e] = x[e] * scale + shift;
    }
  }
}

__global__ void bn_forward_train_kernel2(float* __restrict__ y, float* __restrict__ save_mean,
                                         float* __restrict__ save_invstd, float* running_mean, float* running_var,
                                         const float* __restrict__ x, const float* __restrict__ gamma,
                                         const float* __restrict__ beta, BatchNormShape s, float momentum, float eps) {
  for (int64_t c = blockIdx.x; c < s.c; c += gridDim.x) {
    Welford w;
    for (ChannelCursor at(s); at.valid(s); at.next(s)) welford_push(w, x[at.offset(s, c)]);
    w = block_welford(w);
    const float mean = w.mean, var = w.count > 0.f ? w.m2 / w.count : 0.f, invstd = 1.f / sqrtf(var + eps);
    if (threadIdx.x == 0)
      store_statistics(save_mean, save_invstd, running_mean, running_var, c, mean, var, invstd, s.n * s.s, momentum);
    const float scale = invstd * (gamma ? gamma[c] : 1.f), shift = (beta ? beta[c] : 0.f) - mean * scale;
    for (ChannelCursor at(s); at.valid(s); at.next(s)) {
      const int64_t e = at.offset(s, c);
      y[e] = x[e] * scale + shift;
    }
  }
}

// ---- eval forward -----------------------------------------------------------------------------
__global__ void bn_forward_eval_kernel(float* __restrict__ y, const float* __restrict__ x,
                                       const float* __restrict__ running_mean, const float* __restrict__ running_var,
                                       const float* __restrict__ gamma, const float* __restrict__ beta,
                                       BatchNormShape s, float eps, int64_t total) {
  for (int64_t e = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; e < total; e += (int64_t)gridDim.x * blockDim.x) {
    const int64_t c = (e / s.s) % s.c;
    const float scale = (gamma ? gamma[c] : 1.f) / sqrtf(running_var[c] + eps);
    y[e] = (x[e] - running_mean[c]) * scale + (beta ? beta[c] : 0.f);
  }
}

// ---- backward -----------------------------------------------------------------------------------
__global__ void bn_backward_kernel1(float* __restrict__ dx, float* __restrict__ dgamma, float* __restrict__ dbeta,
                                    const float* __restrict__ dy, const float* __restrict__ x,
                                    const float* __restrict__ save_mean, const float* __restrict__ save_invstd,
                                    const float* __restrict__ gamma, BatchNormShape s) {
  const int64_t m = s.n * s.s;
  for (int64_t c = blockIdx.x; c < s.c; c += gridDim.x) {
    const float mean = save_mean[c], invstd = save_invstd[c];
    float acc[2] = {0.f, 0.f};  // sum dy, sum dy xhat
    for (int64_t j = threadIdx.x; j < m; j += blockDim.x) {
      const int64_t e = channel_offset(s, c, j);
      acc[0] += dy[e];
      acc[1] += dy[e] * (x[e] - mean) * invstd;
    }
    block_sum<kBnThreads>(acc);
    if (threadIdx.x == 0) {
      if (dbeta) dbeta[c] = acc[0];
      if (dgamma) dgamma[c] = acc[1];
    }
    const float k = (gamma ? gamma[c] : 1.f) * invstd;
    const float mean_dy = m > 0 ? acc[0] / (float)m : 0.f, mean_dy_xhat = m > 0 ? acc[1] / (float)m : 0.f;
    for (int64_t j = threadIdx.x; j < m; j += blockDim.x) {
      const int64_t e = channel_offset(s, c, j);
      dx[e] = k * (dy[e] - mean_dy - (x[e] - mean) * invstd * mean_dy_xhat);
    }
  }
}

__global__ void bn_backward_kernel2(float* __restrict__ dx, float* __restrict__ dgamma, float* __restrict__ dbeta,
                                    const float* __restrict__ dy, const float* __restrict__ x,
                                    const float* __restrict__ save_mean, const float* __restrict__ save_invstd,
                                    const float* __restrict__ gamma, BatchNormShape s) {
  const int64_t m = s.n * s.s;
  for (int64_t c = blockIdx.x; c < s.c; c += gridDim.x) {
    const float mean = save_mean[c], invstd = save_invstd[c];
    float acc[2] = {0.f, 0.f};  // sum dy, sum dy xhat
    for (ChannelCursor at(s); at.valid(s); at.next(s)) {
      const int64_t e = at.offset(s, c);
      acc[0] += dy[e];
      acc[1] += dy[e] * (x[e] - mean) * invstd;
    }
    block_sum<kBnThreads>(acc);
    if (threadIdx.x == 0) {
      if (dbeta) dbeta[c] = acc[0];
      if (dgamma) dgamma[c] = acc[1];
    }
    const float k = (gamma ? gamma[c] : 1.f) * invstd;
    const float mean_dy = m > 0 ? acc[0] / (float)m : 0.f, mean_dy_xhat = m > 0 ? acc[1] / (float)m : 0.f;
    for (ChannelCursor at(s); at.valid(s); at.next(s)) {
      const int64_t e = at.offset(s, c);
      dx[e] = k * (dy[e] - mean_dy - (x[e] - mean) * invstd * mean_dy_xhat);
    }
  }
}

// The version to run: `version`, or the ops' choice for 0.
int pick_version(int version) {
  if (version == 0) version = kernel_versions().batch_norm;
  KERNEL_CHECK(version >= 1 && version <= kBatchNormVersions,
               "batch_norm: no kernel version " + std::to_string(version));
  return version;
}

}  // namespace

// ---- launchers ------------------------------------------------------------------------------------
void batch_norm_forward_train(float* y, float* save_mean, float* save_invstd, float* running_mean, float* running_var,
                              const float* x, const float* gamma, const float* beta, const BatchNormShape& s,
                              float momentum, float eps, int version) {
  version = pick_version(version);
  if (s.c == 0) return;
  auto kernel = version == 1 ? bn_forward_train_kernel1 : bn_forward_train_kernel2;
  CUDA_CHECK(launch(kernel, dim3(channel_blocks(s.c)), dim3(kBnThreads), 0, nullptr, y, save_mean, save_invstd,
                    running_mean, running_var, x, gamma, beta, s, momentum, eps));
}

void batch_norm_forward_train(float* y, float* save_mean, float* save_invstd, float* running_mean, float* running_var,
                              const float* x, const float* gamma, const float* beta, const BatchNormShape& s,
                              float momentum, float eps) {
  batch_norm_forward_train(y, save_mean, save_invstd, running_mean, running_var, x, gamma, beta, s, momentum, eps, 0);
}

void batch_norm_forward_eval(float* y, const float* x, const float* running_mean, const float* running_var,
                             const float* gamma, const float* beta, const BatchNormShape& s, float eps) {
  const int64_t total = s.n * s.c * s.s;
  if (total == 0) return;
  CUDA_CHECK(launch(bn_forward_eval_kernel, dim3(grid_stride_blocks(total)), dim3(kGridStrideThreads), 0, nullptr, y, x,
                    running_mean, running_var, gamma, beta, s, eps, total));
}

void batch_norm_backward(float* dx, float* dgamma, float* dbeta, const float* dy, const float* x,
                         const float* save_mean, const float* save_invstd, const float* gamma, const BatchNormShape& s,
                         int version) {
  version = pick_version(version);
  if (s.c == 0) return;
  auto kernel = version == 1 ? bn_backward_kernel1 : bn_backward_kernel2;
  CUDA_CHECK(launch(kernel, dim3(channel_blocks(s.c)), dim3(kBnThreads), 0, nullptr, dx, dgamma, dbeta, dy, x,
                    save_mean, save_invstd, gamma, s));
}

void batch_norm_backward(float* dx, float* dgamma, float* dbeta, const float* dy, const float* x,
                         const float* save_mean, const float* save_invstd, const float* gamma,
                         const BatchNormShape& s) {
  batch_norm_backward(dx, dgamma, dbeta, dy, x, save_mean, save_invstd, gamma, s, 0);
}

}  // namespace gantry::kernels::cuda
