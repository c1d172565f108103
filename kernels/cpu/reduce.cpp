// kernels/cpu/reduce.cpp — row reductions over a dense [rows, cols] block, and the sum
// down its columns.
// Loop nest: rows in parallel when there are many; a single long row (a
// full reduction) is split across threads with an OpenMP reduction instead;
// sum_columns: blocks of columns in parallel, the rows streamed past each block's accumulators.
#include "kernels/cpu/reduce.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <type_traits>

#include "kernels/cpu/elementwise.hpp"

namespace gantry::kernels::cpu {

template <class T>
using Acc = std::conditional_t<std::is_same_v<T, float>, double, T>;

// sum of v[0..n) in Acc<T>: 8 partial sums by position mod 8 (vertical adds, so they
// vectorize and the adds do not wait on one another), then a fixed tree. The order depends
// only on n, not on where v lies.
template <class T>
Acc<T> lane_sum(const T* __restrict__ v, int64_t n) {
  Acc<T> l[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
#pragma omp simd
    for (int j = 0; j < 8; ++j) l[j] += v[i + j];
  for (int j = 0; i + j < n; ++j) l[j] += v[i + j];
  return ((l[0] + l[1]) + (l[2] + l[3])) + ((l[4] + l[5]) + (l[6] + l[7]));
}

template <class T>
void sum_rows(T* out, const T* in, int64_t rows, int64_t cols) {
  if (rows == 1 && cols > kParallelMinElements) {
    // One long row: fixed chunks summed in a fixed order, so the result does not
    // depend on thread timing (training runs are reproducible bit for bit).
    constexpr int64_t kChunks = 64;
    Acc<T> part[kChunks] = {};
    const int64_t step = (cols + kChunks - 1) / kChunks;
#pragma omp parallel for
    for (int64_t k = 0; k < kChunks; ++k)
      if (k * step < cols) part[k] = lane_sum(in + k * step, std::min(cols, (k + 1) * step) - k * step);
    Acc<T> acc = 0;
    for (auto p : part) acc += p;
    out[0] = static_cast<T>(acc);
    return;
  }
#pragma omp parallel for if (rows * cols > kParallelMinElements)
  for (int64_t r = 0; r < rows; ++r) out[r] = static_cast<T>(lane_sum(in + r * cols, cols));
}

// Columns in blocks of kColumnBlock, each block's double accumulators in L1 while the rows
// stream past in address order; blocks in parallel when there are many. Every column adds
// its rows in order 0, 1, ..., so the result does not depend on the thread count.
template <class T>
void sum_columns(T* out, const T* in, int64_t rows, int64_t cols) {
  constexpr int64_t kColumnBlock = 512;
  const int64_t blocks = (cols + kColumnBlock - 1) / kColumnBlock;
#pragma omp parallel for if (rows * cols > kParallelMinElements && blocks > 1)
  for (int64_t b = 0; b < blocks; ++b) {
    const int64_t c0 = b * kColumnBlock, w = std::min(kColumnBlock, cols - c0);
    Acc<T> acc[kColumnBlock];
    for (int64_t c = 0; c < w; ++c) acc[c] = 0;
    for (int64_t r = 0; r < rows; ++r) {
      const T* __restrict__ row = in + r * cols + c0;
#pragma omp simd
      for (int64_t c = 0; c < w; ++c) acc[c] += row[c];
    }
    for (int64_t c = 0; c < w; ++c) out[c0 + c] = static_cast<T>(acc[c]);
  }
}

template <class T>
void max_rows(T* out, const T* in, int64_t rows, int64_t cols) {
#pragma omp parallel for if (rows * cols > kParallelMinElements)
  for (int64_t r = 0; r < rows; ++r) {
    const T* row = in + r * cols;
    T m = -std::numeric_limits<T>::infinity();
    for (int64_t c = 0; c < cols; ++c) {
      if (std::isnan(row[c])) {
        m = row[c];
        break;
      }
      m = row[c] > m ? row[c] : m;
    }
    out[r] = m;
  }
}

template <class T>
void argmax_rows(int64_t* out, const T* in, int64_t rows, int64_t cols) {
#pragma omp parallel for if (rows * cols > kParallelMinElements)
  for (int64_t r = 0; r < rows; ++r) {
    const T* row = in + r * cols;
    int64_t best = 0;
    for (int64_t c = 1; c < cols; ++c)
      if (row[c] > row[best]) best = c;
    out[r] = best;
  }
}

template <class T>
void log_softmax_rows(T* out, const T* in, int64_t rows, int64_t cols) {
#pragma omp parallel for if (rows * cols > kParallelMinElements)
  for (int64_t r = 0; r < rows; ++r) {
    const T* x = in + r * cols;
    T* y = out + r * cols;
    T m = -std::numeric_limits<T>::infinity();
    for (int64_t c = 0; c < cols; ++c) m = x[c] > m ? x[c] : m;
    Acc<T> z = 0;
    for (int64_t c = 0; c < cols; ++c) z += std::exp(x[c] - m);
    const T lse = m + static_cast<T>(std::log(z));
    for (int64_t c = 0; c < cols; ++c) y[c] = x[c] - lse;
  }
}

template void log_softmax_rows<float>(float*, const float*, int64_t, int64_t);
template void log_softmax_rows<double>(double*, const double*, int64_t, int64_t);
template void sum_rows<float>(float*, const float*, int64_t, int64_t);
template void sum_rows<double>(double*, const double*, int64_t, int64_t);
template void sum_columns<float>(float*, const float*, int64_t, int64_t);
template void sum_columns<double>(double*, const double*, int64_t, int64_t);
template void max_rows<float>(float*, const float*, int64_t, int64_t);
template void max_rows<double>(double*, const double*, int64_t, int64_t);
template void argmax_rows<float>(int64_t*, const float*, int64_t, int64_t);
template void argmax_rows<double>(int64_t*, const double*, int64_t, int64_t);

}  // namespace gantry::kernels::cpu
