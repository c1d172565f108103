// kernels/cpu/image.cpp — 2-d padding and nearest upsampling over [N, C, H, W], CPU.
//
// Math (per (n, c) plane; OH, OW are the output's spatial sizes):
//   pad2d       y[oh, ow] = x[src(oh - top, H), src(ow - left, W)], where for i outside [0, size)
//               zero:    the value is 0
//               reflect: src(i) = -i (i < 0), 2(size-1) - i (i >= size)   (edge not repeated,
//                        PyTorch's ReflectionPad2d; valid while pad < size, one mirror suffices)
//               OH = H + top + bottom, OW = W + left + right
//   upsample    y[h*sh + i, w*sw + j] = x[h, w], 0 <= i < sh, 0 <= j < sw;  OH = H sh, OW = W sw
//   backward    the adjoint of each map: dx[h, w] = sum of dy over the outputs that read (h, w).
//
// Layout: NCHW row-major; plane p = n*C + c starts at p*H*W in x and p*OH*OW in y.
//
// Loop nest:  for p = (n, c)  (OpenMP, one plane per iteration)
//               for oh        (output rows)
//                 for ow      (output columns; interiors are straight copies)
// Forwards gather. pad2d_backward scatters (reflect sends several outputs to one input)
// but only into its own plane, so no two threads write one element; the upsample
// backward gathers its sh x sw block.
#include "kernels/cpu/image.hpp"

#include <algorithm>

namespace gantry::kernels::cpu {

namespace {

constexpr int64_t kParallelMinElements = 1 << 15;  // below this, threads cost more than they save

// The input index read by output index `o` along a dim of `size` padded by `before`;
// -1 where it reads the zero padding.
inline int64_t source_index(int64_t o, int64_t before, int64_t size, PadMode mode) {
  const int64_t i = o - before;
  if (i >= 0 && i < size) return i;
  if (mode == PadMode::zero) return -1;
  return i < 0 ? -i : 2 * (size - 1) - i;
}

}  // namespace

template <class T>
void pad2d_forward(T* __restrict__ y, const T* __restrict__ x, const ImageShape& in, int64_t left, int64_t right,
                   int64_t top, int64_t bottom, PadMode mode) {
  const int64_t oh = in.h + top + bottom, ow = in.w + left + right;
#pragma omp parallel for if (in.n * in.c * oh * ow > kParallelMinElements)
  for (int64_t p = 0; p < in.n * in.c; ++p) {
    const T* src = x + p * in.h * in.w;
    T* dst = y + p * oh * ow;
    for (int64_t r = 0; r < oh; ++r) {
      T* out = dst + r * ow;
      const int64_t ih = source_index(r, top, in.h, mode);
      if (ih < 0) {
        std::fill(out, out + ow, T(0));
        continue;
      }
      const T* row = src + ih * in.w;
      auto border = [&](int64_t col) {
        const int64_t iw = source_index(col, left, in.w, mode);
        out[col] = iw < 0 ? T(0) : row[iw];
      };
      for (int64_t col = 0; col < left; ++col) border(col);
      std::copy(row, row + in.w, out + left);
      for (int64_t col = left + in.w; col < ow; ++col) border(col);
    }
  }
}

template <class T>
void pad2d_backward(T* __restrict__ dx, const T* __restrict__ dy, const ImageShape& in, int64_t left, int64_t right,
                    int64_t top, int64_t bottom, PadMode mode) {
  const int64_t oh = in.h + top + bottom, ow = in.w + left + right;
#pragma omp parallel for if (in.n * in.c * oh * ow > kParallelMinElements)
  for (int64_t p = 0; p < in.n * in.c; ++p) {
    T* dst = dx + p * in.h * in.w;
    const T* src = dy + p * oh * ow;
    std::fill(dst, dst + in.h * in.w, T(0));
    for (int64_t r = 0; r < oh; ++r) {
      const int64_t ih = source_index(r, top, in.h, mode);
      if (ih < 0) continue;
      T* row = dst + ih * in.w;
      const T* g = src + r * ow;
      for (int64_t col = 0; col < ow; ++col) {
        const int64_t iw = source_index(col, left, in.w, mode);
        if (iw >= 0) row[iw] += g[col];
      }
    }
  }
}

template <class T>
void upsample_nearest2d_forward(T* __restrict__ y, const T* __restrict__ x, const ImageShape& in, int64_t scale_h,
                                int64_t scale_w) {
  const int64_t oh = in.h * scale_h, ow = in.w * scale_w;
#pragma omp parallel for if (in.n * in.c * oh * ow > kParallelMinElements)
  for (int64_t p = 0; p < in.n * in.c; ++p) {
    const T* src = x + p * in.h * in.w;
    T* dst = y + p * oh * ow;
    for (int64_t h = 0; h < in.h; ++h) {
      // widen input row h into output row h*scale_h, then copy that row scale_h - 1 times
      T* first = dst + h * scale_h * ow;
      for (int64_t w = 0; w < in.w; ++w) std::fill(first + w * scale_w, first + (w + 1) * scale_w, src[h * in.w + w]);
      for (int64_t i = 1; i < scale_h; ++i) std::copy(first, first + ow, first + i * ow);
    }
  }
}

template <class T>
void upsample_nearest2d_backward(T* __restrict__ dx, const T* __restrict__ dy, const ImageShape& in, int64_t scale_h,
                                 int64_t scale_w) {
  const int64_t oh = in.h * scale_h, ow = in.w * scale_w;
#pragma omp parallel for if (in.n * in.c * oh * ow > kParallelMinElements)
  for (int64_t p = 0; p < in.n * in.c; ++p) {
    T* dst = dx + p * in.h * in.w;
    const T* src = dy + p * oh * ow;
    for (int64_t h = 0; h < in.h; ++h)
      for (int64_t w = 0; w < in.w; ++w) {
        T acc = 0;
        for (int64_t i = 0; i < scale_h; ++i) {
          const T* block_row = src + (h * scale_h + i) * ow + w * scale_w;
          for (int64_t j = 0; j < scale_w; ++j) acc += block_row[j];
        }
        dst[h * in.w + w] = acc;
      }
  }
}

#define GANTRY_INSTANTIATE(T)                                                                                    \
  template void pad2d_forward<T>(T*, const T*, const ImageShape&, int64_t, int64_t, int64_t, int64_t, PadMode);  \
  template void pad2d_backward<T>(T*, const T*, const ImageShape&, int64_t, int64_t, int64_t, int64_t, PadMode); \
  template void upsample_nearest2d_forward<T>(T*, const T*, const ImageShape&, int64_t, int64_t);                \
  template void upsample_nearest2d_backward<T>(T*, const T*, const ImageShape&, int64_t, int64_t);
GANTRY_INSTANTIATE(float)
GANTRY_INSTANTIATE(double)
#undef GANTRY_INSTANTIATE

}  // namespace gantry::kernels::cpu
