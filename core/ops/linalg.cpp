// core/ops/linalg.cpp — matmul and linear.
//
// One primitive op, bmm ([B,m,k] @ [B,k,n], rule: dA = g B^T, dB = A^T g); matmul
// reduces every case to it with differentiable views (unsqueeze for 1-d operands,
// expand for broadcast batch dims), so broadcasting's backward (a sum) comes free.
#include "core/ops/common.hpp"

namespace gantry {

namespace {

Tensor bmm(const Tensor& a, const Tensor& b) {
  Tensor ac = contiguous(a), bc = contiguous(b);
  const int64_t batch = a.shape()[0], m = a.shape()[1], k = a.shape()[2], n = b.shape()[2];
  Tensor y = empty({batch, m, n}, a.dtype(), a.device());
  detail::backend(a.device()).gemm(y, ac, bc, batch, m, n, k);
  return record("bmm", y, {a, b}, [a, b](const Tensor& g) {
    return Grads{needs_input_grad(0) ? bmm(g, transpose(b, 1, 2)) : Tensor(),
                 needs_input_grad(1) ? bmm(transpose(a, 1, 2), g) : Tensor()};
  });
}

}  // namespace

Tensor matmul(const Tensor& a, const Tensor& b) {
  detail::check_same("matmul", a, b);
  GANTRY_CHECK(a.dim() >= 1 && b.dim() >= 1, "matmul: both operands need at least 1 dim, got ", shape_str(a.shape()),
               " and ", shape_str(b.shape()));
  // 1-d operands: a vector on the left is a row, on the right a column; the extra dim is dropped after.
  if (a.dim() == 1 && b.dim() == 1) return reshape(matmul(unsqueeze(a, 0), unsqueeze(b, 1)), {});
  if (a.dim() == 1) return squeeze(matmul(unsqueeze(a, 0), b), -2);
  if (b.dim() == 1) return squeeze(matmul(a, unsqueeze(b, 1)), -1);
  const int64_t m = a.size(-2), k = a.size(-1), k2 = b.size(-2), n = b.size(-1);
  GANTRY_CHECK(k == k2, "matmul: inner dims differ (", shape_str(a.shape()), " @ ", shape_str(b.shape()), ": ", k,
               " vs ", k2, ")");
  Shape batch_a(a.shape().begin(), a.shape().end() - 2), batch_b(b.shape().begin(), b.shape().end() - 2);
  Shape batch = broadcast_shapes(batch_a, batch_b, "matmul");
  const int64_t nb = numel_of(batch);
  Shape sa = batch, sb = batch, out = batch;
  sa.insert(sa.end(), {m, k});
  sb.insert(sb.end(), {k, n});
  out.insert(out.end(), {m, n});
  Tensor a3 = reshape(expand(a, sa), {nb, m, k});
  Tensor b3 = reshape(expand(b, sb), {nb, k, n});
  return reshape(bmm(a3, b3), out);
}

Tensor linear(const Tensor& x, const Tensor& w, const Tensor& b) {
  detail::check_same("linear", x, w);
  GANTRY_CHECK(w.dim() == 2 && x.dim() >= 1 && x.size(-1) == w.size(1), "linear: input ", shape_str(x.shape()),
               " does not fit weight ", shape_str(w.shape()), " (expected input [..., ", w.dim() == 2 ? w.size(1) : -1,
               "])");
  Tensor y = matmul(x, transpose(w, 0, 1));
  if (!b.defined()) return y;
  GANTRY_CHECK(b.dim() == 1 && b.size(0) == w.size(0), "linear: bias ", shape_str(b.shape()), " does not fit weight ",
               shape_str(w.shape()));
  return add(y, b);
}

}  // namespace gantry
