// batch_norm_act (core/ops.hpp) against leaky_relu / relu of batch_norm: the same bits in
// forward (output, running statistics) and in the plain backward (dx, dweight, dbias), close
// values in the double backward; nn::Sequential fuses a BatchNorm followed by a ReLU or a
// LeakyReLU (and only those) with the same results; bad slopes are refused by name.
#include <doctest/doctest.h>

#include <cmath>
#include <memory>

#include "core/autograd.hpp"
#include "core/ops.hpp"
#include "nn/layers.hpp"
#include "tensor_bits.hpp"
#include "test_util.hpp"

using namespace gantry;
using gantry::testing::error_of;
using gantry::testing::same_bits;

namespace {

Tensor activate(const Tensor& y, double slope) { return slope == 0 ? relu(y) : leaky_relu(y, slope); }

struct Case {
  Shape shape;
  DType dtype;
  double slope;
};

}  // namespace

TEST_CASE("batch_norm_act: the bits of the activation of batch_norm, forward, running stats and backward") {
  for (const Case& c :
       {Case{{5, 3, 7, 5}, DType::f32, 0.2}, Case{{5, 3, 7, 5}, DType::f32, 0.0}, Case{{9, 4}, DType::f64, 0.2},
        Case{{4, 6, 3, 3}, DType::f64, 0.0}, Case{{64, 32, 7, 7}, DType::f32, 0.2}}) {
    CAPTURE(c.slope);
    Rng rng(17);
    const int64_t ch = c.shape[1];
    Tensor x = randn(c.shape, c.dtype, &rng).requires_grad_(true);
    Tensor w = rand({ch}, c.dtype, &rng, 0.5, 1.5).requires_grad_(true);
    Tensor b = randn({ch}, c.dtype, &rng).requires_grad_(true);
    Tensor g = randn(c.shape, c.dtype, &rng);
    Tensor rm1 = zeros({ch}, c.dtype), rv1 = ones({ch}, c.dtype), rm2 = zeros({ch}, c.dtype), rv2 = ones({ch}, c.dtype);
    Tensor fused = batch_norm_act(x, rm1, rv1, w, b, true, 0.1, 1e-5, c.slope);
    Tensor plain = activate(batch_norm(x, rm2, rv2, w, b, true, 0.1, 1e-5), c.slope);
    CHECK(same_bits(fused, plain));
    CHECK(same_bits(rm1, rm2));
    CHECK(same_bits(rv1, rv2));
    auto gf = grad({fused}, {x, w, b}, {g}), gp = grad({plain}, {x, w, b}, {g});
    for (int i = 0; i < 3; ++i) CHECK(same_bits(gf[(size_t)i], gp[(size_t)i]));
    // eval mode: the composition itself
    Tensor ef = batch_norm_act(x, rm1, rv1, w, b, false, 0.1, 1e-5, c.slope);
    CHECK(same_bits(ef, activate(batch_norm(x, rm1, rv1, w, b, false, 0.1, 1e-5), c.slope)));
  }
}

TEST_CASE("batch_norm_act: the double backward (create_graph) matches the composition's") {
  Rng rng(5);
  for (double slope : {0.2, 0.0}) {
    Tensor x = randn({4, 3, 3, 2}, DType::f64, &rng).requires_grad_(true);
    Tensor w = rand({3}, DType::f64, &rng, 0.5, 1.5).requires_grad_(true);
    Tensor g = randn({4, 3, 3, 2}, DType::f64, &rng);
    auto second = [&](bool fused) {
      Tensor y = fused ? batch_norm_act(x, {}, {}, w, {}, true, 0.1, 1e-5, slope)
                       : activate(batch_norm(x, {}, {}, w, {}, true, 0.1, 1e-5), slope);
      auto d = grad({y}, {x, w}, {g}, {}, true);
      Tensor s = add(sum(mul(d[0], d[0])), sum(mul(d[1], d[1])));
      return grad({s}, {x, w});
    };
    auto a = second(true), b = second(false);
    for (int i = 0; i < 2; ++i) CHECK(max(abs(sub(a[(size_t)i], b[(size_t)i]))).item() < 1e-12);
  }
}

TEST_CASE("nn::Sequential fuses BatchNorm + ReLU / LeakyReLU with the same results; other pairs run as they are") {
  for (double slope : {0.0, 0.2, -0.1}) {
    CAPTURE(slope);
    auto make_act = [&]() -> std::shared_ptr<nn::Module> {
      if (slope == 0) return std::make_shared<nn::ReLU>();
      return std::make_shared<nn::LeakyReLU>(slope);
    };
    nn::Sequential seq;
    auto bn = std::make_shared<nn::BatchNorm2d>(3);
    seq.add(bn).add(make_act());
    auto bn_ref = std::make_shared<nn::BatchNorm2d>(3);
    auto act_ref = make_act();
    Rng rng(3);
    Tensor x = randn({6, 3, 4, 5}, DType::f32, &rng).requires_grad_(true);
    Tensor g = randn({6, 3, 4, 5}, DType::f32, &rng);
    for (bool training : {true, false}) {
      seq.train(training), bn_ref->train(training), act_ref->train(training);
      Tensor y = seq.forward(x), y_ref = act_ref->forward(bn_ref->forward(x));
      CHECK(same_bits(y, y_ref));
      CHECK(same_bits(bn->running_mean, bn_ref->running_mean));
      CHECK(same_bits(bn->running_var, bn_ref->running_var));
      CHECK(bn->num_batches_tracked.data<int64_t>()[0] == bn_ref->num_batches_tracked.data<int64_t>()[0]);
      auto d = grad({y}, {x, bn->weight, bn->bias}, {g}), d_ref = grad({y_ref}, {x, bn_ref->weight, bn_ref->bias}, {g});
      for (int i = 0; i < 3; ++i) CHECK(same_bits(d[(size_t)i], d_ref[(size_t)i]));
    }
  }
}

TEST_CASE("batch_norm_act: a negative or non-finite slope is refused, naming the op and the slope") {
  Tensor x = zeros({4, 3, 2, 2});
  const std::string e = error_of([&] { batch_norm_act(x, {}, {}, {}, {}, true, 0.1, 1e-5, -0.5); });
  CHECK(e.find("batch_norm_act") != std::string::npos);
  CHECK(e.find("-0.5") != std::string::npos);
  CHECK(!error_of([&] { batch_norm_act(x, {}, {}, {}, {}, true, 0.1, 1e-5, NAN); }).empty());
  CHECK(error_of([&] {
          batch_norm_act(zeros({1, 3}), {}, {}, {}, {}, true, 0.1, 1e-5, 0.0);
        }).find("batch_norm") != std::string::npos);
}
