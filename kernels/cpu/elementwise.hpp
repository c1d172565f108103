// kernels/cpu/elementwise.hpp — the CPU elementwise engine: apply a functor to
// every element of K strided (possibly broadcast) inputs, writing a contiguous output.
//
// Layout: the output is dense row-major with sizes s[0].sizes. Input k's element
// (i_0..i_{n-1}) is at in[k][sum_d i_d * s[k].strides[d]]; a broadcast dim has stride 0.
// Loop nest: rows (all dims but the last) in parallel with OpenMP; within a row, the
// last dim with each input's own stride. When every input is dense and unbroadcast,
// one flat loop the compiler vectorizes (simd lanes at every size; OpenMP threads only
// above kParallelMinElements). No allocation, no virtual call per element: F is a lambda
// inlined into the loop.
// Versions (one line each):
//   1  as above, with `parallel for simd if(n > kParallelMinElements)`: since OpenMP 5 an
//      `if` without a modifier applies to simd too, so tensors of <= 32768 elements ran
//      scalar (GCC honours it). 2 (this file): if(parallel: ...), simd always.
#pragma once
#include <array>
#include <cstddef>
#include <cstdint>
#include <utility>

#include "kernels/shapes.hpp"

namespace gantry::kernels::cpu {

constexpr int64_t kParallelMinElements = 1 << 15;  // below this, threads cost more than they save

inline int64_t numel_of(const StridedShape& s) {
  int64_t n = 1;
  for (int d = 0; d < s.ndim; ++d) n *= s.sizes[d];
  return n;
}

inline bool is_dense(const StridedShape& s) {
  int64_t expect = 1;
  for (int d = s.ndim - 1; d >= 0; --d) {
    if (s.sizes[d] != 1 && s.strides[d] != expect) return false;
    expect *= s.sizes[d];
  }
  return true;
}

// Offset of the first element of row `row`, a flat index over dims [0, ndim-1).
inline int64_t row_offset(const StridedShape& s, int64_t row) {
  int64_t off = 0;
  for (int d = s.ndim - 2; d >= 0; --d) {
    off += (row % s.sizes[d]) * s.strides[d];
    row /= s.sizes[d];
  }
  return off;
}

template <class TOut, class TIn, std::size_t K, class F>
void map_strided(TOut* out, const std::array<const TIn*, K>& in, const std::array<StridedShape, K>& s, F f) {
  const int64_t n = numel_of(s[0]);
  if (n == 0) return;
  bool dense = true;
  for (const auto& sk : s) dense = dense && is_dense(sk);
  if (dense) {
    // The body holds copies of f and the pointers, private to each OpenMP thread: a
    // store to out[i] then cannot alias f's captured scalars (a slope, a bound), so the
    // compiler keeps them in registers and vectorizes the loop, which also turns f's
    // branches into selects. (Shared through OpenMP's outlined struct, they were
    // reloaded every element, and leaky_relu ran scalar with a mispredicted branch per
    // element of random sign: 5 ns an element instead of a fraction of one.)
    auto body = [ out, src = in, f ]<std::size_t... I>(std::index_sequence<I...>, int64_t i) {
      out[i] = f(src[I][i]...);
    };
#pragma omp parallel for simd if (parallel : n > kParallelMinElements) firstprivate(body)
    for (int64_t i = 0; i < n; ++i) body(std::make_index_sequence<K>{}, i);
    return;
  }
  const int nd = s[0].ndim;
  const int64_t inner = nd ? s[0].sizes[nd - 1] : 1, rows = n / inner;
#pragma omp parallel for if (n > kParallelMinElements)
  for (int64_t r = 0; r < rows; ++r) {
    std::array<const TIn*, K> p;
    std::array<int64_t, K> step;
    for (std::size_t k = 0; k < K; ++k) {
      p[k] = in[k] + row_offset(s[k], r);
      step[k] = nd ? s[k].strides[nd - 1] : 0;
    }
    TOut* o = out + r * inner;
    auto body = [&]<std::size_t... I>(std::index_sequence<I...>, int64_t j) { o[j] = f(p[I][j * step[I]]...); };
    for (int64_t j = 0; j < inner; ++j) body(std::make_index_sequence<K>{}, j);
  }
}

// out(i) = static_cast<TOut>(in(i)) for two strided views of the same sizes
// (copies into a slice of a bigger tensor, dtype conversion, contiguous()).
template <class TOut, class TIn>
void assign_strided(TOut* out, const StridedShape& so, const TIn* in, const StridedShape& si) {
  const int64_t n = numel_of(so);
  if (n == 0) return;
  const int nd = so.ndim;
  const int64_t inner = nd ? so.sizes[nd - 1] : 1, rows = n / inner;
  const int64_t step_o = nd ? so.strides[nd - 1] : 0, step_i = nd ? si.strides[nd - 1] : 0;
#pragma omp parallel for if (n > kParallelMinElements)
  for (int64_t r = 0; r < rows; ++r) {
    TOut* o = out + row_offset(so, r);
    const TIn* p = in + row_offset(si, r);
    for (int64_t j = 0; j < inner; ++j) o[j * step_o] = static_cast<TOut>(p[j * step_i]);
  }
}

// out[i] = f(in[i]) over n dense elements.
template <class TOut, class TIn, class F>
void map_dense(TOut* out, const TIn* in, int64_t n, F f) {
#pragma omp parallel for if (n > kParallelMinElements)
  for (int64_t i = 0; i < n; ++i) out[i] = f(in[i]);
}

}  // namespace gantry::kernels::cpu
