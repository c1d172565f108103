// kernels/cpu/random.hpp — fills from the Philox streams defined in kernels/philox.hpp.
// Element i depends only on (seed, offset, i), so results do not depend on the
// number of threads and match the CUDA fills bit for bit in float.
#pragma once
#include <cstdint>

namespace gantry::kernels::cpu {

// out[i] = lo + (hi - lo) * U_i
template <class T>
void fill_uniform(T* out, int64_t n, uint64_t seed, uint64_t offset, T lo, T hi);
// out[i] = mean + std * Z_i
template <class T>
void fill_normal(T* out, int64_t n, uint64_t seed, uint64_t offset, T mean, T std);
// Philox blocks (counter values) a fill of n elements consumes: ceil(n/4) for float, ceil(n/2) for double.
template <class T>
uint64_t philox_blocks_used(int64_t n);

}  // namespace gantry::kernels::cpu
