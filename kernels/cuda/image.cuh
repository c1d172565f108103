// kernels/cuda/image.cuh — padding, nearest upsampling, embedding rows and one-hot on
// the device; the same contracts as kernels/cpu/image.hpp and embedding.hpp.
#pragma once
#include <cstdint>

#include "kernels/cuda/cuda_compat.cuh"
#include "kernels/shapes.hpp"

namespace gantry::kernels::cuda {

// reflect = false: zero padding; true: PyTorch's ReflectionPad2d (pads < the size).
void pad2d_forward(float* y, const float* x, const ImageShape& in, int64_t left, int64_t right, int64_t top,
                   int64_t bottom, bool reflect);
void pad2d_backward(float* dx, const float* dy, const ImageShape& in, int64_t left, int64_t right, int64_t top,
                    int64_t bottom, bool reflect);
void upsample_nearest2d_forward(float* y, const float* x, const ImageShape& in, int64_t sh, int64_t sw);
void upsample_nearest2d_backward(float* dx, const float* dy, const ImageShape& in, int64_t sh, int64_t sw);
// y[i, :] = table[idx[i], :] (indices checked by the caller).
void embedding_forward(float* y, const int64_t* idx, const float* table, int64_t n_idx, int64_t dim);
// dtable = 0, then dtable[idx[i], :] += dy[i, :].
void embedding_backward(float* dtable, const float* dy, const int64_t* idx, int64_t n_idx, int64_t num, int64_t dim);
// y[i, c] = (labels[i] == c), y [n, classes] (labels checked by the caller).
void one_hot(float* y, const int64_t* labels, int64_t n, int64_t classes);

}  // namespace gantry::kernels::cuda
