// modulated_conv2d, its primitives (modconv2d and its two backward ops), modulation_demod
// and upfirdn2d on the cpu: values against references composed of existing ops and
// against numbers from PyTorch, gradcheck and gradgradcheck in float64, and the errors.
// The cpu upfirdn2d also equals the direct one-output-at-a-time gather bit for bit.
#include <algorithm>
#include <cmath>
#include <functional>

#include "core/profile.hpp"
#include "gradcheck.hpp"

using namespace gantry;
using gantry::testing::leaf;
using V = std::vector<Tensor>;

namespace {

// A float64 tensor with element i = f(i): the same inputs the PyTorch script builds.
Tensor det(const Shape& s, const std::function<double(double)>& f) {
  int64_t n = 1;
  for (int64_t d : s) n *= d;
  std::vector<double> v(n);
  for (int64_t i = 0; i < n; ++i) v[i] = f((double)i);
  return from_vector(v, s, DType::f64);
}

// sum(y * v) with v[i] = cos(0.11 i): one number that depends on every output.
double probe(const Tensor& y) {
  return sum(mul(y, det(y.shape(), [](double i) { return std::cos(0.11 * i); }))).item();
}

// The modulated conv one sample at a time with existing ops: w' = w s (d), conv2d per sample.
Tensor modconv_reference(const Tensor& x, const Tensor& w, const Tensor& s, bool demod, const Conv2dOptions& o) {
  std::vector<Tensor> ys;
  for (int64_t n = 0; n < x.size(0); ++n) {
    Tensor wn = mul(w, reshape(narrow(s, 0, n, 1), {1, s.size(1), 1, 1}));
    if (demod) wn = mul(wn, rsqrt(add(sum(mul(wn, wn), {1, 2, 3}, true), 1e-8)));
    ys.push_back(conv2d(narrow(x, 0, n, 1), wn, {}, o));
  }
  return cat(ys, 0);
}

// upfirdn2d from existing ops (non-negative pads): zero insertion as a stride-`up` transposed
// conv by a 1x1 one, pad2d, then a stride-`down` conv2d with the flipped filter.
Tensor upfirdn_reference(const Tensor& x, const Tensor& f, const UpFirDn2dOptions& o) {
  const int64_t n = x.size(0), c = x.size(1);
  Tensor planes = reshape(x, {n * c, 1, x.size(2), x.size(3)});
  Tensor one = ones({1, 1, 1, 1}, x.dtype());
  Tensor up = conv_transpose2d(planes, one, {}, Conv2dOptions::square(o.up), o.up - 1, o.up - 1);
  Tensor padded = pad2d(up, o.pad_x0, o.pad_x1, o.pad_y0, o.pad_y1);
  std::vector<double> fv = f.to_vector<double>();
  std::reverse(fv.begin(), fv.end());
  Tensor flipped = from_vector(fv, {1, 1, f.size(0), f.size(1)}, x.dtype());
  Tensor y = conv2d(padded, flipped, {}, Conv2dOptions::square(o.down));
  return reshape(y, {n, c, y.size(2), y.size(3)});
}

double max_abs_diff(const Tensor& a, const Tensor& b) {
  REQUIRE(a.shape() == b.shape());
  return max(abs(sub(a, b))).item();
}

Tensor blur_filter(double gain) {
  const double f1[] = {1, 3, 3, 1};
  std::vector<double> v;
  for (double a : f1)
    for (double b : f1) v.push_back(a * b / 64.0 * gain);
  return from_vector(v, {4, 4}, DType::f64);
}

}  // namespace

TEST_CASE("modulated_conv2d matches PyTorch's grouped-conv form (numbers from tests/core/torch_modconv_ref.py)") {
  Tensor x = det({3, 5, 7, 6}, [](double i) { return std::sin(0.37 * i + 0.1); });
  Tensor w = det({4, 5, 3, 3}, [](double i) { return std::cos(0.21 * i); });
  Tensor s = det({3, 5}, [](double i) { return 0.5 + 0.4 * std::sin(1.3 * i); });
  Tensor y1 = modulated_conv2d(x, w, s, true, Conv2dOptions::square(1, 1));
  CHECK(y1.shape() == Shape({3, 4, 7, 6}));
  CHECK(probe(y1) == doctest::Approx(0.3478558883587939).epsilon(1e-10));
  Tensor y0 = modulated_conv2d(x, w, s, false);
  CHECK(y0.shape() == Shape({3, 4, 5, 4}));
  CHECK(probe(y0) == doctest::Approx(-8.519010030267262).epsilon(1e-10));
}

