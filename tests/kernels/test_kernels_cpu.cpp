// Convolution kernels against the 7-loop definition, on odd shapes, with outputs
// pre-filled with junk so an unwritten element shows; Philox against the Random123
// known-answer vectors. (Batch norm, padding, upsampling and embedding have their
// own files beside this one.)
#include <doctest/doctest.h>

#include "test_util.hpp"
#include <omp.h>

#include <cmath>
#include <random>
#include <vector>

#include "kernels/cpu/conv.hpp"
#include "kernels/cpu/random.hpp"
#include "kernels/philox.hpp"

using namespace gantry::kernels;
using namespace gantry::kernels::cpu;

namespace {

using gantry::testing::check_close;
using gantry::testing::nans;
using gantry::testing::random_values;

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
      geometry(1, 3, 7, 5, 2, 3, 2, 1, 1, 0, 0, 1, 1),  // N=1, C=3, 7x5, 3x2 kernel
      geometry(3, 2, 9, 8, 4, 3, 3, 2, 2, 1, 1, 1, 1),  // stride 2, odd sizes
      geometry(2, 1, 5, 6, 3, 3, 3, 1, 2, 3, 2, 1, 1),  // padding larger than the half-width
      geometry(2, 2, 9, 9, 2, 3, 2, 1, 1, 2, 1, 2, 3),  // dilation
      geometry(5, 4, 3, 4, 3, 1, 1, 1, 1, 0, 0, 1, 1),  // 1x1, N > threads
  };
  for (const auto& s : shapes) {
    INFO("conv " << s.n << "x" << s.c_in << "x" << s.in_h << "x" << s.in_w << " stride " << s.stride_h << " pad "
                 << s.pad_h);
    const size_t nx = s.n * s.c_in * s.in_h * s.in_w, nw = s.c_out * s.c_in * s.k_h * s.k_w,
                 ny = s.n * s.c_out * s.out_h * s.out_w;
    auto x = random_values<double>(nx, 1), w = random_values<double>(nw, 2), b = random_values<double>(s.c_out, 3),
         dy = random_values<double>(ny, 4);
    std::vector<double> y_ref(ny, 0), dx_ref(nx, 0), dw_ref(nw, 0);
    conv_loops(s, [&](int64_t yi, int64_t xi, int64_t wi) {
      y_ref[yi] += x[xi] * w[wi];
      dx_ref[xi] += dy[yi] * w[wi];
      dw_ref[wi] += dy[yi] * x[xi];
    });
    for (size_t i = 0; i < ny; ++i) y_ref[i] += b[(i / (s.out_h * s.out_w)) % s.c_out];
    auto y = nans<double>(ny), dx = nans<double>(nx), dwt = nans<double>(nw);
    conv2d_forward(y.data(), x.data(), w.data(), b.data(), s);
    conv2d_backward_input(dx.data(), dy.data(), w.data(), s);
    conv2d_backward_weight(dwt.data(), dy.data(), x.data(), s);
    check_close(y, y_ref, 1e-12);
    check_close(dx, dx_ref, 1e-12);
    check_close(dwt, dw_ref, 1e-12);
    // float agrees with double to float rounding
    std::vector<float> xf(x.begin(), x.end()), wf(w.begin(), w.end()), yf(ny, NAN);
    conv2d_forward(yf.data(), xf.data(), wf.data(), (const float*)nullptr, s);
    for (size_t i = 0; i < ny; ++i)
      CHECK(yf[i] == doctest::Approx(y_ref[i] - b[(i / (s.out_h * s.out_w)) % s.c_out]).epsilon(1e-4));
  }
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
