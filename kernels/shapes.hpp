// kernels/shapes.hpp — the plain-old-data shape structs shared by every backend.
//
// kernels/ is the leaf layer: raw pointers, these PODs, and (for CUDA) a stream.
// The same struct is passed to the CPU function and to the CUDA launcher of an op,
// so both sides agree on the meaning of every index. All tensors are dense,
// row-major (NCHW for images) unless a struct carries explicit strides.
#pragma once
#include <cstdint>

// __host__ __device__ under nvcc; nothing for the host compiler (the emulator's
// qualifiers are empty too).
#if defined(__CUDACC__)
#define GANTRY_HD __host__ __device__
#else
#define GANTRY_HD
#endif

namespace gantry::kernels {

constexpr int kMaxDims = 8;

// An N-d strided view of one operand: element (i0..i{n-1}) lives at
// data[sum_k i_k * strides[k]]. A broadcast dimension has stride 0.
struct StridedShape {
  int ndim = 0;
  int64_t sizes[kMaxDims] = {};
  int64_t strides[kMaxDims] = {};
};

// Convolution geometry, shared by conv2d, conv_transpose2d and their backward ops.
// For conv2d:            input [N, C_in, H, W], weight [C_out, C_in, KH, KW],
//                        output [N, C_out, OH, OW].
// For conv_transpose2d:  input [N, C_in, H, W], weight [C_in, C_out, KH, KW],
//                        output [N, C_out, OH, OW]; (H, W) <-> (OH, OW) swap roles:
//                        the transposed conv is the adjoint of a conv2d whose input
//                        is [N, C_out, OH, OW] and whose output is [N, C_in, H, W].
// In both cases `in_h/in_w` are the spatial sizes of the *conv2d input side* and
// `out_h/out_w` those of the conv2d output side:
//   out = (in + 2*pad - dil*(k-1) - 1) / stride + 1.
struct Conv2dShape {
  int64_t n = 0;
  int64_t c_in = 0, in_h = 0, in_w = 0;     // conv2d input side
  int64_t c_out = 0, out_h = 0, out_w = 0;  // conv2d output side
  int64_t k_h = 0, k_w = 0;
  int64_t stride_h = 1, stride_w = 1;
  int64_t pad_h = 0, pad_w = 0;
  int64_t dil_h = 1, dil_w = 1;
};

// Batch normalization over [N, C, S] where S is the flattened spatial size
// (S = H*W for BatchNorm2d, S = 1 for BatchNorm1d on [N, C]).
struct BatchNormShape {
  int64_t n = 0, c = 0, s = 0;
};

// A 2-d image batch [N, C, H, W] (pads, upsampling).
struct ImageShape {
  int64_t n = 0, c = 0, h = 0, w = 0;
};

// upfirdn2d (StyleGAN2's FIR resampling) of x [N, C, H, W] by a 2-d filter f [KH, KW]:
// upsample by zero insertion, pad (a negative pad crops), convolve with f (a true
// convolution: f flipped), keep every down-th sample:
//   y[n, c, oy, ox] = sum_{ky, kx} f[KH-1-ky, KW-1-kx] * u(oy*down_y + ky - pad_y0, ox*down_x + kx - pad_x0)
//   u(j, i) = x[n, c, j/up_y, i/up_x] if j % up_y == 0, i % up_x == 0 and inside x, else 0.
// The far pads only set out_h, out_w: out = (in*up + pad0 + pad1 - K) / down + 1.
struct UpFirDn2dShape {
  int64_t n = 0, c = 0, in_h = 0, in_w = 0, out_h = 0, out_w = 0, k_h = 0, k_w = 0;
  int64_t up_y = 1, up_x = 1, down_y = 1, down_x = 1, pad_y0 = 0, pad_x0 = 0;
};

// Hyperparameters of one fused optimizer step (the same struct for CPU and CUDA).
// Adam (Kingma & Ba; weight_decay is L2 added to the gradient, as torch.optim.Adam):
//   g' = g + wd p;  m = b1 m + (1-b1) g';  v = b2 v + (1-b2) g'^2
//   p -= lr * (m / bc1) / (sqrt(v / bc2) + eps),  bc_i = 1 - b_i^step
struct AdamStep {
  double lr, beta1, beta2, eps, weight_decay, bias_correction1, bias_correction2;
};
// RMSProp (torch.optim.RMSprop): g' = g + wd p;  v = alpha v + (1-alpha) g'^2;
//   without momentum: p -= lr g' / (sqrt(v) + eps)
//   with momentum:    b = mom b + g' / (sqrt(v) + eps);  p -= lr b
struct RMSPropStep {
  double lr, alpha, eps, weight_decay, momentum;
};
// SGD (torch.optim.SGD): d = g + wd p;  b = mom b + d (b = d on the first step);
//   p -= lr * (nesterov ? d + mom b : b)   (plain p -= lr d when mom = 0)
struct SGDStep {
  double lr, momentum, weight_decay;
  bool nesterov, first_step;
};

}  // namespace gantry::kernels
