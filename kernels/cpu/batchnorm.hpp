// kernels/cpu/batchnorm.hpp — batch normalization over x [N, C, S] (S = H*W, or 1 for
// [N, C]); statistics per channel c over its M = N*S values; and layer normalization over
// the rows of x [rows, len] with an elementwise affine. Math and loop nest in batchnorm.cpp.
#pragma once
#include "kernels/shapes.hpp"

namespace gantry::kernels::cpu {

// Training forward: mean_c, biased var_c (double accumulators), invstd_c = 1/sqrt(var_c + eps);
// y = (x - mean_c) * invstd_c * gamma_c + beta_c (gamma/beta nullptr = 1/0, affine off).
// Writes save_mean, save_invstd [C]. Each of running_mean / running_var [C] that is
// non-null is updated in place: running = (1 - momentum) running + momentum stat, with
// the unbiased variance var * M / (M - 1) for running_var (as PyTorch). slope >= 0 fuses an
// activation into y: y > 0 ? y : slope y (0: ReLU, y > 0 ? y : 0); slope < 0: none.
template <class T>
void batch_norm_forward_train(T* y, T* save_mean, T* save_invstd, T* running_mean, T* running_var, const T* x,
                              const T* gamma, const T* beta, const BatchNormShape& s, T momentum, T eps,
                              T slope = T(-1));
// Eval forward: y = (x - running_mean_c) / sqrt(running_var_c + eps) * gamma_c + beta_c.
template <class T>
void batch_norm_forward_eval(T* y, const T* x, const T* running_mean, const T* running_var, const T* gamma,
                             const T* beta, const BatchNormShape& s, T eps);
// Fused training backward, from the saved statistics. xhat = (x - mean) invstd, g = dy * gamma:
//   dx = invstd / M * (M g - sum(g) - xhat * sum(g xhat));  dgamma = sum(dy xhat);  dbeta = sum(dy).
// dgamma/dbeta may be nullptr (not wanted); gamma may be nullptr (= 1). act non-null: the
// forward fused an activation of `slope` and act is its output; dy is then taken through
// it first, dy = act > 0 ? dy : slope dy (leaky_relu_backward at the output).
template <class T>
void batch_norm_backward(T* dx, T* dgamma, T* dbeta, const T* dy, const T* x, const T* save_mean, const T* save_invstd,
                         const T* gamma, const BatchNormShape& s, const T* act = nullptr, T slope = T(0));

// Layer norm over the rows of x [rows, len] with an elementwise affine (w, b [len], both
// given): per row r, mean_r and biased var_r (double accumulators), invstd_r = 1/sqrt(var_r +
// eps), y[r, j] = act(((x[r, j] - mean_r) invstd_r) w[j] + b[j]); act as batch_norm's slope
// (>= 0: y > 0 ? y : slope y; < 0: none). Writes save_mean, save_invstd [rows].
template <class T>
void layer_norm_forward(T* y, T* save_mean, T* save_invstd, const T* x, const T* w, const T* b, int64_t rows,
                        int64_t len, T eps, T slope = T(-1));
// Its backward from the saved statistics: with g = dy (through the activation whose output is
// act, when non-null: act > 0 ? dy : slope dy), g' = g w[j] and xhat = (x - mean_r) invstd_r,
//   dx = invstd_r (g' - mean_r(g') - xhat mean_r(g' xhat)),  dw[j] = sum_r g xhat,  db[j] = sum_r g.
// dx, dw, db may each be nullptr (not wanted).
template <class T>
void layer_norm_backward(T* dx, T* dw, T* db, const T* dy, const T* x, const T* save_mean, const T* save_invstd,
                         const T* w, int64_t rows, int64_t len, const T* act = nullptr, T slope = T(0));

}  // namespace gantry::kernels::cpu
