// kernels/cuda/conv.cuh — 2-d convolution on the device: forward, backward-input (which
// is also conv_transpose2d's forward) and backward-weight. The same contracts as
// kernels/cpu/conv.hpp, float32, dense NCHW, geometry in kernels/shapes.hpp
// (Conv2dShape). The algorithm, thread mapping and versions: kernels/cuda/conv.cu and
// docs/kernels/conv2d.md.
#pragma once
#include <cstddef>

#include "kernels/cuda/cuda_compat.cuh"
#include "kernels/cuda/versions.hpp"
#include "kernels/shapes.hpp"

namespace gantry::kernels::cuda {

// y[N,Cout,OH,OW] = sum_{ci,kh,kw} x[n, ci, oh*sh - ph + kh*dh, ow*sw - pw + kw*dw] * w[co, ci, kh, kw]
//                   (+ bias[co] when bias != nullptr); zero padding.
void conv2d_forward(float* y, const float* x, const float* w, const float* bias, const Conv2dShape& s);
// dx[N,Cin,H,W] = d/dx of sum(dy * conv2d(x, w)). Overwrites dx. Also conv_transpose2d's
// forward, reading the transposed conv's weight [Cin_t, Cout_t, KH, KW] as [c_out, c_in, KH, KW].
void conv2d_backward_input(float* dx, const float* dy, const float* w, const Conv2dShape& s);
// dw[Cout,Cin,KH,KW] = d/dw of sum(dy * conv2d(x, w)), summed over the batch. Overwrites dw.
void conv2d_backward_weight(float* dw, const float* dy, const float* x, const Conv2dShape& s);

// The same three contracts with the version named (1..kConvVersions, backward-weight
// 1..kConvWeightVersions; 0 = kernel_versions()'s, which the functions above run), so
// tests and benchmarks can run every version (the table is in kernels/cuda/conv.cu). Throws gantry::cuda::CudaError for
// an unknown version, a tensor of 2^31 elements or more, or a failed launch.
void conv2d_forward(float* y, const float* x, const float* w, const float* bias, const Conv2dShape& s, int version);
void conv2d_backward_input(float* dx, const float* dy, const float* w, const Conv2dShape& s, int version);
void conv2d_backward_weight(float* dw, const float* dy, const float* x, const Conv2dShape& s, int version);
// Scratch, in floats, that conv2d_backward_weight needs for `s` and `version` (0 =
// kernel_versions()'s): version 3's split-K partial sums, 0 when K is not split.
size_t conv2d_backward_weight_workspace(const Conv2dShape& s, int version = 0);
// With the caller's scratch (at least conv2d_backward_weight_workspace(s, version) floats;
// the op layer takes it from the caching allocator, so the memory counters see it). The
// overloads above without it (tests, bench_kernels) cudaMalloc and free it per call.
void conv2d_backward_weight(float* dw, const float* dy, const float* x, const Conv2dShape& s, float* workspace,
                            int version);

}  // namespace gantry::kernels::cuda
