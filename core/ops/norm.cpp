// core/ops/norm.cpp — batch_norm (a kernel op with its own rule); layer_norm and
// instance_norm, which reuse it: normalizing each row of x viewed as [rows, len] is
// batch_norm's training statistics over [1, rows, len] (one "channel" per row), so they
// get its kernels and its rule (fused backward, differentiable under create_graph). Where
// the backend has a layer-norm kernel (the cpu), layer_norm with weight and bias (and
// layer_norm_act) runs it instead: the elementwise affine and the activation in its pass.
//
// batch_norm's rule, with xhat = (x - mean) * invstd over M = N*S values per channel
// and g' = g * gamma:
//   dx = invstd * (g' - mean(g') - xhat * mean(g' xhat)),  dgamma = sum(g xhat),  dbeta = sum(g)
// When grad mode is off (a plain backward) the fused kernel computes it; when it is
// on (create_graph) dx is the op batch_norm_backward_input (the same fused kernel, whose
// rule is the closed-form double backward below), and dgamma, dbeta differentiable sums.
//
// The training forward and the fused backward are the backend's kernels (on cuda,
// kernels/cuda/batchnorm.cu or cuDNN: core/ops/cuda_dispatch.cpp chooses); the eval
// forward runs a backend's eval kernel for inference (no input requires grad) where it
// has one, and the composition otherwise, so its gradients stay differentiable.
#include "core/ops/common.hpp"

