// tests/test_util.hpp — small helpers shared by the test suites.
#pragma once
#include <doctest/doctest.h>

#include <cmath>
#include <functional>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "core/error.hpp"

namespace gantry::testing {

// The message of the gantry::Error that f throws, or "(no error)".
inline std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

// n values uniform in [lo, hi) from a fixed seed (std::mt19937: independent of gantry's RNG).
template <class T>
std::vector<T> random_values(size_t n, unsigned seed, double lo = -1, double hi = 1) {
  std::mt19937 gen(seed);
  std::uniform_real_distribution<double> dist(lo, hi);
  std::vector<T> v(n);
  for (auto& x : v) x = (T)dist(gen);
  return v;
}

// Junk to pre-fill outputs with, so an element a kernel forgot to write shows.
template <class T>
std::vector<T> nans(size_t n) {
  return std::vector<T>(n, std::numeric_limits<T>::quiet_NaN());
}

// |got - want| <= tol (1 + |want|) for every element; a NaN fails.
template <class T>
void check_close(const std::vector<T>& got, const std::vector<double>& want, double tol, const char* what = "") {
  REQUIRE(got.size() == want.size());
  for (size_t i = 0; i < got.size(); ++i) {
    INFO(what << " element " << i << ": got " << got[i] << ", want " << want[i]);
    CHECK(std::abs((double)got[i] - want[i]) <= tol * (1 + std::abs(want[i])));
  }
}

}  // namespace gantry::testing
