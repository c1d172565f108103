// The parity harness (after ggml's test-backend-ops): every op the registry marks as
// running on cuda is run on the cuda device and on the cpu from the same float32
// inputs, and compared in the forward pass, the backward pass and the double
// backward (the gradient of <u, grad>). Odd shapes; ctest runs this binary once in
// forward thread order and once in random order; the emulator refills reused device
// memory with NaN, so an unwritten output element fails the comparison.
#include <doctest/doctest.h>

#include <map>
#include <set>
#include <sstream>

#include "cuda_test_util.hpp"
#include "gradcheck.hpp"
#include "parity.hpp"

using namespace gantry;

namespace gantry::testing {
std::vector<ParityCase>& parity_cases() {
  static std::vector<ParityCase> cases;
  return cases;
}
}  // namespace gantry::testing

namespace {

using Input = testing::ParityInput;
using Case = testing::ParityCase;

Tensor make_input(const Input& in, uint64_t seed) {
  Rng g(seed);
  Tensor t = rand(in.shape, DType::f32, &g, in.lo, in.hi);
  if (!std::isnan(in.away_from)) {
    float* p = t.data<float>();
    for (int64_t i = 0; i < t.numel(); ++i)
      if (std::abs(p[i] - in.away_from) < 0.05) p[i] = (float)in.away_from + (p[i] >= in.away_from ? 0.05f : -0.05f);
  }
  return t;
}

// max |a - b| <= atol + rtol |b|, elementwise; NaN anywhere fails.
void check_close(const Tensor& gpu, const Tensor& cpu, const std::string& what, double atol, double rtol) {
  const std::string label = what;
  INFO(label);
  REQUIRE(gpu.defined() == cpu.defined());
  if (!cpu.defined()) return;
  REQUIRE(gpu.shape() == cpu.shape());
  auto a = gpu.to(DType::f32).to_vector<float>(), b = cpu.to(DType::f32).to_vector<float>();
  double worst = 0;
  size_t at = 0;
  bool nan = false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::isnan(a[i]) != std::isnan(b[i])) nan = true;
    const double err = std::abs((double)a[i] - b[i]) - (atol + rtol * std::abs((double)b[i]));
    if (err > worst) worst = err, at = i;
  }
  CHECK_FALSE(nan);
  INFO("worst element " << at << ": cuda " << (a.empty() ? 0 : a[at]) << " vs cpu " << (b.empty() ? 0 : b[at]));
  CHECK(worst <= 0);
}

// Forward, backward and double backward of c on `device`.
std::vector<Tensor> run(const Case& c, Device device, uint64_t seed) {
  std::vector<Tensor> xs;
  for (size_t i = 0; i < c.inputs.size(); ++i) {
    Tensor x = make_input(c.inputs[i], seed + i).to(device);
    xs.push_back(c.differentiable && x.dtype() == DType::f32 ? x.detach().requires_grad_() : x);
  }
  std::vector<Tensor> out;
  Tensor y = c.f(xs);
  out.push_back(y.detach());
  if (!c.differentiable) return out;
  Rng g(seed + 100);
  Tensor v = randn(y.shape(), DType::f32, &g, 0, 1, device);
  std::vector<Tensor> gs = grad({y}, xs, {v}, true, true, true);
  Tensor total = zeros({}, DType::f32, device);
  for (size_t i = 0; i < gs.size(); ++i) {
    out.push_back(gs[i].defined() ? gs[i].detach() : Tensor());
    if (gs[i].defined() && gs[i].requires_grad()) {
      Tensor u = randn(gs[i].shape(), DType::f32, &g, 0, 1, device);
      total = add(total, sum(mul(gs[i], u)));
    }
  }
  if (total.requires_grad()) {
    for (Tensor& gg : grad({total}, xs, {}, false, false, true)) out.push_back(gg.defined() ? gg.detach() : Tensor());
  }
  return out;
}

