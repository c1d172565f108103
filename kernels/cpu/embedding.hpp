// kernels/cpu/embedding.hpp — row gather from a table [num, dim] and its adjoint.
#pragma once
#include <cstdint>

namespace gantry::kernels::cpu {

// y[i, :] = table[idx[i], :]; the caller has checked 0 <= idx[i] < num.
template <class T>
void embedding_forward(T* y, const int64_t* idx, const T* table, int64_t n_idx, int64_t num, int64_t dim);
// dtable = 0, then dtable[idx[i], :] += dy[i, :] (repeated indices accumulate).
template <class T>
void embedding_backward(T* dtable, const T* dy, const int64_t* idx, int64_t n_idx, int64_t num, int64_t dim);

}  // namespace gantry::kernels::cpu
