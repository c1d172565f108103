// kernels/cpu/batchnorm.cpp — batch normalization over x [N, C, S], CPU.
//
// Math (per channel c, over its M = N*S values):
//   training forward  mean_c = sum x / M,  var_c = sum (x - mean_c)^2 / M  (biased),
//                     invstd_c = 1 / sqrt(var_c + eps),
//                     y = (x - mean_c) * invstd_c * gamma_c + beta_c
//                     running = (1 - momentum) running + momentum stat, with the
//                     unbiased var_c * M / (M - 1) for running_var (as PyTorch; M = 1
//                     keeps the biased value, where PyTorch refuses to train)
//   eval forward      y = (x - running_mean_c) / sqrt(running_var_c + eps) * gamma_c + beta_c
//   backward          xhat = (x - mean_c) invstd_c,  g = dy * gamma_c
//                     dx = invstd_c / M * (M g - sum g - xhat sum(g xhat))
//                     dgamma_c = sum dy xhat,  dbeta_c = sum dy
// gamma == nullptr means 1, beta == nullptr means 0 (affine off).
//
// Layout [N, C, S] row-major: channel c is N runs of S contiguous values,
// x[(n*C + c)*S + i]. S = H*W for BatchNorm2d, 1 for BatchNorm1d on [N, C].
//
// Loop nest:  for c        (OpenMP, one channel per iteration; no shared writes; the
//                          op's one parallel region)
//               for n      (the N runs of channel c)
//                 for i    (S contiguous values; `omp simd`, double accumulators in lanes)
// Versions (one line each):
//   1  two-pass statistics (mean, then centred squares) in scalar double; a backward
//      that recomputed xhat in double per element. Scalar: the reductions did not
//      vectorize (strict IEEE order).
//   2  (this file) statistics in one pass over x, shifted by the channel's first value
//      x0: mean = x0 + sum(x - x0) / M, var = sum((x - x0)^2) / M - (mean - x0)^2, in
//      double lanes of an `omp simd` reduction (the shift keeps the subtraction from
//      cancelling when |mean| >> std; the accumulators stay double for float and double);
//      the backward's two sums likewise; its dx pass and the forward's write are one
//      FMA-shaped expression per element in T: dx = a dy + b x + k, y = x scale + shift.
//      Two passes over x for the forward (was three), two for the backward.
#include "kernels/cpu/batchnorm.hpp"

#include <algorithm>
#include <cmath>

