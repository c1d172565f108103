// tests/core/test_batch_norm_grad.cpp — batch_norm's gradients beyond the registry's checks:
// batch_norm_backward_input (the op batch_norm's rule returns for dx under create_graph)
// against the composite formula written with plain ops, values and derivatives up to the
// third order, a third-order gradgradcheck, and what the penalty's grad() records.
#include <cmath>

#include "core/profile.hpp"
#include "gradcheck.hpp"

using namespace gantry;
using gantry::testing::leaf;

namespace {

// dims 0, 2, 3, ...: the values of one channel.
std::vector<int64_t> channel_dims(const Tensor& x) {
  std::vector<int64_t> d = {0};
  for (int64_t i = 2; i < x.dim(); ++i) d.push_back(i);
  return d;
}

// batch_norm's training-mode input gradient from plain ops: xhat = (x - mean) invstd,
// g' = g w, dx = invstd (g' - mean(g') - xhat mean(g' xhat)).
Tensor composite_backward_input(const Tensor& g, const Tensor& x, const Tensor& w, double eps) {
  const std::vector<int64_t> dims = channel_dims(x);
  Shape per(x.dim(), 1);
  per[1] = x.size(1);
  Tensor invstd = rsqrt(add(var(x, dims, 0, true), eps));
  Tensor xhat = mul(sub(x, mean(x, dims, true)), invstd);
  Tensor gp = w.defined() ? mul(g, reshape(w, per)) : g;
  return mul(invstd, sub(sub(gp, mean(gp, dims, true)), mul(xhat, mean(mul(gp, xhat), dims, true))));
}

double max_abs_diff(const Tensor& a, const Tensor& b) {
  REQUIRE(a.defined());
  REQUIRE(b.defined());
  REQUIRE(a.shape() == b.shape());
  return max(abs(sub(a.detach(), b.detach()))).item();
}

int64_t calls(const char* name) {
  for (const profile::Entry& e : profile::report())
    if (e.name == name) return e.calls;
  return 0;
}

}  // namespace

TEST_CASE("batch_norm_backward_input equals the composite formula, and so do its first three derivatives") {
  struct Case {
    Shape shape;
    bool weight;
    double eps;
  };
  for (const Case& c : {Case{{3, 4, 5, 2}, true, 1e-5}, Case{{2, 3, 7}, false, 1e-3}, Case{{9, 5}, true, 1e-2}}) {
    const Shape shape = c.shape;
    const bool with_weight = c.weight;
    const double eps = c.eps;
    CAPTURE(shape_str(shape));
    CAPTURE(with_weight);
    Tensor g = leaf(shape, 1), x = leaf(shape, 2, -2, 3);
    Tensor w = with_weight ? leaf({shape[1]}, 3, 0.5, 1.5) : Tensor();
    Tensor y_op = batch_norm_backward_input(g, x, w, eps), y_ref = composite_backward_input(g, x, w, eps);
    CHECK(max_abs_diff(y_op, y_ref) < 1e-12);
    // batch_norm's own dx under create_graph is the op.
    Tensor u = leaf(shape, 4);
    Tensor bn_dx = grad({batch_norm(x, {}, {}, w, {}, true, 0.0, eps)}, {x}, {g}, true, true)[0];
    CHECK(max_abs_diff(bn_dx, y_ref) < 1e-12);
    // Derivatives of <u, f(g, x, w)>, then of <v, d/dx> + <v2, d/dg>, then once more: the
    // op's rule (and its rule's rule) against autograd through the plain ops.
    std::vector<Tensor> ins = {g, x};
    if (with_weight) ins.push_back(w);
    std::vector<Tensor> d1_op = grad({sum(mul(u, y_op))}, ins, {}, true, true);
    std::vector<Tensor> d1_ref = grad({sum(mul(u, y_ref))}, ins, {}, true, true);
    for (size_t i = 0; i < ins.size(); ++i) CHECK(max_abs_diff(d1_op[i], d1_ref[i]) < 1e-11);
    Tensor v = leaf(shape, 5), v2 = leaf(shape, 6);
    auto second = [&](const std::vector<Tensor>& d1) {
      return grad({add(sum(mul(v, d1[1])), sum(mul(v2, d1[0])))}, ins, {}, true, true, true);
    };
    std::vector<Tensor> d2_op = second(d1_op), d2_ref = second(d1_ref);
    for (size_t i = 0; i < ins.size(); ++i) {
      CAPTURE(i);
      REQUIRE(d2_op[i].defined() == d2_ref[i].defined());
      if (d2_op[i].defined()) CHECK(max_abs_diff(d2_op[i], d2_ref[i]) < 1e-10);
    }
    Tensor t = leaf(shape, 7);
    std::vector<Tensor> d3_op = grad({sum(mul(t, d2_op[1]))}, ins, {}, true, false, true);
    std::vector<Tensor> d3_ref = grad({sum(mul(t, d2_ref[1]))}, ins, {}, true, false, true);
    for (size_t i = 0; i < ins.size(); ++i) {
      CAPTURE(i);
      REQUIRE(d3_op[i].defined() == d3_ref[i].defined());
      if (d3_op[i].defined()) CHECK(max_abs_diff(d3_op[i], d3_ref[i]) < 1e-9);
    }
  }
}

