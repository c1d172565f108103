// tests/cuda/test_parity.cpp — the parity harness (after ggml's test-backend-ops): every
// sample of every op the registry (core/ops/registry.cpp) marks as running on cuda is run
// on the cuda device and on the cpu from the same float32 inputs, and compared in the forward pass, the backward pass
// and the double backward (the gradient of <u, grad>). Odd shapes; ctest runs this binary once in forward thread order
// and once in random order; the emulator refills reused device memory with NaN, so an unwritten output element fails
// the comparison.
#include <doctest/doctest.h>

#include <sstream>

#include "cuda_test_util.hpp"
#include "gradcheck.hpp"

using namespace gantry;

namespace {

// max |a - b| <= atol + rtol |b|, elementwise; NaN anywhere fails.
void check_close(const Tensor& gpu, const Tensor& cpu, const std::string& what, double atol, double rtol) {
  const std::string label = what;
  INFO(label);
  REQUIRE(gpu.defined() == cpu.defined());
  if (!cpu.defined()) return;
  REQUIRE(gpu.shape() == cpu.shape());
  auto a = gpu.to(DType::f32).to_vector<float>(), b = cpu.to(DType::f32).to_vector<float>();
  double worst = 0;
  size_t at = 0;
  bool nan = false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::isnan(a[i]) != std::isnan(b[i])) nan = true;
    const double err = std::abs((double)a[i] - b[i]) - (atol + rtol * std::abs((double)b[i]));
    if (err > worst) worst = err, at = i;
  }
  CHECK_FALSE(nan);
  INFO("worst element " << at << ": cuda " << (a.empty() ? 0 : a[at]) << " vs cpu " << (b.empty() ? 0 : b[at]));
  CHECK(worst <= 0);
}

// Forward, backward and double backward of sample c on `device` (backward only when
// `differentiable`; every float32 input requires grad, constants too, so both devices'
// gradients for them are compared as well).
std::vector<Tensor> run(const OpSample& c, bool differentiable, Device device, uint64_t seed) {
  std::vector<Tensor> xs;
  for (size_t i = 0; i < c.inputs.size(); ++i) {
    Tensor x = testing::sample_input(c.inputs[i], DType::f32, seed + i).to(device);
    xs.push_back(differentiable && x.dtype() == DType::f32 ? x.detach().requires_grad_() : x);
  }
  std::vector<Tensor> out;
  Tensor y = c.f(xs);
  out.push_back(y.detach());
  if (!differentiable) return out;
  Rng g(seed + 100);
  Tensor v = randn(y.shape(), DType::f32, &g, 0, 1, device);
  std::vector<Tensor> gs = grad({y}, xs, {v}, true, true, true);
  Tensor total = zeros({}, DType::f32, device);
  for (size_t i = 0; i < gs.size(); ++i) {
    out.push_back(gs[i].defined() ? gs[i].detach() : Tensor());
    if (gs[i].defined() && gs[i].requires_grad()) {
      Tensor u = randn(gs[i].shape(), DType::f32, &g, 0, 1, device);
      total = add(total, sum(mul(gs[i], u)));
    }
  }
  if (total.requires_grad()) {
    for (Tensor& gg : grad({total}, xs, {}, false, false, true)) out.push_back(gg.defined() ? gg.detach() : Tensor());
  }
  return out;
}

}  // namespace

namespace {
// Runs every registry op's cases on cuda and the cpu and compares them; prints the ops
// not on cuda.
void check_every_op() {
  std::vector<std::string> missing;
  for (const OpInfo& op : op_registry()) {
    if (!op.on_cuda()) {
      missing.push_back(op.name);
      continue;
    }
    const std::string name = op.name;
    INFO("op " << name);
    REQUIRE_MESSAGE(!op.samples.empty(), "the registry says '" << name << "' runs on cuda but it has no sample");
    for (const OpSample& c : op.samples) {
      INFO("sample " << c.what);
      const bool differentiable = op.grad_order > 0 && c.differentiable;
      std::vector<Tensor> cpu = run(c, differentiable, Device::cpu(), 17),
                          gpu = run(c, differentiable, Device::cuda(0), 17);
      REQUIRE(cpu.size() == gpu.size());
      for (size_t i = 0; i < cpu.size(); ++i)
        check_close(gpu[i], cpu[i],
                    i == 0                 ? "forward"
                    : i <= c.inputs.size() ? "backward"
                                           : "double backward",
                    c.atol, c.rtol);
    }
  }
  std::ostringstream os;
  for (auto& m : missing) os << (os.tellp() ? ", " : "") << m;
  std::printf("ops not on cuda yet (%zu): %s\n", missing.size(), os.str().c_str());
}
}  // namespace

TEST_CASE("every op the registry puts on cuda matches the cpu: forward, backward, double backward") {
  if (!testing::have_cuda_device()) return;
  check_every_op();
}

TEST_CASE("every op matches the cpu with conv and batch norm through cuDNN (real build with cuDNN)") {
  if (!testing::have_cuda_device()) return;
  if (!kernels::cuda::cudnn_available()) {
    std::printf("SKIPPED: this build has no cuDNN, so the ops ran gantry's kernels only\n");
    return;
  }
  kernels::cuda::KernelVersions v = kernels::cuda::kernel_versions();
  v.cudnn = true;
  testing::ScopedKernelVersions use(v);
  check_every_op();
}
