// tests/core/test_threads.cpp — set_num_threads is the one thread-count switch.
#include <doctest/doctest.h>

#include "core/threads.hpp"
#include "core/error.hpp"

TEST_CASE("set_num_threads sets the kernels' thread count and rejects counts below 1") {
  const int saved = gantry::num_threads();
  gantry::set_num_threads(1);
  CHECK(gantry::num_threads() == 1);
  gantry::set_num_threads(3);
  CHECK(gantry::num_threads() == 3);
  CHECK_THROWS_WITH_AS(gantry::set_num_threads(0), doctest::Contains("got 0"), gantry::Error);
  gantry::set_num_threads(saved);
}

TEST_CASE("openmp_spin_override bounds libgomp's spinning only when the user chose nothing") {
  const auto none = gantry::openmp_spin_override(nullptr, nullptr);
  REQUIRE(none.has_value());
  CHECK(none->first == "GOMP_SPINCOUNT");
  CHECK(none->second == gantry::kOpenmpSpinCount);
  CHECK_FALSE(gantry::openmp_spin_override("passive", nullptr).has_value());
  CHECK_FALSE(gantry::openmp_spin_override(nullptr, "300000").has_value());
  CHECK_FALSE(gantry::openmp_spin_override("active", "0").has_value());
  CHECK_FALSE(gantry::openmp_spin_override("", nullptr).has_value());  // set, even if empty
}
