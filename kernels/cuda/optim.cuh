// kernels/cuda/optim.cuh — fused optimizer steps on the device; the math is in the
// step structs' comments (kernels/shapes.hpp), shared with kernels/cpu/optim.cpp.
#pragma once
#include <cstdint>

#include "kernels/cuda/cuda_compat.cuh"
#include "kernels/shapes.hpp"

namespace gantry::kernels::cuda {

void adam_step(float* p, float* m, float* v, const float* g, int64_t n, const AdamStep& h);
// buf may be nullptr when h.momentum == 0.
void rmsprop_step(float* p, float* v, float* buf, const float* g, int64_t n, const RMSPropStep& h);
void sgd_step(float* p, float* buf, const float* g, int64_t n, const SGDStep& h);

}  // namespace gantry::kernels::cuda
