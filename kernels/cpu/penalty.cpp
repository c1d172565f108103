// kernels/cpu/penalty.cpp — the WGAN-GP gradient penalty, CPU.
//
// Math, for g [N, K] (row n: the critic's gradient at sample n, flattened):
//   norm_n  = sqrt(sum_i g[n, i]^2 + eps)
//   P       = lambda / N * sum_n (norm_n - 1)^2
//   dP/dg[n, i] = lambda / N * 2 (norm_n - 1) * dnorm_n/dg[n, i] = lambda * 2 (norm_n - 1) / N * g[n, i] / norm_n
// Layout [N, K] row-major, dense. Loop nest: for n (OpenMP) { for i: sum of squares },
// then for n (OpenMP) { coef_n; for i: dg = coef_n g }. Sums in double for float and double.
#include "kernels/cpu/penalty.hpp"

#include <cmath>

namespace gantry::kernels::cpu {

namespace {
constexpr int64_t kParallelMinElements = 1 << 15;  // below this, threads cost more than they save
}

template <class T>
void gradient_penalty_forward(T* penalty, T* __restrict__ norms, const T* __restrict__ g, int64_t n, int64_t k,
                              T lambda, T eps) {
#pragma omp parallel for if (n * k > kParallelMinElements)
  for (int64_t s = 0; s < n; ++s) {
    const T* row = g + s * k;
    double sq = 0;
    for (int64_t i = 0; i < k; ++i) sq += (double)row[i] * (double)row[i];
    norms[s] = (T)std::sqrt(sq + (double)eps);
  }
  double total = 0;
  for (int64_t s = 0; s < n; ++s) total += ((double)norms[s] - 1) * ((double)norms[s] - 1);
  penalty[0] = (T)((double)lambda * total / (double)n);
}

template <class T>
void gradient_penalty_backward(T* __restrict__ dg, const T* grad_out, const T* __restrict__ g,
                               const T* __restrict__ norms, int64_t n, int64_t k, T lambda) {
  const double up = (double)grad_out[0];
#pragma omp parallel for if (n * k > kParallelMinElements)
  for (int64_t s = 0; s < n; ++s) {
    const double norm = (double)norms[s];
    const T coef = (T)(up * (double)lambda * 2 * (norm - 1) / ((double)n * norm));
    for (int64_t i = 0; i < k; ++i) dg[s * k + i] = coef * g[s * k + i];
  }
}

#define GANTRY_INSTANTIATE(T)                                                          \
  template void gradient_penalty_forward<T>(T*, T*, const T*, int64_t, int64_t, T, T); \
  template void gradient_penalty_backward<T>(T*, const T*, const T*, const T*, int64_t, int64_t, T);
GANTRY_INSTANTIATE(float)
GANTRY_INSTANTIATE(double)
#undef GANTRY_INSTANTIATE

}  // namespace gantry::kernels::cpu
