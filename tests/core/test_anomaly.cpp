// Anomaly detection (core/anomaly.hpp): off by default; on (set_detect_anomaly, the
// guard, or GANTRY_DETECT_ANOMALY=1) the first op whose output, in forward, or whose
// rule's gradient, in backward, holds a NaN or Inf throws naming the op and its shapes.
#include <doctest/doctest.h>

#include <cmath>
#include <unistd.h>

#include <cstdlib>
#include <string>

#include "core/anomaly.hpp"
#include "core/ops.hpp"
#include "test_util.hpp"

using namespace gantry;
using gantry::testing::error_of;

TEST_CASE("anomaly: off by default, a NaN flows through silently") {
  if (std::getenv("GANTRY_DETECT_ANOMALY")) return;  // the env probe below runs this binary with it set
  CHECK(!is_anomaly_enabled());
  Tensor y = log(from_vector({-1.0, 2.0}, {2}));
  CHECK(std::isnan(y.to_vector<float>()[0]));
}

TEST_CASE("anomaly: forward names the first op that made a non-finite value, with its input shapes") {
  DetectAnomalyGuard on;
  Tensor x = from_vector({1, -1, 2, 3, 4, 5}, {2, 3}).requires_grad_();
  Tensor a = mul(x, x);                                               // finite
  std::string e = error_of([&] { log(sub(a, full({2, 3}, 1.0))); });  // log(0) = -Inf at [0,0]
  CHECK(e == "anomaly: op 'log' (inputs [2,3]) produced Inf in its output [2,3] in forward; its inputs were finite");
  e = error_of([&] { sqrt(full({4}, -1.0)); });  // without grad too
  CHECK(e.find("op 'sqrt' (inputs [4]) produced NaN") != std::string::npos);
  // A NaN that came from outside (data): the first op it reaches says so.
  Tensor bad = from_vector({1.0, NAN}, {2});
  e = error_of([&] { add(full({3, 2}, 1.0), bad); });
  CHECK(e.find("op 'add' (inputs [3,2], [2])") != std::string::npos);
  CHECK(e.find("input 1 already held NaN") != std::string::npos);
  // Finite work is untouched.
  CHECK(error_of([&] { backward({sum(mul(x, x))}); }) == "(no error)");
  CHECK(x.grad().to_vector<float>()[1] == -2);
}

TEST_CASE("anomaly: backward names the op whose rule made the first non-finite gradient") {
  DetectAnomalyGuard on;
  Tensor x = from_vector({0.0, 4.0}, {2}).requires_grad_();
  Tensor y = sum(mul(sqrt(x), full({2}, 3.0)));  // forward finite; d sqrt(x) / dx = 1 / (2 sqrt(0)) = Inf
  const std::string e = error_of([&] { backward({y}); });
  CHECK(e.find("anomaly: the backward of op 'sqrt' (inputs [2]) produced") == 0);
  CHECK(e.find("in its gradient for input 0 [2]; the gradient it was given was finite") != std::string::npos);
  // ... and in grad() with create_graph, the rule is checked as a whole under its op's name.
  Tensor x2 = from_vector({0.0, 1.0}, {2}).requires_grad_();
  const std::string e2 = error_of([&] { grad({sum(sqrt(x2))}, {x2}, {}, {}, true); });
  CHECK(e2.find("anomaly: the backward of op 'sqrt'") == 0);
}

TEST_CASE("anomaly: the guard restores the previous state, and set_detect_anomaly switches it") {
  const bool before = is_anomaly_enabled();
  {
    DetectAnomalyGuard on;
    CHECK(is_anomaly_enabled());
    {
      DetectAnomalyGuard off(false);
      CHECK(!is_anomaly_enabled());
      CHECK(error_of([] { log(full({1}, 0.0)); }) == "(no error)");
    }
    CHECK(is_anomaly_enabled());
  }
  CHECK(is_anomaly_enabled() == before);
  set_detect_anomaly(true);
  CHECK(error_of([] { log(full({1}, 0.0)); }).find("op 'log'") != std::string::npos);
  set_detect_anomaly(before);
  CHECK(all_finite(full({3}, 1.0)));
  CHECK(!all_finite(from_vector({1.0, INFINITY}, {2})));
  CHECK(std::string(non_finite_kind(from_vector({INFINITY, NAN}, {2}))) == "NaN");
}

TEST_CASE("anomaly: GANTRY_DETECT_ANOMALY=1 turns it on at start-up") {
  if (const char* probe = std::getenv("GANTRY_ANOMALY_PROBE")) {
    // The child: report what the environment did.
    CHECK(is_anomaly_enabled() == (std::string(probe) == "on"));
    return;
  }
  const std::string self = "/proc/" + std::to_string(::getpid()) + "/exe";
  const std::string filter = " -tc='anomaly: GANTRY_DETECT_ANOMALY*' >/dev/null 2>&1";
  CHECK(std::system(("GANTRY_ANOMALY_PROBE=on GANTRY_DETECT_ANOMALY=1 " + self + filter).c_str()) == 0);
  CHECK(std::system(("GANTRY_ANOMALY_PROBE=off GANTRY_DETECT_ANOMALY=0 " + self + filter).c_str()) == 0);
  // The probe can fail: on without the variable is a failure.
  CHECK(std::system(("env -u GANTRY_DETECT_ANOMALY GANTRY_ANOMALY_PROBE=on " + self + filter).c_str()) != 0);
}
