// kernels/philox.hpp — Philox4x32-10 (Salmon et al., "Parallel random numbers: as
// easy as 1, 2, 3", SC'11), a counter-based generator: block = philox(counter, key)
// is a pure function, so any thread can compute any element of a stream alone, and
// the CPU and a CUDA kernel produce the same numbers for the same (seed, offset).
//
// The stream of a generator with 64-bit `seed` and 64-bit `offset`:
//   block b = philox4x32_10(counter = {lo32(offset + b), hi32(offset + b), 0, 0},
//                           key     = {lo32(seed), hi32(seed)})           (4 words)
//   float stream:  element i uses block i/4, word i%4
//     uniform U_i = (word >> 8) * 2^-24                                  in [0, 1)
//     normal  Z_i by Box-Muller on the words (0,1) or (2,3) of block i/4:
//             u1 = (w0 >> 8 + 1) * 2^-24 in (0, 1], u2 = (w1 >> 8) * 2^-24
//             Z = sqrt(-2 ln u1) * (cos(2 pi u2) for the even word, sin(2 pi u2) for the odd)
//   double stream: element i uses block i/2, words (2(i%2), 2(i%2)+1) -> 53 bits
//     uniform U_i = ((a << 21) ^ (b >> 11)) * 2^-53 ... see uints_to_uniform_double
//     normal  Z_i by Box-Muller on the two 53-bit uniforms of block i/2 (cos for
//             element 2k, sin for 2k+1)
#pragma once
#include <cmath>
#include <cstdint>

#include "kernels/shapes.hpp"

namespace gantry::kernels {

struct Philox4x32 {
  uint32_t v[4];
};

GANTRY_HD inline uint32_t mulhilo32(uint32_t a, uint32_t b, uint32_t* hi) {
  const uint64_t p = (uint64_t)a * (uint64_t)b;
  *hi = (uint32_t)(p >> 32);
  return (uint32_t)p;
}

// Ten rounds of the Philox4x32 bijection on the counter, keyed by (k0, k1).
GANTRY_HD inline Philox4x32 philox4x32_10(uint32_t c0, uint32_t c1, uint32_t c2, uint32_t c3, uint32_t k0,
                                          uint32_t k1) {
  for (int round = 0; round < 10; ++round) {
    uint32_t hi0, hi1;
    const uint32_t lo0 = mulhilo32(0xD2511F53u, c0, &hi0);
    const uint32_t lo1 = mulhilo32(0xCD9E8D57u, c2, &hi1);
    const uint32_t n0 = hi1 ^ c1 ^ k0, n1 = lo1, n2 = hi0 ^ c3 ^ k1, n3 = lo0;
    c0 = n0, c1 = n1, c2 = n2, c3 = n3;
    k0 += 0x9E3779B9u;
    k1 += 0xBB67AE85u;
  }
  return {{c0, c1, c2, c3}};
}

// Block b of the stream (seed, offset).
GANTRY_HD inline Philox4x32 philox_block(uint64_t seed, uint64_t offset, uint64_t b) {
  const uint64_t c = offset + b;
  return philox4x32_10((uint32_t)c, (uint32_t)(c >> 32), 0, 0, (uint32_t)seed, (uint32_t)(seed >> 32));
}

GANTRY_HD inline float uint_to_uniform_float(uint32_t u) { return (float)(u >> 8) * (1.0f / 16777216.0f); }
// In (0, 1]: safe for log.
GANTRY_HD inline float uint_to_open_uniform_float(uint32_t u) { return (float)((u >> 8) + 1) * (1.0f / 16777216.0f); }
GANTRY_HD inline double uints_to_uniform_double(uint32_t a, uint32_t b) {
  const uint64_t bits = ((uint64_t)a << 21) ^ ((uint64_t)b >> 11);  // 53 bits
  return (double)bits * (1.0 / 9007199254740992.0);
}

// Element i of the float uniform stream.
GANTRY_HD inline float philox_uniform_float(uint64_t seed, uint64_t offset, uint64_t i) {
  return uint_to_uniform_float(philox_block(seed, offset, i / 4).v[i % 4]);
}

// Element i of the float normal stream.
GANTRY_HD inline float philox_normal_float(uint64_t seed, uint64_t offset, uint64_t i) {
  const Philox4x32 b = philox_block(seed, offset, i / 4);
  const int pair = (int)(i % 4) / 2;
  const float u1 = uint_to_open_uniform_float(b.v[2 * pair]), u2 = uint_to_uniform_float(b.v[2 * pair + 1]);
  const float r = ::sqrtf(-2.0f * ::logf(u1)), theta = 6.28318530717958647692f * u2;
  return (i % 2 == 0) ? r * ::cosf(theta) : r * ::sinf(theta);
}

// Element i of the double uniform stream.
GANTRY_HD inline double philox_uniform_double(uint64_t seed, uint64_t offset, uint64_t i) {
  const Philox4x32 b = philox_block(seed, offset, i / 2);
  const int w = 2 * (int)(i % 2);
  return uints_to_uniform_double(b.v[w], b.v[w + 1]);
}

// Element i of the double normal stream.
GANTRY_HD inline double philox_normal_double(uint64_t seed, uint64_t offset, uint64_t i) {
  const Philox4x32 b = philox_block(seed, offset, i / 2);
  const double u1 = 1.0 - uints_to_uniform_double(b.v[0], b.v[1]);  // (0, 1]
  const double u2 = uints_to_uniform_double(b.v[2], b.v[3]);
  const double r = ::sqrt(-2.0 * ::log(u1)), theta = 6.283185307179586476925 * u2;
  return (i % 2 == 0) ? r * ::cos(theta) : r * ::sin(theta);
}

}  // namespace gantry::kernels
