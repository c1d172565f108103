// kernels/cpu/conv.hpp — 2-d convolution on the CPU: GEMMs over blocks of samples (implicit with the AVX-512 SGEMM)
// (docs/kernels/cpu_conv.md).
// Geometry in kernels/shapes.hpp (Conv2dShape). All buffers dense NCHW.
#pragma once
#include "kernels/shapes.hpp"

namespace gantry::kernels::cpu {

// y[N,Cout,OH,OW] = sum_{ci,kh,kw} x[n, ci, oh*sh - ph + kh*dh, ow*sw - pw + kw*dw] * w[co, ci, kh, kw]
//                   (+ bias[co] when bias != nullptr); zero padding. slope >= 0: then an
// activation, y > 0 ? y : slope y (0: ReLU's y > 0 ? y : 0), in the tiles' store where it can.
template <class T>
void conv2d_forward(T* y, const T* x, const T* w, const T* bias, const Conv2dShape& s, T slope = T(-1));
// dx[N,Cin,H,W] = the adjoint of conv2d in its input: d/dx of sum(dy * conv2d(x, w)). Overwrites dx.
// Also conv_transpose2d's forward, reading the transposed conv's weight [Cin_t, Cout_t, KH, KW]
// as a conv2d weight [c_out, c_in, KH, KW].
template <class T>
void conv2d_backward_input(T* dx, const T* dy, const T* w, const Conv2dShape& s);
// dw[Cout,Cin,KH,KW] = d/dw of sum(dy * conv2d(x, w)), summed over the batch. Overwrites dw.
template <class T>
void conv2d_backward_weight(T* dw, const T* dy, const T* x, const Conv2dShape& s);

}  // namespace gantry::kernels::cpu
