// kernels/cpu/penalty.hpp — the WGAN-GP gradient penalty of per-sample gradients
// g [N, K] (row n = sample n's gradient, flattened). Math and derivation in
// penalty.cpp and docs/kernels/gradient_penalty.md.
#pragma once
#include <cstdint>

namespace gantry::kernels::cpu {

// norms[n] = sqrt(sum_i g[n, i]^2 + eps) (double accumulators), and
// penalty[0] = lambda / N * sum_n (norms[n] - 1)^2. Requires N >= 1.
template <class T>
void gradient_penalty_forward(T* penalty, T* norms, const T* g, int64_t n, int64_t k, T lambda, T eps);
// dg[n, i] = grad_out[0] * lambda * 2 (norms[n] - 1) / (N norms[n]) * g[n, i], with
// norms from the forward: the gradient of the penalty, scaled by the upstream scalar.
template <class T>
void gradient_penalty_backward(T* dg, const T* grad_out, const T* g, const T* norms, int64_t n, int64_t k, T lambda);

}  // namespace gantry::kernels::cpu
