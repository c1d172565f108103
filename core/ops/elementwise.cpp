// core/ops/elementwise.cpp — elementwise math and activations, each with its
// derivative rule written in differentiable ops (so it can be differentiated again).
//
// Broadcasting backward: an input that was broadcast up to the output's shape
// gets sum_to(grad, its shape).
#include <cmath>

#include "core/ops/common.hpp"

namespace gantry {

using detail::binary_forward;
using detail::ternary_forward;
using detail::unary_forward;

namespace {
// A constant (no-grad) tensor: masks in rules are constants of the derivative.
Tensor constant(const Tensor& t) { return t.detach(); }
}  // namespace

// ---- binary arithmetic -----------------------------------------------------------

Tensor add(const Tensor& a, const Tensor& b) {
  Tensor y = binary_forward("add", a, b, kernels::BinarySpec{kernels::BinaryOp::add}, [](auto u, auto v) { return u + v; });
  return record("add", y, {a, b}, [sa = a.shape(), sb = b.shape()](const Tensor& g) {
    return Grads{sum_to(g, sa), sum_to(g, sb)};
  });
}

Tensor sub(const Tensor& a, const Tensor& b) {
  Tensor y = binary_forward("sub", a, b, kernels::BinarySpec{kernels::BinaryOp::sub}, [](auto u, auto v) { return u - v; });
  return record("sub", y, {a, b}, [sa = a.shape(), sb = b.shape()](const Tensor& g) {
    return Grads{sum_to(g, sa), sum_to(neg(g), sb)};
  });
}

Tensor mul(const Tensor& a, const Tensor& b) {
  Tensor y = binary_forward("mul", a, b, kernels::BinarySpec{kernels::BinaryOp::mul}, [](auto u, auto v) { return u * v; });
  return record("mul", y, {a, b}, [a, b](const Tensor& g) {
    return Grads{a.requires_grad() ? sum_to(mul(g, b), a.shape()) : Tensor(),
                 b.requires_grad() ? sum_to(mul(g, a), b.shape()) : Tensor()};
  });
}

Tensor div(const Tensor& a, const Tensor& b) {
  Tensor y = binary_forward("div", a, b, kernels::BinarySpec{kernels::BinaryOp::div}, [](auto u, auto v) { return u / v; });
  // d(a/b)/da = 1/b, d(a/b)/db = -a/b^2
  return record("div", y, {a, b}, [a, b](const Tensor& g) {
    return Grads{a.requires_grad() ? sum_to(div(g, b), a.shape()) : Tensor(),
                 b.requires_grad() ? sum_to(neg(div(mul(g, a), mul(b, b))), b.shape()) : Tensor()};
  });
}

// minimum/maximum: the gradient goes to the chosen operand, split evenly on ties.
namespace {
Tensor min_max(const char* op, const Tensor& a, const Tensor& b, bool is_max) {
  Tensor y = is_max ? binary_forward(op, a, b, kernels::BinarySpec{kernels::BinaryOp::maximum},
                                    [](auto u, auto v) { return u >= v ? u : v; })
                    : binary_forward(op, a, b, kernels::BinarySpec{kernels::BinaryOp::minimum},
                                    [](auto u, auto v) { return u <= v ? u : v; });
  return record(op, y, {a, b}, [a, b, is_max](const Tensor& g) {
    Tensor pick_a = constant(add(is_max ? gt(a, b) : lt(a, b), mul(eq(a, b), 0.5)));
    return Grads{sum_to(mul(g, pick_a), a.shape()), sum_to(mul(g, add(neg(pick_a), 1.0)), b.shape())};
  });
}
}  // namespace
Tensor minimum(const Tensor& a, const Tensor& b) { return min_max("minimum", a, b, false); }
Tensor maximum(const Tensor& a, const Tensor& b) { return min_max("maximum", a, b, true); }

// ---- with a scalar ------------------------------------------------------------------

Tensor add(const Tensor& a, double s) {
  Tensor y = unary_forward("add", a, kernels::UnarySpec{kernels::UnaryOp::add_scalar, (float)s}, [s](auto u) { return u + static_cast<decltype(u)>(s); });
  return record("add_scalar", y, {a}, [](const Tensor& g) { return Grads{g}; });
}

Tensor mul(const Tensor& a, double s) {
  Tensor y = unary_forward("mul", a, kernels::UnarySpec{kernels::UnaryOp::mul_scalar, (float)s}, [s](auto u) { return u * static_cast<decltype(u)>(s); });
  return record("mul_scalar", y, {a}, [s](const Tensor& g) { return Grads{mul(g, s)}; });
}

// ---- unary math ------------------------------------------------------------------

Tensor neg(const Tensor& x) {
  Tensor y = unary_forward("neg", x, kernels::UnarySpec{kernels::UnaryOp::neg}, [](auto u) { return -u; });
  return record("neg", y, {x}, [](const Tensor& g) { return Grads{neg(g)}; });
}

Tensor pow(const Tensor& x, double p) {
  Tensor y = unary_forward("pow", x, kernels::UnarySpec{kernels::UnaryOp::pow_scalar, (float)p}, [p](auto u) {
    using T = decltype(u);
    return p == 2 ? u * u : p == 1 ? u : std::pow(u, static_cast<T>(p));
  });
  return record("pow", y, {x}, [x, p](const Tensor& g) {
    if (p == 0) return Grads{mul(g, 0.0)};
    return Grads{mul(mul(g, pow(x, p - 1)), p)};
  });
}

Tensor sqrt(const Tensor& x) {
  Tensor y = unary_forward("sqrt", x, kernels::UnarySpec{kernels::UnaryOp::sqrt}, [](auto u) { return std::sqrt(u); });
  return record("sqrt", y, {x}, [x](const Tensor& g) { return Grads{mul(mul(g, rsqrt(x)), 0.5)}; });
}

Tensor rsqrt(const Tensor& x) {
  Tensor y = unary_forward("rsqrt", x, kernels::UnarySpec{kernels::UnaryOp::rsqrt}, [](auto u) { return decltype(u)(1) / std::sqrt(u); });
  // d x^{-1/2} = -1/2 x^{-3/2}
  return record("rsqrt", y, {x}, [x](const Tensor& g) { return Grads{mul(mul(g, pow(x, -1.5)), -0.5)}; });
}

Tensor exp(const Tensor& x) {
  Tensor y = unary_forward("exp", x, kernels::UnarySpec{kernels::UnaryOp::exp}, [](auto u) { return std::exp(u); });
  return record("exp", y, {x}, [x](const Tensor& g) { return Grads{mul(g, exp(x))}; });
}

Tensor log(const Tensor& x) {
  Tensor y = unary_forward("log", x, kernels::UnarySpec{kernels::UnaryOp::log}, [](auto u) { return std::log(u); });
  return record("log", y, {x}, [x](const Tensor& g) { return Grads{div(g, x)}; });
}

Tensor sign(const Tensor& x) {
  return unary_forward("sign", x, kernels::UnarySpec{kernels::UnaryOp::sign}, [](auto u) { return decltype(u)((u > 0) - (u < 0)); });
}

Tensor abs(const Tensor& x) {
  Tensor y = unary_forward("abs", x, kernels::UnarySpec{kernels::UnaryOp::abs}, [](auto u) { return std::abs(u); });
  return record("abs", y, {x}, [x](const Tensor& g) { return Grads{mul(g, sign(x))}; });
}

Tensor clamp(const Tensor& x, std::optional<double> lo, std::optional<double> hi) {
  GANTRY_CHECK(!lo || !hi || *lo <= *hi, "clamp: min ", *lo, " is greater than max ", *hi);
  const double l = lo.value_or(-INFINITY), h = hi.value_or(INFINITY);
  Tensor y = unary_forward("clamp", x, kernels::UnarySpec{kernels::UnaryOp::clamp, (float)l, (float)h}, [l, h](auto u) {
    using T = decltype(u);
    return u < T(l) ? T(l) : u > T(h) ? T(h) : u;
  });
  return record("clamp", y, {x}, [x, l, h](const Tensor& g) {
    Tensor inside = unary_forward("clamp", x, kernels::UnarySpec{kernels::UnaryOp::inside, (float)l, (float)h}, [l, h](auto u) { return decltype(u)(u >= l && u <= h); });
    return Grads{mul(g, inside)};
  });
}

void clamp_(const Tensor& dst, double lo, double hi) {
  GANTRY_CHECK(lo <= hi, "clamp_: min ", lo, " is greater than max ", hi);
  GANTRY_CHECK(!GradMode::enabled() || !dst.requires_grad(),
               "clamp_: in-place write to a tensor that requires grad; do it under NoGradGuard");
  GANTRY_CHECK(dst.is_contiguous(), "clamp_: the tensor ", shape_str(dst.shape()), " must be contiguous");
  detail::check_floating("clamp_", dst);
  if (dst.device().is_cuda()) {  // each element reads and writes only itself, so in place is safe
    detail::cuda_unary(dst, dst, kernels::UnarySpec{kernels::UnaryOp::clamp, (float)lo, (float)hi});
    return;
  }
  dispatch_floating(dst.dtype(), "clamp_", [&](auto tag) {
    using T = decltype(tag);
    T* p = dst.data<T>();
    kernels::cpu::map_dense(p, p, dst.numel(), [lo, hi](T u) { return u < T(lo) ? T(lo) : u > T(hi) ? T(hi) : u; });
  });
}

Tensor where(const Tensor& cond, const Tensor& a, const Tensor& b) {
  detail::check_defined("where", cond, "condition");
  Tensor c = cond.dtype() == a.dtype() ? cond.detach() : to_dtype(cond.detach(), a.dtype());
  Tensor y = ternary_forward("where", c, a, b, [](auto k, auto u, auto v) { return k != 0 ? u : v; });
  return record("where", y, {c, a, b}, [c, sa = a.shape(), sb = b.shape()](const Tensor& g) {
    Tensor zero = zeros({}, g.dtype(), g.device());
    return Grads{Tensor(), sum_to(where(c, g, zero), sa), sum_to(where(c, zero, g), sb)};
  });
}

// ---- comparisons: 1/0 in a's dtype, no gradient -----------------------------------

#define GANTRY_COMPARISON(name, expr)                                             \
  Tensor name(const Tensor& a, const Tensor& b) {                                 \
    return binary_forward(#name, a, b, kernels::BinarySpec{kernels::BinaryOp::name}, \
                          [](auto u, auto v) { return decltype(u)(expr); });        \
  }
GANTRY_COMPARISON(eq, u == v)
GANTRY_COMPARISON(ne, u != v)
GANTRY_COMPARISON(lt, u < v)
GANTRY_COMPARISON(le, u <= v)
GANTRY_COMPARISON(gt, u > v)
GANTRY_COMPARISON(ge, u >= v)
#undef GANTRY_COMPARISON
Tensor gt(const Tensor& a, double s) {
  return unary_forward("gt", a, kernels::UnarySpec{kernels::UnaryOp::gt_scalar, (float)s}, [s](auto u) { return decltype(u)(u > s); });
}

// ---- activations -------------------------------------------------------------------

Tensor leaky_relu_backward(const Tensor& g, const Tensor& x, double slope) {
  Tensor y = binary_forward("leaky_relu_backward", g, x, kernels::BinarySpec{kernels::BinaryOp::leaky_relu_backward, (float)slope}, [slope](auto gv, auto xv) {
    return xv > 0 ? gv : gv * static_cast<decltype(gv)>(slope);
  });
  // Linear in g; piecewise constant in x, so x gets no gradient (zero almost everywhere).
  return record("leaky_relu_backward", y, {g, x}, [x, slope](const Tensor& gg) {
    return Grads{leaky_relu_backward(gg, x, slope), Tensor()};
  });
}

Tensor leaky_relu(const Tensor& x, double slope) {
  Tensor y = unary_forward("leaky_relu", x, kernels::UnarySpec{kernels::UnaryOp::leaky_relu, (float)slope}, [slope](auto u) { return u > 0 ? u : u * decltype(u)(slope); });
  return record("leaky_relu", y, {x}, [x, slope](const Tensor& g) {
    return Grads{leaky_relu_backward(g, x, slope)};
  });
}

Tensor relu(const Tensor& x) {
  Tensor y = unary_forward("relu", x, kernels::UnarySpec{kernels::UnaryOp::relu}, [](auto u) { return u > 0 ? u : decltype(u)(0); });
  return record("relu", y, {x}, [x](const Tensor& g) { return Grads{leaky_relu_backward(g, x, 0.0)}; });
}

Tensor sigmoid(const Tensor& x) {
  Tensor y = unary_forward("sigmoid", x, kernels::UnarySpec{kernels::UnaryOp::sigmoid}, [](auto u) {
    using T = decltype(u);
    return u >= 0 ? T(1) / (T(1) + std::exp(-u)) : std::exp(u) / (T(1) + std::exp(u));
  });
  // s' = s (1 - s)
  return record("sigmoid", y, {x}, [x](const Tensor& g) {
    Tensor s = sigmoid(x);
    return Grads{mul(g, mul(s, add(neg(s), 1.0)))};
  });
}

Tensor tanh(const Tensor& x) {
  Tensor y = unary_forward("tanh", x, kernels::UnarySpec{kernels::UnaryOp::tanh}, [](auto u) { return std::tanh(u); });
  // tanh' = 1 - tanh^2
  return record("tanh", y, {x}, [x](const Tensor& g) {
    Tensor t = tanh(x);
    return Grads{mul(g, add(neg(mul(t, t)), 1.0))};
  });
}

Tensor softplus(const Tensor& x) {
  // log(1 + e^x) = max(x, 0) + log1p(e^{-|x|}): no overflow for large |x|.
  Tensor y = unary_forward("softplus", x, kernels::UnarySpec{kernels::UnaryOp::softplus}, [](auto u) { return std::max(u, decltype(u)(0)) + std::log1p(std::exp(-std::abs(u))); });
  return record("softplus", y, {x}, [x](const Tensor& g) { return Grads{mul(g, sigmoid(x))}; });
}

}  // namespace gantry
