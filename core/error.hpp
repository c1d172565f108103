// core/error.hpp — gantry::Error and the checks that throw it.
//
// Every bad argument (shape, dtype, device, index) throws gantry::Error with a
// message that names the op and the offending values, e.g.
//   conv2d: input has 3 channels but weight expects 1 (input [8,3,28,28], weight [64,1,4,4])
// Library code never calls exit().
#pragma once
#include <sstream>
#include <stdexcept>
#include <string>

namespace gantry {

struct Error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

namespace detail {
template <class... Args>
std::string concat(const Args&... args) {
  std::ostringstream os;
  (os << ... << args);
  return os.str();
}
}  // namespace detail

}  // namespace gantry

// GANTRY_CHECK(cond, parts...): throw gantry::Error(parts...) when cond is false.
#define GANTRY_CHECK(cond, ...)                                                \
  do {                                                                         \
    if (!(cond)) throw ::gantry::Error(::gantry::detail::concat(__VA_ARGS__)); \
  } while (0)
