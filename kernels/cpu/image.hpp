// kernels/cpu/image.hpp — 2-d padding and nearest upsampling over x [N, C, H, W];
// `in` is the input's shape. Each backward is its forward's adjoint and fully
// overwrites dx. Math and loop nest in image.cpp.
#pragma once
#include "kernels/shapes.hpp"

namespace gantry::kernels::cpu {

enum class PadMode { zero, reflect };

// y[n, c, H + top + bottom, W + left + right]: zero fills outside; reflect mirrors
// without repeating the edge (PyTorch's ReflectionPad2d; requires each pad < the size
// of its dim, which the caller checks). Pads are >= 0.
template <class T>
void pad2d_forward(T* y, const T* x, const ImageShape& in, int64_t left, int64_t right, int64_t top, int64_t bottom,
                   PadMode mode);
// dx[n, c, h, w] = sum of dy over every output position that read x[n, c, h, w].
template <class T>
void pad2d_backward(T* dx, const T* dy, const ImageShape& in, int64_t left, int64_t right, int64_t top, int64_t bottom,
                    PadMode mode);
// y[n, c, h*scale_h + i, w*scale_w + j] = x[n, c, h, w] for 0 <= i < scale_h, 0 <= j < scale_w
// (integer scales >= 1).
template <class T>
void upsample_nearest2d_forward(T* y, const T* x, const ImageShape& in, int64_t scale_h, int64_t scale_w);
// dx[n, c, h, w] = sum of dy over its scale_h x scale_w block.
template <class T>
void upsample_nearest2d_backward(T* dx, const T* dy, const ImageShape& in, int64_t scale_h, int64_t scale_w);

}  // namespace gantry::kernels::cpu
