// tests/core/tensor_bits.hpp — same_bits: whether two tensors hold the same values to the bit.
#pragma once
#include <cmath>
#include <vector>

#include "core/tensor.hpp"

namespace gantry::testing {

// Same shape and dtype, and every element the same value (NaN matching NaN) with the same sign.
inline bool same_bits(const Tensor& a, const Tensor& b) {
  if (!a.defined() || !b.defined() || a.shape() != b.shape() || a.dtype() != b.dtype()) return false;
  const std::vector<double> u = a.detach().to(DType::f64).to_vector<double>(),
                            v = b.detach().to(DType::f64).to_vector<double>();
  for (size_t i = 0; i < u.size(); ++i)
    if (!(u[i] == v[i] || (std::isnan(u[i]) && std::isnan(v[i]))) || std::signbit(u[i]) != std::signbit(v[i]))
      return false;
  return true;
}

}  // namespace gantry::testing
