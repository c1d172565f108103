// kernels/cpu/conv.cpp — conv2d as a GEMM over im2col columns.
//
// Math (one sample n; K = Cin*KH*KW, P = OH*OW):
//   cols[k = (ci*KH + kh)*KW + kw, p = oh*OW + ow] = x[ci, oh*sh - ph + kh*dh, ow*sw - pw + kw*dw]  (0 outside)
//   forward:          Y[Cout, P] = W[Cout, K] @ cols[K, P]              (+ bias per row)
//   backward input:   dcols[K, P] = W^T[K, Cout] @ dY[Cout, P], then col2im adds each
//                     dcols entry back into the x position it was read from
//   backward weight:  dW[Cout, K] = sum_n dY_n[Cout, P] @ cols_n^T[P, K]
// Layout: NCHW, dense. Loop nest: samples across OpenMP threads (each thread owns a
// column buffer, allocated once per call); the GEMM inside is Eigen's blocked product.
// With fewer samples than threads, samples run one after another and Eigen threads
// the GEMM instead.
#include "kernels/cpu/conv.hpp"

#include <omp.h>

#include <Eigen/Core>
#include <vector>

namespace gantry::kernels::cpu {

namespace {

template <class T>
using Mat = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
template <class T>
using Map = Eigen::Map<Mat<T>>;
template <class T>
using CMap = Eigen::Map<const Mat<T>>;

int64_t patch_size(const Conv2dShape& s) { return s.c_in * s.k_h * s.k_w; }
int64_t out_pixels(const Conv2dShape& s) { return s.out_h * s.out_w; }

// cols[K, P] from one sample x[Cin, H, W].
template <class T>
void im2col(T* cols, const T* x, const Conv2dShape& s) {
  for (int64_t ci = 0; ci < s.c_in; ++ci)
    for (int64_t kh = 0; kh < s.k_h; ++kh)
      for (int64_t kw = 0; kw < s.k_w; ++kw) {
        T* row = cols + ((ci * s.k_h + kh) * s.k_w + kw) * out_pixels(s);
        for (int64_t oh = 0; oh < s.out_h; ++oh) {
          const int64_t ih = oh * s.stride_h - s.pad_h + kh * s.dil_h;
          T* out = row + oh * s.out_w;
          if (ih < 0 || ih >= s.in_h) {
            for (int64_t ow = 0; ow < s.out_w; ++ow) out[ow] = T(0);
            continue;
          }
          const T* in = x + (ci * s.in_h + ih) * s.in_w;
          for (int64_t ow = 0; ow < s.out_w; ++ow) {
            const int64_t iw = ow * s.stride_w - s.pad_w + kw * s.dil_w;
            out[ow] = (iw >= 0 && iw < s.in_w) ? in[iw] : T(0);
          }
        }
      }
}

// x[Cin, H, W] += the columns scattered back (the adjoint of im2col). x must start zeroed.
template <class T>
void col2im(T* x, const T* cols, const Conv2dShape& s) {
  for (int64_t ci = 0; ci < s.c_in; ++ci)
    for (int64_t kh = 0; kh < s.k_h; ++kh)
      for (int64_t kw = 0; kw < s.k_w; ++kw) {
        const T* row = cols + ((ci * s.k_h + kh) * s.k_w + kw) * out_pixels(s);
        for (int64_t oh = 0; oh < s.out_h; ++oh) {
          const int64_t ih = oh * s.stride_h - s.pad_h + kh * s.dil_h;
          if (ih < 0 || ih >= s.in_h) continue;
          T* out = x + (ci * s.in_h + ih) * s.in_w;
          const T* in = row + oh * s.out_w;
          for (int64_t ow = 0; ow < s.out_w; ++ow) {
            const int64_t iw = ow * s.stride_w - s.pad_w + kw * s.dil_w;
            if (iw >= 0 && iw < s.in_w) out[iw] += in[ow];
          }
        }
      }
}

// Runs body(n, thread) for every sample: across threads when there are enough samples.
template <class F>
void for_each_sample(int64_t n, F body) {
  if (n >= omp_get_max_threads()) {
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < n; ++i) body(i, omp_get_thread_num());
  } else {
    for (int64_t i = 0; i < n; ++i) body(i, 0);
  }
}

}  // namespace

template <class T>
void conv2d_forward(T* y, const T* x, const T* w, const T* bias, const Conv2dShape& s) {
  const int64_t K = patch_size(s), P = out_pixels(s);
  std::vector<std::vector<T>> cols(omp_get_max_threads(), std::vector<T>(K * P));
  CMap<T> W(w, s.c_out, K);
  for_each_sample(s.n, [&](int64_t n, int t) {
    im2col(cols[t].data(), x + n * s.c_in * s.in_h * s.in_w, s);
    Map<T> Y(y + n * s.c_out * P, s.c_out, P);
    Y.noalias() = W * CMap<T>(cols[t].data(), K, P);
    if (bias)
      for (int64_t co = 0; co < s.c_out; ++co) Y.row(co).array() += bias[co];
  });
}

template <class T>
void conv2d_backward_input(T* dx, const T* dy, const T* w, const Conv2dShape& s) {
  const int64_t K = patch_size(s), P = out_pixels(s), in_size = s.c_in * s.in_h * s.in_w;
  std::vector<std::vector<T>> cols(omp_get_max_threads(), std::vector<T>(K * P));
  CMap<T> W(w, s.c_out, K);
  for_each_sample(s.n, [&](int64_t n, int t) {
    Map<T> dcols(cols[t].data(), K, P);
    dcols.noalias() = W.transpose() * CMap<T>(dy + n * s.c_out * P, s.c_out, P);
    T* dxn = dx + n * in_size;
    std::fill(dxn, dxn + in_size, T(0));
    col2im(dxn, cols[t].data(), s);
  });
}

template <class T>
void conv2d_backward_weight(T* dw, const T* dy, const T* x, const Conv2dShape& s) {
  const int64_t K = patch_size(s), P = out_pixels(s);
  const int threads = omp_get_max_threads();
  std::vector<std::vector<T>> cols(threads, std::vector<T>(K * P));
  std::vector<Mat<T>> partial(threads, Mat<T>::Zero(s.c_out, K));
  for_each_sample(s.n, [&](int64_t n, int t) {
    im2col(cols[t].data(), x + n * s.c_in * s.in_h * s.in_w, s);
    partial[t].noalias() += CMap<T>(dy + n * s.c_out * P, s.c_out, P) * CMap<T>(cols[t].data(), K, P).transpose();
  });
  Map<T> dW(dw, s.c_out, K);
  dW.setZero();
  for (auto& p : partial) dW += p;
}

#define GANTRY_INSTANTIATE(T)                                                                      \
  template void conv2d_forward<T>(T*, const T*, const T*, const T*, const Conv2dShape&);          \
  template void conv2d_backward_input<T>(T*, const T*, const T*, const Conv2dShape&);             \
  template void conv2d_backward_weight<T>(T*, const T*, const T*, const Conv2dShape&);
GANTRY_INSTANTIATE(float)
GANTRY_INSTANTIATE(double)
#undef GANTRY_INSTANTIATE

}  // namespace gantry::kernels::cpu
