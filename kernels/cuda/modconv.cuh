// kernels/cuda/modconv.cuh — StyleGAN2's modulated convolution on the device, fused:
// conv2d with the per-sample weight w'[n, co, ci, kh, kw] = d[n, co] w[co, ci, kh, kw] s[n, ci],
// formed inside the implicit-GEMM tile loads (no per-sample weight tensor is stored).
// The same contracts as kernels/cpu/modconv.hpp: float32, dense NCHW, Conv2dShape geometry;
// s [N, Cin] and d [N, Cout] may be nullptr (= all ones). The loop nest and the math are in
// kernels/cuda/modconv.cu and docs/kernels/modulated_conv2d.md.
#pragma once
#include <cstddef>

#include "kernels/cuda/cuda_compat.cuh"
#include "kernels/shapes.hpp"

namespace gantry::kernels::cuda {

// y[n, co] = d[n, co] * sum_{ci, kh, kw} w[co, ci, kh, kw] s[n, ci] x[n, ci, ih, iw] (conv2d's taps).
void modconv2d_forward(float* y, const float* x, const float* w, const float* s, const float* d,
                       const Conv2dShape& shape);
// dx[n, ci] = s[n, ci] * sum_{co, kh, kw} w[co, ci, kh, kw] d[n, co] dy[n, co, oh, ow] (the taps
// that read x[n, ci, h, w]): the adjoint of the forward in x. Overwrites dx.
void modconv2d_backward_input(float* dx, const float* dy, const float* w, const float* s, const float* d,
                              const Conv2dShape& shape);
// dw[co, ci, kh, kw] = sum_{n, oh, ow} d[n, co] dy[n, co, oh, ow] s[n, ci] x[n, ci, ih, iw]. Overwrites dw.
void modconv2d_backward_weight(float* dw, const float* dy, const float* x, const float* s, const float* d,
                               const Conv2dShape& shape);
// Scratch, in floats, that the backward weight needs for `shape` (its split-K partial
// sums; 0 when K is not split), and the backward weight with the caller's scratch (the op
// layer takes it from the caching allocator; the overload above cudaMallocs it per call).
size_t modconv2d_backward_weight_workspace(const Conv2dShape& shape);
void modconv2d_backward_weight(float* dw, const float* dy, const float* x, const float* s, const float* d,
                               const Conv2dShape& shape, float* workspace);

}  // namespace gantry::kernels::cuda
