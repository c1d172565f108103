// kernels/cpu/reduce.hpp — row reductions: the caller lays the reduced dims out
// last (a permute + contiguous copy), so every reduction is over `cols` adjacent
// elements of each of `rows` rows: in is [rows, cols] dense, out is [rows]; and
// sum_columns, for reduced dims that lead (out is [cols]).
#pragma once
#include <cstdint>

namespace gantry::kernels::cpu {

// out[r] = sum_c in[r, c] (float rows accumulate in double, in 8 lanes by c mod 8, then a
// fixed tree: the order depends only on cols).
template <class T>
void sum_rows(T* out, const T* in, int64_t rows, int64_t cols);
// out[c] = sum_r in[r, c], r in order (float accumulates in double): a sum over leading
// dims without a transpose first.
template <class T>
void sum_columns(T* out, const T* in, int64_t rows, int64_t cols);
// out[r] = max_c in[r, c] (NaN propagates).
template <class T>
void max_rows(T* out, const T* in, int64_t rows, int64_t cols);
// out[r] = the first c with in[r, c] == max_c in[r, c].
template <class T>
void argmax_rows(int64_t* out, const T* in, int64_t rows, int64_t cols);

// out[r, c] = in[r, c] - log(sum_c' exp(in[r, c'])), computed as
// (in - m) - log(sum exp(in - m)) with m the row max, so no exp overflows.
template <class T>
void log_softmax_rows(T* out, const T* in, int64_t rows, int64_t cols);

}  // namespace gantry::kernels::cpu
