// CPU kernels against naive loops written here, on odd shapes, with outputs
// pre-filled with junk so an unwritten element shows; Philox against the
// Random123 known-answer vectors.
#include <doctest/doctest.h>
#include <omp.h>

#include <cmath>
#include <random>
#include <vector>

#include "kernels/cpu/batchnorm.hpp"
#include "kernels/cpu/conv.hpp"
#include "kernels/cpu/embedding.hpp"
#include "kernels/cpu/image.hpp"
#include "kernels/cpu/random.hpp"
#include "kernels/philox.hpp"

using namespace gantry::kernels;
using namespace gantry::kernels::cpu;

namespace {

std::vector<double> random_vec(size_t n, unsigned seed) {
  std::mt19937 g(seed);
  std::uniform_real_distribution<double> d(-1, 1);
  std::vector<double> v(n);
  for (auto& x : v) x = d(g);
  return v;
}

std::vector<double> junk(size_t n) { return std::vector<double>(n, NAN); }

void check_close(const std::vector<double>& got, const std::vector<double>& want, double tol = 1e-12) {
  REQUIRE(got.size() == want.size());
  for (size_t i = 0; i < got.size(); ++i) {
    INFO("element " << i);
    CHECK(std::abs(got[i] - want[i]) <= tol * (1 + std::abs(want[i])));
  }
}

Conv2dShape geometry(int64_t n, int64_t ci, int64_t h, int64_t w, int64_t co, int64_t kh, int64_t kw, int64_t sh,
                     int64_t sw, int64_t ph, int64_t pw, int64_t dh, int64_t dw) {
  Conv2dShape s{n, ci, h, w, co, 0, 0, kh, kw, sh, sw, ph, pw, dh, dw};
  s.out_h = (h + 2 * ph - dh * (kh - 1) - 1) / sh + 1;
  s.out_w = (w + 2 * pw - dw * (kw - 1) - 1) / sw + 1;
  return s;
}

// The conv2d sum, with a callback per (y index, x index, w index) triple.
template <class F>
void conv_loops(const Conv2dShape& s, F f) {
  for (int64_t n = 0; n < s.n; ++n)
    for (int64_t co = 0; co < s.c_out; ++co)
      for (int64_t oh = 0; oh < s.out_h; ++oh)
        for (int64_t ow = 0; ow < s.out_w; ++ow)
          for (int64_t ci = 0; ci < s.c_in; ++ci)
            for (int64_t kh = 0; kh < s.k_h; ++kh)
              for (int64_t kw = 0; kw < s.k_w; ++kw) {
                const int64_t ih = oh * s.stride_h - s.pad_h + kh * s.dil_h;
                const int64_t iw = ow * s.stride_w - s.pad_w + kw * s.dil_w;
                if (ih < 0 || ih >= s.in_h || iw < 0 || iw >= s.in_w) continue;
                f(((n * s.c_out + co) * s.out_h + oh) * s.out_w + ow, ((n * s.c_in + ci) * s.in_h + ih) * s.in_w + iw,
                  ((co * s.c_in + ci) * s.k_h + kh) * s.k_w + kw);
              }
}

}  // namespace

