// Autograd semantics: accumulation, detach, no-grad, retain_graph, diamonds,
// hand-derived higher-order gradients, and the errors the engine raises.
#include <cmath>

#include "core/profile.hpp"
#include "gradcheck.hpp"
#include "test_util.hpp"

using namespace gantry;
using gantry::testing::error_of;
using gantry::testing::leaf;

TEST_CASE("backward accumulates into .grad across calls") {
  Tensor x = tensor({1, 2, 3}, {3}, DType::f64).requires_grad_();
  Tensor y = sum(mul(x, x));
  y.backward({}, true);
  CHECK(x.grad().to_vector<double>() == std::vector<double>{2, 4, 6});
  y.backward();
  CHECK(x.grad().to_vector<double>() == std::vector<double>{4, 8, 12});
  CHECK_FALSE(x.grad().requires_grad());
}

TEST_CASE("a freed graph cannot be walked twice") {
  Tensor x = tensor({1, 2}, {2}, DType::f64).requires_grad_();
  Tensor y = sum(exp(x));
  y.backward();
  std::string msg = error_of([&] { y.backward(); });
  CHECK(msg.find("second time") != std::string::npos);
  CHECK(msg.find("retain_graph") != std::string::npos);
}

TEST_CASE("detach and no-grad cut the graph") {
  Tensor x = tensor({1, 2}, {2}).requires_grad_();
  Tensor d = mul(x.detach(), 3.0);
  CHECK_FALSE(d.requires_grad());
  CHECK(d.grad_fn() == nullptr);
  {
    NoGradGuard off;
    Tensor z = mul(x, x);
    CHECK_FALSE(z.requires_grad());
  }
  CHECK(mul(x, x).requires_grad());
  // a detached tensor shares storage with its source
  d = x.detach();
  d.data<float>()[0] = 42;
  CHECK(x.to_vector<float>()[0] == 42);
}

TEST_CASE("diamond graph sums both paths") {
  Tensor x = tensor({0.5, -1.5, 2}, {3}, DType::f64).requires_grad_();
  Tensor a = mul(x, 2.0), b = mul(x, 3.0);
  Tensor c = sum(mul(a, b));  // 6 x^2 -> 12 x
  std::vector<Tensor> g = grad({c}, {x});
  std::vector<double> want = {6, -18, 24};
  CHECK(g[0].to_vector<double>() == want);
  CHECK_FALSE(x.grad().defined());  // grad() leaves .grad alone
}

TEST_CASE("second and third derivative of x^3 by hand") {
  Tensor x = tensor({-2, 0.5, 3}, {3}, DType::f64).requires_grad_();
  Tensor y = sum(mul(mul(x, x), x));
  Tensor g1 = grad({y}, {x}, {}, {}, true)[0];        // 3x^2
  Tensor g2 = grad({sum(g1)}, {x}, {}, {}, true)[0];  // 6x
  Tensor g3 = grad({sum(g2)}, {x})[0];                // 6
  auto v1 = g1.to_vector<double>(), v2 = g2.to_vector<double>(), v3 = g3.to_vector<double>();
  std::vector<double> xs = {-2, 0.5, 3};
  for (int i = 0; i < 3; ++i) {
    CHECK(v1[i] == doctest::Approx(3 * xs[i] * xs[i]));
    CHECK(v2[i] == doctest::Approx(6 * xs[i]));
    CHECK(v3[i] == doctest::Approx(6));
  }
}

