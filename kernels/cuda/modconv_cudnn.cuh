// kernels/cuda/modconv_cudnn.cuh — the modulated convolution's peer for bench_kernels:
// cuDNN's grouped convolution over the batch, as stylegan2-ada's fused_modconv path runs it
// (x as [1, N*Cin, H, W], the per-sample weights as [N*Cout, Cin, KH, KW], groups = N).
// Only in the real build with cuDNN (GANTRY_HAVE_CUDNN); elsewhere every function throws.
#pragma once
#include "kernels/cuda/cuda_compat.cuh"
#include "kernels/shapes.hpp"

namespace gantry::kernels::cudnn {

// The workspace bytes the call below needs for s (it chooses the algorithm, once per shape).
// The caller allocates the workspace and passes it in; nothing here allocates scratch.
size_t grouped_conv2d_forward_workspace(const Conv2dShape& s);
size_t grouped_conv2d_backward_input_workspace(const Conv2dShape& s);

// y[n] = conv2d(x[n], w[n]) for every sample n, with w [N, Cout, Cin, KH, KW] materialised
// (the tensor the fused kernel never stores). Geometry s is one sample's conv2d. ws: at
// least grouped_conv2d_forward_workspace(s) bytes (throws otherwise).
void grouped_conv2d_forward(float* y, const float* x, const float* w, const Conv2dShape& s, void* ws, size_t ws_bytes);
// dx[n] = conv2d_backward_input(dy[n], w[n]) for every sample n, w as above; ws: at least
// grouped_conv2d_backward_input_workspace(s) bytes.
void grouped_conv2d_backward_input(float* dx, const float* dy, const float* w, const Conv2dShape& s, void* ws,
                                   size_t ws_bytes);

}  // namespace gantry::kernels::cudnn
