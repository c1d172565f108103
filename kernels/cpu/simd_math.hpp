// kernels/cpu/simd_math.hpp — float tanh written so that a loop of it vectorizes: no
// libm call and no branch, only +, *, /, selects and integer ops on the float's bits
// (glibc's scalar tanhf cost ~27 ns an element in the elementwise loop; this, in AVX-512
// lanes, a fraction of a ns: bench_pointwise_cpu). Double keeps std::tanh.
//
// Math (Cephes' tanhf, S. L. Moshier, whose coefficients these are), a = |x|:
//   a < 0.625:  tanh a = a + a^3 P(a^2), P a degree-4 minimax polynomial
//   a >= 0.625: tanh a = 1 - 2 / (e^{2a} + 1), with a clamped at 10 (tanh 10 rounds to 1)
//   then the sign of x restored (tanh -0 = -0); a NaN is returned as it came (selected:
//   the clamps would turn it into 10).
// e^y (y in [1.25, 20]) is Cephes' expf: y = n ln2 + r, |r| <= ln2/2 (n = round(y / ln2),
// ln2 in two parts so n ln2 is exact), e^r by a degree-7 polynomial, 2^n built in the
// exponent bits.
// Accuracy, measured against double std::tanh over every finite float >= 0 (tanh is odd and
// the sign is restored exactly, so that is every float): at most 1.33 ulp of the result's
// binade (1.3303 at x = 0.628309548, just above the switch of formula), 0.016 on average
// over the 2^31 - 2^23 values (most of them tiny, where the result is x, exact).
// tests/kernels/test_pointwise_cpu.cpp re-checks a dense sample against 2 ulp and the
// special values; docs/kernels/cpu_pointwise.md.
#pragma once
#include <cstdint>
#include <cstring>

namespace gantry::kernels::cpu {

namespace detail {
inline uint32_t float_bits(float x) {
  uint32_t u;
  std::memcpy(&u, &x, 4);
  return u;
}
inline float bits_float(uint32_t u) {
  float x;
  std::memcpy(&x, &u, 4);
  return x;
}
}  // namespace detail

// tanh(x) in float, at most 1.33 ulp from tanh's exact value (see the header); NaN -> NaN,
// +-inf -> +-1, -0 -> -0.
inline float tanh_float(float x) {
  const uint32_t ua = detail::float_bits(x) & 0x7fffffffu, sign = detail::float_bits(x) & 0x80000000u;
  const float a = detail::bits_float(ua);
  // Both branches run on every lane and one is selected, so each gets a copy of a clamped
  // to its own range, no subnormal intermediates (a microcode assist each: 95 ns an
  // element on inputs ~1e-20) and no overflow. The clamps are integer max/min on the bits
  // (for a >= 0 they order as the floats do): a float clamp the compiler drops, knowing
  // its result is used only where it changes nothing.
  const float as = detail::bits_float(ua > 0x39800000u ? ua : 0x39800000u);  // >= 2^-12
  uint32_t ul = ua > 0x3f200000u ? ua : 0x3f200000u;                         // >= 0.625
  ul = ul < 0x41200000u ? ul : 0x41200000u;                                  // <= 10 (NaN: 10)
  // small: a + a^3 P(a^2); below 2^-12, tanh a rounds to a itself
  const float z = as * as;
  const float p =
      ((((-5.70498872745e-3f * z + 2.06390887954e-2f) * z - 5.37397155531e-2f) * z + 1.33314422036e-1f) * z -
       3.33332819422e-1f) *
          z * as +
      as;
  // large: 1 - 2 / (e^{2a} + 1), e^y = 2^n e^r
  const float y = 2.f * detail::bits_float(ul);
  const float magic = 12582912.f;  // 1.5 * 2^23: adding it rounds to an integer
  const float t = y * 1.44269504088896341f + magic;
  const float n = t - magic;
  const float r = (y - n * 0.693359375f) - n * -2.12194440e-4f;
  const float er = ((((((1.9875691500e-4f * r + 1.3981999507e-3f) * r + 8.3334519073e-3f) * r + 4.1665795894e-2f) * r +
                      1.6666665459e-1f) *
                         r +
                     5.0000001201e-1f) *
                        r * r +
                    r) +
                   1.f;
  const float two_n = detail::bits_float((detail::float_bits(t) - detail::float_bits(magic) + 127u) << 23);
  const float q = 1.f - 2.f / (er * two_n + 1.f);
  const float m = a < 0x1p-12f ? a : a < 0.625f ? p : q;
  return x != x ? x : detail::bits_float(detail::float_bits(m) | sign);
}

}  // namespace gantry::kernels::cpu