TEST_CASE("conv2d forward, backward-input and backward-weight match the 7-loop definition") {
  const std::vector<Conv2dShape> shapes = {
      geometry(1, 3, 7, 5, 2, 3, 2, 1, 1, 0, 0, 1, 1),   // N=1, C=3, 7x5, 3x2 kernel
      geometry(3, 2, 9, 8, 4, 3, 3, 2, 2, 1, 1, 1, 1),   // stride 2, odd sizes
      geometry(2, 1, 5, 6, 3, 3, 3, 1, 2, 3, 2, 1, 1),   // padding larger than the half-width
      geometry(2, 2, 9, 9, 2, 3, 2, 1, 1, 2, 1, 2, 3),   // dilation
      geometry(5, 4, 3, 4, 3, 1, 1, 1, 1, 0, 0, 1, 1),   // 1x1, N > threads
  };
  for (const auto& s : shapes) {
    INFO("conv " << s.n << "x" << s.c_in << "x" << s.in_h << "x" << s.in_w << " stride " << s.stride_h << " pad " << s.pad_h);
    const size_t nx = s.n * s.c_in * s.in_h * s.in_w, nw = s.c_out * s.c_in * s.k_h * s.k_w,
                 ny = s.n * s.c_out * s.out_h * s.out_w;
    auto x = random_vec(nx, 1), w = random_vec(nw, 2), b = random_vec(s.c_out, 3), dy = random_vec(ny, 4);
    std::vector<double> y_ref(ny, 0), dx_ref(nx, 0), dw_ref(nw, 0);
    conv_loops(s, [&](int64_t yi, int64_t xi, int64_t wi) {
      y_ref[yi] += x[xi] * w[wi];
      dx_ref[xi] += dy[yi] * w[wi];
      dw_ref[wi] += dy[yi] * x[xi];
    });
    for (size_t i = 0; i < ny; ++i) y_ref[i] += b[(i / (s.out_h * s.out_w)) % s.c_out];
    auto y = junk(ny), dx = junk(nx), dwt = junk(nw);
    conv2d_forward(y.data(), x.data(), w.data(), b.data(), s);
    conv2d_backward_input(dx.data(), dy.data(), w.data(), s);
    conv2d_backward_weight(dwt.data(), dy.data(), x.data(), s);
    check_close(y, y_ref);
    check_close(dx, dx_ref);
    check_close(dwt, dw_ref);
    // float agrees with double to float rounding
    std::vector<float> xf(x.begin(), x.end()), wf(w.begin(), w.end()), yf(ny, NAN);
    conv2d_forward(yf.data(), xf.data(), wf.data(), (const float*)nullptr, s);
    for (size_t i = 0; i < ny; ++i)
      CHECK(yf[i] == doctest::Approx(y_ref[i] - b[(i / (s.out_h * s.out_w)) % s.c_out]).epsilon(1e-4));
  }
}

TEST_CASE("batch norm kernels match the definition; backward matches finite differences") {
  for (BatchNormShape s : {BatchNormShape{4, 3, 35}, BatchNormShape{1, 2, 7}, BatchNormShape{6, 5, 1}}) {
    const size_t n = s.n * s.c * s.s;
    auto x = random_vec(n, 5), g = random_vec(s.c, 6), b = random_vec(s.c, 7), dy = random_vec(n, 8);
    auto y = junk(n), mean = junk(s.c), invstd = junk(s.c);
    std::vector<double> rm(s.c, 0.5), rv(s.c, 2.0);
    batch_norm_forward_train(y.data(), mean.data(), invstd.data(), rm.data(), rv.data(), x.data(), g.data(), b.data(),
                             s, 0.1, 1e-5);
    const double m = (double)(s.n * s.s);
    for (int64_t c = 0; c < s.c; ++c) {
      double mu = 0, var = 0;
      for (int64_t i = 0; i < s.n; ++i)
        for (int64_t j = 0; j < s.s; ++j) mu += x[(i * s.c + c) * s.s + j];
      mu /= m;
      for (int64_t i = 0; i < s.n; ++i)
        for (int64_t j = 0; j < s.s; ++j) var += std::pow(x[(i * s.c + c) * s.s + j] - mu, 2);
      var /= m;
      CHECK(mean[c] == doctest::Approx(mu));
      CHECK(invstd[c] == doctest::Approx(1 / std::sqrt(var + 1e-5)));
      CHECK(rm[c] == doctest::Approx(0.9 * 0.5 + 0.1 * mu));
      CHECK(rv[c] == doctest::Approx(0.9 * 2.0 + 0.1 * var * m / (m - 1)));
      for (int64_t i = 0; i < s.n; ++i)
        for (int64_t j = 0; j < s.s; ++j) {
          const size_t k = (i * s.c + c) * s.s + j;
          CHECK(y[k] == doctest::Approx((x[k] - mu) / std::sqrt(var + 1e-5) * g[c] + b[c]));
        }
    }
    // eval with the running statistics
    auto ye = junk(n);
    batch_norm_forward_eval(ye.data(), x.data(), rm.data(), rv.data(), g.data(), b.data(), s, 1e-5);
    CHECK(ye[0] == doctest::Approx((x[0] - rm[0]) / std::sqrt(rv[0] + 1e-5) * g[0] + b[0]));
    // backward against central differences of L = <dy, y(x)>
    auto dx = junk(n), dg = junk(s.c), db = junk(s.c);
    batch_norm_backward(dx.data(), dg.data(), db.data(), dy.data(), x.data(), mean.data(), invstd.data(), g.data(), s);
    auto loss = [&](const std::vector<double>& xv, const std::vector<double>& gv) {
      std::vector<double> out(n), mu(s.c), is(s.c);
      batch_norm_forward_train(out.data(), mu.data(), is.data(), (double*)nullptr, (double*)nullptr, xv.data(),
                               gv.data(), b.data(), s, 0.1, 1e-5);
      double l = 0;
      for (size_t k = 0; k < n; ++k) l += out[k] * dy[k];
      return l;
    };
    const double eps = 1e-6;
    for (size_t k = 0; k < n; k += 7) {
      auto up = x, down = x;
      up[k] += eps, down[k] -= eps;
      CHECK(dx[k] == doctest::Approx((loss(up, g) - loss(down, g)) / (2 * eps)).epsilon(1e-6));
    }
    for (int64_t c = 0; c < s.c; ++c) {
      auto up = g, down = g;
      up[c] += eps, down[c] -= eps;
      CHECK(dg[c] == doctest::Approx((loss(x, up) - loss(x, down)) / (2 * eps)).epsilon(1e-6));
      double sum_dy = 0;
      for (int64_t i = 0; i < s.n; ++i)
        for (int64_t j = 0; j < s.s; ++j) sum_dy += dy[(i * s.c + c) * s.s + j];
      CHECK(db[c] == doctest::Approx(sum_dy));
    }
  }
}