TEST_CASE("upfirdn2d matches stylegan2-ada's reference upfirdn2d (numbers from tests/core/torch_modconv_ref.py)") {
  Tensor x = det({2, 3, 5, 4}, [](double i) { return std::sin(0.29 * i + 0.3); });
  Tensor up = upfirdn2d(x, blur_filter(4), {2, 1, 2, 1, 2, 1});
  CHECK(up.shape() == Shape({2, 3, 10, 8}));
  CHECK(probe(up) == doctest::Approx(-4.87398864743514).epsilon(1e-10));
  Tensor down = upfirdn2d(x, blur_filter(1), {1, 2, 1, 1, 1, 1});
  CHECK(down.shape() == Shape({2, 3, 2, 2}));
  CHECK(probe(down) == doctest::Approx(1.2913627948430568).epsilon(1e-10));
  Tensor fa = det({3, 2}, [](double i) { return 1.0 + 0.5 * std::cos(1.7 * i); });  // asymmetric: flips matter
  Tensor asym = upfirdn2d(x, fa, {3, 2, 2, -1, 0, 1});                              // a negative pad crops
  CHECK(asym.shape() == Shape({2, 3, 7, 6}));
  CHECK(probe(asym) == doctest::Approx(7.049259310837948).epsilon(1e-10));
}

TEST_CASE("modulated_conv2d equals a per-sample conv2d with modulated (and demodulated) weights") {
  Tensor x = leaf({3, 4, 7, 5}, 1), w = leaf({5, 4, 3, 2}, 2), s = leaf({3, 4}, 3, 0.2, 1.5);
  for (Conv2dOptions o : {Conv2dOptions{}, Conv2dOptions{2, 1, 1, 2, 1, 2}, Conv2dOptions::square(1, 1)})
    for (bool demod : {true, false}) {
      INFO("demodulate " << demod << " stride " << o.stride_h << "x" << o.stride_w);
      Tensor got = modulated_conv2d(x, w, s, demod, o), want = modconv_reference(x, w, s, demod, o);
      CHECK(max_abs_diff(got, want) < 1e-12);
    }
  // With demodulation every output channel's per-sample weight has unit norm: scaling a
  // sample's styles by any constant leaves its output unchanged (up to eps = 1e-8 against
  // the squared norm, about 1e-9 here).
  Tensor y = modulated_conv2d(x, w, s, true), y3 = modulated_conv2d(x, w, mul(s, 3.0), true);
  CHECK(max_abs_diff(y, y3) < 1e-7);
  CHECK(max_abs_diff(y, modulated_conv2d(x, w, s, false)) > 0.1);
}

TEST_CASE("modconv2d's backward ops are the adjoints of its forward") {
  Tensor x = leaf({2, 3, 6, 5}, 4), w = leaf({4, 3, 3, 3}, 5), s = leaf({2, 3}, 6), d = leaf({2, 4}, 7);
  Conv2dOptions o{2, 1, 1, 1, 1, 1};
  NoGradGuard off;
  Tensor y = modconv2d(x, w, s, d, o);
  Tensor g = leaf(y.shape(), 8);
  // <g, P1(x, w)> = <P2(g, w), x> = <P3(g, x), w>
  const double lhs = sum(mul(g, y)).item();
  CHECK(sum(mul(modconv2d_backward_input(g, w, s, d, x.shape(), o), x)).item() == doctest::Approx(lhs).epsilon(1e-12));
  CHECK(sum(mul(modconv2d_backward_weight(g, x, s, d, w.shape(), o), w)).item() == doctest::Approx(lhs).epsilon(1e-12));
}

