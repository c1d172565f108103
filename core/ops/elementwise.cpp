// core/ops/elementwise.cpp — elementwise math and activations: the forward is a functor
// of kernels/elementwise_ops.hpp (one formula for the cpu and cuda), and each op has
// its derivative rule written in differentiable ops (so it can be differentiated again).
//
// Broadcasting backward: an input that was broadcast up to the output's shape
// gets sum_to(grad, its shape). The binary ops compute an input's gradient only when the
// engine uses it (needs_input_grad).
#include <cmath>

#include "core/ops/common.hpp"

namespace gantry {

using detail::binary_forward;
using detail::unary_forward;
namespace ew = kernels::elementwise;  // the functors: the math, shared with the CUDA kernels

namespace {
// A constant (no-grad) tensor: masks in rules are constants of the derivative.
Tensor constant(const Tensor& t) { return t.detach(); }
}  // namespace

// ---- binary arithmetic -----------------------------------------------------------

Tensor add(const Tensor& a, const Tensor& b) {
  Tensor y = binary_forward<ew::Add>("add", a, b);
  return record("add", y, {a, b}, [sa = a.shape(), sb = b.shape()](const Tensor& g) {
    return Grads{needs_input_grad(0) ? sum_to(g, sa) : Tensor(), needs_input_grad(1) ? sum_to(g, sb) : Tensor()};
  });
}

Tensor sub(const Tensor& a, const Tensor& b) {
  Tensor y = binary_forward<ew::Sub>("sub", a, b);
  return record("sub", y, {a, b}, [sa = a.shape(), sb = b.shape()](const Tensor& g) {
    return Grads{needs_input_grad(0) ? sum_to(g, sa) : Tensor(), needs_input_grad(1) ? sum_to(neg(g), sb) : Tensor()};
  });
}

Tensor mul(const Tensor& a, const Tensor& b) {
  Tensor y = binary_forward<ew::Mul>("mul", a, b);
  return record("mul", y, {a, b}, [a, b](const Tensor& g) {
    return Grads{needs_input_grad(0) ? sum_to(mul(g, b), a.shape()) : Tensor(),
                 needs_input_grad(1) ? sum_to(mul(g, a), b.shape()) : Tensor()};
  });
}

Tensor div(const Tensor& a, const Tensor& b) {
  Tensor y = binary_forward<ew::Div>("div", a, b);
  // d(a/b)/da = 1/b, d(a/b)/db = -a/b^2
  return record("div", y, {a, b}, [a, b](const Tensor& g) {
    return Grads{needs_input_grad(0) ? sum_to(div(g, b), a.shape()) : Tensor(),
                 needs_input_grad(1) ? sum_to(neg(div(mul(g, a), mul(b, b))), b.shape()) : Tensor()};
  });
}

// minimum/maximum: the gradient goes to the chosen operand, split evenly on ties.
namespace {
Tensor min_max(const char* op, const Tensor& a, const Tensor& b, bool is_max) {
  Tensor y = is_max ? binary_forward<ew::Maximum>(op, a, b) : binary_forward<ew::Minimum>(op, a, b);
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
  Tensor y = unary_forward<ew::AddScalar>("add", a, s);
  return record("add_scalar", y, {a}, [](const Tensor& g) { return Grads{g}; });
}

Tensor mul(const Tensor& a, double s) {
  Tensor y = unary_forward<ew::MulScalar>("mul", a, s);
  return record("mul_scalar", y, {a}, [s](const Tensor& g) { return Grads{mul(g, s)}; });
}

// ---- unary math ------------------------------------------------------------------

Tensor neg(const Tensor& x) {
  Tensor y = unary_forward<ew::Neg>("neg", x);
  return record("neg", y, {x}, [](const Tensor& g) { return Grads{neg(g)}; });
}

Tensor pow(const Tensor& x, double p) {
  Tensor y = unary_forward<ew::PowScalar>("pow", x, p);
  return record("pow", y, {x}, [x, p](const Tensor& g) {
    if (p == 0) return Grads{mul(g, 0.0)};
    return Grads{mul(mul(g, pow(x, p - 1)), p)};
  });
}

Tensor sqrt(const Tensor& x) {
  Tensor y = unary_forward<ew::Sqrt>("sqrt", x);
  return record("sqrt", y, {x}, [x](const Tensor& g) { return Grads{mul(mul(g, rsqrt(x)), 0.5)}; });
}

Tensor rsqrt(const Tensor& x) {
  Tensor y = unary_forward<ew::Rsqrt>("rsqrt", x);
  // d x^{-1/2} = -1/2 x^{-3/2}
  return record("rsqrt", y, {x}, [x](const Tensor& g) { return Grads{mul(mul(g, pow(x, -1.5)), -0.5)}; });
}

Tensor exp(const Tensor& x) {
  Tensor y = unary_forward<ew::Exp>("exp", x);
  return record("exp", y, {x}, [x](const Tensor& g) { return Grads{mul(g, exp(x))}; });
}

Tensor log(const Tensor& x) {
  Tensor y = unary_forward<ew::Log>("log", x);
  return record("log", y, {x}, [x](const Tensor& g) { return Grads{div(g, x)}; });
}

Tensor sign(const Tensor& x) { return unary_forward<ew::Sign>("sign", x); }

Tensor abs(const Tensor& x) {
  Tensor y = unary_forward<ew::Abs>("abs", x);
  return record("abs", y, {x}, [x](const Tensor& g) { return Grads{mul(g, sign(x))}; });
}

Tensor clamp(const Tensor& x, std::optional<double> lo, std::optional<double> hi) {
  GANTRY_CHECK(!lo || !hi || *lo <= *hi, "clamp: min ", *lo, " is greater than max ", *hi);
  const double l = lo.value_or(-INFINITY), h = hi.value_or(INFINITY);
  Tensor y = unary_forward<ew::Clamp>("clamp", x, l, h);
  return record("clamp", y, {x}, [x, l, h](const Tensor& g) {
    Tensor inside = unary_forward<ew::Inside>("clamp", x, l, h);
    return Grads{mul(g, inside)};
  });
}

void clamp_(const Tensor& dst, double lo, double hi) {
  GANTRY_CHECK(lo <= hi, "clamp_: min ", lo, " is greater than max ", hi);
  GANTRY_CHECK(!GradMode::enabled() || !dst.requires_grad(),
               "clamp_: in-place write to a tensor that requires grad; do it under NoGradGuard");
  GANTRY_CHECK(dst.is_contiguous(), "clamp_: the tensor ", shape_str(dst.shape()), " must be contiguous");
  detail::check_floating("clamp_", dst);
  // Each element reads and writes only itself, so in place is safe.
  detail::unary_apply<ew::Clamp>("clamp_", dst, dst, lo, hi);
}

Tensor where(const Tensor& cond, const Tensor& a, const Tensor& b) {
  detail::check_defined("where", cond, "condition");
  Tensor c = cond.dtype() == a.dtype() ? cond.detach() : to_dtype(cond.detach(), a.dtype());
  Tensor y = detail::where_forward("where", c, a, b);
  return record("where", y, {c, a, b}, [c, sa = a.shape(), sb = b.shape()](const Tensor& g) {
    Tensor zero = zeros({}, g.dtype(), g.device());
    return Grads{Tensor(), sum_to(where(c, g, zero), sa), sum_to(where(c, zero, g), sb)};
  });
}

// ---- comparisons: 1/0 in a's dtype, no gradient -----------------------------------

Tensor eq(const Tensor& a, const Tensor& b) { return binary_forward<ew::Eq>("eq", a, b); }
Tensor ne(const Tensor& a, const Tensor& b) { return binary_forward<ew::Ne>("ne", a, b); }
Tensor lt(const Tensor& a, const Tensor& b) { return binary_forward<ew::Lt>("lt", a, b); }
Tensor le(const Tensor& a, const Tensor& b) { return binary_forward<ew::Le>("le", a, b); }
Tensor gt(const Tensor& a, const Tensor& b) { return binary_forward<ew::Gt>("gt", a, b); }
Tensor ge(const Tensor& a, const Tensor& b) { return binary_forward<ew::Ge>("ge", a, b); }
Tensor gt(const Tensor& a, double s) { return unary_forward<ew::GtScalar>("gt", a, s); }

// ---- activations -------------------------------------------------------------------

Tensor leaky_relu_backward(const Tensor& g, const Tensor& x, double slope) {
  Tensor y = binary_forward<ew::LeakyReluBackward>("leaky_relu_backward", g, x, slope);
  // Linear in g; piecewise constant in x, so x gets no gradient (zero almost everywhere).
  return record("leaky_relu_backward", y, {g, x}, [x, slope](const Tensor& gg) {
    return Grads{leaky_relu_backward(gg, x, slope), Tensor()};
  });
}

Tensor leaky_relu(const Tensor& x, double slope) {
  Tensor y = unary_forward<ew::LeakyRelu>("leaky_relu", x, slope);
  return record("leaky_relu", y, {x}, [x, slope](const Tensor& g) { return Grads{leaky_relu_backward(g, x, slope)}; });
}

Tensor relu(const Tensor& x) {
  Tensor y = unary_forward<ew::Relu>("relu", x);
  return record("relu", y, {x}, [x](const Tensor& g) { return Grads{leaky_relu_backward(g, x, 0.0)}; });
}

Tensor sigmoid(const Tensor& x) {
  Tensor y = unary_forward<ew::Sigmoid>("sigmoid", x);
  // s' = s (1 - s)
  return record("sigmoid", y, {x}, [x](const Tensor& g) {
    Tensor s = sigmoid(x);
    return Grads{mul(g, mul(s, add(neg(s), 1.0)))};
  });
}

Tensor tanh(const Tensor& x) {
  Tensor y = unary_forward<ew::Tanh>("tanh", x);
  // tanh' = 1 - tanh^2
  return record("tanh", y, {x}, [x](const Tensor& g) {
    Tensor t = tanh(x);
    return Grads{mul(g, add(neg(mul(t, t)), 1.0))};
  });
}

Tensor softplus(const Tensor& x) {
  Tensor y = unary_forward<ew::Softplus>("softplus", x);  // max(x, 0) + log1p(e^{-|x|})
  return record("softplus", y, {x}, [x](const Tensor& g) { return Grads{mul(g, sigmoid(x))}; });
}

}  // namespace gantry
