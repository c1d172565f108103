// kernels/cpu/image: pad2d (zero, reflect) and nearest upsampling against naive
// loop references and PyTorch's documented ReflectionPad2d outputs; each backward
// against a naive scatter and the adjoint identity <dy, f(x)> == <f^T(dy), x>;
// odd shapes (N = 1, C = 3, 7x5, 1-pixel rows), outputs pre-filled with NaN.
#include <doctest/doctest.h>

#include "test_util.hpp"

#include <cmath>
#include <limits>
#include <random>
#include <type_traits>
#include <vector>

#include "kernels/cpu/image.hpp"

using namespace gantry::kernels;
using namespace gantry::kernels::cpu;

namespace {

using gantry::testing::check_close;
using gantry::testing::nans;
using gantry::testing::random_values;

template <class T>
double tolerance() {
  return std::is_same_v<T, float> ? 1e-5 : 1e-13;
}

template <class T>
double dot(const std::vector<T>& a, const std::vector<T>& b) {
  double acc = 0;
  for (size_t i = 0; i < a.size(); ++i) acc += (double)a[i] * (double)b[i];
  return acc;
}

size_t numel(const ImageShape& s) { return (size_t)(s.n * s.c * s.h * s.w); }

// The reference's own reflection: the reflected index sequence of a dim of `size` is
// periodic with period 2(size - 1): 0, 1, .., size-1, size-2, .., 1. -1 = zero padding.
int64_t reference_source(int64_t o, int64_t before, int64_t size, PadMode mode) {
  const int64_t i = o - before;
  if (i >= 0 && i < size) return i;
  if (mode == PadMode::zero || size == 1) return -1;  // size 1 with a pad is invalid for reflect
  const int64_t period = 2 * (size - 1);
  const int64_t k = ((i % period) + period) % period;
  return k < size ? k : period - k;
}

struct Pads {
  int64_t left, right, top, bottom;
};

// Calls f(output flat index, input flat index) for every output that reads an input.
template <class F>
void pad_pairs(const ImageShape& in, const Pads& p, PadMode mode, F f) {
  const int64_t oh = in.h + p.top + p.bottom, ow = in.w + p.left + p.right;
  for (int64_t plane = 0; plane < in.n * in.c; ++plane)
    for (int64_t r = 0; r < oh; ++r)
      for (int64_t c = 0; c < ow; ++c) {
        const int64_t ih = reference_source(r, p.top, in.h, mode), iw = reference_source(c, p.left, in.w, mode);
        if (ih >= 0 && iw >= 0) f((plane * oh + r) * ow + c, (plane * in.h + ih) * in.w + iw);
      }
}

struct PadCase {
  ImageShape in;
  Pads pads;
};

// reflect needs every pad < the size of its dim; these satisfy that.
const std::vector<PadCase> kPadCases = {
    {{1, 3, 7, 5}, {2, 1, 3, 4}},     // N = 1, C = 3, 7x5, uneven pads
    {{2, 3, 7, 5}, {4, 4, 6, 6}},     // pads at the largest reflect allows
    {{2, 2, 1, 6}, {3, 0, 0, 0}},     // 1-pixel-high image, one-sided pad
    {{1, 1, 4, 3}, {0, 0, 0, 0}},     // no padding: a copy
    {{4, 16, 23, 29}, {1, 2, 3, 2}},  // large enough for the OpenMP path
};

}  // namespace

TEST_CASE("pad2d reflect reproduces PyTorch's ReflectionPad2d documentation examples") {
  std::vector<double> x = {0, 1, 2, 3, 4, 5, 6, 7, 8};  // torch.arange(9).reshape(1, 1, 3, 3)
  const ImageShape in{1, 1, 3, 3};
  auto y = nans<double>(49);
  pad2d_forward(y.data(), x.data(), in, 2, 2, 2, 2, PadMode::reflect);  // nn.ReflectionPad2d(2)
  const std::vector<double> want = {8, 7, 6, 7, 8, 7, 6, 5, 4, 3, 4, 5, 4, 3, 2, 1, 0, 1, 2, 1, 0, 5, 4, 3, 4,
                                    5, 4, 3, 8, 7, 6, 7, 8, 7, 6, 5, 4, 3, 4, 5, 4, 3, 2, 1, 0, 1, 2, 1, 0};
  check_close(y, want, 0, "ReflectionPad2d(2)");
  auto y2 = nans<double>(25);
  pad2d_forward(y2.data(), x.data(), in, 1, 1, 2, 0, PadMode::reflect);  // nn.ReflectionPad2d((1, 1, 2, 0))
  const std::vector<double> want2 = {7, 6, 7, 8, 7, 4, 3, 4, 5, 4, 1, 0, 1, 2, 1, 4, 3, 4, 5, 4, 7, 6, 7, 8, 7};
  check_close(y2, want2, 0, "ReflectionPad2d((1, 1, 2, 0))");
  pad2d_forward(y2.data(), x.data(), in, 1, 1, 2, 0, PadMode::zero);  // nn.ZeroPad2d((1, 1, 2, 0))
  const std::vector<double> want3 = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 2, 0, 0, 3, 4, 5, 0, 0, 6, 7, 8, 0};
  check_close(y2, want3, 0, "ZeroPad2d((1, 1, 2, 0))");
}