TEST_CASE("upfirdn2d equals zero insertion, pad2d and a strided conv2d with the flipped filter") {
  Tensor x = leaf({2, 3, 5, 4}, 9);
  Tensor fa = leaf({3, 2}, 10, 0.5, 1.5);
  for (UpFirDn2dOptions o : {UpFirDn2dOptions{1, 1, 0, 0, 0, 0}, UpFirDn2dOptions{2, 1, 2, 1, 1, 2},
                             UpFirDn2dOptions{1, 2, 1, 1, 0, 3}, UpFirDn2dOptions{3, 2, 0, 2, 1, 0}}) {
    INFO("up " << o.up << " down " << o.down);
    CHECK(max_abs_diff(upfirdn2d(x, fa, o), upfirdn_reference(x, fa, o)) < 1e-12);
  }
}

TEST_CASE("R1's grad(D(x), x) through modulated_conv2d runs only the input-gradient pass (needs_input_grad)") {
  Tensor x = leaf({2, 3, 6, 5}, 11), w = leaf({4, 3, 3, 3}, 12), s = leaf({2, 3}, 13, 0.5, 1.5);
  Conv2dOptions o{1, 1, 1, 1, 1, 1};
  auto calls = [](const char* name) {
    for (const profile::Entry& e : profile::report())
      if (e.name == name) return e.calls;
    return int64_t{0};
  };
  Tensor y = modulated_conv2d(x, w, s, true, o);
  Tensor u = leaf(y.shape(), 14);
  profile::reset();
  profile::enable(true);
  Tensor g = grad({sum(mul(u, y))}, {x}, {}, true, true)[0];
  const int64_t forward = calls("modconv2d_forward"), input = calls("modconv2d_backward_input"),
                weight = calls("modconv2d_backward_weight");
  profile::enable(false);
  profile::reset();
  CHECK(input == 1);    // dx
  CHECK(forward == 0);  // no d/d(demodulation): it does not lead to x
  CHECK(weight == 0);   // w requires grad, but grad() asked for x only
  // The penalty's backward reaches w and s through g, and matches the same gradient taken
  // with every input's gradient asked for.
  std::vector<Tensor> pen = grad({sum(mul(g, g))}, {w, s});
  Tensor g_all = grad({sum(mul(u, modulated_conv2d(x, w, s, true, o)))}, {x, w, s}, {}, true, true)[0];
  std::vector<Tensor> pen_all = grad({sum(mul(g_all, g_all))}, {w, s});
  CHECK(max_abs_diff(g, g_all) < 1e-12);
  CHECK(max_abs_diff(pen[0], pen_all[0]) < 1e-10);
  CHECK(max_abs_diff(pen[1], pen_all[1]) < 1e-10);
}

// gradcheck and gradgradcheck of these ops run on their registry samples (core/ops/registry.cpp,
// tests/core/test_gradcheck_ops.cpp).

namespace {
// upfirdn2d as the direct gather, one output at a time: acc = sum over (ky, kx) in order of the
// flipped filter times the source sample, skipping taps on inserted zeros or in the padding.
std::vector<float> upfirdn_direct(const std::vector<float>& x, const std::vector<float>& f, int64_t planes, int64_t h,
                                  int64_t w, int64_t kh, int64_t kw, const UpFirDn2dOptions& o) {
  const int64_t oh = (h * o.up + o.pad_y0 + o.pad_y1 - kh) / o.down + 1;
  const int64_t ow = (w * o.up + o.pad_x0 + o.pad_x1 - kw) / o.down + 1;
  auto src = [&](int64_t j, int64_t size) { return j < 0 || j % o.up || j / o.up >= size ? -1 : j / o.up; };
  std::vector<float> y;
  for (int64_t p = 0; p < planes; ++p)
    for (int64_t oy = 0; oy < oh; ++oy)
      for (int64_t ox = 0; ox < ow; ++ox) {
        float acc = 0;
        for (int64_t ky = 0; ky < kh; ++ky) {
          const int64_t iy = src(oy * o.down + ky - o.pad_y0, h);
          if (iy < 0) continue;
          for (int64_t kx = 0; kx < kw; ++kx) {
            const int64_t ix = src(ox * o.down + kx - o.pad_x0, w);
            if (ix >= 0) acc += f[(kh - 1 - ky) * kw + (kw - 1 - kx)] * x[(p * h + iy) * w + ix];
          }
        }
        y.push_back(acc);
      }
  return y;
}

}  // namespace

