// The WGAN-GP gradient penalty on the cuda device: the cpu kernel (float and double) and
// the cuda kernel against a float64 computation written out here, on odd shapes, outputs
// pre-filled with NaN; and a tiny critic (linear -> leaky_relu -> linear) trained through
// grad(create_graph) + gradient_penalty + backward on cuda, against the same on the cpu.
#include <doctest/doctest.h>

#include "test_util.hpp"

#include <algorithm>
#include <cmath>
#include <vector>

#include "core/ops.hpp"
#include "cuda_test_util.hpp"
#include "kernels/cpu/penalty.hpp"
#include "kernels/cuda/penalty.cuh"

using namespace gantry;

namespace {

// P, and dP/dg times `up`, in float64 straight from the definition.
struct Reference {
  double penalty = 0;
  std::vector<double> norms, dg;
};

Reference reference(const std::vector<float>& g, int64_t n, int64_t k, double lambda, double eps, double up) {
  Reference r;
  r.norms.resize(n), r.dg.resize(n * k);
  for (int64_t s = 0; s < n; ++s) {
    double sq = 0;
    for (int64_t i = 0; i < k; ++i) sq += (double)g[s * k + i] * g[s * k + i];
    r.norms[s] = std::sqrt(sq + eps);
    r.penalty += lambda / n * (r.norms[s] - 1) * (r.norms[s] - 1);
    for (int64_t i = 0; i < k; ++i)
      r.dg[s * k + i] = up * lambda * 2 * (r.norms[s] - 1) / n * g[s * k + i] / r.norms[s];
  }
  return r;
}

using gantry::testing::to_device;
using gantry::testing::to_host;

struct Shape2 {
  int64_t n, k;
};
// N = 1, N = 7, N > 256 (the sum over samples loops); K = 1, K < 32, K = 5000 (each thread
// of the sample's block loops ~20 times); rows scaled so some norms sit near 1.
const Shape2 kShapes[] = {{1, 1}, {1, 5}, {7, 1}, {7, 13}, {3, 5000}, {300, 3}, {1, 777}};

std::vector<float> gradients(Shape2 s, unsigned seed) {
  auto g = testing::random_values<float>(s.n * s.k, seed);
  const float scale = 1.5f / std::sqrt((float)s.k / 3.f);  // row norms around 1.5 ± a lot
  for (auto& v : g) v *= scale;
  return g;
}

}  // namespace

TEST_CASE("gradient_penalty kernels, cpu (float, double) and cuda, vs float64 on odd shapes") {
  const double lambda = 10, eps = 1e-12, up = 0.7;
  for (Shape2 s : kShapes) {
    INFO("N " << s.n << " K " << s.k);
    auto g = gradients(s, 41 + (unsigned)s.k);
    const Reference want = reference(g, s.n, s.k, lambda, eps, up);
    const size_t total = s.n * s.k;
    {  // cpu, double
      std::vector<double> g64(g.begin(), g.end()), p(1, NAN), norms(s.n, NAN), dg(total, NAN), upv{up};
      kernels::cpu::gradient_penalty_forward<double>(p.data(), norms.data(), g64.data(), s.n, s.k, lambda, eps);
      kernels::cpu::gradient_penalty_backward<double>(dg.data(), upv.data(), g64.data(), norms.data(), s.n, s.k,
                                                      lambda);
      testing::check_close(p, {want.penalty}, 1e-12, "cpu double penalty");
      testing::check_close(norms, want.norms, 1e-12, "cpu double norms");
      testing::check_close(dg, want.dg, 1e-12, "cpu double dg");
    }
    {  // cpu, float
      std::vector<float> p(1, NAN), norms(s.n, NAN), dg(total, NAN), upv{(float)up};
      kernels::cpu::gradient_penalty_forward<float>(p.data(), norms.data(), g.data(), s.n, s.k, lambda, eps);
      kernels::cpu::gradient_penalty_backward<float>(dg.data(), upv.data(), g.data(), norms.data(), s.n, s.k, lambda);
      testing::check_close(p, {want.penalty}, 1e-5, "cpu float penalty");
      testing::check_close(norms, want.norms, 1e-6, "cpu float norms");
      testing::check_close(dg, want.dg, 1e-5, "cpu float dg");
    }
    if (testing::have_cuda_device()) {
      float *dp = to_device({NAN}), *dnorms = to_device(testing::nans<float>(s.n)), *dg = to_device(g),
            *ddg = to_device(testing::nans<float>(total)), *dup = to_device({(float)up});
      kernels::cuda::gradient_penalty_forward(dp, dnorms, dg, s.n, s.k, lambda, eps);
      kernels::cuda::gradient_penalty_backward(ddg, dup, dg, dnorms, s.n, s.k, lambda);
      testing::check_close(to_host(dp, 1), {want.penalty}, 1e-5, "cuda penalty");
      testing::check_close(to_host(dnorms, s.n), want.norms, 1e-6, "cuda norms");
      testing::check_close(to_host(ddg, total), want.dg, 1e-5, "cuda dg");
      for (float* p : {dp, dnorms, dg, ddg, dup}) cudaFree(p);
    }
  }
}

TEST_CASE("WGAN-GP critic step on cuda (linear -> leaky_relu -> linear, double backward) matches the cpu") {
  if (!testing::have_cuda_device()) return;
  const int64_t n = 7, d = 13, h = 37;
  Rng gen(5);
  Tensor x = rand({n, d}, DType::f32, &gen, -1, 1), w1 = rand({h, d}, DType::f32, &gen, -0.5, 0.5);
  Tensor b1 = rand({h}, DType::f32, &gen, -0.5, 0.5), w2 = rand({1, h}, DType::f32, &gen, -0.5, 0.5);
  Tensor b2 = rand({1}, DType::f32, &gen);
  auto step = [&](Device dev) {
    std::vector<Tensor> params;
    for (const Tensor& p : {w1, b1, w2, b2}) params.push_back(p.to(dev).detach().requires_grad_());
    Tensor xhat = x.to(dev).detach().requires_grad_();
    Tensor out = linear(leaky_relu(linear(xhat, params[0], params[1]), 0.2), params[2], params[3]);
    // the critic's input gradient, itself differentiable: leaky_relu_backward's rule runs next
    Tensor g = grad({sum(out)}, {xhat}, {}, true, true)[0];
    Tensor gp = gradient_penalty(g, 10.0);
    Tensor loss = add(mean(out), gp);
    loss.backward();  // grad mode off: gradient_penalty's fused kernel, leaky_relu_backward's kernel
    std::vector<Tensor> r = {gp.detach(), xhat.grad()};
    for (const Tensor& p : params) r.push_back(p.grad());
    return r;
  };
  std::vector<Tensor> cpu = step(Device::cpu()), gpu = step(Device::cuda(0));
  const char* names[] = {"penalty", "dxhat", "dw1", "db1", "dw2", "db2"};
  for (size_t i = 0; i < cpu.size(); ++i) {
    REQUIRE_MESSAGE(gpu[i].defined(), names[i]);
    std::vector<double> want = cpu[i].to(DType::f64).to_vector<double>();
    testing::check_close(gpu[i].to(Device::cpu()).to_vector<float>(), want, 1e-4, names[i]);
  }
  // the penalty really reaches the first layer: without it dw1 would differ
  CHECK(std::abs(cpu[0].item()) > 1e-3);
}
