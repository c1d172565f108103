// kernels/cpu/gemm.hpp — C = A @ B for a batch of dense row-major matrices: float through
// sgemm (gantry's AVX-512 SGEMM where the CPU has it, else Eigen), double through Eigen.
#pragma once
#include <cstdint>

namespace gantry::kernels::cpu {

// c[b] (m x n) = a[b] (m x k) @ b[b] (k x n), for b < batch; all dense row-major.
// Threads: over the batch when batch > 1, else sgemm_threaded's (float) or Eigen's own
// OpenMP threads (double).
template <class T>
void gemm_batched(T* c, const T* a, const T* b, int64_t batch, int64_t m, int64_t n, int64_t k);

}  // namespace gantry::kernels::cpu
