// conv2d, conv_transpose2d and conv2d_backward_weight on the cuda device (the emulator
// here): every version of the three kernels of kernels/cuda/conv.cuh against the cpu
// backend's kernels run in double, outputs filled with NaN first, on odd shapes, and the
// errors the ops give on the device (the ops' parity samples live in core/ops/registry.cpp).
#include <doctest/doctest.h>

#include "test_util.hpp"

#include <algorithm>
#include <cmath>
#include <sstream>
#include <vector>

#include "core/ops.hpp"
#include "cuda_test_util.hpp"
#include "kernels/cpu/conv.hpp"
#include "kernels/cuda/conv.cuh"

using namespace gantry;
using kernels::Conv2dShape;
using testing::conv_shape;

namespace {

// ---- direct kernel tests -------------------------------------------------------------------

// The tiled kernels use 64x64 tiles of C and 16 K a stage (conv_common.cuh); each pass's
// (M, N, K) is listed: the set has shapes smaller than a tile, and bigger in every dim.
std::vector<Conv2dShape> kernel_shapes() {
  return {
      conv_shape(1, 3, 7, 5, 2, 3, 3, 1, 1, 1, 1, 1, 1),      // fwd (2, 35, 27): under one tile everywhere
      conv_shape(2, 3, 9, 7, 5, 3, 2, 2, 3, 1, 0, 1, 1),      // stride 2x3 on odd sizes, a 3x2 kernel
      conv_shape(3, 2, 6, 7, 4, 3, 3, 1, 1, 3, 2, 2, 2),      // padding past the half-width, dilation 2
      conv_shape(2, 9, 13, 11, 17, 2, 3, 3, 2, 2, 4, 3, 2),   // every parameter different in h and w
      conv_shape(2, 5, 11, 9, 70, 3, 3, 1, 1, 1, 1, 1, 1),    // fwd (70, 198, 45): over a tile in every dim
      conv_shape(3, 67, 9, 10, 66, 3, 3, 2, 2, 1, 1, 1, 1),   // bwd-input (67, 270, 594), bwd-weight (66, 603, 75)
      conv_shape(8, 1, 28, 28, 32, 4, 4, 2, 2, 1, 1, 1, 1),   // DCGAN D1; bwd-weight K = 1568: version 3 splits
      conv_shape(4, 32, 14, 14, 64, 4, 4, 2, 2, 1, 1, 1, 1),  // DCGAN D2 (14 -> 7)
      conv_shape(2, 2, 5, 5, 3, 1, 1, 1, 1, 0, 0, 1, 1),      // 1x1 kernel
      conv_shape(0, 2, 5, 5, 3, 3, 3, 1, 1, 1, 1, 1, 1),      // empty batch: dw must still be written (zeros)
  };
}

std::vector<double> to_double(const std::vector<float>& v) { return {v.begin(), v.end()}; }

using gantry::testing::to_device;

// Runs kernel(out, a, b) on the device with out pre-filled with NaN, returns out.
template <class F>
std::vector<float> run_on_device(size_t out_size, const std::vector<float>& a, const std::vector<float>& b, F kernel) {
  float *da = to_device(a), *db = to_device(b), *dout = to_device(testing::nans<float>(out_size));
  kernel(dout, da, db);
  std::vector<float> out(out_size);
  CUDA_CHECK(cudaMemcpy(out.data(), dout, out_size * sizeof(float), cudaMemcpyDeviceToHost));
  cudaFree(da), cudaFree(db), cudaFree(dout);
  return out;
}

std::string describe(const Conv2dShape& s, int version) {
  std::ostringstream os;
  os << "x [" << s.n << "," << s.c_in << "," << s.in_h << "," << s.in_w << "] w [" << s.c_out << "," << s.c_in << ","
     << s.k_h << "," << s.k_w << "] stride " << s.stride_h << "x" << s.stride_w << " pad " << s.pad_h << "x" << s.pad_w
     << " dil " << s.dil_h << "x" << s.dil_w << " version " << version;
  return os.str();
}

// Each output is a sum of up to K products of values in [-1, 1], in float32.
double tolerance(int64_t k) { return 1e-6 * (double)(k + 1) * 8; }

}  // namespace

TEST_CASE("conv2d_forward: every cuda version matches the cpu kernel on odd shapes") {
  if (!testing::have_cuda_device()) return;
  for (const Conv2dShape& s : kernel_shapes()) {
    const auto x = testing::random_values<float>(s.n * s.c_in * s.in_h * s.in_w, 1);
    const auto w = testing::random_values<float>(s.c_out * s.c_in * s.k_h * s.k_w, 2);
    const auto bias = testing::random_values<float>(s.c_out, 3);
    std::vector<double> want(s.n * s.c_out * s.out_h * s.out_w), xd = to_double(x), wd = to_double(w),
                                                                 bd = to_double(bias);
    for (bool with_bias : {true, false}) {
      kernels::cpu::conv2d_forward<double>(want.data(), xd.data(), wd.data(), with_bias ? bd.data() : nullptr, s);
      float* dbias = to_device(bias);
      for (int version = 1; version <= kernels::cuda::kConvVersions; ++version) {
        INFO(describe(s, version) << (with_bias ? " with bias" : " without bias"));
        auto got = run_on_device(want.size(), x, w, [&](float* y, const float* dx, const float* dw) {
          kernels::cuda::conv2d_forward(y, dx, dw, with_bias ? dbias : nullptr, s, version);
        });
        testing::check_close(got, want, tolerance(s.c_in * s.k_h * s.k_w), "y");
      }
      cudaFree(dbias);
    }
  }
}

