// kernels/cpu/conv: conv2d_forward, conv2d_backward_input and conv2d_backward_weight
// against naive 7-loop references, each written as a gather over its own output
// (so the references share no index arithmetic with im2col / col2im), on odd shapes:
// N = 1, kernels that are not square, strides that leave input rows unread, padding
// wider than the kernel, dilation, 1x1, batches that the kernel splits into blocks of
// samples side by side in one GEMM (with a remainder block), and the kernel that covers the
// whole input (taken as a dense layer, no im2col); rows both narrower and wider than 16 (the
// tap-table and the span im2col); stride 2 with kernels 2 to 5 and pads 0 to 2, stride in h
// or w alone, enough input channels for the phase GEMMs of backward input (version 5). A
// bitwise check that a sample alone gets the bits it gets inside a batch of 7 (forward,
// backward input). The per-thread table memo: geometries one field apart get their own
// tables, and a geometry rebuilt after eviction gets the same bits. Outputs are pre-filled with NaN so an element
// the kernel forgot to write (or accumulated into) shows. Every case runs with 1 and
// 3 OpenMP threads (the serial path and the per-sample parallel path), in float and
// double. The adjoint identity ties the three together in double.
#include <doctest/doctest.h>

#include "test_util.hpp"
#include <omp.h>

#include <cmath>
#include <cstring>
#include <type_traits>
#include <vector>

#include "kernels/cpu/conv.hpp"

using namespace gantry::kernels;
using namespace gantry::kernels::cpu;

