// kernels/cpu/sgemm.cpp — the SGEMM front door: the kernel choice by CPU feature, and the
// Eigen path (Eigen::Map of the strided row-major buffers, Eigen's blocked product).
#include "kernels/cpu/sgemm.hpp"

#include <omp.h>

#include <Eigen/Core>
#include <algorithm>
#include <stdexcept>
#include <type_traits>

namespace gantry::kernels::cpu {

bool sgemm_avx512_supported() {
  static const bool supported = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("fma");
  return supported;
}

SgemmKernel sgemm_kernel() {
  if (kSgemmDefault == SgemmKernel::kAvx512 && sgemm_avx512_supported()) return SgemmKernel::kAvx512;
  return SgemmKernel::kEigen;
}

bool sgemm_batch_invariant(SgemmKernel kernel) { return kernel == SgemmKernel::kAvx512; }

void sgemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, const float* a, int64_t lda, const float* b,
           int64_t ldb, float* c, int64_t ldc, bool accumulate, SgemmKernel kernel) {
  if (m <= 0 || n <= 0) return;
  if (kernel == SgemmKernel::kAvx512) {
    if (!sgemm_avx512_supported()) throw std::runtime_error("sgemm: the AVX-512 kernel on a CPU without AVX-512F/FMA");
    sgemm_avx512(trans_a, trans_b, m, n, k, a, lda, b, ldb, c, ldc, accumulate);
  } else {
    gemm_eigen(trans_a, trans_b, m, n, k, a, lda, b, ldb, c, ldc, accumulate);
  }
}

void sgemm_threaded(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, const float* a, int64_t lda,
                    const float* b, int64_t ldb, float* c, int64_t ldc, bool accumulate, SgemmKernel kernel) {
  const int threads = omp_in_parallel() ? 1 : omp_get_max_threads();
  const bool thin = m == 1 || n == 1 || k == 1;
  const bool small = thin ? (double)m * k + (double)k * n + (double)m * n < kSgemmThreadedThinFloats
                          : 2.0 * m * n * k < kSgemmThreadedFlops;
  if (kernel != SgemmKernel::kAvx512 || threads == 1 || small) {
    sgemm(trans_a, trans_b, m, n, k, a, lda, b, ldb, c, ldc, accumulate, kernel);
    return;
  }
  // Parts in multiples of 32 columns or 14 rows (the kernel's register tile), so no part
  // has more edge tiles than it must.
  const bool by_rows = m > n;
  const int64_t unit = by_rows ? 14 : 32, units = ((by_rows ? m : n) + unit - 1) / unit;
  const int parts = (int)std::min<int64_t>(threads, units);
#pragma omp parallel for num_threads(parts)
  for (int t = 0; t < parts; ++t) {
    const int64_t lo = std::min(units * t / parts * unit, by_rows ? m : n);
    const int64_t hi = std::min(units * (t + 1) / parts * unit, by_rows ? m : n);
    if (hi <= lo) continue;
    if (by_rows)
      sgemm(trans_a, trans_b, hi - lo, n, k, a + (trans_a ? lo : lo * lda), lda, b, ldb, c + lo * ldc, ldc, accumulate,
            kernel);
    else
      sgemm(trans_a, trans_b, m, hi - lo, k, a, lda, b + (trans_b ? lo * ldb : lo), ldb, c + lo, ldc, accumulate,
            kernel);
  }
}

template <class T>
void gemm_eigen(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, const T* a, int64_t lda, const T* b,
                int64_t ldb, T* c, int64_t ldc, bool accumulate) {
  using Mat = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  using CMap = Eigen::Map<const Mat, 0, Eigen::OuterStride<>>;
  Eigen::Map<Mat, 0, Eigen::OuterStride<>> C(c, m, n, Eigen::OuterStride<>(ldc));
  if (k == 0) {
    if (!accumulate) C.setZero();
    return;
  }
  CMap A(a, trans_a ? k : m, trans_a ? m : k, Eigen::OuterStride<>(lda));
  CMap B(b, trans_b ? n : k, trans_b ? k : n, Eigen::OuterStride<>(ldb));
  auto run = [&](const auto& opA, const auto& opB) {
    if (accumulate) C.noalias() += opA * opB;
    else C.noalias() = opA * opB;
  };
  if (trans_a && trans_b) run(A.transpose(), B.transpose());
  else if (trans_a) run(A.transpose(), B);
  else if (trans_b) run(A, B.transpose());
  else run(A, B);
}

template <class T>
void gemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, const T* a, int64_t lda, const T* b, int64_t ldb,
          T* c, int64_t ldc, bool accumulate) {
  if constexpr (std::is_same_v<T, float>)
    sgemm_threaded(trans_a, trans_b, m, n, k, a, lda, b, ldb, c, ldc, accumulate, sgemm_kernel());
  else gemm_eigen(trans_a, trans_b, m, n, k, a, lda, b, ldb, c, ldc, accumulate);
}

template void gemm<float>(bool, bool, int64_t, int64_t, int64_t, const float*, int64_t, const float*, int64_t, float*,
                          int64_t, bool);
template void gemm<double>(bool, bool, int64_t, int64_t, int64_t, const double*, int64_t, const double*, int64_t,
                           double*, int64_t, bool);
template void gemm_eigen<float>(bool, bool, int64_t, int64_t, int64_t, const float*, int64_t, const float*, int64_t,
                                float*, int64_t, bool);
template void gemm_eigen<double>(bool, bool, int64_t, int64_t, int64_t, const double*, int64_t, const double*, int64_t,
                                 double*, int64_t, bool);

}  // namespace gantry::kernels::cpu
