// kernels/cuda/elementwise.cuh — elementwise ops on the device, with broadcasting:
// y (dense, sizes of the StridedShapes) = f(inputs at their own strides; 0 = broadcast).
#pragma once
#include "kernels/cuda/cuda_compat.cuh"
#include "kernels/shapes.hpp"

namespace gantry::kernels::cuda {

// y[i] = op(x(i)); sx.sizes are y's sizes.
void unary(float* y, const float* x, const StridedShape& sx, UnarySpec spec, cudaStream_t stream);
// y[i] = op(a(i), b(i)); sa.sizes == sb.sizes are y's sizes.
void binary(float* y, const float* a, const StridedShape& sa, const float* b, const StridedShape& sb, BinarySpec spec,
            cudaStream_t stream);
// y[i] = c(i) != 0 ? a(i) : b(i).
void where(float* y, const float* c, const StridedShape& sc, const float* a, const StridedShape& sa, const float* b,
           const StridedShape& sb, cudaStream_t stream);

}  // namespace gantry::kernels::cuda
