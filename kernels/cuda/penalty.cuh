// kernels/cuda/penalty.cuh — the WGAN-GP gradient penalty on the device, float32; the
// same contracts as kernels/cpu/penalty.hpp. Kernels and thread mapping:
// kernels/cuda/penalty.cu; math and roofline: docs/kernels/gradient_penalty.md.
#pragma once
#include <cstdint>

#include "kernels/cuda/cuda_compat.cuh"

namespace gantry::kernels::cuda {

// For g [N, K] dense (N >= 1): norms[n] = sqrt(sum_i g[n, i]^2 + eps) and
// penalty[0] = lambda / N * sum_n (norms[n] - 1)^2. Device pointers.
void gradient_penalty_forward(float* penalty, float* norms, const float* g, int64_t n, int64_t k, float lambda,
                              float eps);
// dg[n, i] = grad_out[0] * lambda * 2 (norms[n] - 1) / (N norms[n]) * g[n, i]; grad_out is
// the upstream scalar, read on the device (no host round trip). Device pointers.
void gradient_penalty_backward(float* dg, const float* grad_out, const float* g, const float* norms, int64_t n,
                               int64_t k, float lambda);

}  // namespace gantry::kernels::cuda
