// conv2d_act (core/ops.hpp) against leaky_relu / relu of conv2d: the same bits in forward
// and in the backward (dx, dweight, dbias), on the cpu's paths: the activation in the
// implicit GEMM's tile store (one k block, no bias), the pass after it (bias; k over one
// block), the dense-layer path, double; nn::Sequential fuses a Conv2d followed by a
// LeakyReLU with the same results; a bad slope is refused by name.
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

struct Case {
  Shape x, w;
  bool bias;
  int64_t stride, pad;
  DType dtype;
  double slope;
  const char* what;
};

}  // namespace

TEST_CASE("conv2d_act: the bits of the activation of conv2d, forward and backward") {
  for (const Case& c : {Case{{64, 1, 28, 28}, {32, 1, 4, 4}, false, 2, 1, DType::f32, 0.2, "in the tile store"},
                        Case{{9, 1, 28, 28}, {32, 1, 4, 4}, false, 2, 1, DType::f32, 0.0, "relu, in the store"},
                        Case{{5, 3, 9, 7}, {4, 3, 3, 3}, true, 1, 1, DType::f32, 0.2, "bias: the pass after"},
                        Case{{4, 32, 14, 14}, {8, 32, 4, 4}, false, 2, 1, DType::f32, 0.2, "k = 512: the pass after"},
                        Case{{6, 64, 7, 7}, {1, 64, 7, 7}, false, 1, 0, DType::f32, 0.2, "the dense-layer path"},
                        Case{{3, 2, 6, 5}, {3, 2, 3, 3}, true, 1, 1, DType::f64, 0.0, "double"}}) {
    CAPTURE(c.what);
    Rng rng(31);
    Tensor x = randn(c.x, c.dtype, &rng).requires_grad_(true);
    Tensor w = mul(randn(c.w, c.dtype, &rng), 0.2).detach().requires_grad_(true);
    Tensor b = c.bias ? randn({c.w[0]}, c.dtype, &rng).requires_grad_(true) : Tensor();
    const Conv2dOptions o = Conv2dOptions::square(c.stride, c.pad);
    Tensor fused = conv2d_act(x, w, b, o, c.slope);
    Tensor y = conv2d(x, w, b, o);
    Tensor plain = c.slope == 0 ? relu(y) : leaky_relu(y, c.slope);
    CHECK(same_bits(fused, plain));
    Tensor g = randn(fused.shape(), c.dtype, &rng);
    std::vector<Tensor> in = {x, w};
    if (c.bias) in.push_back(b);
    auto gf = grad({fused}, in, {g}), gp = grad({plain}, in, {g});
    for (size_t i = 0; i < in.size(); ++i) CHECK(same_bits(gf[i], gp[i]));
  }
}

TEST_CASE("nn::Sequential fuses Conv2d + LeakyReLU; conv2d_act refuses a bad slope by name") {
  Rng rng(3);
  auto conv = std::make_shared<nn::Conv2d>(1, 4, 4, 2, 1, false);
  auto seq = std::make_shared<nn::Sequential>();
  seq->add(conv).add(std::make_shared<nn::LeakyReLU>(0.2));
  Tensor x = randn({3, 1, 12, 12}, DType::f32, &rng);
  CHECK(same_bits(seq->forward(x), leaky_relu(conv->forward(x), 0.2)));
  CHECK(error_of([&] { (void)conv2d_act(x, conv->weight, {}, conv->options, -0.1); }).find("conv2d_act: slope") !=
        std::string::npos);
  CHECK(error_of([&] {
          (void)conv2d_act(randn({3, 2, 12, 12}), conv->weight, {}, conv->options, 0.2);
        }).find("conv2d_act: input has 2 channels") != std::string::npos);
}
