// kernels/cpu/optim.cpp — fused optimizer steps over dense parameter buffers;
// elements are independent, so the loops split across OpenMP threads.
#include "kernels/cpu/optim.hpp"

#include <cmath>

#include "kernels/cpu/elementwise.hpp"

namespace gantry::kernels::cpu {

template <class T>
void adam_step(T* p, T* m, T* v, const T* g, int64_t n, const AdamStep& h) {
  const T b1 = (T)h.beta1, b2 = (T)h.beta2, wd = (T)h.weight_decay, eps = (T)h.eps;
  const T step_size = (T)(h.lr / h.bias_correction1), inv_sqrt_bc2 = (T)(1 / std::sqrt(h.bias_correction2));
#pragma omp parallel for if (n > kParallelMinElements)
  for (int64_t i = 0; i < n; ++i) {
    const T gi = g[i] + wd * p[i];
    m[i] = b1 * m[i] + (1 - b1) * gi;
    v[i] = b2 * v[i] + (1 - b2) * gi * gi;
    p[i] -= step_size * m[i] / (std::sqrt(v[i]) * inv_sqrt_bc2 + eps);
  }
}

template <class T>
void rmsprop_step(T* p, T* v, T* buf, const T* g, int64_t n, const RMSPropStep& h) {
  const T alpha = (T)h.alpha, wd = (T)h.weight_decay, eps = (T)h.eps, lr = (T)h.lr, mom = (T)h.momentum;
#pragma omp parallel for if (n > kParallelMinElements)
  for (int64_t i = 0; i < n; ++i) {
    const T gi = g[i] + wd * p[i];
    v[i] = alpha * v[i] + (1 - alpha) * gi * gi;
    const T d = gi / (std::sqrt(v[i]) + eps);
    if (mom != 0) {
      buf[i] = mom * buf[i] + d;
      p[i] -= lr * buf[i];
    } else {
      p[i] -= lr * d;
    }
  }
}

template <class T>
void sgd_step(T* p, T* buf, const T* g, int64_t n, const SGDStep& h) {
  const T lr = (T)h.lr, mom = (T)h.momentum, wd = (T)h.weight_decay;
#pragma omp parallel for if (n > kParallelMinElements)
  for (int64_t i = 0; i < n; ++i) {
    T d = g[i] + wd * p[i];
    if (mom != 0) {
      buf[i] = h.first_step ? d : mom * buf[i] + d;
      d = h.nesterov ? d + mom * buf[i] : buf[i];
    }
    p[i] -= lr * d;
  }
}

#define GANTRY_INSTANTIATE(T)                                                       \
  template void adam_step<T>(T*, T*, T*, const T*, int64_t, const AdamStep&);       \
  template void rmsprop_step<T>(T*, T*, T*, const T*, int64_t, const RMSPropStep&); \
  template void sgd_step<T>(T*, T*, const T*, int64_t, const SGDStep&);
GANTRY_INSTANTIATE(float)
GANTRY_INSTANTIATE(double)
#undef GANTRY_INSTANTIATE

}  // namespace gantry::kernels::cpu
