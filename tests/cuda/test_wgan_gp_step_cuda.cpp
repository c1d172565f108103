// A whole WGAN-GP training step of a small conv generator and critic on the cuda device
// (emulated, or a GPU) against the same step on the cpu: the critic step with the
// gradient penalty through a real double backward (grad with create_graph through
// conv2d, leaky_relu and the fused penalty kernel), then the generator step, each with
// Adam. The two runs start from the same weights and the same batches; the losses, every
// gradient and every updated parameter must agree within float32 tolerance.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>

#include "cuda_test_util.hpp"
#include "nn/layers.hpp"
#include "nn/optim.hpp"

using namespace gantry;

namespace {

constexpr int64_t kBatch = 3, kZ = 5;

// z [N, kZ, 1, 1] -> [N, 1, 8, 8]: transposed convs, batchnorm, ReLU, tanh (DCGAN's shape).
std::shared_ptr<nn::Sequential> small_generator() {
  auto g = std::make_shared<nn::Sequential>();
  g->add(std::make_shared<nn::ConvTranspose2d>(kZ, 6, 4, 1, 0, 0, false))
      .add(std::make_shared<nn::BatchNorm2d>(6))
      .add(std::make_shared<nn::ReLU>())
      .add(std::make_shared<nn::ConvTranspose2d>(6, 1, 4, 2, 1))
      .add(std::make_shared<nn::Tanh>());
  return g;
}

// [N, 1, 8, 8] -> [N, 1, 1, 1]: strided convs and leaky ReLU, no batchnorm (WGAN-GP's critic).
std::shared_ptr<nn::Sequential> small_critic() {
  auto d = std::make_shared<nn::Sequential>();
  d->add(std::make_shared<nn::Conv2d>(1, 7, 4, 2, 1))
      .add(std::make_shared<nn::LeakyReLU>(0.2))
      .add(std::make_shared<nn::Conv2d>(7, 9, 3, 1, 1))
      .add(std::make_shared<nn::LeakyReLU>(0.2))
      .add(std::make_shared<nn::Conv2d>(9, 1, 4, 1, 0));
  return d;
}

struct StepResult {
  double d_loss = 0, gp = 0, g_loss = 0;
  std::vector<Tensor> d_grads, g_grads, d_params, g_params;  // on the cpu
};

std::vector<Tensor> to_cpu(const std::vector<Tensor>& ts) {
  std::vector<Tensor> out;
  for (const Tensor& t : ts) out.push_back(t.defined() ? t.detach().to(Device::cpu()) : Tensor());
  return out;
}

StepResult wgan_gp_step(Device device) {
  manual_seed(11);
  auto G = small_generator();
  auto D = small_critic();
  G->to(device), D->to(device);
  nn::Adam opt_g(G->parameters(), 1e-4, 0.5, 0.9), opt_d(D->parameters(), 1e-4, 0.5, 0.9);
  Rng data(12);
  Tensor real = rand({kBatch, 1, 8, 8}, DType::f32, &data, -1, 1).to(device);
  Tensor z = randn({kBatch, kZ, 1, 1}, DType::f32, &data).to(device);
  Tensor alpha = rand({kBatch, 1, 1, 1}, DType::f32, &data).to(device);
  Tensor z2 = randn({kBatch, kZ, 1, 1}, DType::f32, &data).to(device);
  StepResult r;

  // Critic: mean D(fake) - mean D(real) + 10 mean (||grad_xhat D(xhat)|| - 1)^2.
  Tensor fake = G->forward(z).detach();
  Tensor xhat = add(mul(alpha, real), mul(sub(ones_like(alpha), alpha), fake)).detach().requires_grad_();
  Tensor gx = grad({sum(D->forward(xhat))}, {xhat}, {}, true, true)[0];
  Tensor gp = gradient_penalty(gx, 10.0);
  Tensor d_loss = add(sub(mean(D->forward(fake)), mean(D->forward(real))), gp);
  opt_d.zero_grad();
  d_loss.backward();
  std::vector<Tensor> dg;
  for (const Tensor& p : D->parameters()) dg.push_back(p.grad());
  r.d_grads = to_cpu(dg);
  opt_d.step();

  // Generator: -mean D(G(z)).
  Tensor g_loss = neg(mean(D->forward(G->forward(z2))));
  std::vector<Tensor> gp_params = G->parameters();
  std::vector<Tensor> gg = grad({g_loss}, gp_params);
  for (size_t i = 0; i < gp_params.size(); ++i) gp_params[i].set_grad(gg[i]);
  r.g_grads = to_cpu(gg);
  opt_g.step();

  r.d_loss = d_loss.item(), r.gp = gp.item(), r.g_loss = g_loss.item();
  r.d_params = to_cpu(D->parameters()), r.g_params = to_cpu(G->parameters());
  return r;
}

// max |a - b| <= atol + rtol * max|b| over one tensor.
void check_tensors(const std::vector<Tensor>& a, const std::vector<Tensor>& b, const char* what, double atol,
                   double rtol) {
  REQUIRE(a.size() == b.size());
  for (size_t i = 0; i < a.size(); ++i)
    testing::check_max_error(a[i].to_vector<float>(), b[i].to_vector<float>(), what + (" " + std::to_string(i)), atol,
                             rtol);
}

}  // namespace

TEST_CASE("a WGAN-GP training step of a conv generator and critic on cuda matches the cpu") {
  if (!testing::have_cuda_device()) return;
  StepResult cpu = wgan_gp_step(Device::cpu()), gpu = wgan_gp_step(Device::cuda(0));
  CHECK(std::isfinite(cpu.gp));
  CHECK(cpu.gp > 0);
  CHECK(gpu.d_loss == doctest::Approx(cpu.d_loss).epsilon(1e-4));
  CHECK(gpu.gp == doctest::Approx(cpu.gp).epsilon(1e-4));
  CHECK(gpu.g_loss == doctest::Approx(cpu.g_loss).epsilon(1e-4));
  check_tensors(gpu.d_grads, cpu.d_grads, "critic gradient", 1e-6, 1e-4);
  check_tensors(gpu.g_grads, cpu.g_grads, "generator gradient", 1e-6, 1e-4);
  // Adam's first step moves each weight by about lr * sign(gradient), so the updated
  // weights agree to float32 rounding wherever the gradients above do.
  check_tensors(gpu.d_params, cpu.d_params, "critic weight after the step", 1e-6, 1e-5);
  check_tensors(gpu.g_params, cpu.g_params, "generator weight after the step", 1e-6, 1e-5);
}
