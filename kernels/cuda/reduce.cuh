// kernels/cuda/reduce.cuh — row reductions on the device: in is [rows, cols] dense
// (the caller lays the reduced dims out last), out is [rows]. Same contracts as
// kernels/cpu/reduce.hpp.
#pragma once
#include <cstdint>

#include "kernels/cuda/cuda_compat.cuh"

namespace gantry::kernels::cuda {

void sum_rows(float* out, const float* in, int64_t rows, int64_t cols);
// out[c] = sum_r in[r, c] (the reduced dims leading: no transpose first).
void sum_columns(float* out, const float* in, int64_t rows, int64_t cols);
void max_rows(float* out, const float* in, int64_t rows, int64_t cols);       // NaN propagates
void argmax_rows(int64_t* out, const float* in, int64_t rows, int64_t cols);  // first max
// out[r, c] = in[r, c] - log(sum_c' exp(in[r, c'])), with the row max subtracted first.
void log_softmax_rows(float* out, const float* in, int64_t rows, int64_t cols);

}  // namespace gantry::kernels::cuda