TEST_CASE("upfirdn2d (cpu, float32) equals the direct gather bit for bit, crops and odd sizes included") {
  Rng g(31);
  Tensor x = rand({2, 3, 7, 5}, DType::f32, &g, -1, 1);
  Tensor f = rand({4, 3}, DType::f32, &g, -1, 1);
  for (UpFirDn2dOptions o :
       {UpFirDn2dOptions{2, 1, 2, 1, 2, 1}, UpFirDn2dOptions{1, 2, 1, 1, 1, 1}, UpFirDn2dOptions{3, 2, 2, -1, 0, 1},
        UpFirDn2dOptions{2, 3, -1, 3, 4, -2}, UpFirDn2dOptions{1, 1, 0, 0, 0, 0}}) {
    INFO("up " << o.up << " down " << o.down << " pads " << o.pad_x0 << " " << o.pad_x1 << " " << o.pad_y0 << " "
               << o.pad_y1);
    std::vector<float> got = upfirdn2d(x, f, o).to_vector<float>();
    std::vector<float> want = upfirdn_direct(x.to_vector<float>(), f.to_vector<float>(), 6, 7, 5, 4, 3, o);
    REQUIRE(got.size() == want.size());
    CHECK(std::equal(got.begin(), got.end(), want.begin()));
  }
}

TEST_CASE("modulated_conv2d and upfirdn2d reject bad arguments, naming the op and the shapes") {
  Tensor x = leaf({2, 3, 5, 4}, 40), w = leaf({2, 3, 3, 3}, 41);
  CHECK_THROWS_WITH_AS(modulated_conv2d(x, w, leaf({2, 4}, 42)), doctest::Contains("styles [2,4]"), Error);
  CHECK_THROWS_WITH_AS(modconv2d(x, w, leaf({2, 4}, 42), {}), doctest::Contains("should be [2,3]"), Error);
  CHECK_THROWS_WITH_AS(modulated_conv2d(x, w, leaf({3, 3}, 43)), doctest::Contains("modulated_conv2d"), Error);
  CHECK_THROWS_WITH_AS(modconv2d(x, leaf({2, 4, 3, 3}, 44), {}, {}), doctest::Contains("channels"), Error);
  CHECK_THROWS_WITH_AS(modconv2d(x, w, {}, leaf({2, 3}, 45)), doctest::Contains("demodulation"), Error);
  CHECK_THROWS_WITH_AS(upfirdn2d(x, leaf({9, 1}, 46), {}), doctest::Contains("does not fit"), Error);
  CHECK_THROWS_WITH_AS(upfirdn2d(x, leaf({3}, 47), {}), doctest::Contains("filter"), Error);
  CHECK_THROWS_WITH_AS(upfirdn2d(x, leaf({3, 3}, 48), {0, 1}), doctest::Contains("up and down"), Error);
}

TEST_CASE("modconv2d_backward_input with the scales swapped is StyleGAN2's modulated transposed conv (up = 2)") {
  // x [N, Cin, H, W], a transposed-conv weight wt [Cin, Cout, 3, 3]: w''[n, i, o] = wt[i, o] styles[n, i] d[n, o].
  Tensor x = leaf({2, 3, 4, 5}, 50), wt = leaf({3, 4, 3, 3}, 51), styles = leaf({2, 3}, 52, 0.3, 1.3);
  Tensor d = modulation_demod(permute(wt, {1, 0, 2, 3}), styles);
  Tensor y = modconv2d_backward_input(x, wt, d, styles, {2, 4, 9, 11}, Conv2dOptions::square(2, 0));
  std::vector<Tensor> want;
  for (int64_t n = 0; n < 2; ++n) {
    Tensor wn = mul(mul(wt, reshape(narrow(styles, 0, n, 1), {3, 1, 1, 1})), reshape(narrow(d, 0, n, 1), {1, 4, 1, 1}));
    // demodulated: every output channel of the per-sample weight has unit norm
    CHECK(max(abs(add(sum(mul(wn, wn), {0, 2, 3}), -1.0))).item() < 1e-6);
    want.push_back(conv_transpose2d(narrow(x, 0, n, 1), wn, {}, Conv2dOptions::square(2, 0)));
  }
  CHECK(max_abs_diff(y, cat(want, 0)) < 1e-12);
}
