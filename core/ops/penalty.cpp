// core/ops/penalty.cpp — the WGAN-GP gradient penalty, as a composition of
// differentiable ops: every derivative, the double backward included, follows from
// its parts.
#include "core/ops/common.hpp"

namespace gantry {

Tensor gradient_penalty(const Tensor& g, double lambda, double eps) {
  detail::check_floating("gradient_penalty", g);
  GANTRY_CHECK(g.dim() >= 1 && g.size(0) > 0, "gradient_penalty: gradients must be [N, ...] with N > 0, got ",
               shape_str(g.shape()));
  GANTRY_CHECK(eps >= 0, "gradient_penalty: eps must be >= 0, got ", eps);
  Tensor flat = reshape(g, {g.size(0), -1});
  Tensor norms = sqrt(add(sum(mul(flat, flat), {1}), eps));
  Tensor d = add(norms, -1.0);
  return mul(mean(mul(d, d)), lambda);
}

}  // namespace gantry
