// The per-kernel profile (core/profile.hpp): off records nothing; on, every backend entry,
// elementwise functor and backward rule is counted by name, self time within total time,
// a rule's self time excluding the kernels it calls, and the conv and gemm entries count
// their flops.
#include <doctest/doctest.h>

#include <map>
#include <thread>

#include "core/ops.hpp"
#include "core/profile.hpp"
#include "test_util.hpp"

using namespace gantry;

namespace {
std::map<std::string, profile::Entry> by_name() {
  std::map<std::string, profile::Entry> m;
  for (const profile::Entry& e : profile::report()) m[e.name] = e;
  return m;
}
// One conv2d -> leaky_relu -> sum forward and backward.
void conv_step() {
  Rng g(1);
  Tensor x = randn({2, 3, 6, 6}, DType::f32, &g), w = randn({4, 3, 3, 3}, DType::f32, &g);
  w.requires_grad_();
  Tensor loss = sum(leaky_relu(conv2d(x, w), 0.2));
  backward({loss});
}
}  // namespace

TEST_CASE("profile: off by default, nothing is recorded") {
  profile::reset();
  CHECK_FALSE(profile::enabled());
  conv_step();
  CHECK(profile::report().empty());
}

TEST_CASE("profile: on, kernels and rules are counted by name, self time within total") {
  profile::reset();
  profile::enable(true);
  conv_step();
  conv_step();
  profile::enable(false);
  auto m = by_name();
  REQUIRE(m.count("conv2d_forward"));
  CHECK(m["conv2d_forward"].calls == 2);
  REQUIRE(m.count("conv2d_backward_weight"));
  CHECK(m["conv2d_backward_weight"].calls == 2);
  CHECK_FALSE(m.count("conv2d_backward_input"));  // x needs no gradient
  // The conv entries count 2 N Cout OH OW Cin KH KW flops a call (4x4 outputs here), the
  // others none; total_work is their sum.
  const double conv_flops = 2.0 * 2 * 4 * 4 * 4 * 3 * 3 * 3;
  CHECK(m["conv2d_forward"].work == 2 * conv_flops);
  CHECK(m["conv2d_backward_weight"].work == 2 * conv_flops);
  CHECK(m["leaky_relu"].work == 0);
  CHECK(profile::total_work() == 4 * conv_flops);
  REQUIRE(m.count("leaky_relu"));
  CHECK(m["leaky_relu"].calls == 2);
  REQUIRE(m.count("backward of conv2d"));
  const profile::Entry rule = m["backward of conv2d"];
  CHECK(rule.calls == 2);
  // The rule's total holds its kernel's time; its self time does not.
  CHECK(rule.total_ms >= m["conv2d_backward_weight"].total_ms);
  CHECK(rule.self_ms <= rule.total_ms - m["conv2d_backward_weight"].total_ms + 1e-9);
  for (const auto& kv : m) {
    const std::string& name = kv.first;  // not a structured binding: clang-14 cannot capture one
    const profile::Entry& e = kv.second;
    CAPTURE(name);
    CHECK(e.self_ms >= -1e-9);
    CHECK(e.self_ms <= e.total_ms + 1e-9);
  }
  // Sorted by self time, largest first.
  const auto r = profile::report();
  for (size_t i = 1; i < r.size(); ++i) CHECK(r[i - 1].self_ms >= r[i].self_ms);
  // Off again: nothing more is added; reset forgets.
  conv_step();
  CHECK(by_name()["conv2d_forward"].calls == 2);
  profile::reset();
  CHECK(profile::report().empty());
}

TEST_CASE("profile: a batched matmul's gemm counts 2 batch m n k flops") {
  Rng g(3);
  Tensor a = randn({3, 5, 7}, DType::f32, &g), b = randn({3, 7, 2}, DType::f32, &g);
  profile::reset();
  profile::enable(true);
  Tensor c = matmul(a, b);
  profile::enable(false);
  auto m = by_name();
  REQUIRE(m.count("gemm"));
  CHECK(m["gemm"].work == 2.0 * 3 * 5 * 2 * 7);
  CHECK(c.size(0) == 3);
  profile::reset();
}

TEST_CASE("profile: a scope's time is its own thread's; nesting subtracts children") {
  profile::reset();
  profile::enable(true);
  {
    profile::Scope outer("outer");
    {
      profile::Scope inner("inner");
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    std::thread other([] {
      profile::Scope alone("other thread");
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    });
    other.join();
  }
  profile::enable(false);
  auto m = by_name();
  CHECK(m["inner"].total_ms >= 19.0);
  CHECK(m["outer"].total_ms >= m["inner"].total_ms);
  CHECK(m["outer"].self_ms < m["outer"].total_ms - 19.0);  // inner's 20 ms are not outer's own
  CHECK(m["other thread"].total_ms >= 4.0);
  CHECK(m["outer"].self_ms >= m["other thread"].total_ms - 1.0);  // another thread's scope is no child
  profile::reset();
}

TEST_CASE("profile: grouped by shape, each conv entry is timed under its geometry, the rest by name") {
  profile::reset();
  profile::group_by_shape(true);
  profile::enable(true);
  conv_step();
  profile::enable(false);
  profile::group_by_shape(false);
  const auto m = by_name();
  profile::reset();
  CHECK(m.count("conv2d_forward 2x3x6x6 ->4x4x4 k3x3 s1x1 p0x0") == 1);
  CHECK(m.count("conv2d_backward_weight 2x3x6x6 ->4x4x4 k3x3 s1x1 p0x0") == 1);
  CHECK(m.count("conv2d_forward") == 0);
  CHECK(m.count("leaky_relu") == 1);  // not a conv entry: its name alone
  if (m.count("conv2d_forward 2x3x6x6 ->4x4x4 k3x3 s1x1 p0x0"))
    CHECK(m.at("conv2d_forward 2x3x6x6 ->4x4x4 k3x3 s1x1 p0x0").work == doctest::Approx(2.0 * 2 * 4 * 16 * 27));
}
