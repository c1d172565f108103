// kernels/cpu/sgemm.hpp — float GEMM C (+)= op(A) op(B) on row-major buffers: gantry's own
// BLIS-style AVX-512 kernel (kernels/cpu/sgemm_avx512.cpp, docs/kernels/cpu_gemm.md), with
// Eigen's GEMM as the reference and the portable path.
#pragma once
#include <cstdint>

namespace gantry::kernels::cpu {

// The kept SGEMM versions. Eigen: Eigen's blocked product (any CPU). Avx512: packing of A
// into MR-row panels and B into NR-column panels, a register-blocked AVX-512 FMA tile,
// every element of C one FMA chain over k in order (the result does not depend on the
// blocking, the tile an element falls in, or the sizes of the other operands).
enum class SgemmKernel { kEigen = 1, kAvx512 = 2 };

// The SGEMM the ops use (gemm_batched, conv2d) when the CPU can run it; the named default
// for CPU kernel versions (docs/architecture.md). Set it to kEigen to run Eigen everywhere.
constexpr SgemmKernel kSgemmDefault = SgemmKernel::kAvx512;

// Whether this CPU runs the AVX-512 kernel (__builtin_cpu_supports("avx512f") and "fma").
bool sgemm_avx512_supported();
// The kernel the ops run: kSgemmDefault where this CPU supports it, else kEigen.
SgemmKernel sgemm_kernel();
// Whether `kernel` computes every element of C the same way whatever m, n and its place in
// C (true for kAvx512: one FMA chain over k in order), so a sample's result does not depend
// on the samples batched beside it in one product.
bool sgemm_batch_invariant(SgemmKernel kernel);

// C[m, n] = op(A)[m, k] @ op(B)[k, n] (+ C when accumulate); row-major with leading
// dimensions lda, ldb, ldc. op(A) = A (A is m x k) or, with trans_a, A^T (A is k x m);
// likewise op(B) = B (k x n) or B^T (B is n x k). k = 0 writes zeros (or leaves C as it is
// when accumulating). kAvx512 is serial (the caller owns the threads); kEigen is serial inside
// an OpenMP parallel region and threads itself outside one. kAvx512 on a CPU without
// AVX-512 throws std::runtime_error.
void sgemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, const float* a, int64_t lda, const float* b,
           int64_t ldb, float* c, int64_t ldc, bool accumulate, SgemmKernel kernel);

// sgemm on the OpenMP threads: called outside a parallel region with more than one thread
// and at least kSgemmThreadedFlops of work (a one-row, one-column or k = 1 product, bound by
// memory rather than FMAs: at least kSgemmThreadedThinFloats of operands), kAvx512 splits
// C's columns (or its rows, when it has more rows than columns) into one contiguous part a
// thread, each an sgemm of its own (same bits as one call: every element is computed the
// same way); kEigen threads itself. Else sgemm.
void sgemm_threaded(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, const float* a, int64_t lda,
                    const float* b, int64_t ldb, float* c, int64_t ldc, bool accumulate, SgemmKernel kernel);
constexpr double kSgemmThreadedFlops = 1 << 20;
// A thin product touching this many floats (256 KiB) is threaded: two threads read and write
// memory faster than one, and the DCGAN critic's last layer (64 x 3136 x 1 and its backward
// passes, 0.4 MFLOP each) took 0.1-0.3 ms a call on one thread inside a training step.
constexpr double kSgemmThreadedThinFloats = 1 << 16;

// Eigen's GEMM on the same row-major contract as sgemm, for float (sgemm's kEigen) and
// double (conv2d's double path): serial inside an OpenMP parallel region, else on Eigen's
// OpenMP threads.
template <class T>
void gemm_eigen(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, const T* a, int64_t lda, const T* b,
                int64_t ldb, T* c, int64_t ldc, bool accumulate);

// The GEMM the cpu kernels call: float through sgemm_threaded with sgemm_kernel(), double
// through gemm_eigen. Serial inside the caller's parallel region, threaded outside one.
template <class T>
void gemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, const T* a, int64_t lda, const T* b, int64_t ldb,
          T* c, int64_t ldc, bool accumulate);

// The AVX-512 kernel itself (sgemm with kAvx512); only on a CPU where sgemm_avx512_supported().
void sgemm_avx512(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, const float* a, int64_t lda,
                  const float* b, int64_t ldb, float* c, int64_t ldc, bool accumulate);

}  // namespace gantry::kernels::cpu
