// kernels/cpu/batchnorm.cpp — batch norm, one channel per OpenMP iteration.
// Layout [N, C, S]: channel c's values are N runs of S contiguous elements, at
// x[(n*C + c)*S + i]. Statistics are two-pass (mean, then centred squares) with
// double accumulators, so large means do not cancel the variance away.
#include "kernels/cpu/batchnorm.hpp"

#include <cmath>

namespace gantry::kernels::cpu {

namespace {
// f(value) summed over channel c, in double.
template <class T, class F>
double channel_sum(const T* x, const BatchNormShape& s, int64_t c, F f) {
  double acc = 0;
  for (int64_t n = 0; n < s.n; ++n) {
    const T* row = x + (n * s.c + c) * s.s;
    for (int64_t i = 0; i < s.s; ++i) acc += f(row[i]);
  }
  return acc;
}
}  // namespace

template <class T>
void batch_norm_forward_train(T* y, T* save_mean, T* save_invstd, T* running_mean, T* running_var, const T* x,
                              const T* gamma, const T* beta, const BatchNormShape& s, T momentum, T eps) {
  const double m = (double)(s.n * s.s);
#pragma omp parallel for if (s.n * s.c * s.s > (1 << 15))
  for (int64_t c = 0; c < s.c; ++c) {
    const double mean = channel_sum(x, s, c, [](T v) { return (double)v; }) / m;
    const double var = channel_sum(x, s, c, [mean](T v) { return ((double)v - mean) * ((double)v - mean); }) / m;
    const double invstd = 1.0 / std::sqrt(var + (double)eps);
    save_mean[c] = (T)mean;
    save_invstd[c] = (T)invstd;
    if (running_mean) {
      running_mean[c] = (T)((1 - (double)momentum) * running_mean[c] + (double)momentum * mean);
      const double unbiased = m > 1 ? var * m / (m - 1) : var;
      running_var[c] = (T)((1 - (double)momentum) * running_var[c] + (double)momentum * unbiased);
    }
    const T scale = (T)(invstd * (gamma ? (double)gamma[c] : 1.0));
    const T shift = (T)((beta ? (double)beta[c] : 0.0) - mean * invstd * (gamma ? (double)gamma[c] : 1.0));
    for (int64_t n = 0; n < s.n; ++n) {
      const T* in = x + (n * s.c + c) * s.s;
      T* out = y + (n * s.c + c) * s.s;
      for (int64_t i = 0; i < s.s; ++i) out[i] = in[i] * scale + shift;
    }
  }
}

template <class T>
void batch_norm_forward_eval(T* y, const T* x, const T* running_mean, const T* running_var, const T* gamma,
                             const T* beta, const BatchNormShape& s, T eps) {
#pragma omp parallel for if (s.n * s.c * s.s > (1 << 15))
  for (int64_t c = 0; c < s.c; ++c) {
    const double invstd = 1.0 / std::sqrt((double)running_var[c] + (double)eps);
    const double g = gamma ? (double)gamma[c] : 1.0;
    const T scale = (T)(invstd * g);
    const T shift = (T)((beta ? (double)beta[c] : 0.0) - (double)running_mean[c] * invstd * g);
    for (int64_t n = 0; n < s.n; ++n) {
      const T* in = x + (n * s.c + c) * s.s;
      T* out = y + (n * s.c + c) * s.s;
      for (int64_t i = 0; i < s.s; ++i) out[i] = in[i] * scale + shift;
    }
  }
}

template <class T>
void batch_norm_backward(T* dx, T* dgamma, T* dbeta, const T* dy, const T* x, const T* save_mean,
                         const T* save_invstd, const T* gamma, const BatchNormShape& s) {
  const double m = (double)(s.n * s.s);
#pragma omp parallel for if (s.n * s.c * s.s > (1 << 15))
  for (int64_t c = 0; c < s.c; ++c) {
    const double mean = save_mean[c], invstd = save_invstd[c], g = gamma ? (double)gamma[c] : 1.0;
    double sum_dy = 0, sum_dy_xhat = 0;
    for (int64_t n = 0; n < s.n; ++n) {
      const T* d = dy + (n * s.c + c) * s.s;
      const T* in = x + (n * s.c + c) * s.s;
      for (int64_t i = 0; i < s.s; ++i) {
        sum_dy += d[i];
        sum_dy_xhat += (double)d[i] * ((double)in[i] - mean) * invstd;
      }
    }
    if (dgamma) dgamma[c] = (T)sum_dy_xhat;
    if (dbeta) dbeta[c] = (T)sum_dy;
    // dx = g invstd (dy - mean(dy) - xhat mean(dy xhat))
    const double mean_dy = sum_dy / m, mean_dy_xhat = sum_dy_xhat / m;
    for (int64_t n = 0; n < s.n; ++n) {
      const T* d = dy + (n * s.c + c) * s.s;
      const T* in = x + (n * s.c + c) * s.s;
      T* out = dx + (n * s.c + c) * s.s;
      for (int64_t i = 0; i < s.s; ++i) {
        const double xhat = ((double)in[i] - mean) * invstd;
        out[i] = (T)(g * invstd * ((double)d[i] - mean_dy - xhat * mean_dy_xhat));
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
