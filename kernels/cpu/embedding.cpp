// kernels/cpu/embedding.cpp — embedding lookup and its adjoint, CPU.
//
// Math:    forward   y[i, d] = table[idx[i], d]                       (a row gather)
//          backward  dtable[r, d] = sum over {i : idx[i] = r} of dy[i, d]  (a row scatter-add)
// Layout:  table, dtable [num, dim]; y, dy [n_idx, dim]; idx [n_idx]; all row-major.
//
// Loop nest, forward:   for i (OpenMP)            copy row idx[i] of table into row i of y
// Loop nest, backward:  for block of kColumns columns (OpenMP)
//                         zero that slice of every dtable row
//                         for i                   dtable[idx[i], slice] += dy[i, slice]
// Each thread owns a slice of columns of every row, so repeated indices accumulate
// with no atomics and in index order (the result does not depend on the thread count),
// and each inner loop is contiguous. A small dim is one block, i.e. serial: with few
// columns the scatter is memory-bound and cheap.
#include "kernels/cpu/embedding.hpp"

#include <algorithm>

namespace gantry::kernels::cpu {

namespace {
constexpr int64_t kParallelMinElements = 1 << 15;  // below this, threads cost more than they save
constexpr int64_t kColumns = 64;                   // columns per backward block: whole cache lines, no false sharing
}  // namespace

template <class T>
void embedding_forward(T* __restrict__ y, const int64_t* __restrict__ idx, const T* __restrict__ table, int64_t n_idx,
                       int64_t num, int64_t dim) {
  (void)num;  // the caller checked the range
#pragma omp parallel for if (n_idx * dim > kParallelMinElements)
  for (int64_t i = 0; i < n_idx; ++i) {
    const T* row = table + idx[i] * dim;
    std::copy(row, row + dim, y + i * dim);
  }
}

template <class T>
void embedding_backward(T* __restrict__ dtable, const T* __restrict__ dy, const int64_t* __restrict__ idx,
                        int64_t n_idx, int64_t num, int64_t dim) {
  const int64_t blocks = (dim + kColumns - 1) / kColumns;
#pragma omp parallel for if ((n_idx + num) * dim > kParallelMinElements)
  for (int64_t b = 0; b < blocks; ++b) {
    const int64_t d0 = b * kColumns, d1 = std::min(dim, d0 + kColumns);
    for (int64_t r = 0; r < num; ++r) std::fill(dtable + r * dim + d0, dtable + r * dim + d1, T(0));
    for (int64_t i = 0; i < n_idx; ++i) {
      T* out = dtable + idx[i] * dim;
      const T* g = dy + i * dim;
      for (int64_t d = d0; d < d1; ++d) out[d] += g[d];
    }
  }
}

#define GANTRY_INSTANTIATE(T)                                                                  \
  template void embedding_forward<T>(T*, const int64_t*, const T*, int64_t, int64_t, int64_t); \
  template void embedding_backward<T>(T*, const T*, const int64_t*, int64_t, int64_t, int64_t);
GANTRY_INSTANTIATE(float)
GANTRY_INSTANTIATE(double)
#undef GANTRY_INSTANTIATE

}  // namespace gantry::kernels::cpu
