// kernels/cpu/modconv.cpp — the modulated convolution as scale, conv2d, scale (the form
// stylegan2-ada trains with when it does not fuse): one scaled copy of an operand per
// call, then the im2col + GEMM kernels of kernels/cpu/conv.cpp.
#include "kernels/cpu/modconv.hpp"

#include <vector>

#include "kernels/cpu/conv.hpp"

namespace gantry::kernels::cpu {

namespace {

// out[n, c, :] = in[n, c, :] * scale[n, c] over a [rows = N*C, len] buffer (scale == nullptr: copy).
template <class T>
void scale_rows(T* out, const T* in, const T* scale, int64_t rows, int64_t len) {
#pragma omp parallel for schedule(static) if (rows * len > 32768)
  for (int64_t r = 0; r < rows; ++r) {
    const T f = scale ? scale[r] : T(1);
    for (int64_t i = 0; i < len; ++i) out[r * len + i] = in[r * len + i] * f;
  }
}

}  // namespace

template <class T>
void modconv2d_forward(T* y, const T* x, const T* w, const T* s, const T* d, const Conv2dShape& sh) {
  const int64_t in_plane = sh.in_h * sh.in_w, out_plane = sh.out_h * sh.out_w;
  std::vector<T> xs;
  if (s) {
    xs.resize(sh.n * sh.c_in * in_plane);
    scale_rows(xs.data(), x, s, sh.n * sh.c_in, in_plane);
  }
  conv2d_forward<T>(y, s ? xs.data() : x, w, nullptr, sh);
  if (d) scale_rows(y, y, d, sh.n * sh.c_out, out_plane);
}

template <class T>
void modconv2d_backward_input(T* dx, const T* dy, const T* w, const T* s, const T* d, const Conv2dShape& sh) {
  const int64_t in_plane = sh.in_h * sh.in_w, out_plane = sh.out_h * sh.out_w;
  std::vector<T> gd;
  if (d) {
    gd.resize(sh.n * sh.c_out * out_plane);
    scale_rows(gd.data(), dy, d, sh.n * sh.c_out, out_plane);
  }
  conv2d_backward_input<T>(dx, d ? gd.data() : dy, w, sh);
  if (s) scale_rows(dx, dx, s, sh.n * sh.c_in, in_plane);
}

template <class T>
void modconv2d_backward_weight(T* dw, const T* dy, const T* x, const T* s, const T* d, const Conv2dShape& sh) {
  const int64_t in_plane = sh.in_h * sh.in_w, out_plane = sh.out_h * sh.out_w;
  std::vector<T> gd, xs;
  if (d) {
    gd.resize(sh.n * sh.c_out * out_plane);
    scale_rows(gd.data(), dy, d, sh.n * sh.c_out, out_plane);
  }
  if (s) {
    xs.resize(sh.n * sh.c_in * in_plane);
    scale_rows(xs.data(), x, s, sh.n * sh.c_in, in_plane);
  }
  conv2d_backward_weight<T>(dw, d ? gd.data() : dy, s ? xs.data() : x, sh);
}

#define GANTRY_INSTANTIATE(T)                                                                                \
  template void modconv2d_forward<T>(T*, const T*, const T*, const T*, const T*, const Conv2dShape&);        \
  template void modconv2d_backward_input<T>(T*, const T*, const T*, const T*, const T*, const Conv2dShape&); \
  template void modconv2d_backward_weight<T>(T*, const T*, const T*, const T*, const T*, const Conv2dShape&);
GANTRY_INSTANTIATE(float)
GANTRY_INSTANTIATE(double)
#undef GANTRY_INSTANTIATE

}  // namespace gantry::kernels::cpu
