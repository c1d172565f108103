// nn/init.hpp — parameter initializers, in place, seeded through an Rng
// (default: the global one set by manual_seed). Fans follow PyTorch: for a weight
// [out, in, k...], fan_in = in * prod(k), fan_out = out * prod(k).
#pragma once
#include "core/ops.hpp"

namespace gantry::nn::init {

void normal_(const Tensor& t, double mean = 0, double std = 1, Rng* gen = nullptr);
void uniform_(const Tensor& t, double lo = 0, double hi = 1, Rng* gen = nullptr);
void zeros_(const Tensor& t);
void ones_(const Tensor& t);
void constant_(const Tensor& t, double v);
// N(0, gain / sqrt(fan)) with gain = sqrt(2 / (1 + a^2)) (He et al.); fan = fan_in by default.
void kaiming_normal_(const Tensor& t, double a = 0, bool fan_out = false, Rng* gen = nullptr);
// U(-b, b) with b = gain * sqrt(3 / fan).
void kaiming_uniform_(const Tensor& t, double a = 0, bool fan_out = false, Rng* gen = nullptr);
// U(-b, b) with b = gain * sqrt(6 / (fan_in + fan_out)) (Glorot & Bengio).
void xavier_uniform_(const Tensor& t, double gain = 1, Rng* gen = nullptr);
// N(0, gain * sqrt(2 / (fan_in + fan_out))).
void xavier_normal_(const Tensor& t, double gain = 1, Rng* gen = nullptr);

struct Fans {
  int64_t in, out;
};
Fans fans(const Tensor& t);

}  // namespace gantry::nn::init
