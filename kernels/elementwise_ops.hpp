// kernels/elementwise_ops.hpp — the math of every elementwise op, written once as a
// __host__ __device__ functor: the CPU loop (kernels/cpu/elementwise.hpp, called from
// core/ops/elementwise.cpp) and the CUDA kernels (kernels/cuda/elementwise.cu) apply the
// very same struct, so the two backends cannot disagree on a formula.
//
// A functor is a template on the element type T (float, double) holding its scalar
// parameters as T: y = Op<T>{params...}(x...). The CPU instantiates it for float and
// double, the CUDA kernels for float. Adding an elementwise op: one struct here, its
// name in GANTRY_UNARY_FUNCTORS / GANTRY_BINARY_FUNCTORS (the CUDA kernels and the
// cuda backend are instantiated from these lists), and the op in core/ops/elementwise.cpp.
#pragma once
#include <math.h>

#include "kernels/shapes.hpp"
#if !defined(__CUDACC__)
#include "kernels/cpu/simd_math.hpp"
#endif

namespace gantry::kernels::elementwise {

// ---- math: one name for float and double, the device's intrinsics under nvcc ------------
GANTRY_HD inline float exp_(float x) { return ::expf(x); }
GANTRY_HD inline double exp_(double x) { return ::exp(x); }
GANTRY_HD inline float log_(float x) { return ::logf(x); }
GANTRY_HD inline double log_(double x) { return ::log(x); }
GANTRY_HD inline float log1p_(float x) { return ::log1pf(x); }
GANTRY_HD inline double log1p_(double x) { return ::log1p(x); }
GANTRY_HD inline float sqrt_(float x) { return ::sqrtf(x); }
GANTRY_HD inline double sqrt_(double x) { return ::sqrt(x); }
GANTRY_HD inline float abs_(float x) { return ::fabsf(x); }
GANTRY_HD inline double abs_(double x) { return ::fabs(x); }
// float tanh: the device's tanhf under nvcc; on the host (the cpu backend and the
// emulator) kernels/cpu/simd_math.hpp's, which vectorizes (<= 1.33 ulp; glibc's tanhf is a
// scalar call per element).
#if defined(__CUDACC__)
GANTRY_HD inline float tanh_(float x) { return ::tanhf(x); }
#else
inline float tanh_(float x) { return cpu::tanh_float(x); }
#endif
GANTRY_HD inline double tanh_(double x) { return ::tanh(x); }
GANTRY_HD inline float pow_(float x, float p) { return ::powf(x, p); }
GANTRY_HD inline double pow_(double x, double p) { return ::pow(x, p); }
// 1/sqrt(x): the hardware's rsqrtf on a GPU, 1/sqrt elsewhere (the emulator too).
GANTRY_HD inline float rsqrt_(float x) {
#if defined(__CUDA_ARCH__)
  return ::rsqrtf(x);
#else
  return 1.f / ::sqrtf(x);
#endif
}
GANTRY_HD inline double rsqrt_(double x) { return 1.0 / ::sqrt(x); }

// One functor a line (clang-format leaves the table as written).
// clang-format off
// ---- unary: y = f(x) ------------------------------------------------------------------
template <class T> struct Neg { GANTRY_HD T operator()(T x) const { return -x; } };
template <class T> struct Exp { GANTRY_HD T operator()(T x) const { return exp_(x); } };
template <class T> struct Log { GANTRY_HD T operator()(T x) const { return log_(x); } };
template <class T> struct Sqrt { GANTRY_HD T operator()(T x) const { return sqrt_(x); } };
template <class T> struct Rsqrt { GANTRY_HD T operator()(T x) const { return rsqrt_(x); } };
template <class T> struct Abs { GANTRY_HD T operator()(T x) const { return abs_(x); } };
template <class T> struct Sign { GANTRY_HD T operator()(T x) const { return T((x > T(0)) - (x < T(0))); } };
template <class T> struct Relu { GANTRY_HD T operator()(T x) const { return x > T(0) ? x : T(0); } };
// 1 / (1 + e^-x), written so that no exp overflows.
template <class T> struct Sigmoid {
  GANTRY_HD T operator()(T x) const { return x >= T(0) ? T(1) / (T(1) + exp_(-x)) : exp_(x) / (T(1) + exp_(x)); }
};
template <class T> struct Tanh { GANTRY_HD T operator()(T x) const { return tanh_(x); } };
// ::log(1 + e^x) = max(x, 0) + log1p(e^-|x|): no overflow for large |x|.
template <class T> struct Softplus {
  GANTRY_HD T operator()(T x) const { return (x < T(0) ? T(0) : x) + log1p_(exp_(-abs_(x))); }
};
template <class T> struct LeakyRelu {
  T slope;
  GANTRY_HD T operator()(T x) const { return x > T(0) ? x : x * slope; }
};
template <class T> struct AddScalar {
  T s;
  GANTRY_HD T operator()(T x) const { return x + s; }
};
template <class T> struct MulScalar {
  T s;
  GANTRY_HD T operator()(T x) const { return x * s; }
};
template <class T> struct PowScalar {
  T p;
  GANTRY_HD T operator()(T x) const { return p == T(2) ? x * x : p == T(1) ? x : pow_(x, p); }
};
template <class T> struct Clamp {  // min(max(x, lo), hi)
  T lo, hi;
  GANTRY_HD T operator()(T x) const { return x < lo ? lo : x > hi ? hi : x; }
};
template <class T> struct Inside {  // lo <= x <= hi ? 1 : 0 (clamp's gradient mask)
  T lo, hi;
  GANTRY_HD T operator()(T x) const { return T(x >= lo && x <= hi); }
};
template <class T> struct GtScalar {
  T s;
  GANTRY_HD T operator()(T x) const { return T(x > s); }
};

// ---- binary: y = f(u, v) --------------------------------------------------------------
template <class T> struct Add { GANTRY_HD T operator()(T u, T v) const { return u + v; } };
template <class T> struct Sub { GANTRY_HD T operator()(T u, T v) const { return u - v; } };
template <class T> struct Mul { GANTRY_HD T operator()(T u, T v) const { return u * v; } };
template <class T> struct Div { GANTRY_HD T operator()(T u, T v) const { return u / v; } };
template <class T> struct Minimum { GANTRY_HD T operator()(T u, T v) const { return u <= v ? u : v; } };
template <class T> struct Maximum { GANTRY_HD T operator()(T u, T v) const { return u >= v ? u : v; } };
template <class T> struct Eq { GANTRY_HD T operator()(T u, T v) const { return T(u == v); } };
template <class T> struct Ne { GANTRY_HD T operator()(T u, T v) const { return T(u != v); } };
template <class T> struct Lt { GANTRY_HD T operator()(T u, T v) const { return T(u < v); } };
template <class T> struct Le { GANTRY_HD T operator()(T u, T v) const { return T(u <= v); } };
template <class T> struct Gt { GANTRY_HD T operator()(T u, T v) const { return T(u > v); } };
template <class T> struct Ge { GANTRY_HD T operator()(T u, T v) const { return T(u >= v); } };
template <class T> struct LeakyReluBackward {  // (g, x) -> x > 0 ? g : slope g
  T slope;
  GANTRY_HD T operator()(T g, T x) const { return x > T(0) ? g : g * slope; }
};

// ---- ternary ---------------------------------------------------------------------------
template <class T> struct Where {  // (c, a, b) -> c != 0 ? a : b
  GANTRY_HD T operator()(T c, T a, T b) const { return c != T(0) ? a : b; }
};

// Every functor the cuda device runs; X(Name) is expanded once per functor to
// instantiate the kernels (kernels/cuda/elementwise.cu) and the backend (core/ops).
#define GANTRY_UNARY_FUNCTORS(X)                                                                        \
  X(Neg) X(Exp) X(Log) X(Sqrt) X(Rsqrt) X(Abs) X(Sign) X(Relu) X(Sigmoid) X(Tanh) X(Softplus) X(LeakyRelu) \
  X(AddScalar) X(MulScalar) X(PowScalar) X(Clamp) X(Inside) X(GtScalar)
#define GANTRY_BINARY_FUNCTORS(X) \
  X(Add) X(Sub) X(Mul) X(Div) X(Minimum) X(Maximum) X(Eq) X(Ne) X(Lt) X(Le) X(Gt) X(Ge) X(LeakyReluBackward)
// clang-format on

}  // namespace gantry::kernels::elementwise