namespace gantry::kernels::cpu {

namespace {

constexpr int64_t kParallelMinElements = 1 << 15;  // below this, threads cost more than they save

inline int64_t run_offset(const BatchNormShape& s, int64_t n, int64_t c) { return (n * s.c + c) * s.s; }

// Shifted sums of channel c: sum (x - x0) and sum (x - x0)^2, in double.
template <class T>
void channel_moments(const T* __restrict__ x, const BatchNormShape& s, int64_t c, double x0, double& sum,
                     double& sum_sq) {
  double a = 0, b = 0;
  for (int64_t n = 0; n < s.n; ++n) {
    const T* __restrict__ run = x + run_offset(s, n, c);
#pragma omp simd reduction(+ : a, b)
    for (int64_t i = 0; i < s.s; ++i) {
      const double d = (double)run[i] - x0;
      a += d;
      b += d * d;
    }
  }
  sum = a, sum_sq = b;
}

// y = x * scale + shift over channel c.
template <class T>
void channel_affine(T* __restrict__ y, const T* __restrict__ x, const BatchNormShape& s, int64_t c, T scale, T shift) {
  for (int64_t n = 0; n < s.n; ++n) {
    const T* __restrict__ in = x + run_offset(s, n, c);
    T* __restrict__ out = y + run_offset(s, n, c);
#pragma omp simd
    for (int64_t i = 0; i < s.s; ++i) out[i] = in[i] * scale + shift;
  }
}

}  // namespace

template <class T>
void batch_norm_forward_train(T* __restrict__ y, T* __restrict__ save_mean, T* __restrict__ save_invstd,
                              T* running_mean, T* running_var, const T* __restrict__ x, const T* __restrict__ gamma,
                              const T* __restrict__ beta, const BatchNormShape& s, T momentum, T eps) {
  const double m = (double)(s.n * s.s);
  const double mom = (double)momentum;
#pragma omp parallel for schedule(static) if (s.n * s.c * s.s > kParallelMinElements)
  for (int64_t c = 0; c < s.c; ++c) {
    double mean = 0, var = 0;
    if (m > 0) {
      const double x0 = (double)x[run_offset(s, 0, c)];
      double sum, sum_sq;
      channel_moments(x, s, c, x0, sum, sum_sq);
      const double shift = sum / m;
      mean = x0 + shift;
      var = std::max(sum_sq / m - shift * shift, 0.0);
    }
    const double invstd = 1.0 / std::sqrt(var + (double)eps);
    save_mean[c] = (T)mean;
    save_invstd[c] = (T)invstd;
    if (running_mean) running_mean[c] = (T)((1 - mom) * (double)running_mean[c] + mom * mean);
    if (running_var) {
      const double unbiased = m > 1 ? var * m / (m - 1) : var;
      running_var[c] = (T)((1 - mom) * (double)running_var[c] + mom * unbiased);
    }
    const double g = gamma ? (double)gamma[c] : 1.0, b = beta ? (double)beta[c] : 0.0;
    channel_affine(y, x, s, c, (T)(invstd * g), (T)(b - mean * invstd * g));
  }
}

template <class T>
void batch_norm_forward_eval(T* __restrict__ y, const T* __restrict__ x, const T* __restrict__ running_mean,
                             const T* __restrict__ running_var, const T* __restrict__ gamma, const T* __restrict__ beta,
                             const BatchNormShape& s, T eps) {
#pragma omp parallel for schedule(static) if (s.n * s.c * s.s > kParallelMinElements)
  for (int64_t c = 0; c < s.c; ++c) {
    const double invstd = 1.0 / std::sqrt((double)running_var[c] + (double)eps);
    const double g = gamma ? (double)gamma[c] : 1.0, b = beta ? (double)beta[c] : 0.0;
    channel_affine(y, x, s, c, (T)(invstd * g), (T)(b - (double)running_mean[c] * invstd * g));
  }
}

template <class T>
void batch_norm_backward(T* __restrict__ dx, T* __restrict__ dgamma, T* __restrict__ dbeta, const T* __restrict__ dy,
                         const T* __restrict__ x, const T* __restrict__ save_mean, const T* __restrict__ save_invstd,
                         const T* __restrict__ gamma, const BatchNormShape& s) {
  const double m = (double)(s.n * s.s);
#pragma omp parallel for schedule(static) if (s.n * s.c * s.s > kParallelMinElements)
  for (int64_t c = 0; c < s.c; ++c) {
    const double mean = (double)save_mean[c], invstd = (double)save_invstd[c];
    const double gam = gamma ? (double)gamma[c] : 1.0;
    // pass 1: sum dy and sum dy (x - mean); sum dy xhat = invstd * the latter
    double sum_dy = 0, sum_dy_xc = 0;
    for (int64_t n = 0; n < s.n; ++n) {
      const T* __restrict__ d = dy + run_offset(s, n, c);
      const T* __restrict__ in = x + run_offset(s, n, c);
#pragma omp simd reduction(+ : sum_dy, sum_dy_xc)
      for (int64_t i = 0; i < s.s; ++i) {
        sum_dy += (double)d[i];
        sum_dy_xc += (double)d[i] * ((double)in[i] - mean);
      }
    }
    const double sum_dy_xhat = sum_dy_xc * invstd;
    if (dgamma) dgamma[c] = (T)sum_dy_xhat;
    if (dbeta) dbeta[c] = (T)sum_dy;
    // pass 2: dx = gam invstd (dy - sum dy / M - xhat sum(dy xhat) / M) = a dy + b x + k
    const double mean_dy = m > 0 ? sum_dy / m : 0.0, mean_dy_xhat = m > 0 ? sum_dy_xhat / m : 0.0;
    const double a = gam * invstd, b = -a * invstd * mean_dy_xhat;
    const T ta = (T)a, tb = (T)b, tk = (T)(-a * mean_dy - b * mean);
    for (int64_t n = 0; n < s.n; ++n) {
      const T* __restrict__ d = dy + run_offset(s, n, c);
      const T* __restrict__ in = x + run_offset(s, n, c);
      T* __restrict__ out = dx + run_offset(s, n, c);
#pragma omp simd
      for (int64_t i = 0; i < s.s; ++i) out[i] = ta * d[i] + tb * in[i] + tk;
    }
  }
}

#define GANTRY_INSTANTIATE(T)                                                                                        \
  template void batch_norm_forward_train<T>(T*, T*, T*, T*, T*, const T*, const T*, const T*, const BatchNormShape&, \
                                            T, T);                                                                   \
  template void batch_norm_forward_eval<T>(T*, const T*, const T*, const T*, const T*, const T*,                     \
                                           const BatchNormShape&, T);                                                \
  template void batch_norm_backward<T>(T*, T*, T*, const T*, const T*, const T*, const T*, const T*,                 \
                                       const BatchNormShape&);
GANTRY_INSTANTIATE(float)
GANTRY_INSTANTIATE(double)
#undef GANTRY_INSTANTIATE

}  // namespace gantry::kernels::cpu