TEST_CASE("third order by central differences: gradgradcheck of batch_norm's create_graph input gradient") {
  // f(x, w, b, g) = d<g, batch_norm(x, w, b)>/dx with create_graph, i.e. batch_norm_backward_input;
  // gradgradcheck of f checks batch_norm's third derivatives (the op's rule, then that rule's).
  testing::Fn f = [](const std::vector<Tensor>& v) {
    GradModeGuard on(true);  // f calls grad(); gradcheck's numerical side runs it under no-grad
    Tensor y = batch_norm(v[0], {}, {}, v[1], v[2], true, 0.0, 1e-3);
    return grad({y}, {v[0]}, {v[3]}, true, true)[0];
  };
  std::vector<Tensor> xs = {leaf({3, 2, 2}, 11, -2, 2), leaf({2}, 12, 0.5, 1.5), leaf({2}, 13), leaf({3, 2, 2}, 14)};
  auto r = testing::gradcheck(f, xs);
  CHECK_MESSAGE(r.ok, r.message);
  auto rr = testing::gradgradcheck(f, xs);
  CHECK_MESSAGE(rr.ok, rr.message);
  // And of the op itself, one order up: f2 = d<u, batch_norm_backward_input(g, x, w)>/dx.
  Tensor u = leaf({3, 2, 2}, 15);
  testing::Fn f2 = [u](const std::vector<Tensor>& v) {
    GradModeGuard on(true);
    return grad({sum(mul(u, batch_norm_backward_input(v[0], v[1], v[2], 1e-3)))}, {v[1]}, {}, true, true)[0];
  };
  std::vector<Tensor> ys = {leaf({3, 2, 2}, 16), leaf({3, 2, 2}, 17, -2, 2), leaf({2}, 18, 0.5, 1.5)};
  auto r2 = testing::gradgradcheck(f2, ys);
  CHECK_MESSAGE(r2.ok, r2.message);
}

TEST_CASE("the penalty's grad() through layer_norm records batch_norm_backward_input, not the glue ops") {
  Rng gen(5);
  Tensor x = randn({4, 3, 5}, DType::f32, &gen).requires_grad_();
  Tensor lnw = ones({3, 5}).requires_grad_(), lnb = zeros({3, 5}).requires_grad_();
  Tensor u = randn({4, 3, 5}, DType::f32, &gen);
  profile::reset();
  profile::enable(true);
  Tensor g = grad({sum(mul(u, layer_norm(x, {3, 5}, lnw, lnb)))}, {x}, {}, true, true)[0];
  const int64_t fused_in_grad = calls("batch_norm_backward");
  backward({sum(mul(g, g))});
  profile::enable(false);
  CHECK(fused_in_grad == 1);  // dx is the fused kernel, as in a plain backward
  CHECK(calls("backward of batch_norm_backward_input") == 1);
  // Its plain backward: K(gg) and K(g) (two more fused calls) and xhat (one forward).
  CHECK(calls("batch_norm_backward") == 3);
  CHECK(lnw.grad().defined());
  CHECK(!lnb.grad().defined());  // d(penalty)/d(bias) does not exist: g does not depend on it
  profile::reset();
}

TEST_CASE("eval-mode batch_norm's gradients stay the composition (no batch_norm_backward_input)") {
  Tensor x = leaf({3, 2, 4}, 21), w = leaf({2}, 22, 0.5, 1.5), b = leaf({2}, 23);
  Tensor rm = tensor({0.1, -0.2}, {2}, DType::f64), rv = tensor({0.5, 2.0}, {2}, DType::f64);
  testing::Fn f = [&](const std::vector<Tensor>& v) { return batch_norm(v[0], rm, rv, v[1], v[2], false); };
  testing::check_gradients("batch_norm (eval)", f, {x, w, b});
  profile::reset();
  profile::enable(true);
  Tensor g = grad({sum(batch_norm(x, rm, rv, w, b, false))}, {x}, {}, true, true)[0];
  backward({sum(mul(g, g))});
  profile::enable(false);
  CHECK(calls("backward of batch_norm_backward_input") == 0);
  CHECK(calls("batch_norm_backward") == 0);
  profile::reset();
}
