// tests/cuda/cuda_test_util.hpp — shared by the cuda device's tests: they run on the
// emulator (GANTRY_CUDA=emu) or on a real GPU, and say plainly that they were skipped
// on a real build without one.
#pragma once
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "kernels/cuda/cuda_compat.cuh"
#include "kernels/cuda/versions.hpp"

namespace gantry::testing {

// While alive, the ops run the kernel versions `v` (kernels/cuda/versions.hpp); then
// the ones they ran before.
struct ScopedKernelVersions {
  explicit ScopedKernelVersions(const kernels::cuda::KernelVersions& v) : before(kernels::cuda::set_kernel_versions(v)) {}
  ~ScopedKernelVersions() { kernels::cuda::set_kernel_versions(before); }
  ScopedKernelVersions(const ScopedKernelVersions&) = delete;
  ScopedKernelVersions& operator=(const ScopedKernelVersions&) = delete;
  kernels::cuda::KernelVersions before;
};

inline bool have_cuda_device() {
  int count = 0;
  if (cudaGetDeviceCount(&count) != cudaSuccess || count == 0) {
    cudaGetLastError();
    std::printf("SKIPPED: no CUDA device found, so this cuda test did not run (it runs on the emulator or a GPU)\n");
    return false;
  }
  return true;
}

// A fresh device buffer holding v (at least one element, so a null pointer never means
// "empty"); the caller cudaFree()s it.
inline float* to_device(const std::vector<float>& v) {
  float* d = nullptr;
  CUDA_CHECK(cudaMalloc(&d, std::max<size_t>(v.size(), 1) * sizeof(float)));
  CUDA_CHECK(cudaMemcpy(d, v.data(), v.size() * sizeof(float), cudaMemcpyHostToDevice));
  return d;
}

// n floats copied back from device memory, after every kernel before has finished.
inline std::vector<float> to_host(const float* d, size_t n) {
  std::vector<float> v(n);
  CUDA_CHECK(cudaDeviceSynchronize());
  CUDA_CHECK(cudaMemcpy(v.data(), d, n * sizeof(float), cudaMemcpyDeviceToHost));
  return v;
}

// max |x - y| <= atol + rtol * max |y| (x from the cuda device, y from the cpu); the
// message names `what` and gives both maxima.
inline void check_max_error(const std::vector<float>& x, const std::vector<float>& y, const std::string& what,
                            double atol, double rtol) {
  REQUIRE(x.size() == y.size());
  double scale = 0, worst = 0;
  for (float v : y) scale = std::max(scale, (double)std::abs(v));
  for (size_t k = 0; k < x.size(); ++k) worst = std::max(worst, (double)std::abs(x[k] - y[k]));
  INFO(what << ": max |cuda - cpu| = " << worst << ", max |cpu| = " << scale);
  CHECK(worst <= atol + rtol * scale);
}

}  // namespace gantry::testing
