// kernels/cpu/upfirdn.hpp — upfirdn2d on the CPU: upsample by zero insertion, FIR
// filter, downsample, over x [N, C, H, W] with a filter f [KH, KW]. The math is at
// UpFirDn2dShape (kernels/shapes.hpp). Dense NCHW buffers.
#pragma once
#include "kernels/shapes.hpp"

namespace gantry::kernels::cpu {

// y[N, C, out_h, out_w] = upfirdn2d(x, f) as UpFirDn2dShape defines it; a gather, one
// output at a time. Overwrites y.
template <class T>
void upfirdn2d(T* y, const T* x, const T* f, const UpFirDn2dShape& s);

}  // namespace gantry::kernels::cpu
