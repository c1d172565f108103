// kernels/cuda/cudnn_check.cuh — CUDNN_CHECK, shared by the files that call cuDNN
// (cudnn.cu, modconv_cudnn.cu); included only where GANTRY_HAVE_CUDNN is defined.
#pragma once
#include <cudnn.h>

#include <string>

#include "kernels/cuda/cuda_compat.cuh"  // gantry::cuda::CudaError

// Throws gantry::cuda::CudaError with the expression, cuDNN's message and file:line.
#define CUDNN_CHECK(expr)                                                                                      \
  do {                                                                                                         \
    const cudnnStatus_t gantry_status_ = (expr);                                                               \
    if (gantry_status_ != CUDNN_STATUS_SUCCESS)                                                                \
      throw ::gantry::cuda::CudaError(std::string(#expr) + " failed: " + cudnnGetErrorString(gantry_status_) + \
                                      " at " + __FILE__ + ":" + std::to_string(__LINE__));                     \
  } while (0)
