// kernels/cpu/image.cpp — padding and upsampling, one (n, c) plane per OpenMP iteration.
// Both are index maps out -> in; the forward gathers, the backward scatters into
// its own plane only, so no two threads write the same element.
#include "kernels/cpu/image.hpp"

#include <algorithm>

namespace gantry::kernels::cpu {

namespace {
// The input index read by output index `o` along a dim of size `size` padded by `before`;
// -1 when it reads the zero padding.
int64_t source_index(int64_t o, int64_t before, int64_t size, PadMode mode) {
  int64_t i = o - before;
  if (i >= 0 && i < size) return i;
  if (mode == PadMode::zero) return -1;
  return i < 0 ? -i : 2 * (size - 1) - i;  // mirror about the edge, edge not repeated
}
}  // namespace

template <class T>
void pad2d_forward(T* y, const T* x, const ImageShape& in, int64_t left, int64_t right, int64_t top, int64_t bottom,
                   PadMode mode) {
  const int64_t oh = in.h + top + bottom, ow = in.w + left + right;
#pragma omp parallel for if (in.n * in.c * oh * ow > (1 << 15))
  for (int64_t plane = 0; plane < in.n * in.c; ++plane) {
    const T* src = x + plane * in.h * in.w;
    T* dst = y + plane * oh * ow;
    for (int64_t r = 0; r < oh; ++r) {
      const int64_t ih = source_index(r, top, in.h, mode);
      for (int64_t c = 0; c < ow; ++c) {
        const int64_t iw = source_index(c, left, in.w, mode);
        dst[r * ow + c] = (ih < 0 || iw < 0) ? T(0) : src[ih * in.w + iw];
      }
    }
  }
}

template <class T>
void pad2d_backward(T* dx, const T* dy, const ImageShape& in, int64_t left, int64_t right, int64_t top,
                    int64_t bottom, PadMode mode) {
  const int64_t oh = in.h + top + bottom, ow = in.w + left + right;
#pragma omp parallel for if (in.n * in.c * oh * ow > (1 << 15))
  for (int64_t plane = 0; plane < in.n * in.c; ++plane) {
    T* dst = dx + plane * in.h * in.w;
    const T* src = dy + plane * oh * ow;
    std::fill(dst, dst + in.h * in.w, T(0));
    for (int64_t r = 0; r < oh; ++r) {
      const int64_t ih = source_index(r, top, in.h, mode);
      if (ih < 0) continue;
      for (int64_t c = 0; c < ow; ++c) {
        const int64_t iw = source_index(c, left, in.w, mode);
        if (iw >= 0) dst[ih * in.w + iw] += src[r * ow + c];
      }
    }
  }
}

template <class T>
void upsample_nearest2d_forward(T* y, const T* x, const ImageShape& in, int64_t sh, int64_t sw) {
  const int64_t oh = in.h * sh, ow = in.w * sw;
#pragma omp parallel for if (in.n * in.c * oh * ow > (1 << 15))
  for (int64_t plane = 0; plane < in.n * in.c; ++plane) {
    const T* src = x + plane * in.h * in.w;
    T* dst = y + plane * oh * ow;
    for (int64_t r = 0; r < oh; ++r)
      for (int64_t c = 0; c < ow; ++c) dst[r * ow + c] = src[(r / sh) * in.w + c / sw];
  }
}

template <class T>
void upsample_nearest2d_backward(T* dx, const T* dy, const ImageShape& in, int64_t sh, int64_t sw) {
  const int64_t oh = in.h * sh, ow = in.w * sw;
#pragma omp parallel for if (in.n * in.c * oh * ow > (1 << 15))
  for (int64_t plane = 0; plane < in.n * in.c; ++plane) {
    T* dst = dx + plane * in.h * in.w;
    const T* src = dy + plane * oh * ow;
    std::fill(dst, dst + in.h * in.w, T(0));
    for (int64_t r = 0; r < oh; ++r)
      for (int64_t c = 0; c < ow; ++c) dst[(r / sh) * in.w + c / sw] += src[r * ow + c];
  }
}

#define GANTRY_INSTANTIATE(T)                                                                                \
  template void pad2d_forward<T>(T*, const T*, const ImageShape&, int64_t, int64_t, int64_t, int64_t, PadMode); \
  template void pad2d_backward<T>(T*, const T*, const ImageShape&, int64_t, int64_t, int64_t, int64_t, PadMode); \
  template void upsample_nearest2d_forward<T>(T*, const T*, const ImageShape&, int64_t, int64_t);            \
  template void upsample_nearest2d_backward<T>(T*, const T*, const ImageShape&, int64_t, int64_t);
GANTRY_INSTANTIATE(float)
GANTRY_INSTANTIATE(double)
#undef GANTRY_INSTANTIATE

}  // namespace gantry::kernels::cpu