TEST_CASE("reflect and zero padding match PyTorch's definitions; backward is the adjoint") {
  ImageShape in{1, 1, 3, 4};
  std::vector<double> x(12);
  for (int i = 0; i < 12; ++i) x[i] = i;  // rows [0 1 2 3] [4 5 6 7] [8 9 10 11]
  auto y = junk(5 * 7);
  pad2d_forward(y.data(), x.data(), in, 2, 1, 1, 1, PadMode::reflect);
  // ReflectionPad2d((2,1,1,1)) of that image, row by row
  std::vector<double> want = {6, 5, 4, 5, 6, 7, 6, 2, 1, 0, 1, 2, 3, 2, 6, 5, 4,  5,
                              6, 7, 6, 10, 9, 8, 9, 10, 11, 10, 6, 5, 4, 5, 6, 7, 6};
  check_close(y, want);
  pad2d_forward(y.data(), x.data(), in, 2, 1, 1, 1, PadMode::zero);
  CHECK(y[0] == 0);
  CHECK(y[7 + 2] == 0);
  CHECK(y[7 * 1 + 2 + 0] == 0.0);
  CHECK(y[7 * 2 + 2] == 4);
  ImageShape big{2, 3, 7, 5};
  for (PadMode mode : {PadMode::zero, PadMode::reflect}) {
    auto xv = random_vec(2 * 3 * 7 * 5, 9), dy = random_vec(2 * 3 * 10 * 9, 10);
    auto yv = junk(dy.size()), dx = junk(xv.size());
    pad2d_forward(yv.data(), xv.data(), big, 3, 1, 2, 1, mode);
    pad2d_backward(dx.data(), dy.data(), big, 3, 1, 2, 1, mode);
    double lhs = 0, rhs = 0;
    for (size_t i = 0; i < dy.size(); ++i) lhs += dy[i] * yv[i];
    for (size_t i = 0; i < xv.size(); ++i) rhs += dx[i] * xv[i];
    CHECK(lhs == doctest::Approx(rhs));
  }
}

