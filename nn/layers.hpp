// nn/layers.hpp — the layers, each a Module whose forward is one or two core ops.
// Default initializations follow PyTorch (U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for
// Linear and conv weights and biases), from the global generator (manual_seed).
#pragma once
#include <functional>
#include "nn/module.hpp"

namespace gantry::nn {

// A layer a following ReLU / LeakyReLU fuses into: forward_act(x, slope) is the activation
// (slope 0: ReLU, > 0: leaky ReLU) of forward(x), as one op where the layer has one.
// nn::Sequential runs such a pair through it.
class FusesActivation {
 public:
  virtual ~FusesActivation() = default;
  virtual Tensor forward_act(const Tensor& x, double slope) = 0;
};

// y = x W^T + b; W [out, in], b [out].
class Linear : public Module {
 public:
  Linear(int64_t in, int64_t out, bool bias = true);
  Tensor forward(const Tensor& x) override;
  Tensor weight, bias;
};

// 2-d convolution; weight [out, in, k, k], bias [out].
class Conv2d : public Module, public FusesActivation {
 public:
  Conv2d(int64_t in, int64_t out, int64_t kernel, int64_t stride = 1, int64_t padding = 0, bool bias = true,
         int64_t dilation = 1);
  Tensor forward(const Tensor& x) override;
  // one fused op (conv2d_act), the same bits.
  Tensor forward_act(const Tensor& x, double slope) override;
  Tensor weight, bias;
  Conv2dOptions options;
};

// Transposed 2-d convolution; weight [in, out, k, k], bias [out].
class ConvTranspose2d : public Module {
 public:
  ConvTranspose2d(int64_t in, int64_t out, int64_t kernel, int64_t stride = 1, int64_t padding = 0,
                  int64_t output_padding = 0, bool bias = true, int64_t dilation = 1);
  Tensor forward(const Tensor& x) override;
  Tensor weight, bias;
  Conv2dOptions options;
  int64_t output_padding;
};

// Batch normalization over [N, C] (BatchNorm1d) or [N, C, H, W] (BatchNorm2d): batch
// statistics in training (updating running_mean/var with momentum), running ones in eval.
class BatchNorm : public Module, public FusesActivation {
 public:
  BatchNorm(int64_t features, int expected_dims, double eps = 1e-5, double momentum = 0.1, bool affine = true);
  Tensor forward(const Tensor& x) override;
  // the same values; in training, unsynced, one fused op (batch_norm_act).
  Tensor forward_act(const Tensor& x, double slope) override;
  Tensor weight, bias, running_mean, running_var, num_batches_tracked;
  double eps, momentum;
  int expected_dims;
  // Sync batch norm: `reduce` sums a per-channel tensor over every process of a
  // data-parallel run, differentiably (dist::set_sync_batchnorm sets it). With it, the
  // training statistics are the global batch's, in forward and backward; null: local.
  using StatsReduce = std::function<Tensor(const Tensor&)>;
  void set_sync(StatsReduce reduce) { sync_ = std::move(reduce); }
  bool synced() const { return (bool)sync_; }

 private:
  void start_forward(const Tensor& x);  // forward's input check and num_batches_tracked count
  Tensor sync_forward(const Tensor& x);
  StatsReduce sync_;
};
struct BatchNorm1d : BatchNorm {
  explicit BatchNorm1d(int64_t f, double eps = 1e-5, double momentum = 0.1, bool affine = true)
      : BatchNorm(f, 2, eps, momentum, affine) {}
};
struct BatchNorm2d : BatchNorm {
  explicit BatchNorm2d(int64_t f, double eps = 1e-5, double momentum = 0.1, bool affine = true)
      : BatchNorm(f, 4, eps, momentum, affine) {}
};

// Per-sample, per-channel normalization of [N, C, H, W] (no running statistics).
class InstanceNorm2d : public Module {
 public:
  explicit InstanceNorm2d(int64_t features, double eps = 1e-5, bool affine = false);
  Tensor forward(const Tensor& x) override;
  Tensor weight, bias;
  double eps;
};

// Normalization over the trailing `shape` dims, with elementwise affine.
class LayerNorm : public Module, public FusesActivation {
 public:
  explicit LayerNorm(Shape shape, double eps = 1e-5, bool affine = true);
  Tensor forward(const Tensor& x) override;
  // one fused op (layer_norm_act): the same values up to rounding.
  Tensor forward_act(const Tensor& x, double slope) override;
  Tensor weight, bias;
  Shape shape;
  double eps;
};

// A lookup table [num, dim] ~ N(0, 1); forward takes int64 indices.
class Embedding : public Module {
 public:
  Embedding(int64_t num, int64_t dim);
  Tensor forward(const Tensor& indices) override;
  Tensor weight;
};

class LeakyReLU : public Module {
 public:
  explicit LeakyReLU(double slope = 0.01) : slope(slope) {}
  Tensor forward(const Tensor& x) override { return leaky_relu(x, slope); }
  double slope;
};
struct ReLU : Module {
  Tensor forward(const Tensor& x) override { return relu(x); }
};
struct Tanh : Module {
  Tensor forward(const Tensor& x) override { return tanh(x); }
};
struct Sigmoid : Module {
  Tensor forward(const Tensor& x) override { return sigmoid(x); }
};

// Zeroes each element with probability p in training and scales the rest by 1/(1-p).
class Dropout : public Module {
 public:
  explicit Dropout(double p = 0.5);
  Tensor forward(const Tensor& x) override;
  double p;
};

// Flattens dims [start, end] (default: all but the batch).
class Flatten : public Module {
 public:
  explicit Flatten(int64_t start = 1, int64_t end = -1) : start(start), end(end) {}
  Tensor forward(const Tensor& x) override { return flatten(x, start, end); }
  int64_t start, end;
};

// Reshapes to `shape` (one -1 allowed), e.g. {-1, 256, 7, 7} after a Linear.
class Unflatten : public Module {
 public:
  explicit Unflatten(Shape shape) : shape(std::move(shape)) {}
  Tensor forward(const Tensor& x) override { return reshape(x, shape); }
  Shape shape;
};

// Nearest-neighbour upsampling by an integer factor.
class Upsample : public Module {
 public:
  explicit Upsample(int64_t scale) : scale(scale) {}
  Tensor forward(const Tensor& x) override { return upsample_nearest2d(x, scale, scale); }
  int64_t scale;
};

class ReflectionPad2d : public Module {
 public:
  explicit ReflectionPad2d(int64_t pad) : pad(pad) {}
  Tensor forward(const Tensor& x) override { return pad2d(x, pad, pad, pad, pad, PadMode::reflect); }
  int64_t pad;
};

// Functional dropout: x * mask / (1 - p), mask ~ Bernoulli(1 - p), from `gen` (default: global).
Tensor dropout(const Tensor& x, double p, bool training, Rng* gen = nullptr);

}  // namespace gantry::nn