TEST_CASE("conv2d_backward_input: every cuda version matches the cpu kernel on odd shapes") {
  if (!testing::have_cuda_device()) return;
  for (const Conv2dShape& s : kernel_shapes()) {
    const auto dy = testing::random_values<float>(s.n * s.c_out * s.out_h * s.out_w, 4);
    const auto w = testing::random_values<float>(s.c_out * s.c_in * s.k_h * s.k_w, 5);
    std::vector<double> want(s.n * s.c_in * s.in_h * s.in_w), dyd = to_double(dy), wd = to_double(w);
    kernels::cpu::conv2d_backward_input<double>(want.data(), dyd.data(), wd.data(), s);
    for (int version = 1; version <= kernels::cuda::kConvVersions; ++version) {
      INFO(describe(s, version));
      auto got = run_on_device(want.size(), dy, w, [&](float* dx, const float* ddy, const float* dw) {
        kernels::cuda::conv2d_backward_input(dx, ddy, dw, s, version);
      });
      testing::check_close(got, want, tolerance(s.c_out * s.k_h * s.k_w), "dx");
    }
  }
}

TEST_CASE("conv2d_backward_weight: every cuda version matches the cpu kernel on odd shapes") {
  if (!testing::have_cuda_device()) return;
  for (const Conv2dShape& s : kernel_shapes()) {
    const auto dy = testing::random_values<float>(s.n * s.c_out * s.out_h * s.out_w, 6);
    const auto x = testing::random_values<float>(s.n * s.c_in * s.in_h * s.in_w, 7);
    std::vector<double> want(s.c_out * s.c_in * s.k_h * s.k_w), dyd = to_double(dy), xd = to_double(x);
    kernels::cpu::conv2d_backward_weight<double>(want.data(), dyd.data(), xd.data(), s);
    for (int version = 1; version <= kernels::cuda::kConvWeightVersions; ++version) {
      INFO(describe(s, version));
      auto got = run_on_device(want.size(), dy, x, [&](float* dw, const float* ddy, const float* dx) {
        kernels::cuda::conv2d_backward_weight(dw, ddy, dx, s, version);
      });
      testing::check_close(got, want, tolerance(s.n * s.out_h * s.out_w), "dw");
    }
  }
}

TEST_CASE("the conv kernels refuse an unknown version") {
  if (!testing::have_cuda_device()) return;
  const Conv2dShape s = conv_shape(1, 1, 3, 3, 1, 2, 2, 1, 1, 0, 0, 1, 1);
  CHECK_THROWS_WITH_AS(kernels::cuda::conv2d_forward(nullptr, nullptr, nullptr, nullptr, s, 9),
                       doctest::Contains("conv2d_forward: no version 9"), cuda::CudaError);
  CHECK_THROWS_WITH_AS(kernels::cuda::conv2d_backward_input(nullptr, nullptr, nullptr, s, 9),
                       doctest::Contains("conv2d_backward_input: no version 9"), cuda::CudaError);
  CHECK_THROWS_WITH_AS(kernels::cuda::conv2d_backward_weight(nullptr, nullptr, nullptr, s, 9),
                       doctest::Contains("conv2d_backward_weight: no version 9"), cuda::CudaError);
}

TEST_CASE("conv ops on the cuda device name the op and the shapes in their errors") {
  if (!testing::have_cuda_device()) return;
  const Device gpu = Device::cuda(0);
  auto on_gpu = [&](Shape s) { return zeros(s, DType::f32, gpu); };
  CHECK_THROWS_WITH_AS(conv2d(on_gpu({2, 3, 7, 5}), zeros({4, 3, 3, 3})),
                       doctest::Contains("conv2d: devices differ (cuda:0 vs cpu)"), Error);
  CHECK_THROWS_WITH_AS(conv2d(on_gpu({2, 3, 7, 5}), on_gpu({4, 1, 3, 3})),
                       doctest::Contains("conv2d: input has 3 channels but weight expects 1 (input [2,3,7,5], "
                                         "weight [4,1,3,3])"),
                       Error);
  CHECK_THROWS_WITH_AS(conv2d(on_gpu({2, 3, 7, 5}), on_gpu({4, 3, 3, 3}), zeros({4})),
                       doctest::Contains("conv2d: devices differ (cuda:0 vs cpu)"), Error);
  CHECK_THROWS_WITH_AS(conv_transpose2d(on_gpu({1, 2, 3, 3}), on_gpu({3, 1, 3, 3})),
                       doctest::Contains("conv_transpose2d: input has 2 channels but weight expects 3 (input "
                                         "[1,2,3,3], weight [3,1,3,3])"),
                       Error);
  CHECK_THROWS_WITH_AS(conv2d_backward_weight(on_gpu({1, 4, 5, 3}), zeros({1, 3, 7, 5}), {4, 3, 3, 3}, {}),
                       doctest::Contains("conv2d_backward_weight: devices differ (cuda:0 vs cpu)"), Error);
  CHECK_THROWS_WITH_AS(conv2d_backward_weight(on_gpu({1, 4, 6, 3}), on_gpu({1, 3, 7, 5}), {4, 3, 3, 3}, {}),
                       doctest::Contains("conv2d_backward_weight: grad_output [1,4,6,3] should be [1,4,5,3]"), Error);
}
