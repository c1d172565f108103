// kernels/cpu/upfirdn.cpp — upfirdn2d as a gather: each output sums the filter taps
// that land on a non-inserted input sample. The taps that do are found once per call
// per axis (tables: for each output row oy the pairs (ky, iy), for each column ox the
// pairs (kx, ix)), so the inner loop has no division or bounds test (with up 2 and a
// 4-tap filter, 2 of the 4 taps per axis). Loop nest: (n, c) planes across OpenMP
// threads; oy; its row taps (ky, iy); ox; its column taps (kx, ix), each term added to
// y[oy, ox] in (ky, kx) order from 0 — the same sum, in the same order, as the direct form.
#include "kernels/cpu/upfirdn.hpp"

#include <vector>

namespace gantry::kernels::cpu {

namespace {
// j / up when j is a sample of x (j % up == 0 and 0 <= j / up < size), else -1.
inline int64_t source_index(int64_t j, int64_t up, int64_t size) {
  if (j < 0 || j % up != 0) return -1;
  return j / up < size ? j / up : -1;
}

// For each output o in [0, out): the taps k in [0, taps) with a source sample i, as
// (flipped tap taps - 1 - k, i) pairs in increasing k, at [start[o], start[o + 1]).
struct AxisTaps {
  std::vector<int64_t> start, tap, src;
};
AxisTaps axis_taps(int64_t out, int64_t taps, int64_t down, int64_t pad0, int64_t up, int64_t size) {
  AxisTaps t;
  t.start.push_back(0);
  for (int64_t o = 0; o < out; ++o) {
    for (int64_t k = 0; k < taps; ++k) {
      const int64_t i = source_index(o * down + k - pad0, up, size);
      if (i < 0) continue;
      t.tap.push_back(taps - 1 - k);
      t.src.push_back(i);
    }
    t.start.push_back((int64_t)t.tap.size());
  }
  return t;
}
}  // namespace

template <class T>
void upfirdn2d(T* y, const T* x, const T* f, const UpFirDn2dShape& s) {
  const int64_t planes = s.n * s.c;
  const AxisTaps ty = axis_taps(s.out_h, s.k_h, s.down_y, s.pad_y0, s.up_y, s.in_h);
  const AxisTaps tx = axis_taps(s.out_w, s.k_w, s.down_x, s.pad_x0, s.up_x, s.in_w);
#pragma omp parallel for schedule(static) if (planes * s.out_h * s.out_w > 16384)
  for (int64_t p = 0; p < planes; ++p) {
    const T* xp = x + p * s.in_h * s.in_w;
    T* yp = y + p * s.out_h * s.out_w;
    for (int64_t oy = 0; oy < s.out_h; ++oy) {
      T* yr = yp + oy * s.out_w;
      for (int64_t ox = 0; ox < s.out_w; ++ox) yr[ox] = 0;
      for (int64_t a = ty.start[oy]; a < ty.start[oy + 1]; ++a) {
        const T* xr = xp + ty.src[a] * s.in_w;
        const T* fr = f + ty.tap[a] * s.k_w;
        for (int64_t ox = 0; ox < s.out_w; ++ox) {
          T acc = yr[ox];
          for (int64_t b = tx.start[ox]; b < tx.start[ox + 1]; ++b) acc += fr[tx.tap[b]] * xr[tx.src[b]];
          yr[ox] = acc;
        }
      }
    }
  }
}

template void upfirdn2d<float>(float*, const float*, const float*, const UpFirDn2dShape&);
template void upfirdn2d<double>(double*, const double*, const double*, const UpFirDn2dShape&);

}  // namespace gantry::kernels::cpu
