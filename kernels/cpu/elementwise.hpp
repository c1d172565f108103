// kernels/cpu/elementwise.hpp — the CPU elementwise engine: apply a functor to
// every element of K strided (possibly broadcast) inputs, writing a contiguous output.
//
// Layout: the output is dense row-major with sizes s[0].sizes. Input k's element
// (i_0..i_{n-1}) is at in[k][sum_d i_d * s[k].strides[d]]; a broadcast dim has stride 0.
// Dims are first merged wherever every operand is contiguous across them (size-1 dims
// dropped), so [64,64,7,7] * [64,7,7] is 64 rows of 3136 and [64,1,1,1] * [64,1,28,28]
// 64 rows of 784 with the first operand constant along a row.
// Loop nest, after merging:
//   dense (one dim, every stride 1):  for i  (OpenMP threads, and simd lanes)
//   otherwise:                        for (row, tile of <= kTile values of the last dim)
//                                             (OpenMP threads: the op's one region)
//                                       for j  (the tile; simd lanes when each operand's
//                                               stride there is 1, or 0: a value held in a
//                                               register; a strided load for any other stride)
// Threads only above kParallelMinElements; below it the loops still run in simd lanes.
// Each output element is f of its own inputs whatever the split, so the result does not
// depend on the thread count. No allocation, no virtual call per element: F is a functor
// inlined into the loop.
// Versions (one line each):
//   1  dense flat loop, else rows of the last dim with each operand's own stride, under
//      `parallel for simd if(n > kParallelMinElements)`: since OpenMP 5 an `if` without a
//      modifier applies to simd too, so tensors of <= 32768 elements ran scalar (GCC 12
//      honours it).
//   2  if(parallel: ...), simd at every size.
//   3  (this file) dims merged before the row loop; rows whose strides are all 0 or 1 run a
//      simd loop; a long merged row is split in tiles for the threads (docs/kernels/cpu_pointwise.md).
#pragma once
#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <utility>

#include "kernels/shapes.hpp"

