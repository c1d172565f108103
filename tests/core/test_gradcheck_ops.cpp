// tests/core/test_gradcheck_ops.cpp — gradcheck and gradgradcheck in float64, by central
// differences, of every differentiable op of the registry (core/ops/registry.cpp), on the
// registry's own samples (odd shapes, away from kinks); an op without a checked sample fails,
// naming it, and every op's coverage is printed.
#include <cstdio>
#include <map>
#include <set>

#include "gradcheck.hpp"

using namespace gantry;
using gantry::testing::leaf;

namespace {

// Samples up to this many input elements are gradchecked (central differences cost two
// evaluations per element; gradgradcheck twice that again); the larger ones are for parity.
constexpr int64_t kMaxGradcheckElements = 400;

int64_t elements_of(const OpSample& s) {
  int64_t n = 0;
  for (const SampleInput& in : s.inputs) n += numel_of(in.shape);
  return n;
}

// The float64 inputs of sample s: every non-constant one requires grad.
std::vector<Tensor> inputs64(const OpSample& s) {
  std::vector<Tensor> xs;
  for (size_t i = 0; i < s.inputs.size(); ++i) {
    Tensor x = testing::sample_input(s.inputs[i], DType::f64, 31 + i);
    xs.push_back(s.inputs[i].constant ? x : x.requires_grad_());
  }
  return xs;
}

}  // namespace

TEST_CASE(
    "every op of the registry has a sample; every differentiable one passes gradcheck (and gradgradcheck "
    "when twice differentiable) in float64 on its samples; the coverage of every op is listed") {
  std::printf("%-28s %-4s %-4s %-8s %-10s %-14s\n", "op", "cpu", "cuda", "samples", "gradcheck", "gradgradcheck");
  for (const OpInfo& op : op_registry()) {
    const std::string name = op.name;
    INFO("op " << name);
    CHECK_MESSAGE(!op.samples.empty(), "the registry's '" << name << "' has no sample case");
    int checked = 0, checked_twice = 0;
    for (const OpSample& s : op.samples) {
      if (op.grad_order == 0 || !s.differentiable || !s.gradcheck || elements_of(s) > kMaxGradcheckElements) continue;
      INFO("sample " << s.what);
      const std::vector<Tensor> xs = inputs64(s);
      auto r = testing::gradcheck(s.f, xs);
      CHECK_MESSAGE(r.ok, "gradcheck of '" << name << "' (" << s.what << "): " << r.message);
      ++checked;
      if (op.grad_order == 2) {
        auto rr = testing::gradgradcheck(s.f, xs);
        CHECK_MESSAGE(rr.ok, "gradgradcheck of '" << name << "' (" << s.what << "): " << rr.message);
        ++checked_twice;
      }
    }
    const bool exempt = op.not_gradchecked != nullptr;
    if (op.grad_order >= 1 && !exempt)
      CHECK_MESSAGE(checked > 0, "'" << name << "' is differentiable but no sample of it was gradchecked");
    if (op.grad_order == 2 && !exempt)
      CHECK_MESSAGE(checked_twice > 0, "'" << name << "' is twice differentiable but no sample was gradgradchecked");
    auto mark = [&](int n, bool wanted) {
      return !wanted ? std::string("-") : n ? std::to_string(n) : exempt ? std::string("exempt") : std::string("NONE");
    };
    std::printf("%-28s %-4s %-4s %-8zu %-10s %-14s\n", op.name, (op.backends & OpInfo::kCpu) ? "yes" : "no",
                op.on_cuda() ? "yes" : "no", op.samples.size(), mark(checked, op.grad_order >= 1).c_str(),
                mark(checked_twice, op.grad_order == 2).c_str());
    if (exempt) std::printf("    %s: %s\n", op.name, op.not_gradchecked);
  }
}

TEST_CASE("the registry names each op once") {
  std::set<std::string> names;
  for (const OpInfo& op : op_registry()) CHECK_MESSAGE(names.insert(op.name).second, "'" << op.name << "' twice");
}

TEST_CASE("gradient_penalty's value against a direct float64 sum") {
  Tensor g = leaf({5, 2, 3}, 40);
  std::vector<double> p = g.to_vector<double>();
  double want = 0;
  for (int n = 0; n < 5; ++n) {
    double sq = 0;
    for (int i = 0; i < 6; ++i) sq += p[n * 6 + i] * p[n * 6 + i];
    want += (std::sqrt(sq + 1e-12) - 1) * (std::sqrt(sq + 1e-12) - 1);
  }
  CHECK(gradient_penalty(g, 10.0).item() == doctest::Approx(10.0 * want / 5).epsilon(1e-12));
}
