// kernels/cuda/gemm.cuh — SGEMM on the device: C = A @ B for a batch of dense
// row-major float matrices. The kernels and their versions: kernels/cuda/gemm.cu.
#pragma once
#include <cstdint>

#include "kernels/cuda/cuda_compat.cuh"
#include "kernels/cuda/versions.hpp"

namespace gantry::kernels::cuda {

// c[i] (m x n) = a[i] (m x k) @ b[i] (k x n) for i < batch; every pointer on the device,
// every matrix dense row-major. `version` 1..3 picks a hand-written kernel, 4 cuBLAS;
// 0 picks kernel_versions().gemm: cuBLAS in the real build, 3 on the emulator (versions.hpp).
// Throws gantry::cuda::CudaError if the launch fails.
void gemm_batched(float* c, const float* a, const float* b, int64_t batch, int64_t m, int64_t n, int64_t k,
                  int version = 0);

}  // namespace gantry::kernels::cuda
