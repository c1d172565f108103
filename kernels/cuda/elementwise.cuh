// kernels/cuda/elementwise.cuh — elementwise ops on the device, with broadcasting:
// y (dense, sizes of the StridedShapes) = f(inputs at their own strides; 0 = broadcast).
#pragma once
#include "kernels/cuda/cuda_compat.cuh"
#include "kernels/elementwise_ops.hpp"
#include "kernels/shapes.hpp"

namespace gantry::kernels::cuda {

// y[i] = f(x(i)); sx.sizes are y's sizes. F is a functor of kernels/elementwise_ops.hpp
// (instantiated in elementwise.cu for each of GANTRY_UNARY_FUNCTORS), e.g.
// unary(y, x, sx, elementwise::LeakyRelu<float>{0.2f}).
template <class F>
void unary(float* y, const float* x, const StridedShape& sx, F f);
// y[i] = f(a(i), b(i)); sa.sizes == sb.sizes are y's sizes (F: one of GANTRY_BINARY_FUNCTORS).
template <class F>
void binary(float* y, const float* a, const StridedShape& sa, const float* b, const StridedShape& sb, F f);
// y[i] = c(i) != 0 ? a(i) : b(i).
void where(float* y, const float* c, const StridedShape& sc, const float* a, const StridedShape& sa, const float* b,
           const StridedShape& sb);

}  // namespace gantry::kernels::cuda