namespace {

using gantry::testing::check_close;
using gantry::testing::nans;
using gantry::testing::random_values;

template <class T>
double tolerance() {
  return std::is_same_v<T, float> ? 1e-5 : 1e-12;
}

// A Conv2dShape with out_h / out_w from the conv2d size rule.
Conv2dShape geometry(int64_t n, int64_t c_in, int64_t h, int64_t w, int64_t c_out, int64_t k_h, int64_t k_w,
                     int64_t stride_h, int64_t stride_w, int64_t pad_h, int64_t pad_w, int64_t dil_h, int64_t dil_w) {
  Conv2dShape s{n, c_in, h, w, c_out, 0, 0, k_h, k_w, stride_h, stride_w, pad_h, pad_w, dil_h, dil_w};
  s.out_h = (h + 2 * pad_h - dil_h * (k_h - 1) - 1) / stride_h + 1;
  s.out_w = (w + 2 * pad_w - dil_w * (k_w - 1) - 1) / stride_w + 1;
  return s;
}

const std::vector<Conv2dShape>& odd_shapes() {
  //                       n  ci  h   w  co kh kw sh sw ph pw dh dw
  static const std::vector<Conv2dShape> shapes = {
      geometry(1, 3, 7, 5, 2, 3, 2, 1, 1, 0, 0, 1, 1),      // N = 1, 3x2 kernel
      geometry(3, 2, 9, 8, 4, 3, 3, 2, 3, 1, 0, 1, 1),      // strides 2x3: input columns 6, 7 never read
      geometry(2, 1, 5, 6, 3, 3, 3, 1, 2, 3, 3, 1, 1),      // pad 3 with k = 3: all-zero border outputs
      geometry(2, 2, 9, 9, 2, 3, 2, 1, 1, 2, 1, 2, 3),      // dilation 2x3
      geometry(5, 4, 3, 4, 3, 1, 1, 1, 1, 0, 0, 1, 1),      // 1x1, N > threads
      geometry(2, 3, 6, 5, 2, 1, 1, 2, 2, 1, 1, 1, 1),      // 1x1 with stride and padding
      geometry(2, 2, 4, 3, 3, 4, 3, 1, 1, 0, 0, 1, 1),      // kernel covers the whole input: 1x1 output
      geometry(4, 16, 13, 11, 24, 4, 4, 2, 2, 1, 1, 1, 1),  // K = 256: Eigen's blocked GEMM paths
      // Blocks of samples side by side in one GEMM (B = ceil(128 / P) samples a block):
      geometry(13, 2, 10, 10, 3, 3, 3, 1, 1, 1, 1, 1, 1),  // P = 100: blocks of 2 and a remainder of 1
      geometry(10, 5, 14, 14, 6, 4, 4, 2, 2, 1, 1, 1, 1),  // DCGAN's k4 s2 p1, P = 49: blocks of 3
      geometry(11, 3, 8, 6, 4, 7, 5, 2, 2, 0, 0, 1, 1),    // P = 1 from a kernel smaller than x
      geometry(11, 3, 7, 5, 4, 7, 5, 1, 1, 0, 0, 1, 1),    // kernel = the whole input (DCGAN's 7x7
                                                           // layers): the dense-layer path
      geometry(7, 3, 9, 8, 2, 3, 2, 2, 1, 2, 0, 1, 2),     // stride in h only, dilation in w only
      geometry(5, 2, 8, 9, 3, 2, 3, 1, 2, 0, 2, 2, 1),     // stride in w only, dilation in h only
      // Output rows of 16 or more: im2col by spans (narrower rows go through the tap table).
      geometry(3, 2, 5, 40, 3, 3, 3, 1, 1, 1, 1, 1, 1),  // OW = 40, unit stride: memcpy rows
      geometry(3, 2, 7, 37, 2, 3, 4, 2, 2, 1, 2, 1, 2),  // OW = 18, stride 2 and dilation in w
      // Stride 2, kernels 2..5, pads 0..2, on 7x5 inputs (version 5: the implicit GEMMs; with
      // 16 or more input channels and a stride that divides the kernel, backward input as
      // stride^2 phase GEMMs; 17 channels: a K of 17*KH*KW over several k blocks and an edge
      // tile of 3 rows in the phase GEMMs).
      geometry(3, 16, 7, 5, 3, 2, 2, 2, 2, 0, 0, 1, 1),
      geometry(3, 16, 7, 5, 3, 2, 2, 2, 2, 1, 1, 1, 1),
      geometry(3, 17, 7, 5, 3, 2, 2, 2, 2, 2, 2, 1, 1),
      geometry(3, 16, 7, 5, 3, 3, 3, 2, 2, 0, 0, 1, 1),  // k 3, s 2: the old backward input
      geometry(3, 16, 7, 5, 3, 3, 3, 2, 2, 1, 1, 1, 1),
      geometry(3, 3, 7, 5, 3, 3, 3, 2, 2, 2, 2, 1, 1),
      geometry(3, 16, 7, 5, 3, 4, 4, 2, 2, 0, 0, 1, 1),
      geometry(3, 17, 7, 5, 3, 4, 4, 2, 2, 1, 1, 1, 1),
      geometry(3, 16, 7, 5, 3, 4, 4, 2, 2, 2, 2, 1, 1),
      geometry(3, 16, 7, 5, 3, 5, 5, 2, 2, 0, 0, 1, 1),
      geometry(3, 3, 7, 5, 3, 5, 5, 2, 2, 1, 1, 1, 1),
      geometry(3, 16, 7, 5, 3, 5, 5, 2, 2, 2, 2, 1, 1),
      geometry(2, 16, 7, 5, 4, 4, 3, 2, 1, 1, 1, 1, 1),    // stride in h only: 2 phases
      geometry(2, 17, 7, 5, 4, 3, 4, 1, 2, 1, 2, 1, 1),    // stride in w only: 2 phases
      geometry(2, 16, 8, 7, 3, 3, 3, 3, 3, 1, 0, 1, 1),    // stride 3 = kernel: 9 phases
      geometry(1, 3, 7, 5, 2, 4, 4, 2, 2, 1, 1, 1, 1),     // N = 1, C = 3
      geometry(1, 16, 7, 5, 5, 4, 4, 2, 2, 1, 1, 1, 1),    // N = 1, phases
      geometry(2, 16, 6, 40, 3, 4, 4, 2, 2, 1, 1, 1, 1),   // rows of 20 outputs, 20-wide phases
      geometry(9, 32, 14, 14, 8, 4, 4, 2, 2, 1, 1, 1, 1),  // DCGAN's D2 / G2 geometry: blocks of 8 + 1
      geometry(2, 16, 6, 6, 260, 4, 4, 2, 2, 1, 1, 1, 1),  // phase k = 1040: two k blocks
      // Forward and backward weight read a stride above 1 through x's phase split (a tap's
      // phase from kh*dh - ph):
      geometry(2, 3, 11, 9, 4, 3, 3, 2, 2, 2, 1, 2, 2),   // with dilation 2 in h and w
      geometry(3, 2, 9, 71, 3, 3, 5, 3, 2, 1, 2, 1, 3),   // rows over 32 floats, odd width, stride 3 in h
      geometry(2, 2, 10, 13, 3, 2, 4, 2, 3, 0, 1, 3, 1),  // stride 3 in w (the scalar split)
      // Forward and backward weight read a stride above 1 through x's phase split (a tap's
      // phase from kh*dh - ph): dilation with it, odd widths, rows over 32 floats, stride 3.
      geometry(2, 3, 11, 9, 4, 3, 3, 2, 2, 2, 1, 2, 2),
      geometry(3, 2, 9, 71, 3, 3, 5, 3, 2, 1, 2, 1, 3),
      geometry(2, 2, 10, 13, 3, 2, 4, 2, 3, 0, 1, 3, 1),
  };
  return shapes;
}

size_t x_at(const Conv2dShape& s, int64_t n, int64_t ci, int64_t ih, int64_t iw) {
  return (size_t)(((n * s.c_in + ci) * s.in_h + ih) * s.in_w + iw);
}
size_t y_at(const Conv2dShape& s, int64_t n, int64_t co, int64_t oh, int64_t ow) {
  return (size_t)(((n * s.c_out + co) * s.out_h + oh) * s.out_w + ow);
}
size_t w_at(const Conv2dShape& s, int64_t co, int64_t ci, int64_t kh, int64_t kw) {
  return (size_t)(((co * s.c_in + ci) * s.k_h + kh) * s.k_w + kw);
}
// The input pixel that output pixel o reads through kernel tap k along one axis (may be outside).
int64_t in_index(int64_t o, int64_t k, int64_t stride, int64_t pad, int64_t dil) { return o * stride - pad + k * dil; }
// The output pixel that reads input pixel i through kernel tap k, or -1 if none.
int64_t out_index(int64_t i, int64_t k, int64_t stride, int64_t pad, int64_t dil, int64_t size) {
  const int64_t t = i + pad - k * dil;
  if (t < 0 || t % stride != 0 || t / stride >= size) return -1;
  return t / stride;
}

// y[n,co,oh,ow] = b[co] + sum_{ci,kh,kw} x[n,ci,ih,iw] w[co,ci,kh,kw], in double.
std::vector<double> forward_reference(const std::vector<double>& x, const std::vector<double>& w,
                                      const std::vector<double>* b, const Conv2dShape& s) {
  std::vector<double> y(s.n * s.c_out * s.out_h * s.out_w);
  for (int64_t n = 0; n < s.n; ++n)
    for (int64_t co = 0; co < s.c_out; ++co)
      for (int64_t oh = 0; oh < s.out_h; ++oh)
        for (int64_t ow = 0; ow < s.out_w; ++ow) {
          double acc = b ? (*b)[co] : 0.0;
          for (int64_t ci = 0; ci < s.c_in; ++ci)
            for (int64_t kh = 0; kh < s.k_h; ++kh)
              for (int64_t kw = 0; kw < s.k_w; ++kw) {
                const int64_t ih = in_index(oh, kh, s.stride_h, s.pad_h, s.dil_h);
                const int64_t iw = in_index(ow, kw, s.stride_w, s.pad_w, s.dil_w);
                if (ih < 0 || ih >= s.in_h || iw < 0 || iw >= s.in_w) continue;
                acc += x[x_at(s, n, ci, ih, iw)] * w[w_at(s, co, ci, kh, kw)];
              }
          y[y_at(s, n, co, oh, ow)] = acc;
        }
  return y;
}

// dx[n,ci,ih,iw] = sum over the (co, kh, kw) whose output pixel reads (ih, iw) of dy * w:
// the transposed convolution as a gather.
std::vector<double> backward_input_reference(const std::vector<double>& dy, const std::vector<double>& w,
                                             const Conv2dShape& s) {
  std::vector<double> dx(s.n * s.c_in * s.in_h * s.in_w);
  for (int64_t n = 0; n < s.n; ++n)
    for (int64_t ci = 0; ci < s.c_in; ++ci)
      for (int64_t ih = 0; ih < s.in_h; ++ih)
        for (int64_t iw = 0; iw < s.in_w; ++iw) {
          double acc = 0;
          for (int64_t co = 0; co < s.c_out; ++co)
            for (int64_t kh = 0; kh < s.k_h; ++kh)
              for (int64_t kw = 0; kw < s.k_w; ++kw) {
                const int64_t oh = out_index(ih, kh, s.stride_h, s.pad_h, s.dil_h, s.out_h);
                const int64_t ow = out_index(iw, kw, s.stride_w, s.pad_w, s.dil_w, s.out_w);
                if (oh < 0 || ow < 0) continue;
                acc += dy[y_at(s, n, co, oh, ow)] * w[w_at(s, co, ci, kh, kw)];
              }
          dx[x_at(s, n, ci, ih, iw)] = acc;
        }
  return dx;
}

// dw[co,ci,kh,kw] = sum_{n,oh,ow} dy[n,co,oh,ow] x[n,ci,ih,iw].
std::vector<double> backward_weight_reference(const std::vector<double>& dy, const std::vector<double>& x,
                                              const Conv2dShape& s) {
  std::vector<double> dw(s.c_out * s.c_in * s.k_h * s.k_w);
  for (int64_t co = 0; co < s.c_out; ++co)
    for (int64_t ci = 0; ci < s.c_in; ++ci)
      for (int64_t kh = 0; kh < s.k_h; ++kh)
        for (int64_t kw = 0; kw < s.k_w; ++kw) {
          double acc = 0;
          for (int64_t n = 0; n < s.n; ++n)
            for (int64_t oh = 0; oh < s.out_h; ++oh)
              for (int64_t ow = 0; ow < s.out_w; ++ow) {
                const int64_t ih = in_index(oh, kh, s.stride_h, s.pad_h, s.dil_h);
                const int64_t iw = in_index(ow, kw, s.stride_w, s.pad_w, s.dil_w);
                if (ih < 0 || ih >= s.in_h || iw < 0 || iw >= s.in_w) continue;
                acc += dy[y_at(s, n, co, oh, ow)] * x[x_at(s, n, ci, ih, iw)];
              }
          dw[w_at(s, co, ci, kh, kw)] = acc;
        }
  return dw;
}

size_t x_size(const Conv2dShape& s) { return (size_t)(s.n * s.c_in * s.in_h * s.in_w); }
size_t y_size(const Conv2dShape& s) { return (size_t)(s.n * s.c_out * s.out_h * s.out_w); }
size_t w_size(const Conv2dShape& s) { return (size_t)(s.c_out * s.c_in * s.k_h * s.k_w); }

// Random values of type T, and the same values widened to double for the reference.
template <class T>
std::pair<std::vector<T>, std::vector<double>> operand(size_t n, unsigned seed) {
  auto v = random_values<T>(n, seed);
  return {v, std::vector<double>(v.begin(), v.end())};
}

// Runs body() once per thread count, restoring the default afterwards.
template <class F>
void for_thread_counts(F body) {
  const int saved = omp_get_max_threads();
  for (int threads : {1, 3}) {
    omp_set_num_threads(threads);
    INFO(threads << " OpenMP threads");
    body();
  }
  omp_set_num_threads(saved);
}

#define CONV_INFO(s)                                                                                                 \
  INFO("n=" << s.n << " c_in=" << s.c_in << " " << s.in_h << "x" << s.in_w << " c_out=" << s.c_out << " k=" << s.k_h \
            << "x" << s.k_w << " stride=" << s.stride_h << "x" << s.stride_w << " pad=" << s.pad_h << "x" << s.pad_w \
            << " dil=" << s.dil_h << "x" << s.dil_w)

}  // namespace

