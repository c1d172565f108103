// conv2d, conv_transpose2d and conv2d_backward_weight on the cuda device (the emulator
// here): every version of the three kernels of kernels/cuda/conv.cuh against the cpu
// backend's kernels run in double, outputs filled with NaN first, on odd shapes; the ops'
// parity cases (forward, backward, double backward; run by test_parity.cpp); and the
// errors the ops give on the device.
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
#include "parity.hpp"

using namespace gantry;
using kernels::Conv2dShape;
using testing::conv_shape;

namespace {

// ---- direct kernel tests -------------------------------------------------------------------

// The tiled kernels use 64x64 tiles of C and 16 K a stage (conv_common.cuh); each pass's
// (M, N, K) is listed: the set has shapes smaller than a tile, and bigger in every dim.
std::vector<Conv2dShape> kernel_shapes() {
  return {
      conv_shape(1, 3, 7, 5, 2, 3, 3, 1, 1, 1, 1, 1, 1),     // fwd (2, 35, 27): under one tile everywhere
      conv_shape(2, 3, 9, 7, 5, 3, 2, 2, 3, 1, 0, 1, 1),     // stride 2x3 on odd sizes, a 3x2 kernel
      conv_shape(3, 2, 6, 7, 4, 3, 3, 1, 1, 3, 2, 2, 2),     // padding past the half-width, dilation 2
      conv_shape(2, 9, 13, 11, 17, 2, 3, 3, 2, 2, 4, 3, 2),  // every parameter different in h and w
      conv_shape(2, 5, 11, 9, 70, 3, 3, 1, 1, 1, 1, 1, 1),   // fwd (70, 198, 45): over a tile in every dim
      conv_shape(3, 67, 9, 10, 66, 3, 3, 2, 2, 1, 1, 1, 1),  // bwd-input (67, 270, 594), bwd-weight (66, 603, 75)
      conv_shape(8, 1, 28, 28, 32, 4, 4, 2, 2, 1, 1, 1, 1),  // DCGAN D1; bwd-weight K = 1568: version 3 splits
      conv_shape(4, 32, 14, 14, 64, 4, 4, 2, 2, 1, 1, 1, 1), // DCGAN D2 (14 -> 7)
      conv_shape(2, 2, 5, 5, 3, 1, 1, 1, 1, 0, 0, 1, 1),     // 1x1 kernel
      conv_shape(0, 2, 5, 5, 3, 3, 3, 1, 1, 1, 1, 1, 1),     // empty batch: dw must still be written (zeros)
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
     << s.k_h << "," << s.k_w << "] stride " << s.stride_h << "x" << s.stride_w << " pad " << s.pad_h << "x"
     << s.pad_w << " dil " << s.dil_h << "x" << s.dil_w << " version " << version;
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

// ---- parity cases (run by test_parity.cpp: forward, backward, double backward vs the cpu) ---

namespace {

using testing::ParityCase;
using testing::ParityInput;

Tensor conv(const std::vector<Tensor>& in, Conv2dOptions o) { return conv2d(in[0], in[1], in.size() > 2 ? in[2] : Tensor(), o); }
Tensor convt(const std::vector<Tensor>& in, Conv2dOptions o, int64_t oph, int64_t opw) {
  return conv_transpose2d(in[0], in[1], in.size() > 2 ? in[2] : Tensor(), o, oph, opw);
}
Conv2dOptions options(int64_t sh, int64_t sw, int64_t ph, int64_t pw, int64_t dh, int64_t dw) {
  return {sh, sw, ph, pw, dh, dw};
}

// Each output (and each gradient) is a sum of up to a few hundred products of values
// in [-1, 1], a few float32 roundings deep through the double backward: atol 2e-4
// is about K * 2^-24 * 4 for K ~ 800, the largest sum here.
constexpr double kConvAtol = 2e-4;

std::vector<ParityCase> conv_parity_cases() {
  std::vector<ParityCase> c = {
      // conv2d: N=1, C=3, a 7x5 image, bias
      {"conv2d", [](auto& in) { return conv(in, options(1, 1, 1, 1, 1, 1)); }, {{{1, 3, 7, 5}}, {{4, 3, 3, 3}}, {{4}}}},
      // stride 2 on odd sizes, no bias, a 3x2 kernel
      {"conv2d", [](auto& in) { return conv(in, options(2, 2, 1, 0, 1, 1)); }, {{{2, 3, 9, 7}}, {{5, 3, 3, 2}}}},
      // padding larger than the kernel's half-width, dilation 2
      {"conv2d", [](auto& in) { return conv(in, options(1, 2, 3, 2, 2, 2)); }, {{{2, 2, 6, 7}}, {{3, 2, 3, 3}}, {{3}}}},
      // DCGAN discriminator: 1 -> 32 ch, 28x28 -> 14x14, 4x4 s2 p1 (batch cut to 2 for the cpu's sake)
      {"conv2d", [](auto& in) { return conv(in, options(2, 2, 1, 1, 1, 1)); }, {{{2, 1, 28, 28}}, {{32, 1, 4, 4}}, {{32}}}},
      // DCGAN discriminator: 32 -> 64 ch, 14x14 -> 7x7
      {"conv2d", [](auto& in) { return conv(in, options(2, 2, 1, 1, 1, 1)); }, {{{2, 32, 14, 14}}, {{64, 32, 4, 4}}}},
      // conv_transpose2d: weight [Cin, Cout, KH, KW]; stride 2 with output_padding 1x0
      {"conv_transpose2d", [](auto& in) { return convt(in, options(2, 2, 1, 1, 1, 1), 1, 0); },
       {{{1, 3, 4, 3}}, {{3, 2, 3, 3}}, {{2}}}},
      // dilation 2, odd sizes, stride 3x1, output_padding 2x0, no bias
      {"conv_transpose2d", [](auto& in) { return convt(in, options(3, 1, 2, 1, 2, 1), 2, 0); },
       {{{2, 2, 5, 3}}, {{2, 3, 3, 2}}}},
      // DCGAN generator: 64 -> 32 ch, 7x7 -> 14x14, and 32 -> 1 ch, 14x14 -> 28x28, 4x4 s2 p1
      {"conv_transpose2d", [](auto& in) { return convt(in, options(2, 2, 1, 1, 1, 1), 0, 0); },
       {{{2, 64, 7, 7}}, {{64, 32, 4, 4}}, {{32}}}},
      {"conv_transpose2d", [](auto& in) { return convt(in, options(2, 2, 1, 1, 1, 1), 0, 0); },
       {{{2, 32, 14, 14}}, {{32, 1, 4, 4}}}},
      // output_padding >= stride (dilation > stride): the issue 14 case, and 2 >= stride 2 in rows
      {"conv_transpose2d", [](auto& in) { return convt(in, options(1, 1, 0, 0, 2, 2), 1, 1); },
       {{{1, 1, 2, 2}}, {{1, 1, 2, 2}}}},
      {"conv_transpose2d", [](auto& in) { return convt(in, options(2, 1, 1, 0, 3, 2), 2, 1); },
       {{{2, 2, 3, 3}}, {{2, 3, 2, 3}}, {{3}}}},
      // conv2d_backward_weight(g, x) as an op of its own: its rule is conv2d and conv_transpose2d
      {"conv2d_backward_weight",
       [](auto& in) { return conv2d_backward_weight(in[0], in[1], {4, 3, 3, 2}, options(2, 1, 1, 2, 1, 2)); },
       {{{2, 4, 4, 7}}, {{2, 3, 7, 5}}}},
      {"conv2d_backward_weight",
       [](auto& in) { return conv2d_backward_weight(in[0], in[1], {32, 1, 4, 4}, options(2, 2, 1, 1, 1, 1)); },
       {{{4, 32, 14, 14}}, {{4, 1, 28, 28}}}},
      // g one row and column short of conv2d's output: the weight gradient of a transpose with output_padding >= stride
      {"conv2d_backward_weight",
       [](auto& in) { return conv2d_backward_weight(in[0], in[1], {2, 2, 2, 3}, options(2, 1, 1, 0, 3, 2)); },
       {{{2, 2, 3, 2}}, {{2, 2, 8, 7}}}},
  };
  for (auto& one : c) one.atol = kConvAtol;
  return c;
}

testing::ParityCases conv_cases(conv_parity_cases());

}  // namespace