// The elementwise, reduction, data-movement, loss, matmul and image ops.
std::vector<Case> general_cases() {
  const Shape odd = {7, 1, 5, 3}, b2 = {5, 1};
  const Input any{odd}, bcast{b2}, pos{odd, 0.3, 2.0}, kink0{odd, -1, 1, 0.0};
  auto un = [](auto op) { return [op](const std::vector<Tensor>& x) { return op(x[0]); }; };
  auto bin = [](auto op) { return [op](const std::vector<Tensor>& x) { return op(x[0], x[1]); }; };
  std::vector<Case> c = {
      {"add", bin([](Tensor a, Tensor b) { return add(a, b); }), {any, bcast}},
      {"sub", bin([](Tensor a, Tensor b) { return sub(a, b); }), {any, bcast}},
      {"mul", bin([](Tensor a, Tensor b) { return mul(a, b); }), {any, bcast}},
      {"div", bin([](Tensor a, Tensor b) { return div(a, b); }), {any, {b2, 0.5, 2}}},
      {"minimum", bin([](Tensor a, Tensor b) { return minimum(a, b); }), {any, bcast}},
      {"maximum", bin([](Tensor a, Tensor b) { return maximum(a, b); }), {any, bcast}},
      {"add_scalar", un([](Tensor a) { return add(a, 1.5); }), {any}},
      {"mul_scalar", un([](Tensor a) { return mul(a, -2.0); }), {any}},
      {"neg", un([](Tensor a) { return neg(a); }), {any}},
      {"pow", un([](Tensor a) { return pow(a, 3.0); }), {any}},
      {"sqrt", un([](Tensor a) { return sqrt(a); }), {pos}},
      {"rsqrt", un([](Tensor a) { return rsqrt(a); }), {pos}},
      {"exp", un([](Tensor a) { return exp(a); }), {any}},
      {"log", un([](Tensor a) { return log(a); }), {pos}},
      {"abs", un([](Tensor a) { return abs(a); }), {kink0}},
      {"sign", un([](Tensor a) { return sign(a); }), {any}, false},
      {"clamp", un([](Tensor a) { return clamp(a, -0.5, 0.5); }), {{odd, -1, 1, 0.5}}},
      {"where", bin([](Tensor a, Tensor b) { return where(gt(a, 0.0), a, b); }), {kink0, bcast}},
      {"eq", bin([](Tensor a, Tensor b) { return eq(a, b); }), {any, bcast}, false},
      {"ne", bin([](Tensor a, Tensor b) { return ne(a, b); }), {any, bcast}, false},
      {"lt", bin([](Tensor a, Tensor b) { return lt(a, b); }), {any, bcast}, false},
      {"le", bin([](Tensor a, Tensor b) { return le(a, b); }), {any, bcast}, false},
      {"gt", bin([](Tensor a, Tensor b) { return gt(a, b); }), {any, bcast}, false},
      {"ge", bin([](Tensor a, Tensor b) { return ge(a, b); }), {any, bcast}, false},
      {"relu", un([](Tensor a) { return relu(a); }), {kink0}},
      {"leaky_relu", un([](Tensor a) { return leaky_relu(a, 0.2); }), {kink0}},
      {"leaky_relu_backward", bin([](Tensor g, Tensor x) { return leaky_relu_backward(g, x, 0.2); }), {any, kink0}},
      {"sigmoid", un([](Tensor a) { return sigmoid(a); }), {{odd, -4, 4}}},
      {"tanh", un([](Tensor a) { return tanh(a); }), {{odd, -3, 3}}},
      {"softplus", un([](Tensor a) { return softplus(a); }), {{odd, -5, 5}}},
      {"sum", un([](Tensor a) { return sum(a, {0, 2}); }), {any}},
      {"sum", un([](Tensor a) { return sum(a); }), {{{70001}}}},  // one long row: many threads per block
      {"matmul", bin([](Tensor a, Tensor b) { return matmul(a, b); }), {{{4}}, {{4}}}},  // two vectors
      {"mean", un([](Tensor a) { return mean(a, {-1}, true); }), {any}},
      {"var", un([](Tensor a) { return var(a, {0}); }), {any}},
      {"max", un([](Tensor a) { return max(a, {2}); }), {any}},
      {"argmax", un([](Tensor a) { return argmax(a, 0); }), {any}, false},
      {"norm", un([](Tensor a) { return norm(a, 2, {0, 3}); }), {any}},
      {"sum_to", un([](Tensor a) { return sum_to(a, {5, 1}); }), {any}},
      {"reshape", un([](Tensor a) { return reshape(a, {5, -1}); }), {any}},
      {"view", un([](Tensor a) { return view(a, {35, 3}); }), {any}},
      {"flatten", un([](Tensor a) { return flatten(a, 1); }), {any}},
      {"narrow", un([](Tensor a) { return narrow(a, 2, 1, 3); }), {any}},
      {"narrow_backward", un([](Tensor a) { return narrow_backward(a, {7, 1, 9, 3}, 2, 2); }), {any}},
      {"select", un([](Tensor a) { return select(a, 0, -2); }), {any}},
      {"squeeze", un([](Tensor a) { return squeeze(a, 1); }), {any}},
      {"unsqueeze", un([](Tensor a) { return unsqueeze(a, 2); }), {any}},
      {"transpose", un([](Tensor a) { return contiguous(transpose(a, 0, 3)); }), {any}},
      {"permute", un([](Tensor a) { return permute(a, {3, 0, 2, 1}); }), {any}},
      {"expand", un([](Tensor a) { return expand(a, {2, 5, 3}); }), {{{5, 1}}}},
      {"contiguous", un([](Tensor a) { return contiguous(transpose(a, 1, 2)); }), {any}},
      {"clone", un([](Tensor a) { return clone(a); }), {any}},
      {"to_dtype", un([](Tensor a) { return mul(a.to(DType::i64).to(DType::f32), 1.0); }), {{odd, -5, 5}}, false},
      {"to_device", un([](Tensor a) { return exp(a.to(Device::cpu()).to(a.device())); }), {any}},
      {"cat", bin([](Tensor a, Tensor b) { return cat({a, b}, 2); }), {any, {{7, 1, 2, 3}}}},
      {"stack", bin([](Tensor a, Tensor b) { return stack({a, b}, 1); }), {any, any}},
      {"log_softmax", un([](Tensor a) { return log_softmax(a, 2); }), {{odd, -3, 3}}},
      {"softmax", un([](Tensor a) { return softmax(a, 0); }), {{odd, -3, 3}}},
      {"bce_with_logits", bin([](Tensor a, Tensor b) { return bce_with_logits(a, b); }), {any, {odd, 0, 1}}},
      {"mse_loss", bin([](Tensor a, Tensor b) { return mse_loss(a, b); }), {any, any}},
      {"l1_loss", bin([](Tensor a, Tensor b) { return l1_loss(a, b); }), {{odd, 0.2, 1}, {odd, -1, -0.2}}},
      {"matmul", bin([](Tensor a, Tensor b) { return matmul(a, b); }), {{{2, 1, 37, 29}}, {{3, 29, 41}}}},
      {"linear", [](const std::vector<Tensor>& x) { return linear(x[0], x[1], x[2]); }, {{{9, 13}}, {{70, 13}}, {{70}}}},
      {"pad2d", un([](Tensor a) { return pad2d(reshape(a, {7, 1, 5, 3}), 2, 1, 3, 1, PadMode::reflect); }), {any}},
      {"pad2d", un([](Tensor a) { return pad2d(reshape(a, {1, 7, 5, 3}), 0, 4, 1, 2); }), {any}},
      {"upsample_nearest2d", un([](Tensor a) { return upsample_nearest2d(reshape(a, {7, 1, 5, 3}), 2, 3); }), {any}},
      {"embedding", un([](Tensor t) { return embedding(from_indices({3, 0, 3, 1, 4, 3}, {2, 3}, t.device()), t); }),
       {{{5, 4}}}},
      {"one_hot", un([](Tensor a) { return mul(one_hot(from_indices({2, 0, 4}, {3}, a.device()), 5, a.dtype()), a); }),
       {{{3, 5}}}},
      {"cross_entropy", un([](Tensor a) { return cross_entropy(a, from_indices({1, 4, 0, 4}, {4}, a.device())); }),
       {{{4, 5}, -2, 2}}},
      {"layer_norm", un([](Tensor a) { return layer_norm(a, {5, 3}); }), {any}},
      {"instance_norm", un([](Tensor a) { return instance_norm(reshape(a, {7, 1, 15})); }), {any}},
      {"gradient_penalty", un([](Tensor a) { return gradient_penalty(a, 10.0); }), {any}},
  };
  return c;
}
testing::ParityCases general(general_cases());

}  // namespace