namespace gantry {

namespace {

// [C] -> [1, C, 1, ...] to broadcast against x [N, C, *].
Tensor per_channel(const Tensor& v, const Tensor& x) {
  Shape s(x.dim(), 1);
  s[1] = v.numel();
  return reshape(v, s);
}

std::vector<int64_t> all_but_channel(const Tensor& x) {
  std::vector<int64_t> d = {0};
  for (int64_t i = 2; i < x.dim(); ++i) d.push_back(i);
  return d;
}

using detail::bn_shape;
using detail::ptr_or_null;

// Each of the `rows` rows of x (viewed as [rows, len]) normalized over its `len` values
// (biased variance). dims: the same reduction in x's own dims, for the composition used
// when a row has a single value (batch_norm refuses to train on one value per channel).
Tensor normalize_rows(const Tensor& x, int64_t rows, int64_t len, const std::vector<int64_t>& dims, double eps) {
  if (rows > 0 && len > 1)
    return reshape(batch_norm(reshape(x, {1, rows, len}), {}, {}, {}, {}, true, 0.0, eps), x.shape());
  return mul(sub(x, mean(x, dims, true)), rsqrt(add(var(x, dims, 0, true), eps)));
}

// v, the op's per-channel `what`, is undefined or [C] for x [N, C, *], on x's device and dtype.
void check_channel_vec(const char* op, const char* what, const Tensor& v, const Tensor& x) {
  if (!v.defined()) return;
  detail::check_same(op, x, v);
  GANTRY_CHECK(v.dim() == 1 && v.size(0) == x.size(1), op, ": ", what, " ", shape_str(v.shape()),
               " does not match the ", x.size(1), " channels of input ", shape_str(x.shape()));
}

// The backend's fused backward: dx always, dw and db where asked for (the kernels take
// null for either). w, the weight, is optional (= 1). act: a fused activation's output
// (of `slope`), which g goes through first; undefined: none.
Grads fused_backward(const Tensor& g, const Tensor& x, const Tensor& w, const Tensor& save_mean,
                     const Tensor& save_invstd, bool want_dw, bool want_db, const Tensor& act = {},
                     double slope = 0.0) {
  Tensor gc = contiguous(g), xc = contiguous(x), dx = empty(x.shape(), x.dtype(), x.device());
  const int64_t c = x.size(1);
  Tensor dw = want_dw ? empty({c}, x.dtype(), x.device()) : Tensor();
  Tensor db = want_db ? empty({c}, x.dtype(), x.device()) : Tensor();
  Tensor wc = w.defined() ? contiguous(w) : w;
  detail::backend(x.device()).batch_norm_backward(dx, dw, db, gc, xc, save_mean, save_invstd, wc, act, slope);
  return {dx, dw, db};
}

// xhat = (x - mean_c) invstd_c, as an op: batch_norm's training forward without affine.
Tensor normalized(const Tensor& x, double eps) { return batch_norm(x, {}, {}, {}, {}, true, 0.0, eps); }

Tensor backward_input_op(const Tensor& g, const Tensor& x, const Tensor& w, const Tensor& save_mean,
                         const Tensor& save_invstd, double eps);

Grads batch_norm_rule(const Tensor& g, const Tensor& x, const Tensor& w, const Tensor& b, const Tensor& save_mean,
                      const Tensor& save_invstd, double eps) {
  const bool want_dw = w.defined() && needs_input_grad(1), want_db = b.defined() && needs_input_grad(2);
  if (!GradMode::enabled()) return fused_backward(g, x, w, save_mean, save_invstd, want_dw, want_db);
  // create_graph: dx is the op batch_norm_backward_input (the fused kernel, with a rule of
  // its own), dw and db are sums of differentiable ops, each only where the engine uses it.
  auto dims = all_but_channel(x);
  return {needs_input_grad(0) ? backward_input_op(g, x, w, save_mean, save_invstd, eps) : Tensor(),
          want_dw ? sum(mul(g, normalized(x, eps)), dims) : Tensor(), want_db ? sum(g, dims) : Tensor()};
}

// The rule of batch_norm_backward_input(g, x, w) = w K(g), with K(a) = s P(a) the op
// without weight, s = invstd and P(a) = a - mean(a) - xhat mean(xhat a); P is linear and
// self-adjoint over each channel's M values (sums below run over them). From
// d xhat = s P(dx) and d s = -s^2 mean(xhat dx), for the upstream gg:
//   d/dg = w K(gg),   d/dw = sum(gg K(g)) = sum(g K(gg)),
//   d/dx = -(w s / M) (sum(g K(gg)) xhat + sum(g xhat) K(gg) + sum(gg xhat) K(g))
//        = -(w s / M) (sum(g K(gg)) xhat + K(sum(g xhat) gg + sum(gg xhat) g)),
// K being linear and the sums per-channel constants: two fused calls, K(gg) and the last
// one (with the weight -(w s / M), so the op scales it too). Plain backward: s is the saved
// invstd. create_graph: s and xhat are differentiable ops of x (and K is this op again),
// so every higher order follows.
Grads backward_input_rule(const Tensor& gg, const Tensor& g, const Tensor& x, const Tensor& w, const Tensor& save_mean,
                          const Tensor& save_invstd, double eps) {
  const bool need_g = needs_input_grad(0), need_x = needs_input_grad(1), need_w = w.defined() && needs_input_grad(2);
  auto dims = all_but_channel(x);
  const int64_t m = x.numel() / x.size(1);  // values a channel
  Tensor k_gg = backward_input_op(gg, x, {}, save_mean, save_invstd, eps);
  Tensor dg = need_g ? (w.defined() ? mul(k_gg, per_channel(w, x)) : k_gg) : Tensor();
  if (!need_x && !need_w) return {dg, Tensor(), Tensor()};
  Tensor g_kgg = sum(mul(g, k_gg), dims, true);  // [1, C, 1, ...]
  k_gg = Tensor();
  Tensor dw = need_w ? reshape(g_kgg, w.shape()) : Tensor();
  if (!need_x) return {dg, Tensor(), dw};
  Tensor xhat = normalized(x, eps);
  Tensor g_xhat = sum(mul(g, xhat), dims, true), gg_xhat = sum(mul(gg, xhat), dims, true);
  Tensor s = GradMode::enabled() ? rsqrt(add(var(x, dims, 0, true), eps)) : per_channel(save_invstd, x);
  Tensor coef = mul(s, -1.0 / (double)m);  // [1, C, 1, ...]
  if (w.defined()) coef = mul(coef, per_channel(w, x));
  Tensor mixed = mul(gg, g_xhat);
  mixed = add(mixed, mul(g, gg_xhat));
  Tensor dx = backward_input_op(mixed, x, reshape(coef, {x.size(1)}), save_mean, save_invstd, eps);
  mixed = Tensor();
  dx = add(dx, mul(xhat, mul(coef, g_kgg)));
  return {dg, dx, dw};
}

Tensor backward_input_op(const Tensor& g, const Tensor& x, const Tensor& w, const Tensor& save_mean,
                         const Tensor& save_invstd, double eps) {
  Tensor dx;
  {
    GradModeGuard off(false);
    dx = fused_backward(g, x, w, save_mean, save_invstd, false, false)[0];
  }
  return record("batch_norm_backward_input", dx, {g, x, w},
                [=](const Tensor& gg) { return backward_input_rule(gg, g, x, w, save_mean, save_invstd, eps); });
}

// batch_norm's argument checks (in training also the value count and contiguous running
// stats), naming `op` (batch_norm, batch_norm_act).
void check_batch_norm(const char* op, const Tensor& x, const Tensor& running_mean, const Tensor& running_var,
                      const Tensor& weight, const Tensor& bias, bool training) {
  detail::check_floating(op, x);
  GANTRY_CHECK(x.dim() >= 2, op, ": input must be [N, C] or [N, C, *], got ", shape_str(x.shape()));
  check_channel_vec(op, "weight", weight, x);
  check_channel_vec(op, "bias", bias, x);
  check_channel_vec(op, "running_mean", running_mean, x);
  check_channel_vec(op, "running_var", running_var, x);
  GANTRY_CHECK(running_mean.defined() == running_var.defined(), op,
               ": give both running_mean and running_var, or neither");
  if (!training) {
    GANTRY_CHECK(running_mean.defined(), op, ": eval mode needs running_mean and running_var");
    return;
  }
  const int64_t n = x.size(0), c = x.size(1), spatial = x.numel() / std::max<int64_t>(n * c, 1);
  GANTRY_CHECK(n * spatial > 1, op, ": expected more than 1 value per channel when training, got input ",
               shape_str(x.shape()));
  GANTRY_CHECK(!running_mean.defined() || (running_mean.is_contiguous() && running_var.is_contiguous()), op,
               ": running statistics must be contiguous");
}

// The training forward's kernel: y (= act(batch norm) for slope >= 0) and the saved statistics.
struct TrainForward {
  Tensor y, save_mean, save_invstd;
};
TrainForward train_forward(const Tensor& x, const Tensor& running_mean, const Tensor& running_var, const Tensor& weight,
                           const Tensor& bias, double momentum, double eps, double slope) {
  const int64_t c = x.size(1);
  Tensor xc = contiguous(x), y = empty(x.shape(), x.dtype(), x.device());
  Tensor save_mean = empty({c}, x.dtype(), x.device()), save_invstd = empty({c}, x.dtype(), x.device());
  Tensor wc = weight.defined() ? contiguous(weight) : weight, bc = bias.defined() ? contiguous(bias) : bias;
  detail::backend(x.device())
      .batch_norm_forward_train(y, save_mean, save_invstd, running_mean, running_var, xc, wc, bc, momentum, eps, slope);
  return {y, save_mean, save_invstd};
}

}  // namespace

Tensor batch_norm(const Tensor& x, const Tensor& running_mean, const Tensor& running_var, const Tensor& weight,
                  const Tensor& bias, bool training, double momentum, double eps) {
  check_batch_norm("batch_norm", x, running_mean, running_var, weight, bias, training);
  if (!training) {
    // A backend with an eval kernel (cuda) runs it for inference (no input requires grad);
    // otherwise the composition below, whose gradients stay differentiable.
    auto eval_kernel = detail::backend(x.device()).batch_norm_forward_eval;
    const bool inference =
        !GradMode::enabled() || !(x.requires_grad() || (weight.defined() && weight.requires_grad()) ||
                                  (bias.defined() && bias.requires_grad()));
    if (eval_kernel && inference) {
      Tensor y = empty(x.shape(), x.dtype(), x.device());
      eval_kernel(y, contiguous(x), contiguous(running_mean), contiguous(running_var),
                  weight.defined() ? contiguous(weight) : weight, bias.defined() ? contiguous(bias) : bias, eps);
      return y;
    }
    Tensor y =
        mul(sub(x, per_channel(running_mean.detach(), x)), per_channel(rsqrt(add(running_var.detach(), eps)), x));
    if (weight.defined()) y = mul(y, per_channel(weight, x));
    if (bias.defined()) y = add(y, per_channel(bias, x));
    return y;
  }
  TrainForward f = train_forward(x, running_mean, running_var, weight, bias, momentum, eps, -1.0);
  Tensor save_mean = f.save_mean, save_invstd = f.save_invstd;
  return record("batch_norm", f.y, {x, weight, bias},
                [=](const Tensor& g) { return batch_norm_rule(g, x, weight, bias, save_mean, save_invstd, eps); });
}

// The rule: g through the activation at the output, then batch_norm's. Plain backward: one
// kernel (the activation read inside it); create_graph: leaky_relu_backward (an op, its mask
// from the output: y > 0 exactly where the batch norm's value is, for slope >= 0) and
// batch_norm's differentiable rule, so every higher order follows. `out` is the output
// detached (no cycle through this node; the mask has no gradient).
Tensor batch_norm_act(const Tensor& x, const Tensor& running_mean, const Tensor& running_var, const Tensor& weight,
                      const Tensor& bias, bool training, double momentum, double eps, double slope) {
  detail::check_act_slope("batch_norm_act", slope);
  check_batch_norm("batch_norm_act", x, running_mean, running_var, weight, bias, training);
  if (!training) {
    return detail::activation(batch_norm(x, running_mean, running_var, weight, bias, false, momentum, eps), slope);
  }
  TrainForward f = train_forward(x, running_mean, running_var, weight, bias, momentum, eps, slope);
  Tensor save_mean = f.save_mean, save_invstd = f.save_invstd, out = f.y.detach();
  return record("batch_norm_act", f.y, {x, weight, bias}, [=](const Tensor& g) {
    if (GradMode::enabled())
      return batch_norm_rule(leaky_relu_backward(g, out, slope), x, weight, bias, save_mean, save_invstd, eps);
    const bool want_dw = weight.defined() && needs_input_grad(1), want_db = bias.defined() && needs_input_grad(2);
    return fused_backward(g, x, weight, save_mean, save_invstd, want_dw, want_db, out, slope);
  });
}

Tensor batch_norm_backward_input(const Tensor& g, const Tensor& x, const Tensor& weight, double eps) {
  detail::check_floating("batch_norm_backward_input", x);
  detail::check_same("batch_norm_backward_input", g, x);
  GANTRY_CHECK(x.dim() >= 2 && g.shape() == x.shape(),
               "batch_norm_backward_input: x must be [N, C] or [N, C, *] and g ", "of its shape, got g ",
               shape_str(g.shape()), " and x ", shape_str(x.shape()));
  check_channel_vec("batch_norm_backward_input", "weight", weight, x);
  const int64_t n = x.size(0), c = x.size(1), spatial = x.numel() / std::max<int64_t>(n * c, 1);
  GANTRY_CHECK(n * spatial > 1, "batch_norm_backward_input: expected more than 1 value per channel, got input ",
               shape_str(x.shape()));
  // The saved statistics of batch_norm's training forward (its output is not needed).
  TrainForward f = train_forward(x, {}, {}, {}, {}, 0.0, eps, -1.0);
  return backward_input_op(g, x, weight, f.save_mean, f.save_invstd, eps);
}

namespace {

// The backend's fused layer norm (the cpu's): y and the per-row statistics, and a rule whose
// plain backward is one kernel and whose create_graph backward is differentiable ops (the
// activation's leaky_relu_backward at the output, batch_norm_backward_input over the rows,
// sums down the columns for the weight and bias), so every higher order follows.
Tensor fused_layer_norm(const char* op, const Tensor& x, const Tensor& weight, const Tensor& bias, int64_t rows,
                        int64_t len, const std::vector<int64_t>& dims, double eps, double slope) {
  for (const Tensor* p : {&weight, &bias}) detail::check_same(op, x, *p);
  Tensor xc = contiguous(x), wc = contiguous(weight), bc = contiguous(bias);
  Tensor y = empty(x.shape(), x.dtype(), x.device()), mean = empty({rows}, x.dtype(), x.device()),
         invstd = empty({rows}, x.dtype(), x.device());
  detail::backend(x.device()).layer_norm_forward(y, mean, invstd, xc, wc, bc, eps, slope);
  const Tensor out = slope >= 0 ? y.detach() : Tensor();
  return record(op, y, {x, weight, bias}, [=](const Tensor& g) -> Grads {
    const bool want_dx = needs_input_grad(0), want_dw = needs_input_grad(1), want_db = needs_input_grad(2);
    if (!GradMode::enabled()) {
      Tensor dx = want_dx ? empty(x.shape(), x.dtype(), x.device()) : Tensor();
      Tensor dw = want_dw ? empty(weight.shape(), x.dtype(), x.device()) : Tensor();
      Tensor db = want_db ? empty(bias.shape(), x.dtype(), x.device()) : Tensor();
      detail::backend(x.device()).layer_norm_backward(dx, dw, db, contiguous(g), xc, mean, invstd, wc, out, slope);
      return {dx, dw, db};
    }
    Tensor g1 = slope >= 0 ? leaky_relu_backward(g, out, slope) : g;
    Tensor dx;
    if (want_dx)
      dx = reshape(batch_norm_backward_input(reshape(mul(g1, weight), {1, rows, len}), reshape(x, {1, rows, len}), {},
                                             eps),
                   x.shape());
    Tensor dw = want_dw ? sum_to(mul(g1, normalize_rows(x, rows, len, dims, eps)), weight.shape()) : Tensor();
    return {dx, dw, want_db ? sum_to(g1, bias.shape()) : Tensor()};
  });
}

// layer_norm, and with slope >= 0 an activation after it (layer_norm_act).
Tensor layer_norm_impl(const char* op, const Tensor& x, const Shape& normalized_shape, const Tensor& weight,
                       const Tensor& bias, double eps, double slope) {
  detail::check_floating(op, x);
  const int64_t k = (int64_t)normalized_shape.size();
  bool fits = k >= 1 && k <= x.dim() && Shape(x.shape().end() - k, x.shape().end()) == normalized_shape;
  GANTRY_CHECK(fits, op, ": normalized_shape ", shape_str(normalized_shape), " is not the trailing shape of input ",
               shape_str(x.shape()));
  for (const Tensor* p : {&weight, &bias})
    GANTRY_CHECK(!p->defined() || p->shape() == normalized_shape, op, ": weight/bias ", shape_str(p->shape()),
                 " must have shape ", shape_str(normalized_shape));
  std::vector<int64_t> dims;
  int64_t len = 1;
  for (int64_t d = x.dim() - k; d < x.dim(); ++d) dims.push_back(d), len *= x.size(d);
  const int64_t rows = len ? x.numel() / len : 0;
  if (detail::backend(x.device()).layer_norm_forward && weight.defined() && bias.defined() && rows > 0 && len > 1)
    return fused_layer_norm(op, x, weight, bias, rows, len, dims, eps, slope);
  Tensor y = normalize_rows(x, rows, len, dims, eps);
  if (weight.defined()) y = mul(y, weight);
  if (bias.defined()) y = add(y, bias);
  return slope < 0 ? y : detail::activation(y, slope);
}

}  // namespace

Tensor layer_norm(const Tensor& x, const Shape& normalized_shape, const Tensor& weight, const Tensor& bias,
                  double eps) {
  return layer_norm_impl("layer_norm", x, normalized_shape, weight, bias, eps, -1.0);
}

Tensor layer_norm_act(const Tensor& x, const Shape& normalized_shape, const Tensor& weight, const Tensor& bias,
                      double eps, double slope) {
  detail::check_act_slope("layer_norm_act", slope);
  return layer_norm_impl("layer_norm_act", x, normalized_shape, weight, bias, eps, slope);
}

Tensor instance_norm(const Tensor& x, const Tensor& weight, const Tensor& bias, double eps) {
  detail::check_floating("instance_norm", x);
  GANTRY_CHECK(x.dim() >= 3, "instance_norm: input must be [N, C, *spatial], got ", shape_str(x.shape()));
  for (const Tensor* p : {&weight, &bias})
    GANTRY_CHECK(!p->defined() || (p->dim() == 1 && p->size(0) == x.size(1)), "instance_norm: weight/bias ",
                 shape_str(p->shape()), " must be [", x.size(1), "]");
  std::vector<int64_t> dims;
  int64_t len = 1;
  for (int64_t d = 2; d < x.dim(); ++d) dims.push_back(d), len *= x.size(d);
  Tensor y = normalize_rows(x, x.size(0) * x.size(1), len, dims, eps);
  if (weight.defined()) y = mul(y, per_channel(weight, x));
  if (bias.defined()) y = add(y, per_channel(bias, x));
  return y;
}

}  // namespace gantry
