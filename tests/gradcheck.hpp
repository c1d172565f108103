// tests/gradcheck.hpp — gradcheck and gradgradcheck by central differences in float64.
//
// gradcheck(f, xs): for a random projection v of f's output, compares the
// analytic gradient of <v, f(xs)> (from autograd) with the numerical one
// ((<v, f(x + eps e_k)> - <v, f(x - eps e_k)>) / 2 eps) for every element k of
// every input. With a random v this is PyTorch's fast gradcheck; it fails if any
// Jacobian entry is wrong unless v happens to be orthogonal to the error.
//
// gradgradcheck(f, xs): runs gradcheck on (xs, v) -> <u, grad(<v, f(xs)>, xs, create_graph)>,
// i.e. checks the derivative of the backward pass itself, in both xs and v.
#pragma once
#include <doctest/doctest.h>

#include <cmath>
#include <functional>
#include <sstream>

#include "core/ops.hpp"

namespace gantry::testing {

using Fn = std::function<Tensor(const std::vector<Tensor>&)>;

struct CheckResult {
  bool ok = true;
  std::string message;
};

// <v, f(xs)> as a double.
inline double project(const Fn& f, const std::vector<Tensor>& xs, const Tensor& v) {
  NoGradGuard off;
  return sum(mul(f(xs), v)).item();
}

inline CheckResult gradcheck(const Fn& f, std::vector<Tensor> xs, double eps = 1e-6, double atol = 1e-5,
                             double rtol = 1e-4, uint64_t seed = 1234) {
  for (auto& x : xs) REQUIRE(x.dtype() == DType::f64);
  for (auto& x : xs) REQUIRE(x.is_contiguous());
  Rng gen(seed);
  Tensor y = f(xs);
  Tensor v = randn(y.shape(), DType::f64, &gen);
  std::vector<Tensor> wrt;
  std::vector<size_t> which;
  for (size_t i = 0; i < xs.size(); ++i)
    if (xs[i].requires_grad()) wrt.push_back(xs[i]), which.push_back(i);
  std::vector<Tensor> analytic = grad({y}, wrt, {v}, false, false, true);
  CheckResult r;
  for (size_t w = 0; w < wrt.size(); ++w) {
    double* p = wrt[w].data<double>();
    std::vector<double> a =
        analytic[w].defined() ? analytic[w].to_vector<double>() : std::vector<double>(wrt[w].numel(), 0.0);
    for (int64_t k = 0; k < wrt[w].numel(); ++k) {
      const double keep = p[k];
      p[k] = keep + eps;
      const double up = project(f, xs, v);
      p[k] = keep - eps;
      const double down = project(f, xs, v);
      p[k] = keep;
      const double numeric = (up - down) / (2 * eps);
      if (!(std::abs(numeric - a[k]) <= atol + rtol * std::abs(numeric))) {
        std::ostringstream os;
        os << "input " << which[w] << " element " << k << ": analytic " << a[k] << " vs numeric " << numeric;
        r.ok = false;
        r.message = os.str();
        return r;
      }
    }
  }
  return r;
}

inline CheckResult gradgradcheck(const Fn& f, const std::vector<Tensor>& xs, double eps = 1e-6, double atol = 1e-4,
                                 double rtol = 1e-3, uint64_t seed = 99) {
  Rng gen(seed);
  Tensor y0;
  {
    NoGradGuard off;
    y0 = f(xs);
  }
  Tensor v = randn(y0.shape(), DType::f64, &gen).requires_grad_();
  const size_t n = xs.size();
  // (xs..., v) -> sum_i <u_i, d<v, f(xs)>/dx_i>
  std::vector<Tensor> us;
  Fn backward_fn = [&](const std::vector<Tensor>& in) {
    GradModeGuard on(true);  // the numerical side evaluates this under no-grad
    std::vector<Tensor> x(in.begin(), in.begin() + n);
    std::vector<Tensor> wrt;
    for (auto& t : x)
      if (t.requires_grad()) wrt.push_back(t);
    Tensor y = f(x);
    std::vector<Tensor> gs = grad({y}, wrt, {in[n]}, true, true, true);
    if (us.empty())
      for (auto& t : wrt) us.push_back(randn(t.shape(), DType::f64, &gen));
    Tensor total = zeros({}, DType::f64);
    for (size_t i = 0; i < gs.size(); ++i)
      if (gs[i].defined()) total = add(total, sum(mul(gs[i], us[i])));
    return total;
  };
  std::vector<Tensor> all = xs;
  all.push_back(v);
  return gradcheck(backward_fn, all, eps, atol, rtol, seed + 1);
}

// A float64 leaf of the given shape with values uniform in [lo, hi), requiring grad.
inline Tensor leaf(const Shape& s, uint64_t seed, double lo = -1, double hi = 1) {
  Rng g(seed);
  return rand(s, DType::f64, &g, lo, hi).requires_grad_();
}

// Values uniform in [lo, hi) but at least `gap` away from every point in `kinks`
// (so finite differences never straddle a kink of relu, abs, clamp, ...).
inline Tensor leaf_away_from(const Shape& s, uint64_t seed, std::vector<double> kinks, double gap = 0.05,
                             double lo = -1, double hi = 1) {
  Rng g(seed);
  Tensor t = rand(s, DType::f64, &g, lo, hi);
  double* p = t.data<double>();
  for (int64_t i = 0; i < t.numel(); ++i)
    for (double k : kinks)
      if (std::abs(p[i] - k) < gap) p[i] = k + (p[i] >= k ? gap : -gap);
  return t.requires_grad_();
}

// The input a registry sample (core/ops.hpp's SampleInput) describes, drawn from `seed`
// in `dtype` (float32 or float64) on the cpu: uniform in [lo, hi), moved `gap` away from
// each kink.
inline Tensor sample_input(const SampleInput& in, DType dtype, uint64_t seed) {
  Rng g(seed);
  Tensor t = rand(in.shape, dtype, &g, in.lo, in.hi);
  if (in.away_from.empty()) return t;
  t = t.to(DType::f64);
  double* p = t.data<double>();
  for (int64_t i = 0; i < t.numel(); ++i)
    for (double k : in.away_from)
      if (std::abs(p[i] - k) < in.gap) p[i] = k + (p[i] >= k ? in.gap : -in.gap);
  return t.to(dtype);
}

// The registry op named `name` (a test fails naming it when there is none).
inline const OpInfo* registry_op(const std::string& name) {
  for (const OpInfo& op : op_registry())
    if (name == op.name) return &op;
  return nullptr;
}

// Runs gradcheck and gradgradcheck on f at xs and reports failures under `name`.
inline void check_gradients(const char* name, const Fn& f, const std::vector<Tensor>& xs, bool second_order = true) {
  INFO("op: " << name);
  CheckResult first = gradcheck(f, xs);
  INFO("gradcheck: " << first.message);
  CHECK(first.ok);
  if (!second_order) return;
  CheckResult second = gradgradcheck(f, xs);
  INFO("gradgradcheck: " << second.message);
  CHECK(second.ok);
}

}  // namespace gantry::testing