namespace {
// Runs every registry op's cases on cuda and the cpu and compares them; prints the ops
// not on cuda.
void check_every_op() {
  std::multimap<std::string, Case> by_name;  // an op may have several cases
  for (auto& c : testing::parity_cases()) by_name.emplace(c.op, c);
  std::vector<std::string> missing;
  for (const OpInfo& op : op_registry()) {
    if (!op.on_cuda()) {
      missing.push_back(op.name);
      continue;
    }
    const std::string name = op.name;
    INFO("op " << name);
    auto [first, last] = by_name.equal_range(op.name);
    REQUIRE_MESSAGE(first != last, "the registry says '" << name << "' runs on cuda but no case tests it");
    for (auto it = first; it != last; ++it) {
      std::vector<Tensor> cpu = run(it->second, Device::cpu(), 17), gpu = run(it->second, Device::cuda(0), 17);
      REQUIRE(cpu.size() == gpu.size());
      for (size_t i = 0; i < cpu.size(); ++i)
        check_close(gpu[i], cpu[i], i == 0 ? "forward" : i <= it->second.inputs.size() ? "backward" : "double backward",
                    it->second.atol, it->second.rtol);
    }
  }
  std::ostringstream os;
  for (auto& m : missing) os << (os.tellp() ? ", " : "") << m;
  std::printf("ops not on cuda yet (%zu): %s\n", missing.size(), os.str().c_str());
}
}  // namespace

