// kernels/cpu/modconv.hpp — StyleGAN2's modulated convolution on the CPU, unfused:
// scale by the styles, a shared-weight conv (kernels/cpu/conv.hpp), scale by the
// demodulation. Geometry in kernels/shapes.hpp (Conv2dShape). Dense NCHW buffers.
//
// With s [N, Cin] (styles) and d [N, Cout] (demodulation; either may be nullptr = all ones):
//   forward:          y[n, co]  = d[n, co] * conv2d(s[n, :] * x[n], w)[co]
//   backward input:   dx[n, ci] = s[n, ci] * conv2d_backward_input(d[n, :] * dy[n], w)[ci]
//   backward weight:  dw        = sum_n conv2d_backward_weight(d[n, :] * dy[n], s[n, :] * x[n])
// i.e. conv2d with the per-sample weight w'[n, co, ci] = d[n, co] w[co, ci] s[n, ci].
#pragma once
#include "kernels/shapes.hpp"

namespace gantry::kernels::cpu {

template <class T>
void modconv2d_forward(T* y, const T* x, const T* w, const T* s, const T* d, const Conv2dShape& sh);
template <class T>
void modconv2d_backward_input(T* dx, const T* dy, const T* w, const T* s, const T* d, const Conv2dShape& sh);
template <class T>
void modconv2d_backward_weight(T* dw, const T* dy, const T* x, const T* s, const T* d, const Conv2dShape& sh);

}  // namespace gantry::kernels::cpu
