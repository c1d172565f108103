// core/ops/common.hpp — what the op files share: argument checks and the
// elementwise forward helpers that apply a functor of kernels/elementwise_ops.hpp.
// Internal to core/ops; not part of the public API.
#pragma once
#include <array>
#include <cmath>

#include "core/ops.hpp"
#include "core/ops/backend.hpp"
#include "kernels/cpu/elementwise.hpp"
#include "kernels/elementwise_ops.hpp"

namespace gantry::detail {

inline void check_defined(const char* op, const Tensor& t, const char* what) {
  GANTRY_CHECK(t.defined(), op, ": ", what, " is an undefined tensor");
}
inline void check_floating(const char* op, const Tensor& t) {
  check_defined(op, t, "input");
  GANTRY_CHECK(is_floating(t.dtype()), op, ": expected a floating-point tensor, got ", dtype_name(t.dtype()),
               " of shape ", shape_str(t.shape()));
}
inline void check_same(const char* op, const Tensor& a, const Tensor& b) {
  check_floating(op, a);
  check_floating(op, b);
  GANTRY_CHECK(a.dtype() == b.dtype(), op, ": dtypes differ (", dtype_name(a.dtype()), " ", shape_str(a.shape()),
               " vs ", dtype_name(b.dtype()), " ", shape_str(b.shape()), ")");
  GANTRY_CHECK(a.device() == b.device(), op, ": devices differ (", a.device().str(), " vs ", b.device().str(), ")");
}
inline void check_dim(const char* op, const Tensor& t, int64_t nd, const char* what) {
  GANTRY_CHECK(t.dim() == nd, op, ": ", what, " must have ", nd, " dims, got shape ", shape_str(t.shape()));
}

// t's layout seen through the broadcast to `out` (dims aligned right; broadcast dims stride 0).
inline kernels::StridedShape strided(const Tensor& t, const Shape& out) {
  GANTRY_CHECK(out.size() <= (size_t)kernels::kMaxDims, "gantry supports at most ", kernels::kMaxDims, " dims, got ",
               shape_str(out));
  kernels::StridedShape s;
  s.ndim = (int)out.size();
  const size_t lead = out.size() - t.shape().size();
  for (size_t d = 0; d < out.size(); ++d) {
    s.sizes[d] = out[d];
    if (d < lead) continue;
    const int64_t sz = t.shape()[d - lead];
    s.strides[d] = (sz == 1 && out[d] != 1) ? 0 : t.strides()[d - lead];
  }
  return s;
}

// The device side of the elementwise helpers below (core/ops/cuda_dispatch.cpp), for
// each functor F = Op<float> of kernels/elementwise_ops.hpp.
template <class F>
void cuda_unary(const Tensor& y, const Tensor& x, F f);
template <class F>
void cuda_binary(const Tensor& y, const Tensor& a, const Tensor& b, F f);
void cuda_where(const Tensor& y, const Tensor& c, const Tensor& a, const Tensor& b);

// The elementwise ops' one dispatch: y = Op(x) elementwise into y (y may be x), Op a
// functor template of kernels/elementwise_ops.hpp built from `params` cast to the
// element type: Op<T> inlined into the cpu loop, Op<float> to the cuda kernel.
template <template <class> class Op, class... P>
void unary_apply(const char* op, const Tensor& y, const Tensor& x, P... params) {
  profile::Scope scope(op);
  if (x.device().is_cpu()) {
    dispatch_floating(x.dtype(), op, [&](auto tag) {
      using T = decltype(tag);
      kernels::cpu::map_strided<T, T, 1>(y.data<T>(), {x.data<T>()}, {strided(x, y.shape())},
                                         Op<T>{static_cast<T>(params)...});
    });
  } else {
    cuda_unary(y, x, Op<float>{static_cast<float>(params)...});
  }
}

// y = Op(x) elementwise, a new tensor in x's dtype.
template <template <class> class Op, class... P>
Tensor unary_forward(const char* op, const Tensor& x, P... params) {
  check_floating(op, x);
  Tensor y = empty(x.shape(), x.dtype(), x.device());
  unary_apply<Op>(op, y, x, params...);
  return y;
}

// y = Op(a, b) elementwise with broadcasting, in a's dtype.
template <template <class> class Op, class... P>
Tensor binary_forward(const char* op, const Tensor& a, const Tensor& b, P... params) {
  check_same(op, a, b);
  Shape out = broadcast_shapes(a.shape(), b.shape(), op);
  Tensor y = empty(out, a.dtype(), a.device());
  profile::Scope scope(op);
  if (a.device().is_cpu()) {
    dispatch_floating(a.dtype(), op, [&](auto tag) {
      using T = decltype(tag);
      kernels::cpu::map_strided<T, T, 2>(y.data<T>(), {a.data<T>(), b.data<T>()}, {strided(a, out), strided(b, out)},
                                         Op<T>{static_cast<T>(params)...});
    });
  } else {
    cuda_binary(y, a, b, Op<float>{static_cast<float>(params)...});
  }
  return y;
}

// y = where(c, a, b) elementwise with broadcasting, in a's dtype (c in a's dtype too).
inline Tensor where_forward(const char* op, const Tensor& c, const Tensor& a, const Tensor& b) {
  check_same(op, c, a);
  check_same(op, a, b);
  Shape out = broadcast_shapes(broadcast_shapes(c.shape(), a.shape(), op), b.shape(), op);
  Tensor y = empty(out, a.dtype(), a.device());
  profile::Scope scope(op);
  if (a.device().is_cpu()) {
    dispatch_floating(a.dtype(), op, [&](auto tag) {
      using T = decltype(tag);
      kernels::cpu::map_strided<T, T, 3>(y.data<T>(), {c.data<T>(), a.data<T>(), b.data<T>()},
                                         {strided(c, out), strided(a, out), strided(b, out)},
                                         kernels::elementwise::Where<T>{});
    });
  } else {
    cuda_where(y, c, a, b);
  }
  return y;
}

// The *_act ops (batch_norm_act, layer_norm_act, conv2d_act): their slope is finite and >= 0
// (the backward reads the activation's mask from the output), and where they compose, the
// activation as an op: relu for slope 0, leaky_relu otherwise.
inline void check_act_slope(const char* op, double slope) {
  GANTRY_CHECK(slope >= 0 && std::isfinite(slope), op, ": slope must be finite and >= 0, got ", slope);
}
inline Tensor activation(const Tensor& y, double slope) { return slope == 0 ? relu(y) : leaky_relu(y, slope); }

// dims -> sorted, wrapped, unique; empty means all dims.
std::vector<int64_t> normalize_dims(const std::vector<int64_t>& dims, int64_t ndim, const char* op);

}  // namespace gantry::detail
