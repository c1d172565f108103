// kernels/cuda/optim.cu — one pass over a parameter updates it and its optimizer
// state in place: Adam, RMSProp, SGD with momentum (the math: kernels/shapes.hpp).
// Thread mapping:
//   for i < n          grid-stride loop, 256 threads a block
//     element i        thread: read p, g and the state, write p and the state
// Memory-bound: Adam moves 4 reads + 3 writes of 4 bytes per parameter.
// Versions: 1 (this one).
#include "kernels/cuda/optim.cuh"
#include "kernels/cuda/grid_stride.cuh"

namespace gantry::kernels::cuda {

namespace {

__global__ void adam_kernel(float* __restrict__ p, float* __restrict__ m, float* __restrict__ v,
                            const float* __restrict__ g, int64_t n, float b1, float b2, float eps, float wd,
                            float step_size, float inv_sqrt_bc2) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x) {
    const float gi = g[i] + wd * p[i];
    m[i] = b1 * m[i] + (1.f - b1) * gi;
    v[i] = b2 * v[i] + (1.f - b2) * gi * gi;
    p[i] -= step_size * m[i] / (sqrtf(v[i]) * inv_sqrt_bc2 + eps);
  }
}

__global__ void rmsprop_kernel(float* __restrict__ p, float* __restrict__ v, float* __restrict__ buf,
                               const float* __restrict__ g, int64_t n, float alpha, float eps, float wd, float lr,
                               float mom) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x) {
    const float gi = g[i] + wd * p[i];
    v[i] = alpha * v[i] + (1.f - alpha) * gi * gi;
    const float d = gi / (sqrtf(v[i]) + eps);
    if (mom != 0.f) {
      buf[i] = mom * buf[i] + d;
      p[i] -= lr * buf[i];
    } else {
      p[i] -= lr * d;
    }
  }
}

__global__ void sgd_kernel(float* __restrict__ p, float* __restrict__ buf, const float* __restrict__ g, int64_t n,
                           float lr, float mom, float wd, bool nesterov, bool first) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x) {
    float d = g[i] + wd * p[i];
    if (mom != 0.f) {
      buf[i] = first ? d : mom * buf[i] + d;
      d = nesterov ? d + mom * buf[i] : buf[i];
    }
    p[i] -= lr * d;
  }
}

}  // namespace

void adam_step(float* p, float* m, float* v, const float* g, int64_t n, const AdamStep& h) {
  if (n == 0) return;
  // The same float rounding as the cpu kernel: step size and 1/sqrt(bc2) folded on the host.
  const float step_size = (float)(h.lr / h.bias_correction1), inv_sqrt_bc2 = (float)(1 / std::sqrt(h.bias_correction2));
  CUDA_CHECK(launch(adam_kernel, dim3(grid_stride_blocks(n)), dim3(kGridStrideThreads), 0, nullptr, p, m, v, g, n,
                    (float)h.beta1, (float)h.beta2, (float)h.eps, (float)h.weight_decay, step_size, inv_sqrt_bc2));
}

void rmsprop_step(float* p, float* v, float* buf, const float* g, int64_t n, const RMSPropStep& h) {
  if (n == 0) return;
  CUDA_CHECK(launch(rmsprop_kernel, dim3(grid_stride_blocks(n)), dim3(kGridStrideThreads), 0, nullptr, p, v, buf, g, n,
                    (float)h.alpha, (float)h.eps, (float)h.weight_decay, (float)h.lr, (float)h.momentum));
}

void sgd_step(float* p, float* buf, const float* g, int64_t n, const SGDStep& h) {
  if (n == 0) return;
  CUDA_CHECK(launch(sgd_kernel, dim3(grid_stride_blocks(n)), dim3(kGridStrideThreads), 0, nullptr, p, buf, g, n,
                    (float)h.lr, (float)h.momentum, (float)h.weight_decay, h.nesterov, h.first_step));
}

}  // namespace gantry::kernels::cuda