namespace gantry::kernels::cpu {

constexpr int64_t kParallelMinElements = 1 << 15;  // below this, threads cost more than they save
// Longest run of the last dim one OpenMP iteration takes: a long row (a merged view is often
// one row) is split into tiles, so the threads share it.
constexpr int64_t kTile = 1 << 14;

inline int64_t numel_of(const StridedShape& s) {
  int64_t n = 1;
  for (int d = 0; d < s.ndim; ++d) n *= s.sizes[d];
  return n;
}

// V views of the same sizes with their dims merged wherever every view is contiguous
// across two neighbours (stride[d] == stride[d+1] * size[d+1]), size-1 dims dropped.
// Outermost dim first; ndim 0 means a single element.
template <std::size_t V>
struct MergedDims {
  int ndim = 0;
  int64_t sizes[kMaxDims] = {};
  int64_t strides[V][kMaxDims] = {};
};

template <std::size_t V>
MergedDims<V> merge_dims(const int64_t* sizes, int ndim, const std::array<const int64_t*, V>& strides) {
  MergedDims<V> m;  // filled innermost first, reversed at the end
  for (int d = ndim - 1; d >= 0; --d) {
    if (sizes[d] == 1) continue;
    bool fuse = m.ndim > 0;
    for (std::size_t v = 0; v < V && fuse; ++v) fuse = strides[v][d] == m.strides[v][m.ndim - 1] * m.sizes[m.ndim - 1];
    if (fuse) {
      m.sizes[m.ndim - 1] *= sizes[d];
      continue;
    }
    m.sizes[m.ndim] = sizes[d];
    for (std::size_t v = 0; v < V; ++v) m.strides[v][m.ndim] = strides[v][d];
    ++m.ndim;
  }
  for (int a = 0, b = m.ndim - 1; a < b; ++a, --b) {
    std::swap(m.sizes[a], m.sizes[b]);
    for (std::size_t v = 0; v < V; ++v) std::swap(m.strides[v][a], m.strides[v][b]);
  }
  return m;
}

// Offset in view v of the first element of row `row`, a flat index over dims [0, ndim-1).
template <std::size_t V>
int64_t row_offset(const MergedDims<V>& m, std::size_t v, int64_t row) {
  int64_t off = 0;
  for (int d = m.ndim - 2; d >= 0; --d) {
    off += (row % m.sizes[d]) * m.strides[v][d];
    row /= m.sizes[d];
  }
  return off;
}

namespace detail {

// An operand along a row: contiguous (stride 1) or one value (stride 0), so the row loop
// reads it without a stride and vectorizes.
template <class T>
struct Contiguous {
  const T* p;
  T operator[](int64_t j) const { return p[j]; }
};
template <class T>
struct Constant {
  T v;
  T operator[](int64_t) const { return v; }
};

// o[j] = f(src[j]...) for j < len. f and the operands are by-value locals here, so a
// store to o cannot alias f's scalars or the pointers: they stay in registers. o may be an
// operand's own memory element for element (in place; `omp simd` allows that), no other
// overlap.
template <class TOut, class F, class... Src>
inline void simd_row(TOut* o, int64_t len, F f, Src... src) {
#pragma omp simd
  for (int64_t j = 0; j < len; ++j) o[j] = f(src[j]...);
}

// Calls fn(std::integral_constant<unsigned, mask>) for the runtime `mask` < 2^K.
template <std::size_t K, unsigned M = 0, class Fn>
inline void with_mask(unsigned mask, Fn&& fn) {
  if constexpr (M + 1 < (1u << K)) {
    if (mask != M) return with_mask<K, M + 1>(mask, fn);
  }
  fn(std::integral_constant<unsigned, M>{});
}

// Operand k of a row: Constant if bit k of Z is set, else Contiguous.
template <unsigned Z, std::size_t k, class T>
inline auto row_operand(const T* p) {
  if constexpr ((Z >> k) & 1u) return Constant<T>{p[0]};
  else return Contiguous<T>{p};
}

}  // namespace detail

template <class TOut, class TIn, std::size_t K, class F>
void map_strided(TOut* out, const std::array<const TIn*, K>& in, const std::array<StridedShape, K>& s, F f) {
  const int64_t n = numel_of(s[0]);
  if (n == 0) return;
  std::array<const int64_t*, K> strides;
  for (std::size_t k = 0; k < K; ++k) strides[k] = s[k].strides;
  const MergedDims<K> m = merge_dims<K>(s[0].sizes, s[0].ndim, strides);
  const int nd = m.ndim;
  unsigned unit = 0, zero = 0;  // operands with stride 1 / 0 along the last merged dim
  for (std::size_t k = 0; k < K; ++k) {
    const int64_t step = nd ? m.strides[k][nd - 1] : 1;
    unit |= (step == 1 ? 1u : 0u) << k;
    zero |= (step == 0 ? 1u : 0u) << k;
  }
  if (nd <= 1 && unit == (1u << K) - 1) {
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
  const int64_t inner = nd ? m.sizes[nd - 1] : 1, rows = n / inner;
  const int64_t tile = std::min(inner, kTile), tiles = (inner + tile - 1) / tile;
  const bool simd_rows = (unit | zero) == (1u << K) - 1;
  std::array<int64_t, K> step;
  for (std::size_t k = 0; k < K; ++k) step[k] = nd ? m.strides[k][nd - 1] : 0;
#pragma omp parallel for if (n > kParallelMinElements)
  for (int64_t rt = 0; rt < rows * tiles; ++rt) {
    const int64_t r = rt / tiles, j0 = rt % tiles * tile, len = std::min(tile, inner - j0);
    std::array<const TIn*, K> p;
    for (std::size_t k = 0; k < K; ++k) p[k] = in[k] + row_offset(m, k, r) + j0 * step[k];
    TOut* o = out + r * inner + j0;
    if (simd_rows) {
      detail::with_mask<K>(zero, [&](auto mask) {
        constexpr unsigned Z = decltype(mask)::value;
        [&]<std::size_t... I>(std::index_sequence<I...>) {
          detail::simd_row(o, len, f, detail::row_operand<Z, I>(p[I])...);
        }
        (std::make_index_sequence<K>{});
      });
      continue;
    }
    auto body = [&]<std::size_t... I>(std::index_sequence<I...>, int64_t j) { o[j] = f(p[I][j * step[I]]...); };
    for (int64_t j = 0; j < len; ++j) body(std::make_index_sequence<K>{}, j);
  }
}

// out(i) = static_cast<TOut>(in(i)) for two strided views of the same sizes
// (copies into a slice of a bigger tensor, dtype conversion, contiguous()). Dims merged
// as in map_strided; a row contiguous in both views is a simd copy.
template <class TOut, class TIn>
void assign_strided(TOut* out, const StridedShape& so, const TIn* in, const StridedShape& si) {
  const int64_t n = numel_of(so);
  if (n == 0) return;
  const MergedDims<2> m = merge_dims<2>(so.sizes, so.ndim, {so.strides, si.strides});
  const int nd = m.ndim;
  const int64_t inner = nd ? m.sizes[nd - 1] : 1, rows = n / inner;
  const int64_t tile = std::min(inner, kTile), tiles = (inner + tile - 1) / tile;
  const int64_t step_o = nd ? m.strides[0][nd - 1] : 0, step_i = nd ? m.strides[1][nd - 1] : 0;
#pragma omp parallel for if (n > kParallelMinElements)
  for (int64_t rt = 0; rt < rows * tiles; ++rt) {
    const int64_t r = rt / tiles, j0 = rt % tiles * tile, len = std::min(tile, inner - j0);
    TOut* o = out + row_offset(m, 0, r) + j0 * step_o;
    const TIn* p = in + row_offset(m, 1, r) + j0 * step_i;
    if (step_o == 1 && step_i == 1) {
      detail::simd_row(
          o, len, [](TIn v) { return static_cast<TOut>(v); }, detail::Contiguous<TIn>{p});
      continue;
    }
    for (int64_t j = 0; j < len; ++j) o[j * step_o] = static_cast<TOut>(p[j * step_i]);
  }
}

}  // namespace gantry::kernels::cpu
