// gradcheck and gradgradcheck, in float64 by central differences, for every
// differentiable op, on odd shapes and away from kinks.
#include "gradcheck.hpp"

using namespace gantry;
using gantry::testing::check_gradients;
using gantry::testing::leaf;
using gantry::testing::leaf_away_from;
using V = std::vector<Tensor>;

TEST_CASE("gradcheck: binary arithmetic with broadcasting") {
  Tensor a = leaf({3, 1, 4}, 1), b = leaf({2, 4}, 2), pos = leaf({2, 4}, 3, 0.5, 2.0);
  check_gradients("add", [](const V& x) { return add(x[0], x[1]); }, {a, b});
  check_gradients("sub", [](const V& x) { return sub(x[0], x[1]); }, {a, b});
  check_gradients("mul", [](const V& x) { return mul(x[0], x[1]); }, {a, b});
  check_gradients("div", [](const V& x) { return div(x[0], x[1]); }, {a, pos});
  check_gradients("add_scalar", [](const V& x) { return add(x[0], 2.5); }, {a});
  check_gradients("mul_scalar", [](const V& x) { return mul(x[0], -1.5); }, {a});
  // minimum/maximum away from ties: b = a + offsets bounded away from 0
  Tensor m1 = leaf({7, 3}, 4);
  Tensor off = leaf_away_from({7, 3}, 5, {0.0}, 0.1);
  Tensor m2 = add(m1.detach(), off.detach()).requires_grad_();
  check_gradients("minimum", [](const V& x) { return minimum(x[0], x[1]); }, {m1, m2});
  check_gradients("maximum", [](const V& x) { return maximum(x[0], x[1]); }, {m1, m2});
}

TEST_CASE("gradcheck: unary math") {
  Tensor x = leaf({7, 1, 5}, 10), pos = leaf({7, 1, 5}, 11, 0.3, 2.0);
  check_gradients("neg", [](const V& v) { return neg(v[0]); }, {x});
  check_gradients("pow 3", [](const V& v) { return pow(v[0], 3.0); }, {x});
  check_gradients("pow 2", [](const V& v) { return pow(v[0], 2.0); }, {x});
  check_gradients("pow -1.5", [](const V& v) { return pow(v[0], -1.5); }, {pos});
  check_gradients("pow 0", [](const V& v) { return pow(v[0], 0.0); }, {pos});
  check_gradients("sqrt", [](const V& v) { return sqrt(v[0]); }, {pos});
  check_gradients("rsqrt", [](const V& v) { return rsqrt(v[0]); }, {pos});
  check_gradients("exp", [](const V& v) { return exp(v[0]); }, {x});
  check_gradients("log", [](const V& v) { return log(v[0]); }, {pos});
  check_gradients("abs", [](const V& v) { return abs(v[0]); }, {leaf_away_from({7, 1, 5}, 12, {0.0})});
  check_gradients("clamp", [](const V& v) { return clamp(v[0], -0.4, 0.6); },
                  {leaf_away_from({7, 1, 5}, 13, {-0.4, 0.6})});
  check_gradients("clamp lo", [](const V& v) { return clamp(v[0], -0.4, std::nullopt); },
                  {leaf_away_from({7, 1, 5}, 14, {-0.4})});
  Tensor cond = gt(leaf({7, 1, 5}, 15).detach(), 0.0);
  check_gradients("where", [cond](const V& v) { return where(cond, v[0], v[1]); }, {x, leaf({5}, 16)});
}

TEST_CASE("gradcheck: activations") {
  Tensor k = leaf_away_from({3, 7, 5}, 20, {0.0});
  check_gradients("relu", [](const V& v) { return relu(v[0]); }, {k});
  check_gradients("leaky_relu", [](const V& v) { return leaky_relu(v[0], 0.2); }, {k});
  check_gradients("leaky_relu_backward", [](const V& v) { return leaky_relu_backward(v[0], v[1], 0.2); },
                  {leaf({3, 7, 5}, 21), k});
  Tensor x = leaf({3, 7, 5}, 22, -3, 3);
  check_gradients("sigmoid", [](const V& v) { return sigmoid(v[0]); }, {x});
  check_gradients("tanh", [](const V& v) { return tanh(v[0]); }, {x});
  check_gradients("softplus", [](const V& v) { return softplus(v[0]); }, {x});
}

