// kernels/cuda/upfirdn.cuh — upfirdn2d on the device: upsample by zero insertion, FIR
// filter, downsample. The same contract as kernels/cpu/upfirdn.hpp (math at
// UpFirDn2dShape in kernels/shapes.hpp), float32, dense NCHW; x [N, C, H, W], f [KH, KW].
#pragma once
#include "kernels/cuda/cuda_compat.cuh"
#include "kernels/shapes.hpp"

namespace gantry::kernels::cuda {

// y[N, C, out_h, out_w] = upfirdn2d(x, f); overwrites y. The backward pass is this same
// function (the flipped filter, up and down swapped: core/ops/modconv.cpp).
void upfirdn2d(float* y, const float* x, const float* f, const UpFirDn2dShape& s);

}  // namespace gantry::kernels::cuda
