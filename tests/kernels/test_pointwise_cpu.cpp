// kernels/cpu pointwise: the vectorizable float tanh (kernels/cpu/simd_math.hpp) against
// double std::tanh in ulps over a dense sweep and at the special values, and the tanh op
// through the elementwise loop at odd sizes (every simd tail), at 1 and 2 threads;
// map_strided and assign_strided on transposed, sliced, broadcast and size-1 views against
// the per-element definition, bit for bit, at 1 and 2 threads.
#include <doctest/doctest.h>
#include <omp.h>

#include <array>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <tuple>
#include <limits>
#include <string>
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

// ---- map_strided / assign_strided on strided views, against the definition ----------

namespace {

using gantry::kernels::StridedShape;
namespace ew = gantry::kernels::elementwise;

StridedShape view(const std::vector<int64_t>& sizes, const std::vector<int64_t>& strides) {
  REQUIRE(sizes.size() == strides.size());
  StridedShape s;
  s.ndim = (int)sizes.size();
  for (int d = 0; d < s.ndim; ++d) s.sizes[d] = sizes[d], s.strides[d] = strides[d];
  return s;
}

// Offset in a view of the element at row-major flat index i of its sizes.
int64_t offset_of(const StridedShape& s, int64_t i) {
  int64_t off = 0;
  for (int d = s.ndim - 1; d >= 0; --d) off += (i % s.sizes[d]) * s.strides[d], i /= s.sizes[d];
  return off;
}

// One past the largest offset a view reaches (its strides are >= 0).
int64_t extent(const StridedShape& s) {
  int64_t e = 1;
  for (int d = 0; d < s.ndim; ++d) e += (s.sizes[d] - 1) * s.strides[d];
  return e;
}

struct Case {
  const char* what;
  std::vector<int64_t> sizes;
  std::vector<std::vector<int64_t>> strides;  // one per operand
};

// map_strided with K operands of the case against the per-element definition, bit for bit,
// at 1 and 2 threads; the output pre-filled with NaN.
template <std::size_t K, class F>
void check_map(const Case& c, F f) {
  std::array<StridedShape, K> s;
  std::array<std::vector<float>, K> data;
  std::array<const float*, K> in;
  for (std::size_t k = 0; k < K; ++k) {
    s[k] = view(c.sizes, c.strides[k]);
    data[k] = gantry::testing::random_values<float>((size_t)extent(s[k]), 100 + (unsigned)k, -3, 3);
    in[k] = data[k].data();
  }
  const int64_t n = gantry::kernels::cpu::numel_of(s[0]);
  std::vector<float> want((size_t)n);
  for (int64_t i = 0; i < n; ++i) {
    std::array<float, K> v;
    for (std::size_t k = 0; k < K; ++k) v[k] = in[k][offset_of(s[k], i)];
    want[(size_t)i] = std::apply(f, v);
  }
  const int saved = omp_get_max_threads();
  for (int threads : {1, 2}) {
    omp_set_num_threads(threads);
    auto got = gantry::testing::nans<float>((size_t)n);
    gantry::kernels::cpu::map_strided<float, float, K>(got.data(), in, s, f);
    int64_t bad = 0, first = -1;
    for (int64_t i = 0; i < n; ++i)
      if (bits(got[(size_t)i]) != bits(want[(size_t)i]) && bad++ == 0) first = i;
    INFO(std::string(c.what) << ", " << threads << " threads: " << bad << " of " << n << " wrong, the first at "
                             << first);
    CHECK(bad == 0);
  }
  omp_set_num_threads(saved);
}

}  // namespace