TEST_SUITE("kernels.cpu.conv") {
  TEST_CASE_TEMPLATE("conv2d_forward matches the 7-loop reference, with and without bias", T, float, double) {
    for_thread_counts([] {
      for (const auto& s : odd_shapes()) {
        CONV_INFO(s);
        auto [x, xd] = operand<T>(x_size(s), 1);
        auto [w, wd] = operand<T>(w_size(s), 2);
        auto [b, bd] = operand<T>((size_t)s.c_out, 3);
        auto y = nans<T>(y_size(s));
        conv2d_forward(y.data(), x.data(), w.data(), b.data(), s);
        check_close(y, forward_reference(xd, wd, &bd, s), tolerance<T>(), "y (bias)");
        y = nans<T>(y_size(s));
        conv2d_forward(y.data(), x.data(), w.data(), (const T*)nullptr, s);
        check_close(y, forward_reference(xd, wd, nullptr, s), tolerance<T>(), "y (no bias)");
      }
    });
  }

  TEST_CASE_TEMPLATE("conv2d_backward_input matches the transposed-conv gather and overwrites dx", T, float, double) {
    for_thread_counts([] {
      for (const auto& s : odd_shapes()) {
        CONV_INFO(s);
        auto [dy, dyd] = operand<T>(y_size(s), 4);
        auto [w, wd] = operand<T>(w_size(s), 2);
        auto dx = nans<T>(x_size(s));
        conv2d_backward_input(dx.data(), dy.data(), w.data(), s);
        check_close(dx, backward_input_reference(dyd, wd, s), tolerance<T>(), "dx");
      }
    });
  }

  TEST_CASE_TEMPLATE("conv2d_backward_weight matches the 7-loop reference and overwrites dw", T, float, double) {
    for_thread_counts([] {
      for (const auto& s : odd_shapes()) {
        CONV_INFO(s);
        auto [dy, dyd] = operand<T>(y_size(s), 4);
        auto [x, xd] = operand<T>(x_size(s), 1);
        auto dw = nans<T>(w_size(s));
        conv2d_backward_weight(dw.data(), dy.data(), x.data(), s);
        check_close(dw, backward_weight_reference(dyd, xd, s), tolerance<T>(), "dw");
      }
    });
  }

  TEST_CASE("conv2d forward and backward input: a sample's bits alone are its bits inside a batch of 7") {
    // tests/gan compare samples across batch sizes bit for bit; 1 and 3 threads (with 3, a
    // sample alone is fewer samples than threads: the GEMM threads itself, or the phase
    // GEMMs run one (sample, phase) a thread).
    const std::vector<Conv2dShape> shapes = {
        geometry(7, 32, 14, 14, 16, 4, 4, 2, 2, 1, 1, 1, 1),  // DCGAN's k4 s2 p1: phases
        geometry(7, 16, 7, 5, 3, 5, 5, 2, 2, 2, 2, 1, 1),     // k 5 s 2: GEMM + col2im
        geometry(7, 3, 6, 40, 4, 3, 3, 1, 1, 1, 1, 1, 1),     // wide rows, stride 1
        geometry(7, 3, 28, 28, 8, 4, 4, 2, 2, 1, 1, 1, 1),    // DCGAN's D1 / G3
        // 9.4 MFLOP a sample: alone on 3 threads past kSerialImplicitFlops, the threaded
        // GEMM path, in the batch the implicit GEMMs (small ones stay implicit alone too)
        geometry(7, 16, 32, 32, 32, 3, 3, 1, 1, 1, 1, 1, 1),
    };
    for_thread_counts([&] {
      for (const auto& batch : shapes) {
        CONV_INFO(batch);
        Conv2dShape one = batch;
        one.n = 1;
        const auto x = random_values<float>(x_size(batch), 21), w = random_values<float>(w_size(batch), 22),
                   dy = random_values<float>(y_size(batch), 23), b = random_values<float>((size_t)batch.c_out, 24);
        auto y = nans<float>(y_size(batch)), dx = nans<float>(x_size(batch));
        conv2d_forward(y.data(), x.data(), w.data(), b.data(), batch);
        conv2d_backward_input(dx.data(), dy.data(), w.data(), batch);
        const size_t xs = x_size(one), ys = y_size(one);
        for (int64_t n = 0; n < batch.n; ++n) {
          INFO("sample " << n);
          auto y1 = nans<float>(ys), dx1 = nans<float>(xs);
          conv2d_forward(y1.data(), x.data() + n * xs, w.data(), b.data(), one);
          conv2d_backward_input(dx1.data(), dy.data() + n * ys, w.data(), one);
          size_t y_diff = 0, dx_diff = 0;
          for (size_t i = 0; i < ys; ++i) y_diff += std::memcmp(&y1[i], &y[n * ys + i], sizeof(float)) != 0;
          for (size_t i = 0; i < xs; ++i) dx_diff += std::memcmp(&dx1[i], &dx[n * xs + i], sizeof(float)) != 0;
          CHECK(y_diff == 0);
          CHECK(dx_diff == 0);
        }
      }
    });
  }

  TEST_CASE("conv2d's per-thread table memo: geometries one field apart, and past its eviction") {
    // The tap and index tables are built once per geometry (conv_common.hpp's memo, 16
    // entries a thread): geometries that differ in a single field must not share one, and a
    // geometry evicted by 20 others gets the same bits when built again.
    const Conv2dShape base = geometry(3, 2, 9, 9, 4, 3, 3, 2, 3, 1, 0, 1, 1);
    std::vector<Conv2dShape> others = {
        geometry(3, 2, 9, 9, 4, 3, 3, 2, 3, 1, 1, 1, 1),  // pad_w alone (the output is 5x3 either way)
        geometry(3, 2, 9, 9, 4, 3, 3, 2, 3, 1, 0, 2, 1),  // dil_h
        geometry(3, 2, 9, 9, 4, 3, 3, 2, 2, 1, 0, 1, 1),  // stride_w
        geometry(3, 2, 9, 9, 4, 3, 2, 2, 3, 1, 0, 1, 1),  // k_w
        geometry(3, 2, 9, 9, 5, 3, 3, 2, 3, 1, 0, 1, 1),  // c_out
        geometry(3, 3, 9, 9, 4, 3, 3, 2, 3, 1, 0, 1, 1),  // c_in
        geometry(5, 2, 9, 9, 4, 3, 3, 2, 3, 1, 0, 1, 1),  // n only: the same tables
    };
    for (int64_t w = 10; w < 30; ++w) others.push_back(geometry(2, 2, 9, w, 4, 3, 3, 2, 3, 1, 0, 1, 1));
    for_thread_counts([&] {
      auto run = [](const Conv2dShape& s, std::vector<float>& y, std::vector<float>& dx, std::vector<float>& dw) {
        const auto x = random_values<float>(x_size(s), 31), w = random_values<float>(w_size(s), 32),
                   dy = random_values<float>(y_size(s), 33);
        y = nans<float>(y_size(s)), dx = nans<float>(x_size(s)), dw = nans<float>(w_size(s));
        conv2d_forward(y.data(), x.data(), w.data(), (const float*)nullptr, s);
        conv2d_backward_input(dx.data(), dy.data(), w.data(), s);
        conv2d_backward_weight(dw.data(), dy.data(), x.data(), s);
        const std::vector<double> xd(x.begin(), x.end()), wd(w.begin(), w.end()), dyd(dy.begin(), dy.end());
        check_close(y, forward_reference(xd, wd, nullptr, s), 1e-5, "y");
        check_close(dx, backward_input_reference(dyd, wd, s), 1e-5, "dx");
        check_close(dw, backward_weight_reference(dyd, xd, s), 1e-5, "dw");
      };
      std::vector<float> y0, dx0, dw0, y, dx, dw;
      run(base, y0, dx0, dw0);
      for (const auto& s : others) {
        CONV_INFO(s);
        run(s, y, dx, dw);
      }
      run(base, y, dx, dw);
      CHECK(std::memcmp(y.data(), y0.data(), y.size() * sizeof(float)) == 0);
      CHECK(std::memcmp(dx.data(), dx0.data(), dx.size() * sizeof(float)) == 0);
      CHECK(std::memcmp(dw.data(), dw0.data(), dw.size() * sizeof(float)) == 0);
    });
  }

  TEST_CASE("conv2d adjoint identity: <dy, conv2d(x, w)> = <backward_input(dy, w), x> = <backward_weight(dy, x), w>") {
    auto dot = [](const std::vector<double>& a, const std::vector<double>& b) {
      double acc = 0;
      for (size_t i = 0; i < a.size(); ++i) acc += a[i] * b[i];
      return acc;
    };
    for (const auto& s : odd_shapes()) {
      CONV_INFO(s);
      const auto x = random_values<double>(x_size(s), 11), w = random_values<double>(w_size(s), 12),
                 dy = random_values<double>(y_size(s), 13);
      auto y = nans<double>(y_size(s)), dx = nans<double>(x_size(s)), dw = nans<double>(w_size(s));
      conv2d_forward(y.data(), x.data(), w.data(), (const double*)nullptr, s);
      conv2d_backward_input(dx.data(), dy.data(), w.data(), s);
      conv2d_backward_weight(dw.data(), dy.data(), x.data(), s);
      const double through_y = dot(dy, y), through_x = dot(dx, x), through_w = dot(dw, w);
      const double scale = 1 + std::abs(through_y);
      CHECK(std::abs(through_x - through_y) <= 1e-12 * scale);
      CHECK(std::abs(through_w - through_y) <= 1e-12 * scale);
      CHECK(std::isfinite(through_y));
    }
  }

}  // TEST_SUITE