// f(w) = || d/dx <v, leaky_relu(conv2d(x, w))> ||^2 — the shape of a gradient penalty.
// Its gradient in w needs conv2d's, conv_transpose2d's and leaky_relu_backward's rules;
// compare with central differences on w.
TEST_CASE("gradient of a gradient norm through conv2d and leaky_relu matches finite differences") {
  Rng gen(7);
  Tensor x = randn({2, 2, 5, 5}, DType::f64, &gen).requires_grad_();
  Tensor w = randn({3, 2, 3, 3}, DType::f64, &gen).requires_grad_();
  Tensor v = randn({2, 3, 3, 3}, DType::f64, &gen);
  auto penalty = [&](const Tensor& weights) {
    Tensor out = leaky_relu(conv2d(x, weights, {}, Conv2dOptions::square(1, 0)), 0.2);
    Tensor gx = grad({sum(mul(out, v))}, {x}, {}, {}, true)[0];
    return sum(mul(gx, gx));
  };
  Tensor analytic = grad({penalty(w)}, {w})[0];
  std::vector<double> a = analytic.to_vector<double>();
  double* p = w.data<double>();
  const double eps = 1e-6;
  for (int64_t k = 0; k < w.numel(); ++k) {
    const double keep = p[k];
    p[k] = keep + eps;
    const double up = penalty(w).item();
    p[k] = keep - eps;
    const double down = penalty(w).item();
    p[k] = keep;
    CHECK(a[k] == doctest::Approx((up - down) / (2 * eps)).epsilon(1e-5));
  }
}

TEST_CASE("create_graph keeps .grad differentiable; retain_graph defaults to it") {
  Tensor x = tensor({2}, {1}, DType::f64).requires_grad_();
  Tensor y = sum(pow(x, 3.0));
  y.backward({}, {}, true);
  Tensor g = x.grad();
  CHECK(g.requires_grad());
  Tensor gg = grad({sum(g)}, {x})[0];
  CHECK(gg.item() == doctest::Approx(12.0));
  y.backward({}, false, false);  // graph was retained by create_graph
}

TEST_CASE("engine errors name what is wrong") {
  Tensor x = tensor({1, 2}, {2}).requires_grad_();
  Tensor y = mul(x, 2.0);
  CHECK(error_of([&] { y.backward(); }).find("only for one-element outputs") != std::string::npos);
  CHECK(error_of([&] { y.backward(); }).find("[2]") != std::string::npos);
  Tensor c = tensor({1, 2}, {2});
  CHECK(error_of([&] { grad({sum(y)}, {c}); }).find("does not require grad") != std::string::npos);
  Tensor unused = tensor({1}, {1}).requires_grad_();
  CHECK(error_of([&] { grad({sum(mul(x, 2.0))}, {unused}); }).find("not used") != std::string::npos);
  CHECK_FALSE(grad({sum(mul(x, 2.0))}, {unused}, {}, {}, false, true)[0].defined());
  CHECK(error_of([&] { sum(c).backward(); }).find("does not require grad") != std::string::npos);
  CHECK(error_of([&] { y.backward(ones({3})); }).find("has shape [3]") != std::string::npos);
  CHECK(error_of([&] { mul(x, 2.0).requires_grad_(); }).find("only leaf tensors") != std::string::npos);
}

TEST_CASE("grad() runs only the rules on a path to its inputs") {
  // d/dx of sum(x * w): w's branch must not run, so w's node keeps its rule and a
  // later backward through it still works without retain_graph.
  Tensor x = tensor({1, 2}, {2}, DType::f64).requires_grad_();
  Tensor w = tensor({3, 4}, {2}, DType::f64).requires_grad_();
  Tensor wexp = exp(w);
  Tensor y = sum(mul(x, wexp));
  Tensor gx = grad({y}, {x}, {}, true)[0];
  CHECK(gx.to_vector<double>()[0] == doctest::Approx(std::exp(3.0)));
  CHECK(wexp.grad_fn()->rule != nullptr);
  CHECK_FALSE(w.grad().defined());
}

