// kernels/cpu/upfirdn.cpp — upfirdn2d as a gather: each output sums the filter taps
// that land on a non-inserted input sample. Loop nest: (n, c) planes across OpenMP
// threads; oy, ox; ky, kx (taps that fall between inserted zeros are skipped).
#include "kernels/cpu/upfirdn.hpp"

namespace gantry::kernels::cpu {

namespace {
// j / up when j is a sample of x (j % up == 0 and 0 <= j / up < size), else -1.
inline int64_t source_index(int64_t j, int64_t up, int64_t size) {
  if (j < 0 || j % up != 0) return -1;
  return j / up < size ? j / up : -1;
}
}  // namespace

template <class T>
void upfirdn2d(T* y, const T* x, const T* f, const UpFirDn2dShape& s) {
  const int64_t planes = s.n * s.c;
#pragma omp parallel for schedule(static) if (planes * s.out_h * s.out_w > 16384)
  for (int64_t p = 0; p < planes; ++p) {
    const T* xp = x + p * s.in_h * s.in_w;
    T* yp = y + p * s.out_h * s.out_w;
    for (int64_t oy = 0; oy < s.out_h; ++oy)
      for (int64_t ox = 0; ox < s.out_w; ++ox) {
        T acc = 0;
        for (int64_t ky = 0; ky < s.k_h; ++ky) {
          const int64_t iy = source_index(oy * s.down_y + ky - s.pad_y0, s.up_y, s.in_h);
          if (iy < 0) continue;
          for (int64_t kx = 0; kx < s.k_w; ++kx) {
            const int64_t ix = source_index(ox * s.down_x + kx - s.pad_x0, s.up_x, s.in_w);
            if (ix < 0) continue;
            acc += f[(s.k_h - 1 - ky) * s.k_w + (s.k_w - 1 - kx)] * xp[iy * s.in_w + ix];
          }
        }
        yp[oy * s.out_w + ox] = acc;
      }
  }
}

template void upfirdn2d<float>(float*, const float*, const float*, const UpFirDn2dShape&);
template void upfirdn2d<double>(double*, const double*, const double*, const UpFirDn2dShape&);

}  // namespace gantry::kernels::cpu
