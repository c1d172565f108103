// core/ops.hpp — every op of the engine: forward dispatch to a backend kernel,
// plus one derivative rule (in core/ops/*.cpp, beside the forward).
//
// All ops take and return Tensors, check their arguments (throwing gantry::Error
// naming the op and the shapes), and are differentiable to any order unless
// marked "no gradient". Elementwise binary ops broadcast like NumPy.
#pragma once
#include <functional>
#include <optional>
#include <vector>

#include "core/autograd.hpp"
#include "core/tensor.hpp"

namespace gantry {

// ---- elementwise (core/ops/elementwise.cpp) -------------------------------------
Tensor add(const Tensor& a, const Tensor& b);
Tensor sub(const Tensor& a, const Tensor& b);
Tensor mul(const Tensor& a, const Tensor& b);
Tensor div(const Tensor& a, const Tensor& b);
Tensor minimum(const Tensor& a, const Tensor& b);
Tensor maximum(const Tensor& a, const Tensor& b);
Tensor add(const Tensor& a, double s);  // a + s
Tensor mul(const Tensor& a, double s);  // a * s
Tensor neg(const Tensor& x);
Tensor pow(const Tensor& x, double p);  // x^p (scalar exponent)
Tensor sqrt(const Tensor& x);
Tensor rsqrt(const Tensor& x);  // 1/sqrt(x)
Tensor exp(const Tensor& x);
Tensor log(const Tensor& x);
Tensor abs(const Tensor& x);
Tensor sign(const Tensor& x);  // -1, 0, 1; no gradient (zero a.e.)
Tensor clamp(const Tensor& x, std::optional<double> lo, std::optional<double> hi);
// cond ? a : b, with cond any tensor read as (cond != 0); broadcasts all three.
Tensor where(const Tensor& cond, const Tensor& a, const Tensor& b);
// Comparisons: 1 where true, 0 where false, in a's dtype. No gradient.
Tensor eq(const Tensor& a, const Tensor& b);
Tensor ne(const Tensor& a, const Tensor& b);
Tensor lt(const Tensor& a, const Tensor& b);
Tensor le(const Tensor& a, const Tensor& b);
Tensor gt(const Tensor& a, const Tensor& b);
Tensor ge(const Tensor& a, const Tensor& b);
Tensor gt(const Tensor& a, double s);

// ---- activations (core/ops/elementwise.cpp) -------------------------------------
Tensor relu(const Tensor& x);
Tensor leaky_relu(const Tensor& x, double slope = 0.01);
// g * (x > 0 ? 1 : slope): leaky_relu's backward, an op with its own rule.
Tensor leaky_relu_backward(const Tensor& g, const Tensor& x, double slope);
Tensor sigmoid(const Tensor& x);
Tensor tanh(const Tensor& x);
Tensor softplus(const Tensor& x);  // log(1 + e^x), computed stably

// ---- reductions (core/ops/reduce.cpp): `dims` empty = all dims ------------------
Tensor sum(const Tensor& x, const std::vector<int64_t>& dims = {}, bool keepdim = false);
Tensor mean(const Tensor& x, const std::vector<int64_t>& dims = {}, bool keepdim = false);
// Variance with `correction` (0 = biased/population, 1 = unbiased/sample).
Tensor var(const Tensor& x, const std::vector<int64_t>& dims = {}, int64_t correction = 1, bool keepdim = false);
// Max over dims; the gradient is split evenly between tied maxima.
Tensor max(const Tensor& x, const std::vector<int64_t>& dims = {}, bool keepdim = false);
// Index (int64) of the first maximum along `dim`. No gradient.
Tensor argmax(const Tensor& x, int64_t dim, bool keepdim = false);
// (sum |x|^p)^(1/p) over dims.
Tensor norm(const Tensor& x, double p = 2, const std::vector<int64_t>& dims = {}, bool keepdim = false);
// Sums x down to `shape` (the inverse of broadcasting `shape` up to x's shape).
Tensor sum_to(const Tensor& x, const Shape& shape);

// ---- views and shape ops (core/ops/shape.cpp) -----------------------------------
Tensor reshape(const Tensor& x, Shape s);  // one dim may be -1; copies only if needed
Tensor view(const Tensor& x, Shape s);     // like reshape, but never copies (throws instead)
Tensor flatten(const Tensor& x, int64_t start = 0, int64_t end = -1);
Tensor narrow(const Tensor& x, int64_t dim, int64_t start, int64_t length);
Tensor select(const Tensor& x, int64_t dim, int64_t index);
Tensor squeeze(const Tensor& x, std::optional<int64_t> dim = {});
Tensor unsqueeze(const Tensor& x, int64_t dim);
Tensor transpose(const Tensor& x, int64_t d0, int64_t d1);
Tensor permute(const Tensor& x, const std::vector<int64_t>& dims);
Tensor expand(const Tensor& x, const Shape& s);  // -1 keeps a size
Tensor contiguous(const Tensor& x);
Tensor clone(const Tensor& x);
Tensor to_dtype(const Tensor& x, DType t);
// A copy on device d (x itself if it is there already); the gradient flows back to x's device.
Tensor to_device(const Tensor& x, Device d);
Tensor cat(const std::vector<Tensor>& xs, int64_t dim = 0);
Tensor stack(const std::vector<Tensor>& xs, int64_t dim = 0);
// The adjoint of narrow: zeros of `shape` with g written at [start, start+len) of dim.
Tensor narrow_backward(const Tensor& g, const Shape& shape, int64_t dim, int64_t start);

// ---- linear algebra (core/ops/linalg.cpp) ---------------------------------------
// [m,k]@[k,n], batched [b,m,k]@[b,n,k]... (batch dims broadcast), and 1-d operands as in NumPy.
Tensor matmul(const Tensor& a, const Tensor& b);
// x @ W^T + b, x [..., in], W [out, in], b [out] (optional).
Tensor linear(const Tensor& x, const Tensor& w, const Tensor& b = {});

// ---- convolution (core/ops/conv.cpp), NCHW ---------------------------------------
struct Conv2dOptions {
  int64_t stride_h = 1, stride_w = 1, pad_h = 0, pad_w = 0, dil_h = 1, dil_w = 1;
  // conv2d only (the other convolutions refuse groups != 1): the channels split into
  // `groups` equal blocks, output block i seeing input block i only (depthwise: groups = Cin).
  int64_t groups = 1;
  static Conv2dOptions square(int64_t stride, int64_t pad = 0, int64_t dil = 1) {
    return {stride, stride, pad, pad, dil, dil};
  }
};
// x [N,Cin,H,W], w [Cout,Cin/groups,KH,KW], b [Cout] (optional); Cin and Cout divisible by o.groups.
Tensor conv2d(const Tensor& x, const Tensor& w, const Tensor& b = {}, const Conv2dOptions& o = {});
// leaky_relu(conv2d(...), slope) (slope > 0) or relu(conv2d(...)) (slope 0), the same bits; on
// the cpu the activation goes into the conv's own store (nn::Sequential uses it for a Conv2d
// followed by a ReLU / LeakyReLU). slope < 0 is refused (the backward reads the mask from the output).
Tensor conv2d_act(const Tensor& x, const Tensor& w, const Tensor& b, const Conv2dOptions& o, double slope);
// x [N,Cin,H,W], w [Cin,Cout,KH,KW]: the adjoint of conv2d, with output_padding to pick the size.
Tensor conv_transpose2d(const Tensor& x, const Tensor& w, const Tensor& b = {}, const Conv2dOptions& o = {},
                        int64_t out_pad_h = 0, int64_t out_pad_w = 0);
// d/dw of sum(g * conv2d(x, w)) for w of shape weight_shape: conv2d's weight gradient as an op.
Tensor conv2d_backward_weight(const Tensor& g, const Tensor& x, const Shape& weight_shape, const Conv2dOptions& o);

// ---- modulated convolution and FIR resampling (core/ops/modconv.cpp), NCHW ---------
// StyleGAN2's modulated conv: x [N,Cin,H,W], weight [Cout,Cin,KH,KW], styles [N,Cin].
//   w'[n,o,i] = w[o,i] * s[n,i];  if demodulate, d[n,o] = rsqrt(sum_{i,kh,kw} w'[n,o,i]^2 + eps)
//   and w'' = w' * d;  y[n] = conv2d(x[n], w''[n]) with the options o.
// Differentiable to every order in x, weight and styles (docs/kernels/modulated_conv2d.md).
Tensor modulated_conv2d(const Tensor& x, const Tensor& weight, const Tensor& styles, bool demodulate = true,
                        const Conv2dOptions& o = {}, double eps = 1e-8);
// d[n,o] = rsqrt(sum_i s[n,i]^2 sum_{kh,kw} w[o,i,kh,kw]^2 + eps): the demodulation [N,Cout], composed.
Tensor modulation_demod(const Tensor& weight, const Tensor& styles, double eps = 1e-8);
// The primitive behind modulated_conv2d: y[n,o] = d[n,o] * conv2d(s[n,:] * x[n], w)[o], i.e. conv2d
// with the per-sample weight d[n,o] w[o,i] s[n,i]. s [N,Cin] and d [N,Cout] may be undefined (= 1).
Tensor modconv2d(const Tensor& x, const Tensor& w, const Tensor& s, const Tensor& d, const Conv2dOptions& o = {});
// The adjoint of modconv2d in x: dx[n,i] = s[n,i] * conv_transpose(d[n,:] * g[n], w)[i], of input_shape.
Tensor modconv2d_backward_input(const Tensor& g, const Tensor& w, const Tensor& s, const Tensor& d,
                                const Shape& input_shape, const Conv2dOptions& o = {});
// d/dw of sum(g * modconv2d(x, w, s, d)): sum_n conv2d_backward_weight(d[n] g[n], s[n] x[n]), of weight_shape.
Tensor modconv2d_backward_weight(const Tensor& g, const Tensor& x, const Tensor& s, const Tensor& d,
                                 const Shape& weight_shape, const Conv2dOptions& o = {});
// upfirdn2d (StyleGAN2's resampling): zero-insert `up`, pad (x0, x1, y0, y1; negative crops), convolve
// with the 2-d filter f [KH,KW] (a true convolution), keep every `down`-th sample. x [N,C,H,W] ->
// [N, C, (H*up + y0 + y1 - KH)/down + 1, (W*up + x0 + x1 - KW)/down + 1]. f gets no gradient.
struct UpFirDn2dOptions {
  int64_t up = 1, down = 1, pad_x0 = 0, pad_x1 = 0, pad_y0 = 0, pad_y1 = 0;
};
Tensor upfirdn2d(const Tensor& x, const Tensor& f, const UpFirDn2dOptions& o);

// ---- normalization (core/ops/norm.cpp) ------------------------------------------
// x [N,C] or [N,C,*]. training: batch statistics (biased var for the output) and, if
// running_mean/var are given, an in-place update with `momentum` (unbiased var);
// eval: the running statistics. weight/bias optional (affine).
Tensor batch_norm(const Tensor& x, const Tensor& running_mean, const Tensor& running_var, const Tensor& weight,
                  const Tensor& bias, bool training, double momentum = 0.1, double eps = 1e-5);
// leaky_relu(batch_norm(...), slope) (slope > 0) or relu(batch_norm(...)) (slope 0), the
// same values bit for bit; in training one fused kernel and one backward kernel (no pass
// of its own for the activation; nn::Sequential uses it for a BatchNorm followed by a
// ReLU / LeakyReLU). slope < 0 is refused (the backward reads the mask from the output).
Tensor batch_norm_act(const Tensor& x, const Tensor& running_mean, const Tensor& running_var, const Tensor& weight,
                      const Tensor& bias, bool training, double momentum, double eps, double slope);
// batch_norm's input gradient in training mode, as an op (its rule is batch_norm's double
// backward): for x [N,C,*] and g of x's shape, with xhat = (x - mean_c) invstd_c over the
// M = N*S values of channel c (biased variance, invstd = 1/sqrt(var + eps)) and
// g' = g * weight_c, dx = invstd_c (g' - mean_c(g') - xhat mean_c(g' xhat)). weight [C]
// optional (= 1).
Tensor batch_norm_backward_input(const Tensor& g, const Tensor& x, const Tensor& weight = {}, double eps = 1e-5);
// Normalizes over the last normalized_shape.size() dims (biased variance), then
// * weight + bias (elementwise, of normalized_shape; optional).
Tensor layer_norm(const Tensor& x, const Shape& normalized_shape, const Tensor& weight = {}, const Tensor& bias = {},
                  double eps = 1e-5);
// leaky_relu(layer_norm(...), slope) (slope > 0) or relu(layer_norm(...)) (slope 0); with
// weight and bias on the cpu one kernel each way (nn::Sequential uses it for a LayerNorm
// followed by a ReLU / LeakyReLU). slope < 0 is refused (the backward reads the mask from the output).
Tensor layer_norm_act(const Tensor& x, const Shape& normalized_shape, const Tensor& weight, const Tensor& bias,
                      double eps, double slope);
// x [N,C,*]: normalizes each (n, c) over its spatial dims. weight/bias [C] optional.
Tensor instance_norm(const Tensor& x, const Tensor& weight = {}, const Tensor& bias = {}, double eps = 1e-5);

// ---- penalties (core/ops/penalty.cpp) ----------------------------------------------
// The WGAN-GP gradient penalty (Gulrajani et al., 2017) of per-sample input gradients
// g [N, ...]: lambda * mean_n (sqrt(sum_i g[n, i]^2 + eps) - 1)^2, a scalar. eps keeps
// the derivative of the norm finite where g_n = 0. Differentiable to any order.
Tensor gradient_penalty(const Tensor& g, double lambda = 10.0, double eps = 1e-12);

// ---- shape and indexing for images and labels (core/ops/image.cpp) -------------
enum class PadMode { zero, reflect };
// Pads the last two dims of [N,C,H,W] by (left, right, top, bottom).
Tensor pad2d(const Tensor& x, int64_t left, int64_t right, int64_t top, int64_t bottom, PadMode mode = PadMode::zero);
Tensor upsample_nearest2d(const Tensor& x, int64_t scale_h, int64_t scale_w);
// Rows of table [num, dim] picked by int64 indices of any shape: [..., dim].
Tensor embedding(const Tensor& indices, const Tensor& table);
// int64 labels -> [..., num_classes] of 0/1 in dtype t. No gradient.
Tensor one_hot(const Tensor& labels, int64_t num_classes, DType t = DType::f32);

// ---- softmax and losses (core/ops/loss.cpp) ---------------------------------------
enum class Reduction { mean, sum, none };
Tensor log_softmax(const Tensor& x, int64_t dim);
Tensor softmax(const Tensor& x, int64_t dim);
// mean/sum of softplus(x) - x*y: binary cross entropy on logits, stable for any x.
Tensor bce_with_logits(const Tensor& logits, const Tensor& targets, Reduction r = Reduction::mean);
Tensor mse_loss(const Tensor& x, const Tensor& y, Reduction r = Reduction::mean);
Tensor l1_loss(const Tensor& x, const Tensor& y, Reduction r = Reduction::mean);
// logits [N,C], int64 targets [N]: -log_softmax(logits)[n, target_n].
Tensor cross_entropy(const Tensor& logits, const Tensor& targets, Reduction r = Reduction::mean);

// ---- in place, outside autograd (core/ops/shape.cpp) ------------------------------
// Writes src (broadcast to dst's shape, converted to dst's dtype) into dst's storage.
// Writing into a tensor that requires grad is allowed only with grad mode off
// (optimizer steps, initialization), as in PyTorch.
void copy_(const Tensor& dst, const Tensor& src);
void fill_(const Tensor& dst, double value);
// dst = clamp(dst, lo, hi) in place, one kernel on either device (WGAN's weight clipping).
void clamp_(const Tensor& dst, double lo, double hi);

// ---- the op registry (core/ops/registry.cpp) -----------------------------------------
// One input of a sample: values uniform in [lo, hi), then moved `gap` away from each of
// `away_from` (the kinks of relu, abs, clamp, ...), drawn in the dtype and on the device the
// test runs. A `constant` input is one the op does not differentiate (running statistics, a
// mask, a filter): gradcheck does not perturb it.
struct SampleInput {
  Shape shape;
  double lo = -1, hi = 1;
  std::vector<double> away_from = {};
  bool constant = false;
  double gap = 0.05;
};
// A sample case of an op: `f` builds the op's output from inputs made as `inputs` say.
// The tests that walk the registry run each sample: tests/cuda/test_parity.cpp on cuda
// against the cpu (forward, backward, double backward), with |cuda - cpu| <= atol + rtol
// |cpu| elementwise; tests/core/test_gradcheck_ops.cpp by gradcheck (and gradgradcheck when
// the op's grad_order is 2) in float64, on samples of at most 400 input elements.
struct OpSample {
  std::function<Tensor(const std::vector<Tensor>&)> f;
  std::vector<SampleInput> inputs;
  const char* what = "";            // what the case covers, for failure messages
  double atol = 1e-5, rtol = 2e-4;  // parity tolerance; sums of K products raise atol to ~K 2^-24
  bool differentiable = true;       // false: forward only (a cast through int64)
  bool gradcheck = true;            // false: its numbers depend on the inputs outside autograd (running stats)
};
struct OpInfo {
  static constexpr unsigned kCpu = 1, kCuda = 2;
  const char* name;
  unsigned backends;                   // kCpu | kCuda: where it runs (elsewhere it throws "not on cuda yet")
  int grad_order;                      // 0: no gradient (comparisons, argmax); 1: a gradient; 2: twice differentiable
  std::vector<OpSample> samples = {};  // odd shapes; every op needs one (the tests fail naming it)
  const char* not_gradchecked = nullptr;  // why no sample can be gradchecked, for an op with grad_order > 0
  bool on_cuda() const { return backends & kCuda; }
};
const std::vector<OpInfo>& op_registry();

// ---- operators ------------------------------------------------------------------
inline Tensor operator+(const Tensor& a, const Tensor& b) { return add(a, b); }
inline Tensor operator-(const Tensor& a, const Tensor& b) { return sub(a, b); }
inline Tensor operator*(const Tensor& a, const Tensor& b) { return mul(a, b); }
inline Tensor operator/(const Tensor& a, const Tensor& b) { return div(a, b); }
inline Tensor operator-(const Tensor& a) { return neg(a); }
inline Tensor operator+(const Tensor& a, double s) { return add(a, s); }
inline Tensor operator+(double s, const Tensor& a) { return add(a, s); }
inline Tensor operator-(const Tensor& a, double s) { return add(a, -s); }
inline Tensor operator-(double s, const Tensor& a) { return add(neg(a), s); }
inline Tensor operator*(const Tensor& a, double s) { return mul(a, s); }
inline Tensor operator*(double s, const Tensor& a) { return mul(a, s); }
inline Tensor operator/(const Tensor& a, double s) { return mul(a, 1.0 / s); }
inline Tensor operator/(double s, const Tensor& a) { return mul(pow(a, -1.0), s); }

}  // namespace gantry
