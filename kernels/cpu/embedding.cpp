// kernels/cpu/embedding.cpp — the gather runs rows in parallel; the scatter-add
// runs columns in parallel (each thread owns a slice of every table row), so
// repeated indices accumulate without atomics.
#include "kernels/cpu/embedding.hpp"

#include <algorithm>
#include <cstring>

namespace gantry::kernels::cpu {

template <class T>
void embedding_forward(T* y, const int64_t* idx, const T* table, int64_t n_idx, int64_t num, int64_t dim) {
  (void)num;
#pragma omp parallel for if (n_idx * dim > (1 << 15))
  for (int64_t i = 0; i < n_idx; ++i) std::memcpy(y + i * dim, table + idx[i] * dim, dim * sizeof(T));
}

template <class T>
void embedding_backward(T* dtable, const T* dy, const int64_t* idx, int64_t n_idx, int64_t num, int64_t dim) {
  std::fill(dtable, dtable + num * dim, T(0));
#pragma omp parallel for if (n_idx * dim > (1 << 15))
  for (int64_t d = 0; d < dim; ++d)
    for (int64_t i = 0; i < n_idx; ++i) dtable[idx[i] * dim + d] += dy[i * dim + d];
}

template void embedding_forward<float>(float*, const int64_t*, const float*, int64_t, int64_t, int64_t);
template void embedding_forward<double>(double*, const int64_t*, const double*, int64_t, int64_t, int64_t);
template void embedding_backward<float>(float*, const float*, const int64_t*, int64_t, int64_t, int64_t);
template void embedding_backward<double>(double*, const double*, const int64_t*, int64_t, int64_t, int64_t);

}  // namespace gantry::kernels::cpu
