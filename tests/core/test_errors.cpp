// Bad input throws gantry::Error naming the op and the shapes; nothing is read or
// written out of bounds.
#include <doctest/doctest.h>

#include "core/ops.hpp"

using namespace gantry;

#define CHECK_ERROR(expr, text) CHECK_THROWS_WITH_AS(expr, doctest::Contains(text), Error)

TEST_CASE("shape mismatches name the op and both shapes") {
  CHECK_ERROR(add(zeros({2, 3}), zeros({4})), "add: shapes [2,3] and [4] cannot be broadcast together");
  CHECK_ERROR(matmul(zeros({2, 3}), zeros({4, 5})), "matmul: inner dims differ ([2,3] @ [4,5]: 3 vs 4)");
  CHECK_ERROR(conv2d(zeros({8, 3, 28, 28}), zeros({64, 1, 4, 4})),
              "conv2d: input has 3 channels but weight expects 1 (input [8,3,28,28], weight [64,1,4,4])");
  CHECK_ERROR(conv2d(zeros({1, 1, 3, 3}), zeros({1, 1, 5, 5})), "conv2d: the 5x5 kernel");
  CHECK_ERROR(conv2d(zeros({1, 1, 3}), zeros({1, 1, 5, 5})), "conv2d: input must have 4 dims, got shape [1,1,3]");
  CHECK_ERROR(conv2d(zeros({1, 6, 5, 5}), zeros({4, 3, 3, 3}), {}, Conv2dOptions{1, 1, 0, 0, 1, 1, 4}),
              "conv2d: groups = 4 must divide the input's 6 and the output's 4 channels");
  CHECK_ERROR(
      conv2d(zeros({1, 6, 5, 5}), zeros({4, 6, 3, 3}), {}, Conv2dOptions{1, 1, 0, 0, 1, 1, 2}),
      "conv2d: input has 6 channels, so with groups = 2 the weight should have 3 input channels per group, not 6");
  CHECK_ERROR(conv_transpose2d(zeros({1, 2, 3, 3}), zeros({2, 1, 3, 3}), {}, Conv2dOptions{1, 1, 0, 0, 1, 1, 2}),
              "conv_transpose2d: groups = 2 is not supported (conv2d takes groups)");
  CHECK_ERROR(conv_transpose2d(zeros({1, 2, 3, 3}), zeros({2, 1, 3, 3}), {}, Conv2dOptions::square(2), 2, 0),
              "output_padding 2x0 must be smaller than the stride");
  CHECK_ERROR(batch_norm(zeros({4, 3}), {}, {}, ones({2}), {}, true),
              "batch_norm: weight [2] does not match the 3 channels");
  CHECK_ERROR(batch_norm(zeros({1, 3}), {}, {}, {}, {}, true), "more than 1 value per channel");
  CHECK_ERROR(batch_norm_backward_input(zeros({4, 3}), zeros({4, 3}), ones({2})),
              "batch_norm_backward_input: weight [2] does not match the 3 channels");
  CHECK_ERROR(batch_norm_act(zeros({4, 3}), {}, {}, {}, ones({5}), true, 0.1, 1e-5, 0.2),
              "batch_norm_act: bias [5] does not match the 3 channels");
  CHECK_ERROR(cat({zeros({2, 3}), zeros({2, 4})}, 0), "cat: tensor 1 (float32 [2,4]) does not match tensor 0");
  CHECK_ERROR(permute(zeros({2, 3}), {1, 1}), "permute: dim 1 is repeated");
  CHECK_ERROR(reshape(zeros({2, 3}), {4, 2}), "reshape: shape [4,2] is invalid for input of shape [2,3]");
  CHECK_ERROR(narrow(zeros({2, 3}), 1, 2, 2), "narrow: range [2, 4) is out of bounds for dim 1 of size 3");
  CHECK_ERROR(sum(zeros({2, 3}), {2}), "sum: dim 2 is out of range for a tensor of 2 dims");
  CHECK_ERROR(mse_loss(zeros({2}), zeros({3})), "mse_loss: input [2] and target [3] must have the same shape");
  CHECK_ERROR(layer_norm(zeros({2, 3}), {2}), "layer_norm: normalized_shape [2] is not the trailing shape");
}

TEST_CASE("indices out of range are caught before any memory is touched") {
  CHECK_ERROR(cross_entropy(zeros({2, 3}), from_indices({0, 3}, {2})), "label [1] = 3 is out of range [0, 3)");
  CHECK_ERROR(cross_entropy(zeros({2, 3}), zeros({2})), "cross_entropy: targets must be int64 [2]");
  CHECK_ERROR(embedding(from_indices({5}, {1}), zeros({4, 2})), "embedding: index [0] = 5 is out of range [0, 4)");
  CHECK_ERROR(one_hot(from_indices({-1}, {1}), 3), "one_hot: label [0] = -1 is out of range");
  CHECK_ERROR(pad2d(zeros({1, 1, 3, 3}), 3, 0, 0, 0, PadMode::reflect),
              "must be smaller than the input's spatial size");
  CHECK_ERROR(select(zeros({2, 3}), 0, 2), "select: index 2 is out of bounds for dim 0 of size 2");
}

TEST_CASE("dtype and definedness errors") {
  CHECK_ERROR(add(zeros({2}), zeros({2}, DType::f64)), "add: dtypes differ (float32 [2] vs float64 [2])");
  CHECK_ERROR(exp(from_indices({1}, {1})), "exp: expected a floating-point tensor, got int64");
  CHECK_ERROR(from_indices({1}, {1}).requires_grad_(), "only floating-point tensors can require grad");
  CHECK_ERROR(relu(Tensor()), "relu: input is an undefined tensor");
  CHECK_ERROR(Tensor().shape(), "undefined Tensor");
  CHECK_ERROR(clamp(zeros({2}), 1.0, 0.0), "clamp: min 1 is greater than max 0");
#if !GANTRY_HAS_CUDA
  CHECK_ERROR(empty({2}, DType::f32, Device::cuda(0)), "GANTRY_CUDA=off");
#endif
}
