// nn/layers.cpp — the layers of nn/layers.hpp, each a Module whose forward is one or two core ops.
#include "nn/layers.hpp"

#include <algorithm>
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
  GANTRY_CHECK(in > 0 && out > 0 && k > 0, "Conv2d: channels and kernel size must be positive (", in, ", ", out, ", ",
               k, ")");
  weight = register_parameter("weight", empty({out, in, k, k}));
  if (has_bias) bias = register_parameter("bias", empty({out}));
  default_init(weight, bias, in * k * k);
}
Tensor Conv2d::forward(const Tensor& x) { return conv2d(x, weight, bias, options); }
Tensor Conv2d::forward_act(const Tensor& x, double slope) { return conv2d_act(x, weight, bias, options, slope); }

ConvTranspose2d::ConvTranspose2d(int64_t in, int64_t out, int64_t k, int64_t stride, int64_t padding, int64_t out_pad,
                                 bool has_bias, int64_t dilation)
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
void BatchNorm::start_forward(const Tensor& x) {
  GANTRY_CHECK(x.dim() == expected_dims, "BatchNorm", expected_dims == 2 ? "1d" : "2d", ": expected a ", expected_dims,
               "-d input, got ", shape_str(x.shape()));
  if (is_training()) num_batches_tracked.data<int64_t>()[0] += 1;
}

Tensor BatchNorm::forward(const Tensor& x) {
  start_forward(x);
  if (is_training() && sync_) return sync_forward(x);
  return batch_norm(x, running_mean, running_var, weight, bias, is_training(), momentum, eps);
}

// batch_norm_act serves eval mode too (as the composition); sync batch norm has its own forward.
Tensor BatchNorm::forward_act(const Tensor& x, double slope) {
  if (is_training() && sync_) return slope == 0 ? relu(forward(x)) : leaky_relu(forward(x), slope);
  start_forward(x);
  return batch_norm_act(x, running_mean, running_var, weight, bias, is_training(), momentum, eps, slope);
}

// Two passes over the global batch, each one all-reduce of C (+1) numbers:
//   mean = sum_ranks sum_local x / n,   var = sum_ranks sum_local (x - mean)^2 / n,
// y = (x - mean) / sqrt(var + eps) * weight + bias, in differentiable ops, so backward
// all-reduces the statistics' gradients too. Running var takes the unbiased n/(n-1) var.
Tensor BatchNorm::sync_forward(const Tensor& x) {
  const int64_t c = x.size(1);
  const std::vector<int64_t> dims = x.dim() == 2 ? std::vector<int64_t>{0} : std::vector<int64_t>{0, 2, 3};
  const Shape per_channel = x.dim() == 2 ? Shape{1, c} : Shape{1, c, 1, 1};
  Tensor local_count = full({1}, (double)(x.numel() / c), x.dtype(), x.device());
  Tensor sums = sync_(cat({sum(x, dims), local_count}));
  const double n = sums.narrow(0, c, 1).item();
  Tensor mu = mul(sums.narrow(0, 0, c), 1.0 / n);
  Tensor centered = sub(x, mu.reshape(per_channel));
  Tensor var_b = mul(sync_(sum(mul(centered, centered), dims)), 1.0 / n);
  Tensor y = mul(centered, rsqrt(add(var_b, eps)).reshape(per_channel));
  if (weight.defined()) y = add(mul(y, weight.reshape(per_channel)), bias.reshape(per_channel));
  NoGradGuard off;
  copy_(running_mean, add(mul(running_mean, 1 - momentum), mul(mu.detach(), momentum)));
  copy_(running_var, add(mul(running_var, 1 - momentum), mul(var_b.detach(), momentum * n / std::max(n - 1, 1.0))));
  return y;
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
Tensor LayerNorm::forward_act(const Tensor& x, double slope) {
  return layer_norm_act(x, shape, weight, bias, eps, slope);
}

Embedding::Embedding(int64_t num, int64_t dim) {
  weight = register_parameter("weight", empty({num, dim}));
  init::normal_(weight);
}
Tensor Embedding::forward(const Tensor& indices) { return embedding(indices, weight); }

Dropout::Dropout(double p) : p(p) { GANTRY_CHECK(p >= 0 && p < 1, "Dropout: p must be in [0, 1), got ", p); }
Tensor Dropout::forward(const Tensor& x) { return dropout(x, p, is_training()); }

Tensor dropout(const Tensor& x, double p, bool training, Rng* gen) {
  GANTRY_CHECK(p >= 0 && p < 1, "dropout: p must be in [0, 1), got ", p);
  if (!training || p == 0) return x;
  Tensor keep = mul(ge(rand(x.shape(), x.dtype(), gen), full({}, p, x.dtype())), 1.0 / (1.0 - p));
  return mul(x, keep);
}

}  // namespace gantry::nn