TEST_CASE_TEMPLATE("pad2d forward and backward match naive loops; backward is the adjoint", T, float, double) {
  for (const auto& pc : kPadCases) {
    for (PadMode mode : {PadMode::zero, PadMode::reflect}) {
      // Plain references, not a structured binding: INFO and the lambda below capture them,
      // which clang before 16 rejects for bindings (scripts/sanitize.sh builds with clang-14).
      const ImageShape& in = pc.in;
      const Pads& p = pc.pads;
      INFO(in.n << "x" << in.c << "x" << in.h << "x" << in.w << " pads " << p.left << "," << p.right << "," << p.top
                << "," << p.bottom << (mode == PadMode::zero ? " zero" : " reflect"));
      const ImageShape out{in.n, in.c, in.h + p.top + p.bottom, in.w + p.left + p.right};
      auto x = random_values<T>(numel(in), 1), dy = random_values<T>(numel(out), 2);
      std::vector<double> y_ref(numel(out), 0.0), dx_ref(numel(in), 0.0);  // zero where nothing is read
      pad_pairs(in, p, mode, [&](int64_t o, int64_t i) {
        y_ref[o] = (double)x[i];
        dx_ref[i] += (double)dy[o];
      });
      auto y = nans<T>(numel(out)), dx = nans<T>(numel(in));
      pad2d_forward(y.data(), x.data(), in, p.left, p.right, p.top, p.bottom, mode);
      pad2d_backward(dx.data(), dy.data(), in, p.left, p.right, p.top, p.bottom, mode);
      check_close(y, y_ref, 0, "y");  // copies are exact
      check_close(dx, dx_ref, tolerance<T>(), "dx");
      CHECK(dot(dy, y) == doctest::Approx(dot(dx, x)).epsilon(tolerance<T>() * 10));
    }
  }
}

TEST_CASE_TEMPLATE("upsample_nearest2d forward and backward match naive loops; backward is the adjoint", T, float,
                   double) {
  struct Case {
    ImageShape in;
    int64_t sh, sw;
  };
  for (const Case& k : std::vector<Case>{{{1, 3, 7, 5}, 2, 3},
                                         {{2, 3, 7, 5}, 1, 1},
                                         {{2, 1, 1, 4}, 3, 1},
                                         {{3, 2, 5, 1}, 1, 4},
                                         {{4, 16, 13, 11}, 2, 2}}) {  // OpenMP path
    // Plain locals, not a structured binding: INFO captures them in a lambda (clang-14).
    const ImageShape& in = k.in;
    const int64_t sh = k.sh, sw = k.sw;
    INFO(in.n << "x" << in.c << "x" << in.h << "x" << in.w << " scale " << sh << "x" << sw);
    const ImageShape out{in.n, in.c, in.h * sh, in.w * sw};
    auto x = random_values<T>(numel(in), 3), dy = random_values<T>(numel(out), 4);
    std::vector<double> y_ref(numel(out)), dx_ref(numel(in), 0.0);
    for (int64_t plane = 0; plane < in.n * in.c; ++plane)
      for (int64_t r = 0; r < out.h; ++r)
        for (int64_t c = 0; c < out.w; ++c) {
          const int64_t o = (plane * out.h + r) * out.w + c, i = (plane * in.h + r / sh) * in.w + c / sw;
          y_ref[o] = (double)x[i];
          dx_ref[i] += (double)dy[o];
        }
    auto y = nans<T>(numel(out)), dx = nans<T>(numel(in));
    upsample_nearest2d_forward(y.data(), x.data(), in, sh, sw);
    upsample_nearest2d_backward(dx.data(), dy.data(), in, sh, sw);
    check_close(y, y_ref, 0, "y");
    check_close(dx, dx_ref, tolerance<T>(), "dx");
    CHECK(dot(dy, y) == doctest::Approx(dot(dx, x)).epsilon(tolerance<T>() * 10));
  }
}

TEST_CASE("image backwards fully overwrite dx (1e30 junk)") {
  const ImageShape in{1, 2, 3, 4};
  std::vector<double> dy(2 * 6 * 9, 1.0), dx(24, 1e30);
  pad2d_backward(dx.data(), dy.data(), in, 3, 2, 2, 1, PadMode::reflect);
  double total = 0;
  for (double v : dx) total += v;
  CHECK(total == doctest::Approx(2 * 6 * 9));  // every output reads exactly one input
  std::vector<double> dy_up(2 * 6 * 8, 1.0);
  std::fill(dx.begin(), dx.end(), 1e30);
  upsample_nearest2d_backward(dx.data(), dy_up.data(), in, 2, 2);
  for (double v : dx) CHECK(v == 4);
}
