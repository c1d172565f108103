// kernels/cpu pointwise: the vectorizable float tanh (kernels/cpu/simd_math.hpp) against
// double std::tanh in ulps over a dense sweep and at the special values, and the tanh op
// through the elementwise loop at odd sizes (every simd tail), at 1 and 2 threads.
#include <doctest/doctest.h>
#include <omp.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <vector>

#include "core/ops.hpp"
#include "core/tensor.hpp"
#include "core/threads.hpp"
#include "kernels/cpu/elementwise.hpp"
#include "kernels/cpu/simd_math.hpp"
#include "kernels/elementwise_ops.hpp"
#include "test_util.hpp"

using gantry::kernels::cpu::tanh_float;

namespace {

uint32_t bits(float x) {
  uint32_t u;
  std::memcpy(&u, &x, 4);
  return u;
}

float from_bits(uint32_t u) {
  float x;
  std::memcpy(&x, &u, 4);
  return x;
}

// |got - want| in units of the last place of a float of want's binade (subnormal
// spacing 2^-149 at the bottom); want is the exact value to double precision.
double ulps(float got, double want) {
  int e = 0;
  std::frexp(want, &e);
  const double ulp = want == 0 ? std::ldexp(1.0, -149) : std::ldexp(1.0, std::max(e - 24, -149));
  return std::abs((double)got - want) / ulp;
}

// The largest ulp error of tanh_float over xs (and the x where it is), the values
// evaluated in a loop the compiler vectorizes, as the elementwise kernel does.
double max_ulps(const std::vector<float>& xs, float& worst) {
  std::vector<float> ys(xs.size());
#pragma omp simd
  for (size_t i = 0; i < xs.size(); ++i) ys[i] = tanh_float(xs[i]);
  double most = 0;
  for (size_t i = 0; i < xs.size(); ++i) {
    const double u = ulps(ys[i], std::tanh((double)xs[i]));
    if (!(u <= most)) most = u, worst = xs[i];  // a NaN result counts as the worst
  }
  return most;
}

// Inputs with the special values among ordinary ones at the start, the middle and the
// end, so the vector body and the scalar tail both meet them.
std::vector<double> tanh_inputs(size_t n) {
  const double inf = std::numeric_limits<double>::infinity(), nan = std::numeric_limits<double>::quiet_NaN();
  const std::vector<double> special = {nan, -inf, inf, -0.0, 0.0, 1e-30, -0.625, 9.5, -20};
  auto v = gantry::testing::random_values<double>(n, 41, -12, 12);
  for (size_t k = 0; k < special.size() && k < n; ++k) {
    v[k * n / special.size()] = special[k];
    v[n - 1 - k * n / special.size()] = special[special.size() - 1 - k];
  }
  return v;
}

}  // namespace

TEST_CASE("tanh_float is within 2 ulp of tanh over [-20, 20] and at tiny values") {
  float worst = 0;
  // A dense uniform sweep: 4,000,001 points, step 1e-5.
  std::vector<float> xs;
  for (int64_t i = -2000000; i <= 2000000; ++i) xs.push_back((float)(i * 1e-5));
  double most = max_ulps(xs, worst);
  INFO("uniform sweep: " << most << " ulp at " << worst);
  CHECK(most <= 2.0);
  // Every 61st float in [0, 20], both signs: every binade from the subnormals up, the
  // switch of formula at 2^-12 and at 0.625, the clamp at 10.
  xs.clear();
  for (uint32_t u = 0; u <= bits(20.f); u += 61) xs.push_back(from_bits(u)), xs.push_back(-from_bits(u));
  most = max_ulps(xs, worst);
  INFO("every 61st float: " << most << " ulp at " << worst);
  CHECK(most <= 2.0);
  // Each side of the switches, 64 floats each way.
  xs.clear();
  for (float edge : {0x1p-12f, 0.625f, 10.f, std::numeric_limits<float>::min()})
    for (int d = -64; d <= 64; ++d) xs.push_back(from_bits(bits(edge) + d)), xs.push_back(-from_bits(bits(edge) + d));
  most = max_ulps(xs, worst);
  INFO("around the switches: " << most << " ulp at " << worst);
  CHECK(most <= 2.0);
}

