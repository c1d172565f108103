// kernels/cuda/batchnorm.cuh — batch normalization on the device over x [N, C, S]
// (S = H*W, or 1 for [N, C]). The same contracts as kernels/cpu/batchnorm.hpp, float32.
// The algorithm, thread mapping and versions: kernels/cuda/batchnorm.cu and
// docs/kernels/batch_norm.md.
#pragma once
#include "kernels/cuda/cuda_compat.cuh"
#include "kernels/cuda/versions.hpp"
#include "kernels/shapes.hpp"

namespace gantry::kernels::cuda {

// Training forward: per-channel mean and biased variance, save_mean / save_invstd [C],
// y = (x - mean) invstd gamma + beta (gamma/beta nullptr = 1/0), and the in-place
// running-stat update (unbiased variance) for each running buffer that is non-null.
void batch_norm_forward_train(float* y, float* save_mean, float* save_invstd, float* running_mean, float* running_var,
                              const float* x, const float* gamma, const float* beta, const BatchNormShape& s,
                              float momentum, float eps);
// Eval forward: y = (x - running_mean) / sqrt(running_var + eps) gamma + beta.
void batch_norm_forward_eval(float* y, const float* x, const float* running_mean, const float* running_var,
                             const float* gamma, const float* beta, const BatchNormShape& s, float eps);
// Fused training backward from the saved statistics (kernels/cpu/batchnorm.hpp gives the
// formula); dgamma / dbeta may be nullptr, gamma may be nullptr (= 1).
void batch_norm_backward(float* dx, float* dgamma, float* dbeta, const float* dy, const float* x,
                         const float* save_mean, const float* save_invstd, const float* gamma, const BatchNormShape& s);

// ---- every kept version, by number (tests and bench/) ------------------------------------
// As above, with `version` in 1..kBatchNormVersions (the table is in batchnorm.cu; 0 =
// kernel_versions().batch_norm, which the functions above run); throws cuda::CudaError
// for any other.
void batch_norm_forward_train(float* y, float* save_mean, float* save_invstd, float* running_mean, float* running_var,
                              const float* x, const float* gamma, const float* beta, const BatchNormShape& s,
                              float momentum, float eps, int version);
void batch_norm_backward(float* dx, float* dgamma, float* dbeta, const float* dy, const float* x,
                         const float* save_mean, const float* save_invstd, const float* gamma, const BatchNormShape& s,
                         int version);

}  // namespace gantry::kernels::cuda