TEST_CASE("needs_input_grad: a rule learns which of its gradients the engine uses") {
  // probe(a, b, c) = a + b + c, its rule logging needs_input_grad per input.
  std::vector<std::vector<bool>> seen;
  auto probe = [&](const Tensor& a, const Tensor& b, const Tensor& c) {
    Tensor y;
    {
      NoGradGuard off;
      y = add(add(a, b), c);
    }
    return record("probe", y, {a, b, c}, [&seen](const Tensor& g) {
      seen.push_back({needs_input_grad(0), needs_input_grad(1), needs_input_grad(2)});
      return Grads{g, g, g};
    });
  };
  Tensor x = tensor({1, 2}, {2}, DType::f64).requires_grad_();
  Tensor w = tensor({3, 4}, {2}, DType::f64).requires_grad_();
  Tensor c = tensor({5, 6}, {2}, DType::f64);  // needs no gradient
  CHECK(needs_input_grad(0));                  // outside a rule: true
  sum(probe(x, w, c)).backward();
  REQUIRE(seen.size() == 1);
  CHECK(seen[0] == std::vector<bool>{true, true, false});
  grad({sum(probe(x, w, c))}, {x});  // w's gradient is not asked for
  REQUIRE(seen.size() == 2);
  CHECK(seen[0] == std::vector<bool>{true, true, false});
  CHECK(seen[1] == std::vector<bool>{true, false, false});
  // Through an interior tensor: grad() w.r.t. h = exp(w) needs the edge to h only.
  Tensor h = exp(w);
  grad({sum(probe(x, h, c))}, {h});
  REQUIRE(seen.size() == 3);
  CHECK(seen[2] == std::vector<bool>{false, true, false});
  CHECK(w.grad().defined());  // the first backward's, untouched since
}

TEST_CASE("the gradient penalty's grad(D(x), x) runs no weight-gradient kernel; its double backward does") {
  Rng gen(3);
  Tensor x = randn({2, 1, 8, 8}, DType::f32, &gen).requires_grad_();
  Tensor w1 = mul(randn({4, 1, 4, 4}, DType::f32, &gen), 0.2).requires_grad_();
  Tensor w2 = mul(randn({1, 4, 4, 4}, DType::f32, &gen), 0.2).requires_grad_();
  Tensor lnw = ones({4, 4, 4}).requires_grad_(), lnb = zeros({4, 4, 4}).requires_grad_();
  auto critic = [&](const Tensor& in) {
    Tensor h = leaky_relu(layer_norm(conv2d(in, w1, {}, Conv2dOptions::square(2, 1)), {4, 4, 4}, lnw, lnb), 0.2);
    return sum(conv2d(h, w2));
  };
  auto calls = [](const char* name) {
    for (const profile::Entry& e : profile::report())
      if (e.name == name) return e.calls;
    return int64_t{0};
  };
  profile::reset();
  profile::enable(true);
  Tensor g = grad({critic(x)}, {x}, {}, true, true)[0];
  const int64_t weight_grads = calls("conv2d_backward_weight"), input_grads = calls("conv2d_backward_input");
  Tensor penalty = gradient_penalty(g, 10.0);
  backward({penalty});
  profile::enable(false);
  CHECK(weight_grads == 0);  // w1, w2, lnw, lnb require grad, but grad() asked for x only
  CHECK(input_grads == 2);   // through w2, then w1 into x
  // The double backward: d penalty / d w1 and w2 through the two convolutions of g's graph,
  // and d / d w1 once more through layer_norm's backward, which depends on conv2d(x, w1).
  CHECK(calls("conv2d_backward_weight") == 3);
  CHECK(w1.grad().defined());
  CHECK(w2.grad().defined());
  CHECK(lnw.grad().defined());
  profile::reset();
}

TEST_CASE("gradients flow through views into their base") {
  Tensor x = leaf({3, 4}, 3);
  Tensor y = sum(mul(narrow(transpose(x, 0, 1), 0, 1, 2), 2.0));
  y.backward();
  auto g = x.grad().to_vector<double>();
  for (int r = 0; r < 3; ++r)
    for (int c = 0; c < 4; ++c) CHECK(g[r * 4 + c] == ((c == 1 || c == 2) ? 2.0 : 0.0));
}
