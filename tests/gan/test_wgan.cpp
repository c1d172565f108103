// WGAN and WGAN-GP specifics: the gradient penalty against float64 central
// differences (the input gradient, and the penalty's gradient w.r.t. critic weights,
// which proves a true double backward), and weight clipping after a critic step.
#include <doctest/doctest.h>

#include <cmath>

#include "gan/zoo/wgan_gp.hpp"
#include "test_util.hpp"

using namespace gantry;
using namespace gantry::gan;

namespace {

// A tiny float64 critic (width 2, layer norm) with non-trivial weights.
std::shared_ptr<GpCritic> tiny_critic() {
  auto critic = std::make_shared<GpCritic>(DcganConfig{28, 8, 2}, true);
  Rng g(21);
  NoGradGuard off;
  for (auto& p : critic->parameters()) copy_(p, add(p, rand(p.shape(), DType::f32, &g, -0.3, 0.3)));
  critic->to(DType::f64);
  return critic;
}

// sum_n D(x)_n in float64.
double critic_sum(nn::Module& critic, const Tensor& x) {
  NoGradGuard off;
  return sum(critic.forward(x)).item();
}

// The penalty from a central-difference input gradient: lambda * mean_n (||g_n|| - 1)^2.
double fd_penalty(nn::Module& critic, const Tensor& x_hat, double lambda) {
  const int64_t n = x_hat.size(0), per = x_hat.numel() / n;
  std::vector<double> x = x_hat.to_vector<double>();
  const double h = 1e-6;
  double total = 0;
  for (int64_t s = 0; s < n; ++s) {
    double sq = 0;
    for (int64_t i = 0; i < per; ++i) {
      std::vector<double> up = x, down = x;
      up[s * per + i] += h, down[s * per + i] -= h;
      // The critic is per sample (layer norm, no batchnorm), so d sum_m D(x)_m / dx_{s,i} = dD(x)_s / dx_{s,i}.
      const double g = (critic_sum(critic, from_vector(up, x_hat.shape(), DType::f64)) -
                        critic_sum(critic, from_vector(down, x_hat.shape(), DType::f64))) /
                       (2 * h);
      sq += g * g;
    }
    const double norm = std::sqrt(sq + 1e-12);
    total += (norm - 1) * (norm - 1);
  }
  return lambda * total / n;
}

void set_element(const Tensor& p, int64_t i, double v) {
  NoGradGuard off;
  std::vector<double> values = p.to_vector<double>();
  values[i] = v;
  copy_(p, from_vector(values, p.shape(), DType::f64));
}

}  // namespace

TEST_CASE("WGAN-GP: the penalty equals one computed from float64 central differences of the critic") {
  auto critic = tiny_critic();
  Rng g(5);
  Tensor real = rand({2, 1, 28, 28}, DType::f64, &g, -1, 1), fake = rand({2, 1, 28, 28}, DType::f64, &g, -1, 1);
  Tensor x_hat = interpolate(real, fake, &g);
  const double autograd = wgan_gradient_penalty(*critic, x_hat, 10).item();
  const double reference = fd_penalty(*critic, x_hat, 10);
  INFO("autograd " << autograd << ", central differences " << reference);
  CHECK(reference > 0.1);  // the test is not vacuous: the gradient norms are far from 1
  CHECK(std::abs(autograd - reference) <= 1e-6 * (1 + std::abs(reference)));
}

TEST_CASE("WGAN-GP: the penalty's gradient w.r.t. critic weights matches central differences (double backward)") {
  auto critic = tiny_critic();
  Rng g(6);
  Tensor x_hat = rand({2, 1, 28, 28}, DType::f64, &g, -1, 1);
  // First conv, the layer norm's weight and the last conv: the penalty reaches each only
  // through the input gradient, so create_graph must have recorded the backward pass.
  for (const char* name : {"main.0.weight", "main.3.weight", "main.5.weight"}) {
    CAPTURE(name);
    Tensor w;
    for (auto& [n, p] : critic->named_parameters())
      if (n == name) w = p;
    REQUIRE(w.defined());
    const int64_t i = w.numel() / 3;
    Tensor gp = wgan_gradient_penalty(*critic, x_hat, 10);
    const double analytic = grad({gp}, {w})[0].to_vector<double>()[i];
    const double w0 = w.to_vector<double>()[i], h = 1e-6;
    set_element(w, i, w0 + h);
    const double up = wgan_gradient_penalty(*critic, x_hat, 10).item();
    set_element(w, i, w0 - h);
    const double down = wgan_gradient_penalty(*critic, x_hat, 10).item();
    set_element(w, i, w0);
    const double numeric = (up - down) / (2 * h);
    INFO("autograd " << analytic << ", central differences " << numeric);
    CHECK(std::abs(numeric) > 1e-4);
    CHECK(std::abs(analytic - numeric) <= 1e-5 * (1 + std::abs(numeric)));
  }
}

TEST_CASE("WGAN: every critic parameter is clipped to [-c, c] after a critic step") {
  Hyperparams c = find_variant("wgan").defaults();
  c.set("width", "4", "test"), c.set("z_dim", "8", "test");
  c.set("lr", "0.05", "test");  // a step this large would leave the box if it were not clipped
  Wgan m(c, {}, 2);
  Rng g(3);
  Tensor real = rand({8, 1, 28, 28}, DType::f32, &g, -1, 1);
  for (int s = 0; s < 2; ++s) m.step(Batch{real, {}, {}});
  int64_t at_edge = 0;
  for (auto& p : m.D->parameters())
    for (float v : p.to_vector<float>()) {
      CHECK(v >= -0.01f);
      CHECK(v <= 0.01f);
      at_edge += std::abs(v) == 0.01f;
    }
  CHECK(at_edge > 0);
  // G's parameters are not clipped.
  float g_max = 0;
  for (auto& p : m.G->parameters())
    for (float v : p.to_vector<float>()) g_max = std::max(g_max, std::abs(v));
  CHECK(g_max > 0.01f);
}
