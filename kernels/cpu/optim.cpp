// kernels/cpu/optim.cpp — fused optimizer steps over dense parameter buffers, CPU.
//
// Math: the step structs' comments (kernels/shapes.hpp); Adam per element, g' = g + wd p:
//   m = b1 m + (1 - b1) g';  v = b2 v + (1 - b2) g'^2;  p -= lr/bc1 m / (sqrt(v)/sqrt(bc2) + eps)
// Layout: p, its state and g are dense arrays of n elements; none aliases another (the
// __restrict__ below says so to the compiler).
// Loop nest:  for i < n   (omp parallel for simd: OpenMP threads above kParallelMinElements,
//                          simd lanes at every size; each element alone, so the result does
//                          not depend on the thread count)
// sqrt is the exact IEEE square root in lanes (vsqrtps): this file is compiled with
// -fno-math-errno (CMakeLists.txt), without which GCC keeps a scalar libm call per element
// for errno's sake (gantry never reads errno; v >= 0, so sqrt never sets it here anyway).
// Versions (one line each):
//   1  one scalar loop per step: sqrt a libm call that may set errno, which kept GCC from
//      vectorizing, and p, m, v, g possibly aliased.
//   2  (this file) __restrict__ operands, `parallel for simd if(parallel: ...)`, sqrt in
//      lanes; the same formulas in the same order. (An Eigen-array version was tried: with
//      AVX-512 Eigen 3.4's default EIGEN_FAST_MATH makes its float sqrt an rsqrt14 estimate
//      and one Newton step, 1-2 bits short, and sqrt(inf) NaN: not used.)
#include "kernels/cpu/optim.hpp"

#include <cmath>

#include "kernels/cpu/elementwise.hpp"

namespace gantry::kernels::cpu {

template <class T>
void adam_step(T* __restrict__ p, T* __restrict__ m, T* __restrict__ v, const T* __restrict__ g, int64_t n,
               const AdamStep& h) {
  const T b1 = (T)h.beta1, b2 = (T)h.beta2, wd = (T)h.weight_decay, eps = (T)h.eps;
  const T step_size = (T)(h.lr / h.bias_correction1), inv_sqrt_bc2 = (T)(1 / std::sqrt(h.bias_correction2));
#pragma omp parallel for simd if (parallel : n > kParallelMinElements)
  for (int64_t i = 0; i < n; ++i) {
    const T gi = g[i] + wd * p[i];
    const T mi = b1 * m[i] + (1 - b1) * gi;
    const T vi = b2 * v[i] + (1 - b2) * gi * gi;
    m[i] = mi, v[i] = vi;
    p[i] -= step_size * mi / (std::sqrt(vi) * inv_sqrt_bc2 + eps);
  }
}

template <class T>
void rmsprop_step(T* __restrict__ p, T* __restrict__ v, T* __restrict__ buf, const T* __restrict__ g, int64_t n,
                  const RMSPropStep& h) {
  const T alpha = (T)h.alpha, wd = (T)h.weight_decay, eps = (T)h.eps, lr = (T)h.lr, mom = (T)h.momentum;
  if (mom == 0) {  // buf may be nullptr: a loop that never names it
#pragma omp parallel for simd if (parallel : n > kParallelMinElements)
    for (int64_t i = 0; i < n; ++i) {
      const T gi = g[i] + wd * p[i];
      const T vi = alpha * v[i] + (1 - alpha) * gi * gi;
      v[i] = vi;
      p[i] -= lr * (gi / (std::sqrt(vi) + eps));
    }
    return;
  }
#pragma omp parallel for simd if (parallel : n > kParallelMinElements)
  for (int64_t i = 0; i < n; ++i) {
    const T gi = g[i] + wd * p[i];
    const T vi = alpha * v[i] + (1 - alpha) * gi * gi;
    const T bi = mom * buf[i] + gi / (std::sqrt(vi) + eps);
    v[i] = vi, buf[i] = bi;
    p[i] -= lr * bi;
  }
}

template <class T>
void sgd_step(T* __restrict__ p, T* __restrict__ buf, const T* __restrict__ g, int64_t n, const SGDStep& h) {
  const T lr = (T)h.lr, mom = (T)h.momentum, wd = (T)h.weight_decay;
  const bool first = h.first_step, nesterov = h.nesterov;
  if (mom == 0) {  // buf may be nullptr: a loop that never names it
#pragma omp parallel for simd if (parallel : n > kParallelMinElements)
    for (int64_t i = 0; i < n; ++i) p[i] -= lr * (g[i] + wd * p[i]);
    return;
  }
#pragma omp parallel for simd if (parallel : n > kParallelMinElements)
  for (int64_t i = 0; i < n; ++i) {
    const T d = g[i] + wd * p[i];
    const T b = first ? d : mom * buf[i] + d;
    buf[i] = b;
    p[i] -= lr * (nesterov ? d + mom * b : b);
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