TEST_CASE("tanh_float: NaN stays NaN, tanh(+-inf) = +-1, the sign of zero kept, tiny x exact") {
  const float inf = std::numeric_limits<float>::infinity();
  CHECK(std::isnan(tanh_float(std::numeric_limits<float>::quiet_NaN())));
  CHECK(std::isnan(tanh_float(-std::numeric_limits<float>::quiet_NaN())));
  CHECK(std::isnan(tanh_float(from_bits(0x7f800001u))));  // signalling payload
  CHECK(std::isnan(tanh_float(from_bits(0xffc12345u))));
  CHECK(tanh_float(inf) == 1.f);
  CHECK(tanh_float(-inf) == -1.f);
  CHECK(tanh_float(std::numeric_limits<float>::max()) == 1.f);
  CHECK(tanh_float(-std::numeric_limits<float>::max()) == -1.f);
  CHECK(tanh_float(30.f) == 1.f);
  CHECK(tanh_float(-30.f) == -1.f);
  CHECK(bits(tanh_float(0.f)) == bits(0.f));
  CHECK(bits(tanh_float(-0.f)) == bits(-0.f));
  for (float tiny : {std::numeric_limits<float>::denorm_min(), std::numeric_limits<float>::min(), 1e-30f, 1e-10f}) {
    CHECK(tanh_float(tiny) == tiny);
    CHECK(tanh_float(-tiny) == -tiny);
  }
  // odd: tanh(-x) = -tanh(x) to the bit
  for (float x : {1e-3f, 0.3f, 0.625f, 0.7f, 1.f, 3.f, 9.f})
    CHECK(bits(tanh_float(-x)) == (bits(tanh_float(x)) | 0x80000000u));
}

TEST_CASE("tanh op at odd sizes: each element the scalar tanh_float, within 2 ulp, the same at 1 and 2 threads") {
  const int saved = gantry::num_threads();
  // 40009 > kParallelMinElements: the 2-thread run splits the loop
  for (size_t n : {1, 15, 17, 33, 1000, 40009}) {
    INFO("n = " << n);
    const auto v = tanh_inputs(n);
    const gantry::Tensor x = gantry::from_vector(v, {(int64_t)n}, gantry::DType::f32);
    const auto xv = x.to_vector<float>();
    gantry::set_num_threads(1);
    const auto y1 = gantry::tanh(x).to_vector<float>();
    gantry::set_num_threads(2);
    const auto y2 = gantry::tanh(x).to_vector<float>();
    REQUIRE(y1.size() == n);
    REQUIRE(y2.size() == n);
    int bad = 0;
    for (size_t i = 0; i < n; ++i) {
      const float want = tanh_float(xv[i]);
      const bool same1 = bits(y1[i]) == bits(want) || (std::isnan(y1[i]) && std::isnan(want));
      const bool same2 = bits(y2[i]) == bits(y1[i]) || (std::isnan(y1[i]) && std::isnan(y2[i]));
      const bool close = std::isnan(xv[i]) ? (bool)std::isnan(y1[i]) : ulps(y1[i], std::tanh((double)xv[i])) <= 2.0;
      if (!(same1 && same2 && close) && bad++ < 5) {
        INFO("element " << i << ": x " << xv[i] << ", 1 thread " << y1[i] << ", 2 threads " << y2[i] << ", tanh_float "
                        << want);
        CHECK(false);
      }
    }
    CHECK(bad == 0);
  }
  gantry::set_num_threads(saved);
}

TEST_CASE("tanh op in double is std::tanh, to the bit") {
  for (size_t n : {1, 17, 1000}) {
    const auto v = tanh_inputs(n);
    const auto y = gantry::tanh(gantry::from_vector(v, {(int64_t)n}, gantry::DType::f64)).to_vector<double>();
    int bad = 0;
    for (size_t i = 0; i < n; ++i) {
      const double want = std::tanh(v[i]);
      const bool same =
          std::isnan(want) ? (bool)std::isnan(y[i]) : y[i] == want && std::signbit(y[i]) == std::signbit(want);
      if (!same) ++bad;
    }
    INFO("n = " << n);
    CHECK(bad == 0);
  }
}
