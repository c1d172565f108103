// conv_transpose2d with output_padding >= stride (allowed when dilation > stride, as in
// PyTorch): forward values against a scatter loop, the issue 14 case and its
// gradients (gradcheck of such cases: tests/core/test_gradcheck_ops.cpp).
#include <doctest/doctest.h>

#include "core/ops.hpp"

using namespace gantry;

namespace {

Tensor rnd(const Shape& s, uint64_t seed) {
  Rng g(seed);
  return rand(s, DType::f64, &g, -1, 1);
}

// y[n, co, h*s - p + kh*d, w*s - p + kw*d] += x[n, ci, h, w] * w[ci, co, kh, kw], for an output of [oh, ow].
std::vector<double> scatter(const Tensor& x, const Tensor& w, const Conv2dOptions& o, int64_t oh, int64_t ow) {
  const int64_t N = x.size(0), CI = x.size(1), H = x.size(2), W = x.size(3), CO = w.size(1), KH = w.size(2),
                KW = w.size(3);
  auto xv = x.to_vector<double>(), wv = w.to_vector<double>();
  std::vector<double> y(N * CO * oh * ow, 0);
  for (int64_t n = 0; n < N; ++n)
    for (int64_t ci = 0; ci < CI; ++ci)
      for (int64_t h = 0; h < H; ++h)
        for (int64_t ww = 0; ww < W; ++ww)
          for (int64_t co = 0; co < CO; ++co)
            for (int64_t kh = 0; kh < KH; ++kh)
              for (int64_t kw = 0; kw < KW; ++kw) {
                const int64_t r = h * o.stride_h - o.pad_h + kh * o.dil_h, c = ww * o.stride_w - o.pad_w + kw * o.dil_w;
                if (r < 0 || r >= oh || c < 0 || c >= ow) continue;
                y[((n * CO + co) * oh + r) * ow + c] +=
                    xv[((n * CI + ci) * H + h) * W + ww] * wv[((ci * CO + co) * KH + kh) * KW + kw];
              }
  return y;
}

}  // namespace

TEST_CASE("conv_transpose2d, output_padding 1 >= stride 1 with dilation 2: PyTorch's values and gradients") {
  // The issue 14 case: PyTorch gives ones in the top-left 4x4 and zeros in the last row and column.
  Tensor x = ones({1, 1, 2, 2}, DType::f64).requires_grad_(), w = ones({1, 1, 2, 2}, DType::f64).requires_grad_();
  Conv2dOptions o{1, 1, 0, 0, 2, 2};
  Tensor y = conv_transpose2d(x, w, {}, o, 1, 1);
  REQUIRE(y.shape() == Shape{1, 1, 5, 5});
  auto yv = y.to_vector<double>();
  for (int r = 0; r < 5; ++r)
    for (int c = 0; c < 5; ++c) CHECK(yv[r * 5 + c] == (r < 4 && c < 4 ? 1.0 : 0.0));
  // d sum(y) / dx: every tap of every pixel lands inside, so 4 each; d/dw: the sum of x, 4 each.
  auto g = grad({sum(y)}, {x, w});
  REQUIRE(g[0].shape() == x.shape());
  REQUIRE(g[1].shape() == w.shape());
  for (double v : g[0].to_vector<double>()) CHECK(v == 4.0);
  for (double v : g[1].to_vector<double>()) CHECK(v == 4.0);
}

TEST_CASE("conv_transpose2d with output_padding >= stride matches the scatter loop") {
  struct Case {
    Conv2dOptions o;
    int64_t oph, opw;
  };
  // stride 1 dilation 3 output_padding 2; stride 2 dilation 3 output_padding 2 (rows) and
  // stride 1 dilation 2 output_padding 1 (columns), with padding.
  for (const Case& k : {Case{{1, 1, 0, 0, 3, 3}, 2, 2}, Case{{2, 1, 1, 0, 3, 2}, 2, 1}}) {
    Tensor x = rnd({2, 3, 3, 4}, 10), w = rnd({3, 2, 3, 2}, 11);
    Tensor y = conv_transpose2d(x, w, {}, k.o, k.oph, k.opw);
    const int64_t oh = 2 * k.o.stride_h - 2 * k.o.pad_h + 2 * k.o.dil_h + 1 + k.oph;
    const int64_t ow = 3 * k.o.stride_w - 2 * k.o.pad_w + k.o.dil_w + 1 + k.opw;
    REQUIRE(y.shape() == Shape{2, 2, oh, ow});
    auto ref = scatter(x, w, k.o, oh, ow);
    auto yv = y.to_vector<double>();
    for (size_t i = 0; i < ref.size(); ++i) CHECK(yv[i] == doctest::Approx(ref[i]));
  }
}
