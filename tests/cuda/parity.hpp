// tests/cuda/parity.hpp — the parity harness's case table (tests/cuda/test_parity.cpp
// runs it). Each op family adds its cases from its own file with a static
//
//   static gantry::testing::ParityCases conv_cases({{"conv2d", fn, {inputs...}}, ...});
//
// A case names a registry op, builds the op's output from float32 inputs drawn
// uniformly from [lo, hi], and is run on the cpu and on the cuda device: forward,
// backward (against a random cotangent) and double backward (the gradient of <u, grad>).
#pragma once
#include <cmath>
#include <functional>
#include <string>
#include <vector>

#include "core/ops.hpp"

namespace gantry::testing {

using ParityFn = std::function<Tensor(const std::vector<Tensor>&)>;

struct ParityInput {
  Shape shape;
  double lo = -1, hi = 1;
  double away_from = NAN;  // keep values 0.05 away from this kink (relu, abs, ...)
};

struct ParityCase {
  std::string op;  // the op_registry() name this case covers
  ParityFn f;
  std::vector<ParityInput> inputs;
  bool differentiable = true;
  // |cuda - cpu| <= atol + rtol |cpu| elementwise. The defaults fit ops whose outputs
  // are a few float32 roundings deep; a case whose outputs are sums of K products
  // (conv, matmul-like) raises atol to about K * 2^-24 * (the size of its terms),
  // and says so where it does.
  double atol = 1e-5, rtol = 2e-4;
};

// Every case added so far (static registration order across files is unspecified;
// the harness groups cases by op name).
std::vector<ParityCase>& parity_cases();

struct ParityCases {
  explicit ParityCases(std::vector<ParityCase> cases) {
    for (auto& c : cases) parity_cases().push_back(std::move(c));
  }
};

}  // namespace gantry::testing
