// core/ops/loss.cpp — log_softmax, softmax and the losses.
//
// log_softmax has a kernel and a rule: d/dx = g - softmax(x) * sum(g). The
// losses are compositions of differentiable ops, so every order of derivative
// follows from their parts.
#include "core/ops/common.hpp"

namespace gantry {

Tensor log_softmax(const Tensor& x, int64_t dim) {
  detail::check_floating("log_softmax", x);
  const int64_t nd = std::max<int64_t>(x.dim(), 1);
  dim = wrap_dim(dim, nd, "log_softmax");
  if (x.dim() == 0) return log_softmax(reshape(x, {1}), 0).reshape({});
  // Lay `dim` out last, reduce rows, and put it back.
  Tensor xt = contiguous(transpose(x.detach(), dim, -1));
  Tensor yt = empty(xt.shape(), x.dtype(), x.device());
  const int64_t cols = x.shape()[dim], rows = cols ? x.numel() / cols : 0;
  detail::backend(x.device()).rows(detail::RowReduce::log_softmax, yt, xt, rows, cols);
  Tensor y = contiguous(transpose(yt, dim, -1));
  return record("log_softmax", y, {x},
                [x, dim](const Tensor& g) { return Grads{sub(g, mul(softmax(x, dim), sum(g, {dim}, true)))}; });
}

Tensor softmax(const Tensor& x, int64_t dim) { return exp(log_softmax(x, dim)); }

namespace {
Tensor reduce(const Tensor& per_element, Reduction r) {
  switch (r) {
    case Reduction::mean: return mean(per_element);
    case Reduction::sum: return sum(per_element);
    default: return per_element;
  }
}
void check_pair(const char* op, const Tensor& x, const Tensor& y) {
  detail::check_same(op, x, y);
  GANTRY_CHECK(x.shape() == y.shape(), op, ": input ", shape_str(x.shape()), " and target ", shape_str(y.shape()),
               " must have the same shape");
}
}  // namespace

Tensor bce_with_logits(const Tensor& logits, const Tensor& targets, Reduction r) {
  check_pair("bce_with_logits", logits, targets);
  // -[y log s(x) + (1-y) log(1-s(x))] = softplus(x) - x y
  return reduce(sub(softplus(logits), mul(logits, targets)), r);
}

Tensor mse_loss(const Tensor& x, const Tensor& y, Reduction r) {
  check_pair("mse_loss", x, y);
  Tensor d = sub(x, y);
  return reduce(mul(d, d), r);
}

Tensor l1_loss(const Tensor& x, const Tensor& y, Reduction r) {
  check_pair("l1_loss", x, y);
  return reduce(abs(sub(x, y)), r);
}

Tensor cross_entropy(const Tensor& logits, const Tensor& targets, Reduction r) {
  detail::check_floating("cross_entropy", logits);
  GANTRY_CHECK(logits.dim() == 2, "cross_entropy: logits must be [N, C], got ", shape_str(logits.shape()));
  GANTRY_CHECK(targets.defined() && targets.dtype() == DType::i64 && targets.dim() == 1 &&
                   targets.size(0) == logits.size(0),
               "cross_entropy: targets must be int64 [", logits.size(0), "], got ",
               targets.defined() ? dtype_name(targets.dtype()) : "undefined", " ",
               targets.defined() ? shape_str(targets.shape()) : "");
  Tensor picked = one_hot(targets, logits.size(1), logits.dtype());  // checks 0 <= t < C
  return reduce(neg(sum(mul(log_softmax(logits, 1), picked), {1})), r);
}

}  // namespace gantry
