// kernels/cuda/fill_copy.cuh — the device's data movers: constant fills, Philox random
// fills (the same numbers as kernels/cpu/random.cpp for the same seed and offset), and
// strided copies with dtype conversion (contiguous(), clone(), to(dtype), cat).
#pragma once
#include <cstdint>

#include "kernels/cuda/cuda_compat.cuh"
#include "kernels/shapes.hpp"

namespace gantry::kernels::cuda {

// p[i] = value for i < n. T: float or int64_t.
template <class T>
void fill(T* p, int64_t n, T value);
// out[i] = lo + (hi - lo) * U_i and out[i] = mean + std * Z_i: element i of the float
// streams defined in kernels/philox.hpp.
void fill_uniform(float* out, int64_t n, uint64_t seed, uint64_t offset, float lo, float hi);
void fill_normal(float* out, int64_t n, uint64_t seed, uint64_t offset, float mean, float std);
// out(i) = TOut(in(i)) for two strided views of the same sizes (so.sizes == si.sizes).
// TOut, TIn: float or int64_t.
template <class TOut, class TIn>
void assign_strided(TOut* out, const StridedShape& so, const TIn* in, const StridedShape& si);

}  // namespace gantry::kernels::cuda
