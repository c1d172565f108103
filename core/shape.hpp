// core/shape.hpp — sizes, strides, broadcasting.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace gantry {

using Shape = std::vector<int64_t>;

// The element-count limit of a tensor: 2^60, so that its byte size (<= 8 bytes an
// element) fits an int64 too.
inline constexpr int64_t kMaxNumel = int64_t(1) << 60;
// The product of the sizes; throws (naming the shape and kMaxNumel) if it overflows or
// exceeds kMaxNumel.
int64_t numel_of(const Shape& s);
Shape contiguous_strides(const Shape& s);
// "[8,3,28,28]"
std::string shape_str(const Shape& s);
// NumPy broadcasting of two shapes; throws naming `op` and both shapes when incompatible.
Shape broadcast_shapes(const Shape& a, const Shape& b, const char* op);
// Wraps a possibly negative dim into [0, ndim); throws naming `op` when out of range.
int64_t wrap_dim(int64_t dim, int64_t ndim, const char* op);

}  // namespace gantry