TEST_CASE("gradcheck: reductions") {
  Tensor x = leaf({4, 3, 5}, 30);
  check_gradients("sum all", [](const V& v) { return sum(v[0]); }, {x});
  check_gradients("sum dims", [](const V& v) { return sum(v[0], {0, 2}); }, {x});
  check_gradients("sum keepdim", [](const V& v) { return sum(v[0], {-1}, true); }, {x});
  check_gradients("mean", [](const V& v) { return mean(v[0], {1}); }, {x});
  check_gradients("var unbiased", [](const V& v) { return var(v[0], {0, 2}); }, {x});
  check_gradients("var biased keepdim", [](const V& v) { return var(v[0], {1}, 0, true); }, {x});
  check_gradients("max dims", [](const V& v) { return max(v[0], {1}); }, {x});
  check_gradients("max all", [](const V& v) { return max(v[0]); }, {x});
  check_gradients("norm 2", [](const V& v) { return norm(v[0], 2, {2}); }, {x});
  check_gradients("norm 1", [](const V& v) { return norm(v[0], 1); }, {leaf_away_from({4, 3, 5}, 31, {0.0})});
  check_gradients("norm 3", [](const V& v) { return norm(v[0], 3, {0}, true); }, {x});
  check_gradients("sum_to", [](const V& v) { return sum_to(v[0], {3, 1}); }, {x});
}

TEST_CASE("gradcheck: views and shape ops") {
  Tensor x = leaf({2, 3, 5}, 40);
  check_gradients("reshape", [](const V& v) { return reshape(v[0], {5, -1}); }, {x});
  check_gradients("view", [](const V& v) { return view(v[0], {6, 5}); }, {x});
  check_gradients("flatten", [](const V& v) { return flatten(v[0], 1); }, {x});
  check_gradients("narrow", [](const V& v) { return narrow(v[0], 2, 1, 3); }, {x});
  check_gradients("narrow_backward", [](const V& v) { return narrow_backward(v[0], {2, 3, 9}, 2, 4); }, {x});
  check_gradients("select", [](const V& v) { return select(v[0], 1, -1); }, {x});
  check_gradients("unsqueeze+squeeze", [](const V& v) { return squeeze(unsqueeze(v[0], 1), 1); }, {x});
  check_gradients("transpose", [](const V& v) { return transpose(v[0], 0, 2); }, {x});
  check_gradients("permute", [](const V& v) { return permute(v[0], {1, 2, 0}); }, {x});
  check_gradients("expand", [](const V& v) { return expand(v[0], {4, 2, 3, 5}); }, {x});
  check_gradients("expand size-1", [](const V& v) { return expand(v[0], {3, 4}); }, {leaf({3, 1}, 41)});
  check_gradients("contiguous of a view", [](const V& v) { return contiguous(transpose(v[0], 1, 2)); }, {x});
  check_gradients("clone", [](const V& v) { return clone(v[0]); }, {x});
  check_gradients("cat", [](const V& v) { return cat({v[0], v[1]}, 1); }, {x, leaf({2, 1, 5}, 42)});
  check_gradients("stack", [](const V& v) { return stack({v[0], v[1]}, 2); }, {x, leaf({2, 3, 5}, 43)});
}

TEST_CASE("gradcheck: matmul and linear") {
  check_gradients("matmul 2d", [](const V& v) { return matmul(v[0], v[1]); }, {leaf({3, 4}, 50), leaf({4, 5}, 51)});
  check_gradients("matmul batched broadcast", [](const V& v) { return matmul(v[0], v[1]); },
                  {leaf({2, 1, 3, 4}, 52), leaf({3, 4, 2}, 53)});
  check_gradients("matmul vector", [](const V& v) { return matmul(v[0], v[1]); }, {leaf({4}, 54), leaf({4, 3}, 55)});
  check_gradients("linear", [](const V& v) { return linear(v[0], v[1], v[2]); },
                  {leaf({5, 3}, 56), leaf({2, 3}, 57), leaf({2}, 58)});
}

TEST_CASE("gradcheck: convolution") {
  Conv2dOptions o{2, 1, 1, 2, 1, 2};  // stride 2x1, padding 1x2, dilation 1x2
  check_gradients("conv2d", [o](const V& v) { return conv2d(v[0], v[1], v[2], o); },
                  {leaf({2, 3, 5, 4}, 60), leaf({2, 3, 3, 2}, 61), leaf({2}, 62)});
  Conv2dOptions t{2, 2, 1, 0, 1, 1};
  check_gradients("conv_transpose2d", [t](const V& v) { return conv_transpose2d(v[0], v[1], v[2], t, 1, 1); },
                  {leaf({2, 3, 3, 2}, 63), leaf({3, 2, 3, 3}, 64), leaf({2}, 65)});
  // conv2d_backward_weight(g, x): g is [N, Cout, OH, OW] for x [1,2,5,4], w [3,2,2,3], stride 1 pad 1.
  Conv2dOptions p = Conv2dOptions::square(1, 1);
  check_gradients("conv2d_backward_weight",
                  [p](const V& v) { return conv2d_backward_weight(v[0], v[1], {3, 2, 2, 3}, p); },
                  {leaf({1, 3, 6, 4}, 66), leaf({1, 2, 5, 4}, 67)});
  // output_padding >= stride (dilation > stride): 2 >= stride 2 in rows, 1 >= stride 1 in columns.
  Conv2dOptions t2{2, 1, 1, 0, 3, 2};
  check_gradients("conv_transpose2d output_padding >= stride",
                  [t2](const V& v) { return conv_transpose2d(v[0], v[1], v[2], t2, 2, 1); },
                  {leaf({2, 2, 3, 3}, 68), leaf({2, 2, 2, 3}, 69), leaf({2}, 160)});
  // ... and its weight gradient as an op: g [2,2,3,2] is one row and column short of
  // conv2d(x [2,2,8,7])'s [2,2,4,3] output.
  check_gradients("conv2d_backward_weight, grad_output short of conv2d's",
                  [t2](const V& v) { return conv2d_backward_weight(v[0], v[1], {2, 2, 2, 3}, t2); },
                  {leaf({2, 2, 3, 2}, 161), leaf({2, 2, 8, 7}, 162)});
}

