// kernels/cpu/random.cpp — uniform and normal fills from the Philox streams (kernels/cpu/random.hpp).
#include "kernels/cpu/random.hpp"

#include <type_traits>

#include "kernels/cpu/elementwise.hpp"
#include "kernels/philox.hpp"

namespace gantry::kernels::cpu {

template <class T>
void fill_uniform(T* out, int64_t n, uint64_t seed, uint64_t offset, T lo, T hi) {
  const T span = hi - lo;
#pragma omp parallel for if (n > kParallelMinElements / 4)
  for (int64_t i = 0; i < n; ++i) {
    if constexpr (std::is_same_v<T, float>) out[i] = lo + span * philox_uniform_float(seed, offset, (uint64_t)i);
    else out[i] = lo + span * philox_uniform_double(seed, offset, (uint64_t)i);
  }
}

template <class T>
void fill_normal(T* out, int64_t n, uint64_t seed, uint64_t offset, T mean, T std) {
#pragma omp parallel for if (n > kParallelMinElements / 4)
  for (int64_t i = 0; i < n; ++i) {
    if constexpr (std::is_same_v<T, float>) out[i] = mean + std * philox_normal_float(seed, offset, (uint64_t)i);
    else out[i] = mean + std * philox_normal_double(seed, offset, (uint64_t)i);
  }
}

template <class T>
uint64_t philox_blocks_used(int64_t n) {
  const int64_t per_block = std::is_same_v<T, float> ? 4 : 2;
  return (uint64_t)((n + per_block - 1) / per_block);
}

template void fill_uniform<float>(float*, int64_t, uint64_t, uint64_t, float, float);
template void fill_uniform<double>(double*, int64_t, uint64_t, uint64_t, double, double);
template void fill_normal<float>(float*, int64_t, uint64_t, uint64_t, float, float);
template void fill_normal<double>(double*, int64_t, uint64_t, uint64_t, double, double);
template uint64_t philox_blocks_used<float>(int64_t);
template uint64_t philox_blocks_used<double>(int64_t);

}  // namespace gantry::kernels::cpu
