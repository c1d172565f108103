// kernels/cuda/dnn.cuh — who runs conv2d, conv_transpose2d and batch_norm on the cuda
// device: gantry's hand-written kernels (kernels/cuda/conv.cu, batchnorm.cu; the
// default) or NVIDIA's cuDNN (GANTRY_CUDA=real only: cuDNN cannot be emulated).
// Chosen by KernelVersions::cudnn (kernels/cuda/versions.hpp; false: gantry's). The
// op layer (core/ops/cuda_dispatch.cpp) reads it and calls kernels::cudnn::* or
// kernels::cuda::* — same signatures, same contracts as the cpu functions in
// kernels/cpu/conv.hpp and batchnorm.hpp (float32).
#pragma once
#include "kernels/cuda/cuda_compat.cuh"
#include "kernels/cuda/versions.hpp"
#include "kernels/shapes.hpp"

namespace gantry::kernels::cudnn {

// The cuDNN versions of the kernels/cpu/conv.hpp and batchnorm.hpp contracts, on
// device pointers, float32. In a build without cuDNN each throws cuda::CudaError (a std::runtime_error).
//
// A convolution's workspace is passed in by the caller: *_workspace(s) chooses the algorithm
// for shape s (once per shape, cached) and returns the bytes it needs (0 for an empty sum);
// the call then takes `ws` of at least that many bytes (core/ops/cuda_dispatch.cpp takes it
// from the caching allocator, so memory_stats counts it). The overloads without `ws`
// allocate it per call (bench_kernels, tests).
size_t conv2d_forward_workspace(const Conv2dShape& s);
size_t conv2d_backward_input_workspace(const Conv2dShape& s);
size_t conv2d_backward_weight_workspace(const Conv2dShape& s);
void conv2d_forward(float* y, const float* x, const float* w, const float* bias, const Conv2dShape& s, void* ws,
                    size_t ws_bytes);
void conv2d_backward_input(float* dx, const float* dy, const float* w, const Conv2dShape& s, void* ws, size_t ws_bytes);
void conv2d_backward_weight(float* dw, const float* dy, const float* x, const Conv2dShape& s, void* ws,
                            size_t ws_bytes);
void conv2d_forward(float* y, const float* x, const float* w, const float* bias, const Conv2dShape& s);
void conv2d_backward_input(float* dx, const float* dy, const float* w, const Conv2dShape& s);
void conv2d_backward_weight(float* dw, const float* dy, const float* x, const Conv2dShape& s);
void batch_norm_forward_train(float* y, float* save_mean, float* save_invstd, float* running_mean, float* running_var,
                              const float* x, const float* gamma, const float* beta, const BatchNormShape& s,
                              float momentum, float eps);
void batch_norm_forward_eval(float* y, const float* x, const float* running_mean, const float* running_var,
                             const float* gamma, const float* beta, const BatchNormShape& s, float eps);
void batch_norm_backward(float* dx, float* dgamma, float* dbeta, const float* dy, const float* x,
                         const float* save_mean, const float* save_invstd, const float* gamma, const BatchNormShape& s);

}  // namespace gantry::kernels::cudnn