TEST_CASE("map_strided on transposed, sliced, broadcast and size-1 views matches the definition") {
  const std::vector<Case> unary = {
      {"dense [5,7]", {5, 7}, {{7, 1}}},
      {"transposed [7,5] of [5,7]", {7, 5}, {{1, 7}}},
      {"every other column [1000,40] of [1000,80] (merges to one row of stride 2, tiled)", {1000, 40}, {{80, 2}}},
      {"size-1 dims with odd strides [3,1,4,1]", {3, 1, 4, 1}, {{4, 999, 1, 77}}},
      {"a scalar broadcast to [3,4,5]", {3, 4, 5}, {{0, 0, 0}}},
      {"0 dims", {}, {{}}},
      {"[2,3,40000] of [2,3,80000], the last dim sliced (rows longer than a tile)",
       {2, 3, 40000},
       {{240000, 80000, 1}}},
  };
  for (const auto& c : unary) {
    check_map<1>(c, ew::LeakyRelu<float>{0.2f});
    check_map<1>(c, ew::Tanh<float>{});
  }
  const std::vector<Case> binary = {
      {"dense [4,6]", {4, 6}, {{6, 1}, {6, 1}}},
      {"per-sample [64,1,1,1] x [64,3,5,7]", {64, 3, 5, 7}, {{1, 0, 0, 0}, {105, 35, 7, 1}}},
      {"per-channel bias [3] over [4,3,5,7]", {4, 3, 5, 7}, {{0, 1, 0, 0}, {105, 35, 7, 1}}},
      {"[64,64,7,7] * [64,7,7] (a leading broadcast dim)", {64, 64, 7, 7}, {{3136, 49, 7, 1}, {0, 49, 7, 1}}},
      {"middle broadcast [6,1,5] -> [6,7,5]", {6, 7, 5}, {{5, 0, 1}, {35, 5, 1}}},
      {"transposed x dense [9,11]", {9, 11}, {{1, 9}, {11, 1}}},
      {"rows of a wider buffer [4,6] of [4,10] x dense", {4, 6}, {{10, 1}, {6, 1}}},
      {"[2,40000] x a [2,1] column: long rows, one operand constant along them", {2, 40000}, {{40000, 1}, {1, 0}}},
      {"[40000] broadcast over 3 rows x every other element of [3,80000]", {3, 40000}, {{0, 1}, {80000, 2}}},
  };
  for (const auto& c : binary) {
    check_map<2>(c, ew::Mul<float>{});
    check_map<2>(c, [](float u, float v) { return u - 2.f * v; });
  }
  const std::vector<Case> ternary = {
      {"where: a per-row condition, a transposed a, a dense b [8,9]", {8, 9}, {{1, 0}, {1, 8}, {9, 1}}},
      {"where: all dense but one broadcast [2,3,5]", {2, 3, 5}, {{15, 5, 1}, {15, 5, 1}, {0, 5, 1}}},
  };
  for (const auto& c : ternary) check_map<3>(c, [](float cond, float a, float b) { return cond > 0 ? a : b; });
}

TEST_CASE("assign_strided copies between strided views of any layout, converting the type, nothing else written") {
  struct Copy {
    const char* what;
    std::vector<int64_t> sizes, out_strides, in_strides;
  };
  const std::vector<Copy> copies = {
      {"dense to dense [3,4,5]", {3, 4, 5}, {20, 5, 1}, {20, 5, 1}},
      {"transposed in, dense out [7,5]", {7, 5}, {5, 1}, {1, 7}},
      {"dense in, transposed out [7,5]", {7, 5}, {1, 7}, {5, 1}},
      {"into every other column of [500,80] from a dense [500,40] (tiled)", {500, 40}, {80, 2}, {40, 1}},
      {"a broadcast row into [6,9]", {6, 9}, {9, 1}, {0, 1}},
      {"rows of wider buffers both sides [5,3]", {5, 3}, {8, 1}, {4, 1}},
      {"size-1 dims [2,1,3]", {2, 1, 3}, {3, 50, 1}, {3, 7, 1}},
      {"a long row split in tiles [1,50000]", {1, 50000}, {50000, 1}, {50000, 1}},
  };
  const int saved = omp_get_max_threads();
  for (const auto& c : copies) {
    const StridedShape so = view(c.sizes, c.out_strides), si = view(c.sizes, c.in_strides);
    const auto src = gantry::testing::random_values<double>((size_t)extent(si), 7, -5, 5);
    const int64_t n = gantry::kernels::cpu::numel_of(so);
    for (int threads : {1, 2}) {
      omp_set_num_threads(threads);
      // double -> float: the sentinel -1000 must survive wherever the view does not reach
      std::vector<float> out((size_t)extent(so), -1000.f);
      gantry::kernels::cpu::assign_strided<float, double>(out.data(), so, src.data(), si);
      std::vector<float> want((size_t)extent(so), -1000.f);
      for (int64_t i = 0; i < n; ++i) want[(size_t)offset_of(so, i)] = (float)src[(size_t)offset_of(si, i)];
      INFO(std::string(c.what) << ", " << threads << " threads");
      CHECK(out == want);
      bool broadcast = false;  // a stride-0 view cannot be written back into
      for (int64_t st : c.in_strides) broadcast = broadcast || st == 0;
      if (broadcast) continue;
      // float -> float, back from the float copy into a fresh buffer of the input's layout
      std::vector<float> back((size_t)extent(si), -1000.f), want_back((size_t)extent(si), -1000.f);
      gantry::kernels::cpu::assign_strided<float, float>(back.data(), si, out.data(), so);
      for (int64_t i = 0; i < n; ++i) want_back[(size_t)offset_of(si, i)] = out[(size_t)offset_of(so, i)];
      CHECK(back == want_back);
    }
  }
  omp_set_num_threads(saved);
}