TEST_CASE("every op the registry puts on cuda matches the cpu: forward, backward, double backward") {
  if (!testing::have_cuda_device()) return;
  check_every_op();
}

TEST_CASE("every op matches the cpu with conv and batch norm through cuDNN (real build with cuDNN)") {
  if (!testing::have_cuda_device()) return;
  if (!kernels::cuda::cudnn_available()) {
    std::printf("SKIPPED: this build has no cuDNN, so the ops ran gantry's kernels only\n");
    return;
  }
  kernels::cuda::KernelVersions v = kernels::cuda::kernel_versions();
  v.cudnn = true;
  testing::ScopedKernelVersions use(v);
  check_every_op();
}

TEST_CASE("every parity case names an op of the registry") {
  std::set<std::string> names;
  for (const OpInfo& op : op_registry()) names.insert(op.name);
  for (const Case& c : testing::parity_cases()) CHECK_MESSAGE(names.count(c.op), "case for unknown op '" << c.op << "'");
}

// ---- the registry's derivative claims, checked on the same cases in float64 -----------------

namespace {

// Cases up to this many input elements are gradchecked here (central differences cost two
// evaluations per element; gradgradcheck twice that again).
constexpr int64_t kMaxGradcheckElements = 400;

// Differentiable ops whose every parity case is larger than that (or not differentiable
// in float64 as written), and where their derivatives are checked instead.
const std::map<std::string, std::string> kGradcheckedElsewhere = {
    {"linear", "tests/core/test_gradcheck_ops.cpp"},
    {"conv2d", "tests/core/test_gradcheck_ops.cpp"},
    {"conv_transpose2d", "tests/core/test_gradcheck_ops.cpp"},
    {"conv2d_backward_weight", "tests/core/test_gradcheck_ops.cpp"},
    {"batch_norm", "tests/core/test_gradcheck_ops.cpp"},  // and below
    {"modulated_conv2d", "tests/core/test_modconv.cpp"},
    {"modulation_demod", "tests/core/test_modconv.cpp"},
    {"modconv2d", "tests/core/test_modconv.cpp"},
    {"modconv2d_backward_input", "tests/core/test_modconv.cpp"},
    {"modconv2d_backward_weight", "tests/core/test_modconv.cpp"},
    {"upfirdn2d", "tests/core/test_modconv.cpp"},
    {"to_dtype", "values only (a cast's gradient is the cast back)"},
};

// Ops whose parity cases pass, as inputs, tensors the op treats as constants (batch_norm's
// running statistics): every input of a case is perturbed here, so these are checked in
// tests/core, where only the differentiable arguments are.
const std::set<std::string> kCasesWithConstantInputs = {"batch_norm"};

Tensor make_input64(const Input& in, uint64_t seed) {
  Rng g(seed);
  Tensor t = rand(in.shape, DType::f64, &g, in.lo, in.hi);
  if (!std::isnan(in.away_from)) {
    double* p = t.data<double>();
    for (int64_t i = 0; i < t.numel(); ++i)
      if (std::abs(p[i] - in.away_from) < 0.05) p[i] = in.away_from + (p[i] >= in.away_from ? 0.05 : -0.05);
  }
  return t.requires_grad_();
}

}  // namespace

