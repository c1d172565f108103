// tests/cuda/test_kernel_versions.cpp — the one convention for kernel versions
// (kernels/cuda/versions.hpp): the defaults, the checked override, and the ops running
// every kept version (matmul, conv2d and its two backward ops, batch_norm) against the cpu.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdio>
#include <functional>
#include <stdexcept>
#include <string>

#include "core/ops.hpp"
#include "cuda_test_util.hpp"
#include "kernels/cuda/dnn.cuh"

using namespace gantry;
using kernels::cuda::KernelVersions;

namespace {

// max |op(cuda inputs) - op(cpu inputs)| <= tol * (1 + max |cpu|).
void check_op(const std::function<Tensor(const std::vector<Tensor>&)>& op, const std::vector<Shape>& shapes, double tol,
              const char* what) {
  std::vector<Tensor> cpu, gpu;
  for (size_t i = 0; i < shapes.size(); ++i) {
    Rng g(31 + i);
    cpu.push_back(rand(shapes[i], DType::f32, &g, -1, 1));
    gpu.push_back(cpu.back().to(Device::cuda(0)));
  }
  const Tensor want = op(cpu).contiguous(), got = op(gpu).to(Device::cpu()).contiguous();
  REQUIRE(want.numel() == got.numel());
  double scale = 0, worst = 0;
  for (int64_t k = 0; k < want.numel(); ++k) {
    scale = std::max(scale, (double)std::abs(want.data<float>()[k]));
    worst = std::max(worst, (double)std::abs(got.data<float>()[k] - want.data<float>()[k]));
  }
  INFO(what << ": max |cuda - cpu| = " << worst << ", max |cpu| = " << scale);
  CHECK(worst <= tol * (1 + scale));
}

}  // namespace

TEST_CASE("kernel versions: the ops run the defaults until a test sets others, and get them back") {
  const KernelVersions d{};
  const KernelVersions& now = kernels::cuda::kernel_versions();
  CHECK(now.conv_forward == d.conv_forward);
  CHECK(now.conv_backward_input == d.conv_backward_input);
  CHECK(now.conv_backward_weight == d.conv_backward_weight);
  CHECK(now.batch_norm == d.batch_norm);
  CHECK(now.gemm == d.gemm);
  CHECK_FALSE(now.cudnn);
  {
    KernelVersions v = d;
    v.conv_forward = 1;
    v.batch_norm = 1;
    testing::ScopedKernelVersions use(v);
    CHECK(kernels::cuda::kernel_versions().conv_forward == 1);
    CHECK(kernels::cuda::kernel_versions().batch_norm == 1);
  }
  CHECK(kernels::cuda::kernel_versions().conv_forward == d.conv_forward);
  CHECK(kernels::cuda::kernel_versions().batch_norm == d.batch_norm);
}

TEST_CASE("kernel versions: a version not kept is refused, naming the field, and changes nothing") {
  auto refused = [](void (*set)(KernelVersions&), const char* field) {
    KernelVersions v{};
    set(v);
    CHECK_THROWS_WITH_AS(kernels::cuda::set_kernel_versions(v),
                         doctest::Contains(doctest::String((std::string("KernelVersions::") + field).c_str())),
                         std::runtime_error);
    CHECK(kernels::cuda::kernel_versions().conv_forward == KernelVersions{}.conv_forward);
  };
  refused([](KernelVersions& v) { v.conv_forward = 0; }, "conv_forward");
  refused([](KernelVersions& v) { v.conv_backward_input = kernels::cuda::kConvVersions + 1; }, "conv_backward_input");
  refused([](KernelVersions& v) { v.conv_backward_weight = kernels::cuda::kConvWeightVersions + 1; },
          "conv_backward_weight");
  refused([](KernelVersions& v) { v.batch_norm = -1; }, "batch_norm");
  refused([](KernelVersions& v) { v.gemm = kernels::cuda::kGemmCublas + 1; }, "gemm");
#if defined(GANTRY_CUDA_EMU)
  refused([](KernelVersions& v) { v.gemm = kernels::cuda::kGemmCublas; }, "gemm");  // cuBLAS cannot be emulated
#endif
}

TEST_CASE("kernel versions: the ops match the cpu with every kept version") {
  if (!testing::have_cuda_device()) return;
  const Conv2dOptions o = Conv2dOptions::square(2, 1);
  for (int v = 1; v <= kernels::cuda::kGemmVersions; ++v) {
    KernelVersions k{};
    k.gemm = v;
    testing::ScopedKernelVersions use(k);
    check_op([](const std::vector<Tensor>& x) { return matmul(x[0], x[1]); }, {{3, 17, 29}, {3, 29, 13}}, 1e-5,
             "matmul");
  }
  for (int v = 1; v <= kernels::cuda::kConvVersions; ++v) {
    KernelVersions k{};
    k.conv_forward = k.conv_backward_input = v;
    testing::ScopedKernelVersions use(k);
    check_op([&](const std::vector<Tensor>& x) { return conv2d(x[0], x[1], x[2], o); },
             {{2, 3, 9, 7}, {5, 3, 3, 3}, {5}}, 1e-5, "conv2d");
    check_op([&](const std::vector<Tensor>& x) { return conv_transpose2d(x[0], x[1], {}, o); },
             {{2, 5, 4, 3}, {5, 3, 3, 3}}, 1e-5, "conv_transpose2d");
  }
  for (int v = 1; v <= kernels::cuda::kConvWeightVersions; ++v) {
    KernelVersions k{};
    k.conv_backward_weight = v;
    testing::ScopedKernelVersions use(k);
    check_op(
        [&](const std::vector<Tensor>& x) {
          return conv2d_backward_weight(x[0], x[1], {5, 3, 3, 3}, o);
        },
        {{2, 5, 5, 4}, {2, 3, 9, 7}}, 1e-5, "conv2d_backward_weight");
  }
  for (int v = 1; v <= kernels::cuda::kBatchNormVersions; ++v) {
    KernelVersions k{};
    k.batch_norm = v;
    testing::ScopedKernelVersions use(k);
    check_op([](const std::vector<Tensor>& x) { return batch_norm(x[0], {}, {}, x[1], x[2], true); },
             {{3, 4, 5, 3}, {4}, {4}}, 1e-5, "batch_norm");
  }
}

