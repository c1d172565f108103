// gan/train/unroll.cpp — SGD and Adam as differentiable functions of (params, grads, state),
// and K of them unrolled with create_graph.
#include "gan/train/unroll.hpp"

#include <cmath>

#include "core/error.hpp"

namespace gantry::gan {

std::vector<Tensor> optimizer_step(const UnrollOptimizer& opt, const std::vector<Tensor>& params,
                                   const std::vector<Tensor>& grads, OptimState& state) {
  GANTRY_CHECK(params.size() == grads.size(), "optimizer_step: ", params.size(), " parameters but ", grads.size(),
               " gradients");
  const int64_t t = ++state.t;
  std::vector<Tensor> out(params.size());
  if (opt.kind == UnrollOptimizer::sgd) {
    for (size_t i = 0; i < params.size(); ++i) out[i] = sub(params[i], mul(grads[i], opt.lr));
    return out;
  }
  const bool fresh = state.m.empty();
  GANTRY_CHECK(fresh || (state.m.size() == params.size() && state.v.size() == params.size()),
               "optimizer_step: Adam state has ", state.m.size(), " moments for ", params.size(), " parameters");
  if (fresh) state.m.resize(params.size()), state.v.resize(params.size());
  const double c1 = 1 - std::pow(opt.beta1, (double)t), c2 = 1 - std::pow(opt.beta2, (double)t);
  for (size_t i = 0; i < params.size(); ++i) {
    const Tensor& g = grads[i];
    Tensor m = mul(g, 1 - opt.beta1), v = mul(mul(g, g), 1 - opt.beta2);
    if (!fresh) m = add(mul(state.m[i], opt.beta1), m), v = add(mul(state.v[i], opt.beta2), v);
    Tensor denom = add(sqrt(add(mul(v, 1 / c2), 1e-16)), opt.eps);
    out[i] = sub(params[i], mul(div(m, denom), opt.lr / c1));
    state.m[i] = m, state.v[i] = v;
  }
  return out;
}

std::vector<Tensor> unroll(const ParamLoss& loss, const std::vector<Tensor>& params, const UnrollOptimizer& opt,
                           OptimState state, int64_t K) {
  GANTRY_CHECK(K >= 0, "unroll: K must be >= 0, got ", K);
  std::vector<Tensor> p = params;
  GradModeGuard on(true);
  for (int64_t k = 0; k < K; ++k) {
    Tensor l = loss(p, k);
    std::vector<Tensor> g = grad({l}, p, {}, /*retain_graph=*/true, /*create_graph=*/true);
    p = optimizer_step(opt, p, g, state);
  }
  return p;
}

}  // namespace gantry::gan
