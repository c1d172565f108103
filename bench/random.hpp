// bench/random.hpp — the benches' random inputs: n floats uniform in [lo, hi) from a fixed seed.
#pragma once
#include <random>
#include <vector>

namespace gantry::bench {

// n floats uniform in [lo, hi) from a fixed seed.
inline std::vector<float> random_floats(size_t n, unsigned seed, float lo = -1, float hi = 1) {
  std::mt19937 gen(seed);
  std::uniform_real_distribution<float> dist(lo, hi);
  std::vector<float> v(n);
  for (auto& x : v) x = dist(gen);
  return v;
}

}  // namespace gantry::bench
