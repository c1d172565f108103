// gan/train/unroll.hpp — unrolled optimization (Metz et al., 2017): K optimizer steps on a
// loss of some parameters, written in differentiable ops and taken with create_graph, so
// the parameters after K steps are tensors in the graph and a later loss on them
// differentiates back through every step (the engine's higher-order autograd at work).
//
// SGD:  p' = p - lr g
// Adam: t' = t + 1, m' = b1 m + (1 - b1) g, v' = b2 v + (1 - b2) g^2,
//       p' = p - lr (m' / (1 - b1^t')) / (sqrt(v' / (1 - b2^t') + tiny) + eps)
// `tiny` (1e-16) keeps sqrt's derivative finite where v' = 0 (a gradient exactly 0, e.g. a
// dead ReLU unit), which would otherwise give inf * 0 = NaN in the backward through the step;
// it moves the step by at most ~1e-8 relative to torch.optim.Adam's formula.
#pragma once
#include <functional>
#include <vector>

#include "core/ops.hpp"

namespace gantry::gan {

struct UnrollOptimizer {
  enum Kind { sgd, adam } kind = adam;
  double lr = 1e-4, beta1 = 0.5, beta2 = 0.999, eps = 1e-8;
};

// An optimizer's state for the functional steps: Adam's moments (empty before the first
// step, read as zeros) and the number of steps taken. SGD keeps only t.
struct OptimState {
  std::vector<Tensor> m, v;
  int64_t t = 0;
};

// One step of `opt` from `params` with gradients `grads` (one per parameter), in
// differentiable ops: returns the new parameters and advances `state`. With grad mode off
// (or grads detached) it is an ordinary optimizer step, so the same formula trains the
// real parameters and is unrolled.
std::vector<Tensor> optimizer_step(const UnrollOptimizer& opt, const std::vector<Tensor>& params,
                                   const std::vector<Tensor>& grads, OptimState& state);

// A loss of parameters; `step` (0..K-1) says which unrolled step asks, so a caller may feed
// each step its own batch.
using ParamLoss = std::function<Tensor(const std::vector<Tensor>& params, int64_t step)>;

// K optimizer steps on `loss` from `params` and a copy of `state`: at each step the loss's
// gradient is taken with create_graph, then optimizer_step. Returns the parameters after K
// steps, which depend differentiably on `params` and on everything `loss` reads (K = 0
// returns params). The caller's state is not changed.
std::vector<Tensor> unroll(const ParamLoss& loss, const std::vector<Tensor>& params, const UnrollOptimizer& opt,
                           OptimState state, int64_t K);

}  // namespace gantry::gan
