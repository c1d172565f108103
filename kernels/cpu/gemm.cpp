// kernels/cpu/gemm.cpp — batched GEMM: float through sgemm (gantry's AVX-512 kernel where
// the CPU has it, kernels/cpu/sgemm.hpp), double on Eigen maps of the raw buffers.
#include "kernels/cpu/gemm.hpp"

#include <Eigen/Core>
#include <type_traits>

#include "kernels/cpu/sgemm.hpp"

namespace gantry::kernels::cpu {

template <class T>
using RowMajor = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

template <class T>
void gemm_batched(T* c, const T* a, const T* b, int64_t batch, int64_t m, int64_t n, int64_t k) {
  auto one = [&](int64_t i) {
    if constexpr (std::is_same_v<T, float>) {  // threaded by sgemm_threaded when batch == 1
      sgemm_threaded(false, false, m, n, k, a + i * m * k, k, b + i * k * n, n, c + i * m * n, n, false,
                     sgemm_kernel());
      return;
    }
    Eigen::Map<const RowMajor<T>> A(a + i * m * k, m, k);
    Eigen::Map<const RowMajor<T>> B(b + i * k * n, k, n);
    Eigen::Map<RowMajor<T>> C(c + i * m * n, m, n);
    if (k == 0) C.setZero();
    else C.noalias() = A * B;
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
