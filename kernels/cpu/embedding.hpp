// kernels/cpu/embedding.hpp — row gather from a table [num, dim] and its adjoint, the
// row scatter-add. Indices are int64; math and loop nest in embedding.cpp.
#pragma once
#include <cstdint>

namespace gantry::kernels::cpu {

// y[i, :] = table[idx[i], :] for i < n_idx; y is [n_idx, dim]. The caller has checked
// 0 <= idx[i] < num.
template <class T>
void embedding_forward(T* y, const int64_t* idx, const T* table, int64_t n_idx, int64_t num, int64_t dim);
// dtable [num, dim] = 0, then dtable[idx[i], :] += dy[i, :] (repeated indices accumulate,
// in index order, race-free and deterministic). Fully overwrites dtable.
template <class T>
void embedding_backward(T* dtable, const T* dy, const int64_t* idx, int64_t n_idx, int64_t num, int64_t dim);

}  // namespace gantry::kernels::cpu
