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
// Loop nest:  for c        (OpenMP, one channel per iteration; no shared writes)
//               for n      (the N runs of channel c)
//                 for i    (S contiguous values; the vectorized loop)
// Statistics are two-pass (mean, then centred squares) with double accumulators
// for float and double alike, so a large mean does not cancel the variance away.
// Each forward applies y = x * scale_c + shift_c, one FMA per element.
#include "kernels/cpu/batchnorm.hpp"

#include <cmath>

namespace gantry::kernels::cpu {

namespace {

constexpr int64_t kParallelMinElements = 1 << 15;  // below this, threads cost more than they save

inline int64_t run_offset(const BatchNormShape& s, int64_t n, int64_t c) { return (n * s.c + c) * s.s; }

// sum over channel c of f(x), in double.
template <class T, class F>
double channel_sum(const T* __restrict__ x, const BatchNormShape& s, int64_t c, F f) {
  double acc = 0;
  for (int64_t n = 0; n < s.n; ++n) {
    const T* run = x + run_offset(s, n, c);
    for (int64_t i = 0; i < s.s; ++i) acc += f(run[i]);
  }
  return acc;
}

// y = x * scale + shift over channel c.
template <class T>
void channel_affine(T* __restrict__ y, const T* __restrict__ x, const BatchNormShape& s, int64_t c, T scale, T shift) {
  for (int64_t n = 0; n < s.n; ++n) {
    const T* in = x + run_offset(s, n, c);
    T* out = y + run_offset(s, n, c);
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
#pragma omp parallel for if (s.n * s.c * s.s > kParallelMinElements)
  for (int64_t c = 0; c < s.c; ++c) {
    const double mean = m > 0 ? channel_sum(x, s, c, [](T v) { return (double)v; }) / m : 0.0;
    const double var =
        m > 0 ? channel_sum(x, s, c, [mean](T v) { return ((double)v - mean) * ((double)v - mean); }) / m : 0.0;
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
#pragma omp parallel for if (s.n * s.c * s.s > kParallelMinElements)
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
#pragma omp parallel for if (s.n * s.c * s.s > kParallelMinElements)
  for (int64_t c = 0; c < s.c; ++c) {
    const double mean = (double)save_mean[c], invstd = (double)save_invstd[c];
    const double gam = gamma ? (double)gamma[c] : 1.0;
    // pass 1: sum dy and sum dy*xhat (sum g = gam sum dy, sum g xhat = gam sum dy xhat)
    double sum_dy = 0, sum_dy_xhat = 0;
    for (int64_t n = 0; n < s.n; ++n) {
      const T* d = dy + run_offset(s, n, c);
      const T* in = x + run_offset(s, n, c);
      for (int64_t i = 0; i < s.s; ++i) {
        sum_dy += (double)d[i];
        sum_dy_xhat += (double)d[i] * ((double)in[i] - mean) * invstd;
      }
    }
    if (dgamma) dgamma[c] = (T)sum_dy_xhat;
    if (dbeta) dbeta[c] = (T)sum_dy;
    // pass 2: dx = gam invstd (dy - sum dy / M - xhat sum(dy xhat) / M)
    const double k = gam * invstd, mean_dy = m > 0 ? sum_dy / m : 0.0, mean_dy_xhat = m > 0 ? sum_dy_xhat / m : 0.0;
    for (int64_t n = 0; n < s.n; ++n) {
      const T* d = dy + run_offset(s, n, c);
      const T* in = x + run_offset(s, n, c);
      T* out = dx + run_offset(s, n, c);
      for (int64_t i = 0; i < s.s; ++i) {
        const double xhat = ((double)in[i] - mean) * invstd;
        out[i] = (T)(k * ((double)d[i] - mean_dy - xhat * mean_dy_xhat));
      }
    }
  }
}

#define GANTRY_INSTANTIATE(T)                                                                                \
  template void batch_norm_forward_train<T>(T*, T*, T*, T*, T*, const T*, const T*, const T*,               \
                                            const BatchNormShape&, T, T);                                   \
  template void batch_norm_forward_eval<T>(T*, const T*, const T*, const T*, const T*, const T*,            \
                                           const BatchNormShape&, T);                                       \
  template void batch_norm_backward<T>(T*, T*, T*, const T*, const T*, const T*, const T*, const T*,        \
                                       const BatchNormShape&);
GANTRY_INSTANTIATE(float)
GANTRY_INSTANTIATE(double)
#undef GANTRY_INSTANTIATE

}  // namespace gantry::kernels::cpu