TEST_CASE("gradcheck: normalization") {
  Tensor x = leaf({4, 3, 2, 3}, 70);
  Tensor w = leaf({3}, 71, 0.5, 1.5), b = leaf({3}, 72);
  check_gradients("batch_norm train affine",
                  [](const V& v) { return batch_norm(v[0], {}, {}, v[1], v[2], true, 0.1, 1e-5); }, {x, w, b});
  check_gradients("batch_norm train [N,C]", [](const V& v) { return batch_norm(v[0], {}, {}, {}, {}, true); },
                  {leaf({5, 3}, 73)});
  Tensor rm = rand({3}, DType::f64), rv = add(rand({3}, DType::f64), 0.5);
  check_gradients("batch_norm eval", [rm, rv](const V& v) { return batch_norm(v[0], rm, rv, v[1], v[2], false); },
                  {x, w, b});
  check_gradients("layer_norm", [](const V& v) { return layer_norm(v[0], {2, 3}, v[1], v[2]); },
                  {x, leaf({2, 3}, 74), leaf({2, 3}, 75)});
  check_gradients("instance_norm", [](const V& v) { return instance_norm(v[0], v[1], v[2]); }, {x, w, b});
}

TEST_CASE("gradcheck: images and indexing") {
  Tensor x = leaf({2, 3, 4, 5}, 80);
  check_gradients("pad2d zero", [](const V& v) { return pad2d(v[0], 1, 2, 0, 3); }, {x});
  check_gradients("pad2d reflect", [](const V& v) { return pad2d(v[0], 2, 1, 3, 1, PadMode::reflect); }, {x});
  check_gradients("upsample_nearest2d", [](const V& v) { return upsample_nearest2d(v[0], 2, 3); }, {x});
  Tensor idx = from_indices({3, 0, 3, 1, 4, 3}, {2, 3});
  check_gradients("embedding", [idx](const V& v) { return embedding(idx, v[0]); }, {leaf({5, 4}, 81)});
}

TEST_CASE("gradcheck: softmax and losses") {
  Tensor x = leaf({4, 5}, 90, -2, 2);
  check_gradients("log_softmax", [](const V& v) { return log_softmax(v[0], 1); }, {x});
  check_gradients("log_softmax dim 0", [](const V& v) { return log_softmax(v[0], 0); }, {x});
  check_gradients("softmax", [](const V& v) { return softmax(v[0], -1); }, {x});
  Tensor y01 = rand({4, 5}, DType::f64);
  check_gradients("bce_with_logits", [y01](const V& v) { return bce_with_logits(v[0], y01); }, {x});
  check_gradients("bce_with_logits sum", [](const V& v) { return bce_with_logits(v[0], v[1], Reduction::sum); },
                  {x, leaf({4, 5}, 91, 0, 1)});
  check_gradients("mse_loss", [](const V& v) { return mse_loss(v[0], v[1]); }, {x, leaf({4, 5}, 92)});
  Tensor base = leaf({4, 5}, 93).detach();
  Tensor shifted = add(base, leaf_away_from({4, 5}, 94, {0.0}).detach()).requires_grad_();
  check_gradients("l1_loss", [base](const V& v) { return l1_loss(v[0], base, Reduction::none); }, {shifted});
  Tensor t = from_indices({1, 4, 0, 4}, {4});
  check_gradients("cross_entropy", [t](const V& v) { return cross_entropy(v[0], t); }, {x});
}

TEST_CASE("gradcheck: gradient_penalty, and its value against a direct float64 sum") {
  Tensor g = leaf({5, 2, 3}, 40);
  check_gradients("gradient_penalty", [](const V& v) { return gradient_penalty(v[0], 10.0); }, {g});
  std::vector<double> p = g.to_vector<double>();
  double want = 0;
  for (int n = 0; n < 5; ++n) {
    double sq = 0;
    for (int i = 0; i < 6; ++i) sq += p[n * 6 + i] * p[n * 6 + i];
    want += (std::sqrt(sq + 1e-12) - 1) * (std::sqrt(sq + 1e-12) - 1);
  }
  CHECK(gradient_penalty(g, 10.0).item() == doctest::Approx(10.0 * want / 5).epsilon(1e-12));
}
