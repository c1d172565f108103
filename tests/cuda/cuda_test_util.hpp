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
#include "kernels/shapes.hpp"

namespace gantry::testing {

// n, c_in, in_h, in_w, c_out, k_h, k_w, stride, pad, dilation (h, w) as a conv's shape;
// out_h, out_w derived as conv2d does.
inline kernels::Conv2dShape conv_shape(int64_t n, int64_t c_in, int64_t h, int64_t w, int64_t c_out, int64_t kh,
                                       int64_t kw, int64_t sh, int64_t sw, int64_t ph, int64_t pw, int64_t dh,
                                       int64_t dw) {
  kernels::Conv2dShape s;
  s.n = n, s.c_in = c_in, s.in_h = h, s.in_w = w, s.c_out = c_out, s.k_h = kh, s.k_w = kw;
  s.stride_h = sh, s.stride_w = sw, s.pad_h = ph, s.pad_w = pw, s.dil_h = dh, s.dil_w = dw;
  s.out_h = (h + 2 * ph - dh * (kh - 1) - 1) / sh + 1;
  s.out_w = (w + 2 * pw - dw * (kw - 1) - 1) / sw + 1;
  return s;
}

// While alive, the ops run the kernel versions `v` (kernels/cuda/versions.hpp); then
// the ones they ran before.
struct ScopedKernelVersions {
  explicit ScopedKernelVersions(const kernels::cuda::KernelVersions& v)
      : before(kernels::cuda::set_kernel_versions(v)) {}
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
