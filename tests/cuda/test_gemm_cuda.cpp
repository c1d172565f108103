// SGEMM on the cuda device (the emulator here) against the CPU backend's GEMM, every
// version, odd shapes, outputs filled with junk first.
#include <doctest/doctest.h>

#include "test_util.hpp"

#include <cmath>
#include <random>
#include <vector>

#include "kernels/cpu/gemm.hpp"
#include "cuda_test_util.hpp"
#include "kernels/cuda/gemm.cuh"

namespace {

using gantry::testing::to_device;

}  // namespace

TEST_CASE("SGEMM versions match the CPU GEMM on odd shapes") {
  if (!gantry::testing::have_cuda_device()) return;
  struct Case {
    int64_t batch, m, n, k;
  };
  for (Case s : {Case{1, 1, 1, 1}, Case{1, 37, 41, 29}, Case{3, 7, 5, 3}, Case{2, 64, 64, 16}, Case{1, 65, 130, 33},
                 Case{2, 17, 8, 12}, Case{1, 3, 4, 0}}) {
    auto a = gantry::testing::random_values<float>(s.batch * s.m * s.k, 1),
         b = gantry::testing::random_values<float>(s.batch * s.k * s.n, 2);
    std::vector<float> want(s.batch * s.m * s.n);
    gantry::kernels::cpu::gemm_batched(want.data(), a.data(), b.data(), s.batch, s.m, s.n, s.k);
    for (int version = 1; version <= 3; ++version) {
      INFO("batch " << s.batch << " m " << s.m << " n " << s.n << " k " << s.k << " version " << version);
      float *da = to_device(a), *db = to_device(b), *dc = to_device(std::vector<float>(want.size(), 1e30f));
      gantry::kernels::cuda::gemm_batched(dc, da, db, s.batch, s.m, s.n, s.k, version);
      std::vector<float> got(want.size());
      CUDA_CHECK(cudaMemcpy(got.data(), dc, got.size() * sizeof(float), cudaMemcpyDeviceToHost));
      // float32 rounding: each output sums k products of numbers in [-1, 1]
      const float tol = 1e-6f * (float)(s.k + 1) * 8;
      for (size_t i = 0; i < got.size(); ++i) CHECK(std::abs(got[i] - want[i]) <= tol);
      cudaFree(da), cudaFree(db), cudaFree(dc);
    }
  }
#if defined(GANTRY_CUDA_EMU)
  CHECK_THROWS_WITH_AS(gantry::kernels::cuda::gemm_batched(nullptr, nullptr, nullptr, 1, 2, 2, 2,
                                                           gantry::kernels::cuda::kGemmCublas),
                       doctest::Contains("cuBLAS cannot run on the emulator"), gantry::cuda::CudaError);
#endif
}