TEST_CASE("conv2d_backward_weight's split-K workspace comes from the caching allocator: the memory counters see it") {
  if (!testing::have_cuda_device()) return;
  // K = N*OH*OW = 4*16*16 = 1024 over one 64x64 tile of dw [4, 3*3*3]: version 3 splits K.
  const Conv2dOptions o = Conv2dOptions::square(1, 1);
  Rng g(5);
  const Tensor dy = rand({4, 4, 16, 16}, DType::f32, &g, -1, 1).to(Device::cuda(0));
  const Tensor x = rand({4, 3, 16, 16}, DType::f32, &g, -1, 1).to(Device::cuda(0));
  const int64_t dw_bytes = 4 * 3 * 3 * 3 * sizeof(float);
  auto peak_rise = [&](int version) {
    KernelVersions k{};
    k.conv_backward_weight = version;
    testing::ScopedKernelVersions use(k);
    reset_peak_memory(Device::cuda(0));
    const int64_t before = memory_stats(Device::cuda(0)).current_bytes;
    const Tensor dw = conv2d_backward_weight(dy, x, {4, 3, 3, 3}, o);
    CHECK(memory_stats(Device::cuda(0)).current_bytes - before < 4 * dw_bytes);  // the workspace went back
    return memory_stats(Device::cuda(0)).peak_bytes - before;
  };
  const int64_t without = peak_rise(2), with = peak_rise(3);
  INFO("peak rise: version 2 " << without << " bytes, version 3 " << with << " bytes");
  CHECK(without < 4 * dw_bytes);
  CHECK(with >= without + 2 * dw_bytes);  // at least two K slices of dw
}

TEST_CASE("modconv2d_backward_weight's split-K workspace comes from the caching allocator: the counters see it") {
  if (!testing::have_cuda_device()) return;
  // K = N*OH*OW = 4*16*16 = 1024 (at least 4 slices of 256) over one tile of dw [4, 3, 3, 3].
  Rng g(6);
  const Device cu = Device::cuda(0);
  const Tensor dy = rand({4, 4, 16, 16}, DType::f32, &g, -1, 1).to(cu);
  const Tensor x = rand({4, 3, 16, 16}, DType::f32, &g, -1, 1).to(cu);
  const Tensor s = rand({4, 3}, DType::f32, &g, 0.5, 1.5).to(cu), d = rand({4, 4}, DType::f32, &g, 0.5, 1.5).to(cu);
  const int64_t dw_bytes = 4 * 3 * 3 * 3 * sizeof(float);
  reset_peak_memory(cu);
  const int64_t before = memory_stats(cu).current_bytes;
  const Tensor dw = modconv2d_backward_weight(dy, x, s, d, {4, 3, 3, 3}, Conv2dOptions::square(1, 1));
  const int64_t rise = memory_stats(cu).peak_bytes - before, held = memory_stats(cu).current_bytes - before;
  INFO("peak rise " << rise << " bytes, held after " << held << " bytes");
  CHECK(held < 4 * dw_bytes);          // dw (and what the op keeps), not the workspace
  CHECK(rise >= held + 2 * dw_bytes);  // the workspace (at least two K slices of dw) was counted
}

TEST_CASE("cuDNN's convolution workspace comes from the caching allocator: the memory counters see it (real build)") {
  if (!testing::have_cuda_device()) return;
  if (!kernels::cuda::cudnn_available()) {
    std::printf("SKIPPED: this build has no cuDNN, so there is no cuDNN workspace to count\n");
    return;
  }
  KernelVersions k = kernels::cuda::kernel_versions();
  k.cudnn = true;
  testing::ScopedKernelVersions use(k);
  const Device cu = Device::cuda(0);
  Rng g(7);
  const Tensor x = rand({8, 32, 33, 31}, DType::f32, &g, -1, 1).to(cu), w = rand({48, 32, 3, 3}, DType::f32, &g).to(cu);
  const kernels::Conv2dShape s = testing::conv_shape(8, 32, 33, 31, 48, 3, 3, 1, 1, 1, 1, 1, 1);
  const int64_t ws = (int64_t)kernels::cudnn::conv2d_forward_workspace(s);
  NoGradGuard off;
  reset_peak_memory(cu);
  const int64_t before = memory_stats(cu).current_bytes;
  const Tensor y = conv2d(x, w, {}, Conv2dOptions::square(1, 1));
  const int64_t rise = memory_stats(cu).peak_bytes - before, held = memory_stats(cu).current_bytes - before;
  const int64_t y_bytes = y.numel() * (int64_t)sizeof(float);
  INFO("workspace " << ws << " bytes; peak rise " << rise << ", held after " << held << ", y " << y_bytes);
  std::printf("cuDNN forward workspace for [8,32,33,31] * [48,32,3,3]: %lld bytes (peak rise %lld)\n", (long long)ws,
              (long long)rise);
  CHECK(held < y_bytes + 4096);  // y, not the workspace, is held after the call
  CHECK(rise >= y_bytes + ws);   // the workspace was counted while the call ran
}
