// kernels/cpu/image.hpp — 2-d padding and nearest upsampling over x [N, C, H, W];
// `in` is the input's shape. Each backward is its forward's adjoint and overwrites dx.
#pragma once
#include "kernels/shapes.hpp"

namespace gantry::kernels::cpu {

enum class PadMode { zero, reflect };

// y[n, c, H + top + bottom, W + left + right]: zero fills outside; reflect mirrors
// without repeating the edge (PyTorch's ReflectionPad2d; pads must be < the size).
template <class T>
void pad2d_forward(T* y, const T* x, const ImageShape& in, int64_t left, int64_t right, int64_t top, int64_t bottom,
                   PadMode mode);
// dx[n, c, h, w] = sum of dy over every output position that read x[n, c, h, w].
template <class T>
void pad2d_backward(T* dx, const T* dy, const ImageShape& in, int64_t left, int64_t right, int64_t top,
                    int64_t bottom, PadMode mode);
// y[n, c, h*sh + i, w*sw + j] = x[n, c, h, w] for 0 <= i < sh, 0 <= j < sw.
template <class T> void upsample_nearest2d_forward(T* y, const T* x, const ImageShape& in, int64_t sh, int64_t sw);
// dx[n, c, h, w] = sum of dy over the sh x sw block.
template <class T> void upsample_nearest2d_backward(T* dx, const T* dy, const ImageShape& in, int64_t sh, int64_t sw);

}  // namespace gantry::kernels::cpu
