#include "nn/layers.hpp"

#include <cmath>

#include "nn/init.hpp"

namespace gantry::nn {

namespace {
// PyTorch's default: U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for weight and bias.
void default_init(const Tensor& w, const Tensor& b, int64_t fan_in) {
  const double bound = 1.0 / std::sqrt((double)fan_in);
  init::uniform_(w, -bound, bound);
  if (b.defined()) init::uniform_(b, -bound, bound);
}
}  // namespace

Linear::Linear(int64_t in, int64_t out, bool has_bias) {
  GANTRY_CHECK(in > 0 && out > 0, "Linear: sizes must be positive, got ", in, " -> ", out);
  weight = register_parameter("weight", empty({out, in}));
  if (has_bias) bias = register_parameter("bias", empty({out}));
  default_init(weight, bias, in);
}
Tensor Linear::forward(const Tensor& x) { return linear(x, weight, bias); }

Conv2d::Conv2d(int64_t in, int64_t out, int64_t k, int64_t stride, int64_t padding, bool has_bias, int64_t dilation)
    : options(Conv2dOptions::square(stride, padding, dilation)) {
  GANTRY_CHECK(in > 0 && out > 0 && k > 0, "Conv2d: channels and kernel size must be positive (", in, ", ", out,
               ", ", k, ")");
  weight = register_parameter("weight", empty({out, in, k, k}));
  if (has_bias) bias = register_parameter("bias", empty({out}));
  default_init(weight, bias, in * k * k);
}
Tensor Conv2d::forward(const Tensor& x) { return conv2d(x, weight, bias, options); }

ConvTranspose2d::ConvTranspose2d(int64_t in, int64_t out, int64_t k, int64_t stride, int64_t padding,
                                 int64_t out_pad, bool has_bias, int64_t dilation)
    : options(Conv2dOptions::square(stride, padding, dilation)), output_padding(out_pad) {
  GANTRY_CHECK(in > 0 && out > 0 && k > 0, "ConvTranspose2d: channels and kernel size must be positive (", in, ", ",
               out, ", ", k, ")");
  weight = register_parameter("weight", empty({in, out, k, k}));
  if (has_bias) bias = register_parameter("bias", empty({out}));
  default_init(weight, bias, out * k * k);  // PyTorch computes fan_in from weight dim 1
}
Tensor ConvTranspose2d::forward(const Tensor& x) {
  return conv_transpose2d(x, weight, bias, options, output_padding, output_padding);
}

BatchNorm::BatchNorm(int64_t f, int dims, double eps, double momentum, bool affine)
    : eps(eps), momentum(momentum), expected_dims(dims) {
  GANTRY_CHECK(f > 0, "BatchNorm: features must be positive, got ", f);
  if (affine) {
    weight = register_parameter("weight", ones({f}));
    bias = register_parameter("bias", zeros({f}));
  }
  running_mean = register_buffer("running_mean", zeros({f}));
  running_var = register_buffer("running_var", ones({f}));
  num_batches_tracked = register_buffer("num_batches_tracked", zeros({}, DType::i64));
}
Tensor BatchNorm::forward(const Tensor& x) {
  GANTRY_CHECK(x.dim() == expected_dims, "BatchNorm", expected_dims == 2 ? "1d" : "2d", ": expected a ",
               expected_dims, "-d input, got ", shape_str(x.shape()));
  if (is_training()) num_batches_tracked.data<int64_t>()[0] += 1;
  return batch_norm(x, running_mean, running_var, weight, bias, is_training(), momentum, eps);
}

InstanceNorm2d::InstanceNorm2d(int64_t f, double eps, bool affine) : eps(eps) {
  if (affine) {
    weight = register_parameter("weight", ones({f}));
    bias = register_parameter("bias", zeros({f}));
  }
}
Tensor InstanceNorm2d::forward(const Tensor& x) { return instance_norm(x, weight, bias, eps); }

LayerNorm::LayerNorm(Shape s, double eps, bool affine) : shape(std::move(s)), eps(eps) {
  if (affine) {
    weight = register_parameter("weight", ones(shape));
    bias = register_parameter("bias", zeros(shape));
  }
}
Tensor LayerNorm::forward(const Tensor& x) { return layer_norm(x, shape, weight, bias, eps); }

Embedding::Embedding(int64_t num, int64_t dim) {
  weight = register_parameter("weight", empty({num, dim}));
  init::normal_(weight);
}
Tensor Embedding::forward(const Tensor& indices) { return embedding(indices, weight); }

Dropout::Dropout(double p) : p(p) {
  GANTRY_CHECK(p >= 0 && p < 1, "Dropout: p must be in [0, 1), got ", p);
}
Tensor Dropout::forward(const Tensor& x) { return dropout(x, p, is_training()); }

Tensor dropout(const Tensor& x, double p, bool training, Generator* gen) {
  GANTRY_CHECK(p >= 0 && p < 1, "dropout: p must be in [0, 1), got ", p);
  if (!training || p == 0) return x;
  Tensor keep = mul(ge(rand(x.shape(), x.dtype(), gen), full({}, p, x.dtype())), 1.0 / (1.0 - p));
  return mul(x, keep);
}

}  // namespace gantry::nn