TEST_CASE("nearest upsampling and its adjoint") {
  ImageShape in{2, 1, 2, 3};
  auto x = random_vec(12, 11), y = junk(12 * 6), dx = junk(12);
  upsample_nearest2d_forward(y.data(), x.data(), in, 2, 3);
  CHECK(y[0] == x[0]);
  CHECK(y[9 * 1 + 8] == x[2]);   // output (1, 8) reads input (0, 2)
  CHECK(y[9 * 3 + 4] == x[3 + 1]);  // output (3, 4) reads input (1, 1)
  std::vector<double> ones(72, 1.0);
  upsample_nearest2d_backward(dx.data(), ones.data(), in, 2, 3);
  for (double v : dx) CHECK(v == 6);
}

TEST_CASE("embedding gathers rows and scatter-adds repeated indices") {
  std::vector<double> table = {0, 1, 10, 11, 20, 21};  // 3 x 2
  std::vector<int64_t> idx = {2, 0, 2};
  auto y = junk(6);
  embedding_forward(y.data(), idx.data(), table.data(), 3, 3, 2);
  check_close(y, {20, 21, 0, 1, 20, 21});
  std::vector<double> dy = {1, 2, 3, 4, 5, 6};
  auto dt = junk(6);
  embedding_backward(dt.data(), dy.data(), idx.data(), 3, 3, 2);
  check_close(dt, {3, 4, 0, 0, 6, 8});
}

TEST_CASE("Philox4x32-10 reproduces the Random123 known-answer vectors") {
  auto a = philox4x32_10(0, 0, 0, 0, 0, 0);
  CHECK(a.v[0] == 0x6627e8d5u);
  CHECK(a.v[1] == 0xe169c58du);
  CHECK(a.v[2] == 0xbc57ac4cu);
  CHECK(a.v[3] == 0x9b00dbd8u);
  auto b = philox4x32_10(~0u, ~0u, ~0u, ~0u, ~0u, ~0u);
  CHECK(b.v[0] == 0x408f276du);
  CHECK(b.v[3] == 0x6d5451fdu);
  auto c = philox4x32_10(0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344, 0xa4093822, 0x299f31d0);
  CHECK(c.v[0] == 0xd16cfe09u);
  CHECK(c.v[1] == 0x94fdccebu);
  CHECK(c.v[2] == 0x5001e420u);
  CHECK(c.v[3] == 0x24126ea1u);
}

TEST_CASE("random fills: element i alone, independent of threads, right moments") {
  const int64_t n = 1000003;  // not a multiple of 4
  std::vector<float> u1(n), u2(n), z(n);
  omp_set_num_threads(1);
  fill_uniform<float>(u1.data(), n, 7, 3, 0.f, 1.f);
  omp_set_num_threads(2);
  fill_uniform<float>(u2.data(), n, 7, 3, 0.f, 1.f);
  CHECK(u1 == u2);
  CHECK(u1[12345] == philox_uniform_float(7, 3, 12345));
  fill_normal<float>(z.data(), n, 7, 3, 0.f, 1.f);
  CHECK(z[n - 1] == philox_normal_float(7, 3, n - 1));
  double mu = 0, m2 = 0, zm = 0, z2 = 0;
  for (int64_t i = 0; i < n; ++i) mu += u1[i], m2 += u1[i] * u1[i], zm += z[i], z2 += z[i] * z[i];
  mu /= n, m2 /= n, zm /= n, z2 /= n;
  CHECK(mu == doctest::Approx(0.5).epsilon(0.005));
  CHECK(m2 - mu * mu == doctest::Approx(1.0 / 12).epsilon(0.01));
  CHECK(std::abs(zm) < 0.005);
  CHECK(z2 == doctest::Approx(1.0).epsilon(0.01));
  std::vector<double> d(5), e(5);
  fill_normal<double>(d.data(), 5, 7, 3, 0., 1.);
  fill_normal<double>(e.data(), 5, 7, 4, 0., 1.);
  CHECK(d != e);  // another offset, another stream
  CHECK(philox_blocks_used<float>(5) == 2);
  CHECK(philox_blocks_used<double>(5) == 3);
}