TEST_CASE("every differentiable op of the registry passes gradcheck (and gradgradcheck when twice "
          "differentiable) in float64 on its cases; the coverage of every op is listed") {
  std::multimap<std::string, Case> by_name;
  for (auto& c : testing::parity_cases()) by_name.emplace(c.op, c);
  std::printf("%-28s %-4s %-4s %-6s %-10s %-14s\n", "op", "cpu", "cuda", "cases", "gradcheck", "gradgradcheck");
  for (const OpInfo& op : op_registry()) {
    const std::string name = op.name;
    INFO("op " << name);
    auto [first, last] = by_name.equal_range(name);
    int cases = 0, checked = 0, checked_twice = 0;
    for (auto it = first; it != last; ++it) {
      ++cases;
      const Case& c = it->second;
      if (op.grad_order == 0 || !c.differentiable || kCasesWithConstantInputs.count(name)) continue;
      int64_t elements = 0;
      for (const Input& in : c.inputs) elements += numel_of(in.shape);
      if (elements > kMaxGradcheckElements) continue;
      std::vector<Tensor> xs;
      for (size_t i = 0; i < c.inputs.size(); ++i) xs.push_back(make_input64(c.inputs[i], 31 + i));
      try {
        GradModeGuard off(false);
        c.f(xs);
      } catch (const Error&) {
        continue;  // a case built with float32 parts (running statistics): its op is listed above
      }
      auto r = testing::gradcheck(c.f, xs);
      CHECK_MESSAGE(r.ok, "gradcheck of '" << name << "': " << r.message);
      ++checked;
      if (op.grad_order == 2) {
        auto rr = testing::gradgradcheck(c.f, xs);
        CHECK_MESSAGE(rr.ok, "gradgradcheck of '" << name << "': " << rr.message);
        ++checked_twice;
      }
    }
    const auto where = kGradcheckedElsewhere.find(name);
    const bool elsewhere = where != kGradcheckedElsewhere.end();
    if (op.grad_order >= 1 && !elsewhere)
      CHECK_MESSAGE(checked > 0, "'" << name << "' is differentiable but no case of it was gradchecked");
    if (op.grad_order == 2 && !elsewhere)
      CHECK_MESSAGE(checked_twice > 0, "'" << name << "' is twice differentiable but no case was gradgradchecked");
    auto mark = [&](int n, bool wanted) {
      return !wanted ? std::string("-") : n ? std::to_string(n) : elsewhere ? where->second : std::string("NONE");
    };
    std::printf("%-28s %-4s %-4s %-6d %-10s %-14s\n", op.name, (op.backends & OpInfo::kCpu) ? "yes" : "no",
                op.on_cuda() ? "yes" : "no", cases, mark(checked, op.grad_order >= 1).c_str(),
                mark(checked_twice, op.grad_order == 2).c_str());
  }
}
