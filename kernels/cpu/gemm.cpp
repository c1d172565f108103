// kernels/cpu/gemm.cpp — batched GEMM through kernels/cpu/sgemm.hpp's gemm: float by sgemm (gantry's
// AVX-512 kernel where the CPU has it), double by Eigen (gemm_eigen).
#include "kernels/cpu/gemm.hpp"

#include "kernels/cpu/sgemm.hpp"

namespace gantry::kernels::cpu {

template <class T>
void gemm_batched(T* c, const T* a, const T* b, int64_t batch, int64_t m, int64_t n, int64_t k) {
  // Threaded by gemm itself when batch == 1, serial inside the loop's region otherwise.
  auto one = [&](int64_t i) {
    gemm<T>(false, false, m, n, k, a + i * m * k, k, b + i * k * n, n, c + i * m * n, n, false);
  };
  if (batch == 1) {
    one(0);
    return;
  }
#pragma omp parallel for if (batch * m * n * k > (1 << 16))
  for (int64_t i = 0; i < batch; ++i) one(i);
}

template void gemm_batched<float>(float*, const float*, const float*, int64_t, int64_t, int64_t, int64_t);
template void gemm_batched<double>(double*, const double*, const double*, int64_t, int64_t, int64_t, int64_t);

}  // namespace gantry::kernels::cpu
