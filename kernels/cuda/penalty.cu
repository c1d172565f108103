// kernels/cuda/penalty.cu — the WGAN-GP gradient penalty of per-sample gradients g [N, K].
//
// Math (row n = the critic's gradient at sample n, flattened to K values):
//   norm_n = sqrt(sum_i g[n, i]^2 + eps),   P = lambda / N * sum_n (norm_n - 1)^2
//   dP/dg[n, i] = lambda * 2 (norm_n - 1) / N * g[n, i] / norm_n      (times the upstream scalar)
// Derivation, double backward and roofline: docs/kernels/gradient_penalty.md.
//
// Layout [N, K] row-major, dense: sample n's gradient is g[n K .. n K + K).
//
// Thread mapping (kPenaltyThreads = 256):
//   forward, launch 1 (norms):
//     for n < N                          grid: one block per sample (grid-stride past 65535)
//       for i = tid; i < K; i += 256     thread: a private sum of squares
//       warp: __shfl_down_sync tree; block: 8 warp partials in __shared__ (block_reduce.cuh)
//       thread 0: norms[n]
//   forward, launch 2 (the penalty):     grid: one block
//     for n = tid; n < N; n += 256       thread: sum of (norm_n - 1)^2
//     block reduction; thread 0: penalty = lambda * sum / N
//   backward:
//     for n < N                          grid: one block per sample
//       coef = up * lambda * 2 (norm_n - 1) / (N norm_n)    every thread, from norms[n]
//       for i = tid; i < K; i += 256     thread: dg[n, i] = coef g[n, i]
// Two forward launches instead of one so the sum over samples needs no atomics and no
// grid-wide counter, and is the same in every run. The norms are saved by the forward, so
// the backward reads g once (1 read + 1 write) instead of recomputing them (2 reads + 1 write).
// Versions: 1 (this one). A block per sample leaves threads idle when K < 256; the critic's
// input gradients have K = C H W (784 for 28x28 MNIST), N = the batch.
#include "kernels/cuda/penalty.cuh"

#include <algorithm>

#include "kernels/cuda/block_reduce.cuh"

namespace gantry::kernels::cuda {

namespace {

constexpr int kPenaltyThreads = 256;
constexpr int64_t kMaxSampleBlocks = 65535;

unsigned sample_blocks(int64_t n) { return (unsigned)std::max<int64_t>(1, std::min<int64_t>(n, kMaxSampleBlocks)); }

__global__ void penalty_norms_kernel(float* __restrict__ norms, const float* __restrict__ g, int64_t n, int64_t k,
                                     float eps) {
  for (int64_t sample = blockIdx.x; sample < n; sample += gridDim.x) {
    const float* row = g + sample * k;
    float sq[1] = {0.f};
    for (int64_t i = threadIdx.x; i < k; i += blockDim.x) sq[0] += row[i] * row[i];
    block_sum<kPenaltyThreads>(sq);
    if (threadIdx.x == 0) norms[sample] = sqrtf(sq[0] + eps);
  }
}

__global__ void penalty_sum_kernel(float* __restrict__ penalty, const float* __restrict__ norms, int64_t n,
                                   float lambda) {
  float total[1] = {0.f};
  for (int64_t sample = threadIdx.x; sample < n; sample += blockDim.x) {
    const float d = norms[sample] - 1.f;
    total[0] += d * d;
  }
  block_sum<kPenaltyThreads>(total);
  if (threadIdx.x == 0) penalty[0] = lambda * total[0] / (float)n;
}

__global__ void penalty_backward_kernel(float* __restrict__ dg, const float* __restrict__ grad_out,
                                        const float* __restrict__ g, const float* __restrict__ norms, int64_t n,
                                        int64_t k, float lambda) {
  const float up = grad_out[0];
  for (int64_t sample = blockIdx.x; sample < n; sample += gridDim.x) {
    const float norm = norms[sample];
    const float coef = up * lambda * 2.f * (norm - 1.f) / ((float)n * norm);
    for (int64_t i = threadIdx.x; i < k; i += blockDim.x) dg[sample * k + i] = coef * g[sample * k + i];
  }
}

}  // namespace

void gradient_penalty_forward(float* penalty, float* norms, const float* g, int64_t n, int64_t k, float lambda,
                              float eps) {
  KERNEL_CHECK(n > 0, "gradient_penalty_forward: needs N >= 1 samples");
  CUDA_CHECK(
      launch(penalty_norms_kernel, dim3(sample_blocks(n)), dim3(kPenaltyThreads), 0, nullptr, norms, g, n, k, eps));
  CUDA_CHECK(launch(penalty_sum_kernel, dim3(1), dim3(kPenaltyThreads), 0, nullptr, penalty, norms, n, lambda));
}

void gradient_penalty_backward(float* dg, const float* grad_out, const float* g, const float* norms, int64_t n,
                               int64_t k, float lambda) {
  if (n <= 0 || k <= 0) return;
  CUDA_CHECK(launch(penalty_backward_kernel, dim3(sample_blocks(n)), dim3(kPenaltyThreads), 0, nullptr, dg, grad_out, g,
                    norms, n, k, lambda));
}

}  // namespace gantry::kernels::cuda
