// core/ops/reduce.cpp — sum, mean, var, max, argmax, norm, sum_to.
//
// Forward: move the reduced dims last (permute + contiguous), then reduce rows
// with kernels/cpu/reduce.hpp; a sum whose reduced dims lead is summed down the
// columns where x lies instead (the backend's sum_columns: no transpose). Backward
// of a reduction over dims D: put the reduced dims back as size 1 (unsqueeze) and
// expand to the input's shape.
#include <algorithm>
#include <cmath>

#include "core/ops/common.hpp"

namespace gantry {

std::vector<int64_t> detail::normalize_dims(const std::vector<int64_t>& dims, int64_t ndim, const char* op) {
  std::vector<int64_t> out;
  if (dims.empty()) {
    for (int64_t d = 0; d < ndim; ++d) out.push_back(d);
    return out;
  }
  for (auto d : dims) out.push_back(wrap_dim(d, ndim, op));
  std::sort(out.begin(), out.end());
  GANTRY_CHECK(std::adjacent_find(out.begin(), out.end()) == out.end(), op, ": a dim is repeated in the list");
  return out;
}

namespace {

struct Plan {
  std::vector<int64_t> dims;  // sorted reduced dims
  Shape out_shape;            // without keepdim
  Shape keep_shape;           // with keepdim
  int64_t rows = 1, cols = 1;
};

Plan plan_reduction(const Tensor& x, const std::vector<int64_t>& dims, const char* op) {
  Plan p;
  p.dims = detail::normalize_dims(dims, x.dim(), op);
  for (int64_t d = 0; d < x.dim(); ++d) {
    bool reduced = std::binary_search(p.dims.begin(), p.dims.end(), d);
    (reduced ? p.cols : p.rows) *= x.shape()[d];
    p.keep_shape.push_back(reduced ? 1 : x.shape()[d]);
    if (!reduced) p.out_shape.push_back(x.shape()[d]);
  }
  return p;
}

// x laid out [kept dims..., reduced dims...], dense.
Tensor reduced_last(const Tensor& x, const Plan& p) {
  std::vector<int64_t> order;
  for (int64_t d = 0; d < x.dim(); ++d)
    if (!std::binary_search(p.dims.begin(), p.dims.end(), d)) order.push_back(d);
  order.insert(order.end(), p.dims.begin(), p.dims.end());
  GradModeGuard off(false);
  return contiguous(permute(x, order));
}

// Whether the reduced dims lead: every kept dim longer than 1 comes after every reduced dim
// longer than 1, so x laid out densely is already [reduced, kept] (a broadcast's gradient
// summed over the batch, sum_to's usual case).
bool reduced_dims_lead(const Tensor& x, const Plan& p) {
  bool kept_seen = false;
  for (int64_t d = 0; d < x.dim(); ++d) {
    if (x.shape()[d] == 1) continue;
    const bool reduced = std::binary_search(p.dims.begin(), p.dims.end(), d);
    if (reduced && kept_seen) return false;
    kept_seen = kept_seen || !reduced;
  }
  return true;
}

Tensor reduce_forward(const char* op, const Tensor& x, const Plan& p, bool keepdim, detail::RowReduce kind) {
  detail::check_floating(op, x);
  Tensor y = empty(keepdim ? p.keep_shape : p.out_shape, x.dtype(), x.device());
  if (kind == detail::RowReduce::sum && p.rows > 1 && p.cols > 1 && reduced_dims_lead(x, p)) {
    // Summed down the columns where x lies, without transposing it first.
    GradModeGuard off(false);
    detail::backend(x.device()).rows(detail::RowReduce::sum_columns, y, contiguous(x), p.cols, p.rows);
    return y;
  }
  Tensor in = reduced_last(x, p);
  detail::backend(x.device()).rows(kind, y, in, p.rows, p.cols);
  return y;
}

// g (shaped like the reduction's output) broadcast back to the input's shape.
Tensor expand_back(const Tensor& g, const Plan& p, const Shape& in_shape) {
  return expand(reshape(g, p.keep_shape), in_shape);
}

}  // namespace

Tensor sum(const Tensor& x, const std::vector<int64_t>& dims, bool keepdim) {
  Plan p = plan_reduction(x, dims, "sum");
  Tensor y = reduce_forward("sum", x, p, keepdim, detail::RowReduce::sum);
  return record("sum", y, {x}, [p, s = x.shape()](const Tensor& g) { return Grads{expand_back(g, p, s)}; });
}

Tensor mean(const Tensor& x, const std::vector<int64_t>& dims, bool keepdim) {
  Plan p = plan_reduction(x, dims, "mean");
  GANTRY_CHECK(p.cols > 0, "mean: reducing over zero elements (shape ", shape_str(x.shape()), ")");
  return mul(sum(x, dims, keepdim), 1.0 / (double)p.cols);
}

Tensor var(const Tensor& x, const std::vector<int64_t>& dims, int64_t correction, bool keepdim) {
  Plan p = plan_reduction(x, dims, "var");
  GANTRY_CHECK(p.cols - correction > 0, "var: ", p.cols, " elements with correction ", correction,
               " leave no degrees of freedom (shape ", shape_str(x.shape()), ")");
  Tensor d = sub(x, mean(x, dims, true));
  return mul(sum(mul(d, d), dims, keepdim), 1.0 / (double)(p.cols - correction));
}

Tensor max(const Tensor& x, const std::vector<int64_t>& dims, bool keepdim) {
  Plan p = plan_reduction(x, dims, "max");
  GANTRY_CHECK(p.cols > 0, "max: reducing over zero elements (shape ", shape_str(x.shape()), ")");
  Tensor y = reduce_forward("max", x, p, keepdim, detail::RowReduce::max);
  // The gradient goes to the positions that hold the max, shared evenly among ties.
  return record("max", y, {x}, [x, p, keepdim](const Tensor& g) {
    Tensor at_max;
    {
      GradModeGuard off(false);
      Tensor m = max(x.detach(), p.dims, true);
      Tensor hit = eq(x.detach(), m);
      at_max = div(hit, sum(hit, p.dims, true));
    }
    (void)keepdim;
    return Grads{mul(expand_back(g, p, x.shape()), at_max)};
  });
}

Tensor argmax(const Tensor& x, int64_t dim, bool keepdim) {
  Plan p = plan_reduction(x, {dim}, "argmax");
  GANTRY_CHECK(p.cols > 0, "argmax: reducing over zero elements (shape ", shape_str(x.shape()), ")");
  detail::check_floating("argmax", x);
  Tensor in = reduced_last(x, p);
  Tensor y = empty(keepdim ? p.keep_shape : p.out_shape, DType::i64, x.device());
  detail::backend(x.device()).rows(detail::RowReduce::argmax, y, in, p.rows, p.cols);
  return y;
}

Tensor norm(const Tensor& x, double p, const std::vector<int64_t>& dims, bool keepdim) {
  GANTRY_CHECK(p > 0 && std::isfinite(p), "norm: p must be positive and finite, got ", p);
  if (p == 2) return sqrt(sum(mul(x, x), dims, keepdim));
  if (p == 1) return sum(abs(x), dims, keepdim);
  return pow(sum(pow(abs(x), p), dims, keepdim), 1.0 / p);
}

Tensor sum_to(const Tensor& x, const Shape& shape) {
  if (x.shape() == shape) return x;
  GANTRY_CHECK(shape.size() <= x.shape().size(), "sum_to: cannot sum ", shape_str(x.shape()), " to ", shape_str(shape));
  const size_t lead = x.shape().size() - shape.size();
  std::vector<int64_t> dims;
  for (size_t d = 0; d < x.shape().size(); ++d) {
    if (d < lead) {
      dims.push_back((int64_t)d);
      continue;
    }
    const int64_t want = shape[d - lead];
    GANTRY_CHECK(want == x.shape()[d] || want == 1, "sum_to: cannot sum ", shape_str(x.shape()), " to ",
                 shape_str(shape));
    if (want == 1 && x.shape()[d] != 1) dims.push_back((int64_t)d);
  }
  if (dims.empty()) return reshape(x, shape);
  return reshape(sum(x, dims, true), shape);
}

}  // namespace gantry
