// Optimizer steps against updates computed by hand (the PyTorch formulas), in float64.
#include <doctest/doctest.h>

#include <cmath>

#include "nn/optim.hpp"

using namespace gantry;

namespace {
// A parameter p = [1, -2] with a fixed gradient g = [0.5, 0.25] set before each step.
Tensor param() { return tensor({1, -2}, {2}, DType::f64).requires_grad_(); }
void set_grad(const Tensor& p) { p.set_grad(tensor({0.5, 0.25}, {2}, DType::f64)); }
}  // namespace

TEST_CASE("Adam matches the hand-computed update over three steps") {
  Tensor p = param();
  nn::Adam opt({p}, 0.1, 0.9, 0.999, 1e-8, 0.01);
  double x[2] = {1, -2}, m[2] = {0, 0}, v[2] = {0, 0};
  const double g0[2] = {0.5, 0.25};
  for (int t = 1; t <= 3; ++t) {
    set_grad(p);
    opt.step();
    for (int i = 0; i < 2; ++i) {
      const double g = g0[i] + 0.01 * x[i];
      m[i] = 0.9 * m[i] + 0.1 * g;
      v[i] = 0.999 * v[i] + 0.001 * g * g;
      const double mhat = m[i] / (1 - std::pow(0.9, t)), vhat = v[i] / (1 - std::pow(0.999, t));
      x[i] -= 0.1 * mhat / (std::sqrt(vhat) + 1e-8);
    }
    auto got = p.to_vector<double>();
    CHECK(got[0] == doctest::Approx(x[0]).epsilon(1e-12));
    CHECK(got[1] == doctest::Approx(x[1]).epsilon(1e-12));
  }
  CHECK(opt.steps() == 3);
}

TEST_CASE("SGD with momentum and Nesterov match the hand-computed update") {
  for (bool nesterov : {false, true}) {
    Tensor p = param();
    nn::SGD opt({p}, 0.1, 0.9, 0.0, nesterov);
    double x[2] = {1, -2}, b[2] = {0, 0};
    const double g0[2] = {0.5, 0.25};
    for (int t = 1; t <= 3; ++t) {
      set_grad(p);
      opt.step();
      for (int i = 0; i < 2; ++i) {
        b[i] = t == 1 ? g0[i] : 0.9 * b[i] + g0[i];
        x[i] -= 0.1 * (nesterov ? g0[i] + 0.9 * b[i] : b[i]);
      }
      CHECK(p.to_vector<double>()[0] == doctest::Approx(x[0]).epsilon(1e-12));
      CHECK(p.to_vector<double>()[1] == doctest::Approx(x[1]).epsilon(1e-12));
    }
  }
}

TEST_CASE("RMSProp matches the hand-computed update") {
  Tensor p = param();
  nn::RMSProp opt({p}, 0.01, 0.99, 1e-8);
  double x[2] = {1, -2}, v[2] = {0, 0};
  const double g0[2] = {0.5, 0.25};
  for (int t = 1; t <= 3; ++t) {
    set_grad(p);
    opt.step();
    for (int i = 0; i < 2; ++i) {
      v[i] = 0.99 * v[i] + 0.01 * g0[i] * g0[i];
      x[i] -= 0.01 * g0[i] / (std::sqrt(v[i]) + 1e-8);
    }
    CHECK(p.to_vector<double>()[0] == doctest::Approx(x[0]).epsilon(1e-12));
  }
}

TEST_CASE("parameters without a gradient are left alone; zero_grad drops gradients") {
  Tensor a = param(), b = param();
  nn::SGD opt({a, b}, 0.5);
  set_grad(a);
  opt.step();
  CHECK(a.to_vector<double>() == std::vector<double>{0.75, -2.125});
  CHECK(b.to_vector<double>() == std::vector<double>{1, -2});
  opt.zero_grad();
  CHECK_FALSE(a.grad().defined());
}

TEST_CASE("optimizer state round-trips by name and rejects mismatches") {
  Tensor p = param();
  nn::Adam a({p}, 0.1);
  set_grad(p);
  a.step();
  Tensor q = param();
  nn::Adam b({q}, 0.1);
  b.load_state(a.state(), a.steps());
  CHECK(b.steps() == 1);
  CHECK(b.state()[0].second.to_vector<double>() == a.state()[0].second.to_vector<double>());
  Tensor r = tensor({1, 2, 3}, {3}, DType::f64).requires_grad_();
  nn::Adam c({r}, 0.1);
  CHECK_THROWS_WITH_AS(c.load_state(a.state(), 1), doctest::Contains("does not match"), Error);
}

TEST_CASE("linear decay schedule keeps, then decays to zero") {
  Tensor p = param();
  nn::Adam opt({p}, 2e-4);
  nn::LinearDecayLR sched(opt, 100, 100);
  sched.set_epoch(50);
  CHECK(opt.lr == doctest::Approx(2e-4));
  sched.set_epoch(150);
  CHECK(opt.lr == doctest::Approx(2e-4 * (1 - 50.0 / 101)));
  sched.set_epoch(200);
  CHECK(opt.lr == doctest::Approx(2e-4 * (1 - 100.0 / 101)));
}
