// core/ops/penalty.cpp — the WGAN-GP gradient penalty, a kernel op with its own rule.
//
// For g [N, ...] flattened to [N, K]: norm_n = sqrt(sum_i g[n, i]^2 + eps),
//   P = lambda / N * sum_n (norm_n - 1)^2,   dP/dg[n, i] = lambda * 2 (norm_n - 1) / N * g[n, i] / norm_n.
// The forward runs the backend's gradient_penalty_forward (kernels/cpu/penalty or
// kernels/cuda/penalty: norms and P in one call).
// The rule: with grad mode off (a plain backward) the fused kernel computes dP/dg times the
// upstream scalar from the saved norms; with grad mode on (create_graph: the penalty's
// gradient is itself differentiated) the same formula is built from differentiable ops,
// so every higher derivative follows from theirs.
#include "core/ops/common.hpp"

namespace gantry {

namespace {

// dP/dg as differentiable ops (norms recomputed from g: rules capture inputs).
Tensor penalty_grad_composed(const Tensor& up, const Tensor& g, double lambda, double eps) {
  const int64_t n = g.size(0);
  Tensor flat = reshape(g, {n, -1});
  Tensor norms = sqrt(add(sum(mul(flat, flat), {1}, true), eps));  // [N, 1]
  Tensor coef = mul(div(add(norms, -1.0), norms), 2.0 * lambda / (double)n);
  return reshape(mul(mul(flat, coef), up), g.shape());
}

Tensor penalty_grad_fused(const Tensor& up, const Tensor& g, const Tensor& norms, double lambda) {
  Tensor gc = contiguous(g), upc = contiguous(up), dg = empty(g.shape(), g.dtype(), g.device());
  detail::backend(g.device()).gradient_penalty_backward(dg, upc, gc, norms, lambda);
  return dg;
}

}  // namespace

Tensor gradient_penalty(const Tensor& g, double lambda, double eps) {
  detail::check_floating("gradient_penalty", g);
  GANTRY_CHECK(g.dim() >= 1 && g.size(0) > 0, "gradient_penalty: gradients must be [N, ...] with N > 0, got ",
               shape_str(g.shape()));
  GANTRY_CHECK(eps >= 0, "gradient_penalty: eps must be >= 0, got ", eps);
  const int64_t n = g.size(0);
  Tensor gc = contiguous(g), p = empty({}, g.dtype(), g.device()), norms = empty({n}, g.dtype(), g.device());
  detail::backend(g.device()).gradient_penalty_forward(p, norms, gc, lambda, eps);
  return record("gradient_penalty", p, {g}, [g, norms, lambda, eps](const Tensor& up) {
    if (!GradMode::enabled()) return Grads{penalty_grad_fused(up, g, norms, lambda)};
    return Grads{penalty_grad_composed(up, g, lambda, eps)};
  });
}

}  // namespace gantry
