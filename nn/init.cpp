// nn/init.cpp — the parameter initializers of nn/init.hpp, in place, seeded through an Rng.
#include "nn/init.hpp"

#include <cmath>

namespace gantry::nn::init {

Fans fans(const Tensor& t) {
  GANTRY_CHECK(t.dim() >= 2, "init: fan in/out need a weight of at least 2 dims, got ", shape_str(t.shape()));
  int64_t receptive = 1;
  for (int64_t d = 2; d < t.dim(); ++d) receptive *= t.size(d);
  return {t.size(1) * receptive, t.size(0) * receptive};
}

void normal_(const Tensor& t, double mean, double std, Rng* gen) {
  NoGradGuard off;
  copy_(t, randn(t.shape(), t.dtype(), gen, mean, std));
}

void uniform_(const Tensor& t, double lo, double hi, Rng* gen) {
  NoGradGuard off;
  copy_(t, rand(t.shape(), t.dtype(), gen, lo, hi));
}

void constant_(const Tensor& t, double v) {
  NoGradGuard off;
  fill_(t, v);
}
void zeros_(const Tensor& t) { constant_(t, 0); }
void ones_(const Tensor& t) { constant_(t, 1); }

void kaiming_normal_(const Tensor& t, double a, bool fan_out, Rng* gen) {
  Fans f = fans(t);
  const double gain = std::sqrt(2.0 / (1 + a * a));
  normal_(t, 0, gain / std::sqrt((double)(fan_out ? f.out : f.in)), gen);
}

void kaiming_uniform_(const Tensor& t, double a, bool fan_out, Rng* gen) {
  Fans f = fans(t);
  const double gain = std::sqrt(2.0 / (1 + a * a));
  const double bound = gain * std::sqrt(3.0 / (double)(fan_out ? f.out : f.in));
  uniform_(t, -bound, bound, gen);
}

void xavier_uniform_(const Tensor& t, double gain, Rng* gen) {
  Fans f = fans(t);
  const double bound = gain * std::sqrt(6.0 / (double)(f.in + f.out));
  uniform_(t, -bound, bound, gen);
}

void xavier_normal_(const Tensor& t, double gain, Rng* gen) {
  Fans f = fans(t);
  normal_(t, 0, gain * std::sqrt(2.0 / (double)(f.in + f.out)), gen);
}

}  // namespace gantry::nn::init
