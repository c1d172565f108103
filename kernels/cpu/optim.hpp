// kernels/cpu/optim.hpp — fused optimizer steps: one pass over a parameter's
// elements updates the parameter and its state in place. The math is in the
// step structs' comments (kernels/shapes.hpp).
#pragma once
#include <cstdint>

#include "kernels/shapes.hpp"

namespace gantry::kernels::cpu {

template <class T>
void adam_step(T* p, T* m, T* v, const T* g, int64_t n, const AdamStep& h);
// buf may be nullptr when h.momentum == 0.
template <class T>
void rmsprop_step(T* p, T* v, T* buf, const T* g, int64_t n, const RMSPropStep& h);
// buf may be nullptr when h.momentum == 0.
template <class T>
void sgd_step(T* p, T* buf, const T* g, int64_t n, const SGDStep& h);

}  // namespace gantry::kernels::cpu
