// tests/test_util.hpp — small helpers shared by the test suites.
#pragma once
#include <functional>
#include <string>

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

}  // namespace gantry::testing
