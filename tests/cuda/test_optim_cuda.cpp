// The fused optimizer steps on the cuda device against the same steps on the cpu.
#include <doctest/doctest.h>

#include <cmath>

#include "cuda_test_util.hpp"
#include "nn/optim.hpp"

using namespace gantry;

namespace {

// Runs three steps of the optimizer made by `make` on a 1000-element parameter with
// fixed gradients, on `device`; returns the parameter.
template <class Make>
std::vector<float> three_steps(Make make, Device device) {
  Rng g(3);
  Tensor p = randn({1000}, DType::f32, &g).to(device).requires_grad_();
  auto opt = make(std::vector<Tensor>{p});
  for (int s = 0; s < 3; ++s) {
    p.set_grad(randn({1000}, DType::f32, &g).to(device));
    opt->step();
  }
  return p.to_vector<float>();
}

template <class Make>
void check_same_on_both(Make make) {
  auto cpu = three_steps(make, Device::cpu()), gpu = three_steps(make, Device::cuda(0));
  for (size_t i = 0; i < cpu.size(); ++i) CHECK(gpu[i] == doctest::Approx(cpu[i]).epsilon(1e-5));
}

}  // namespace

TEST_CASE("Adam, RMSProp and SGD steps on the device equal the cpu's") {
  if (!testing::have_cuda_device()) return;
  check_same_on_both(
      [](std::vector<Tensor> ps) { return std::make_unique<nn::Adam>(ps, 1e-2, 0.5, 0.999, 1e-8, 0.01); });
  check_same_on_both(
      [](std::vector<Tensor> ps) { return std::make_unique<nn::RMSProp>(ps, 5e-3, 0.99, 1e-8, 0, 0.9); });
  check_same_on_both([](std::vector<Tensor> ps) { return std::make_unique<nn::RMSProp>(ps, 5e-5); });
  check_same_on_both([](std::vector<Tensor> ps) { return std::make_unique<nn::SGD>(ps, 0.1, 0.9, 1e-4, true); });
  // weight clipping (WGAN): clamp_ in place on the device, equal to the cpu's
  Rng g1(4), g2(4);
  Tensor w = randn({1000}, DType::f32, &g1, 0, 0.02, Device::cuda(0)), wc = randn({1000}, DType::f32, &g2, 0, 0.02);
  clamp_(w, -0.01, 0.01);
  clamp_(wc, -0.01, 0.01);
  CHECK(w.to_vector<float>() == wc.to_vector<float>());
  for (float v : w.to_vector<float>()) CHECK(std::abs(v) <= 0.01f);
}
