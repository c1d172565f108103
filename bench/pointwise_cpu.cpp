// bench/pointwise_cpu.cpp — the CPU pointwise kernels (relu, leaky_relu and its backward,
// tanh, sigmoid, mul, add, a broadcast mul), batch norm (training forward, backward) and
// the fused Adam step, at the sizes of the DCGAN / WGAN-GP steps (batch 64, width 32,
// 28x28). Per kernel: the best and the median time of one call over --repeats samples,
// ns/element, GB/s of the bytes an ideal kernel moves (every input read once, every
// output written once), and the ratio to a memcpy of the same bytes (half read, half
// written) timed in the same run on the same threads: 1.0 is memory speed.
//
// "kernel" rows call kernels/cpu/* on buffers allocated and touched once; "op" rows call
// the core op (grad mode off), which also allocates its output and dispatches: the gap
// between the two is the op's own cost, not the kernel's.
//
//   ./build/bench_pointwise_cpu [--threads T] [--repeats R] [--only TEXT]
#include <omp.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "bench/step_report.hpp"
#include "core/autograd.hpp"
#include "core/ops.hpp"
#include "core/threads.hpp"
#include "kernels/cpu/batchnorm.hpp"
#include "kernels/cpu/elementwise.hpp"
#include "kernels/cpu/optim.hpp"
#include "kernels/elementwise_ops.hpp"

namespace {

using namespace gantry;
namespace ew = gantry::kernels::elementwise;
namespace cpu = gantry::kernels::cpu;

// n floats, 64-byte aligned (as the cpu allocator gives), uniform in [lo, hi), touched.
struct Buf {
  float* p;
  int64_t n;
  Buf(int64_t count, unsigned seed, float lo = -1, float hi = 1) : n(count) {
    p = (float*)std::aligned_alloc(64, (size_t)((count * 4 + 63) / 64 * 64));
    std::mt19937 gen(seed);
    std::uniform_real_distribution<float> dist(lo, hi);
    for (int64_t i = 0; i < n; ++i) p[i] = dist(gen);
  }
  ~Buf() { std::free(p); }
  Buf(const Buf&) = delete;
  Buf& operator=(const Buf&) = delete;
};

struct Timing {
  double best_ms, median_ms;
};

// Best and median ms of one call: each of `repeats` samples runs `inner` calls back to
// back, inner chosen so a sample lasts ~2 ms.
Timing time_calls(const std::function<void()>& f, int repeats) {
  using clock = std::chrono::steady_clock;
  f();
  auto t0 = clock::now();
  f();
  const double first = std::chrono::duration<double, std::milli>(clock::now() - t0).count();
  const int inner = std::clamp((int)(2.0 / std::max(first, 1e-4)), 1, 10000);
  std::vector<double> ms;
  for (int r = 0; r < repeats; ++r) {
    t0 = clock::now();
    for (int i = 0; i < inner; ++i) f();
    ms.push_back(std::chrono::duration<double, std::milli>(clock::now() - t0).count() / inner);
  }
  std::sort(ms.begin(), ms.end());
  return {ms.front(), ms[ms.size() / 2]};
}

// Time of a memcpy moving `bytes` in all (bytes/2 read, bytes/2 written), split among the threads.
double memcpy_ms(double bytes, int repeats) {
  const int64_t half = (int64_t)(bytes / 2);
  char* src = (char*)std::aligned_alloc(64, (size_t)(half + 64));
  char* dst = (char*)std::aligned_alloc(64, (size_t)(half + 64));
  std::memset(src, 1, (size_t)half), std::memset(dst, 0, (size_t)half);
  const Timing t = time_calls(
      [&] {
        const int nt = omp_get_max_threads();
#pragma omp parallel for num_threads(nt) if (half > (1 << 17))
        for (int k = 0; k < nt; ++k) {
          const int64_t lo = half * k / nt, hi = half * (k + 1) / nt;
          std::memcpy(dst + lo, src + lo, (size_t)(hi - lo));
        }
      },
      repeats);
  std::free(src), std::free(dst);
  return t.best_ms;
}

struct Bench {
  int repeats;
  std::vector<std::string> only;
  bool wanted(const std::string& row) const {
    if (only.empty()) return true;
    for (const auto& o : only)
      if (row.find(o) != std::string::npos) return true;
    return false;
  }
  void row(const std::string& name, int64_t elements, double bytes_per_element, const std::function<void()>& f) {
    if (!wanted(name)) return;
    const Timing t = time_calls(f, repeats);
    const double bytes = bytes_per_element * (double)elements, copy = memcpy_ms(bytes, repeats);
    std::printf("%-52s %9lld  %8.3f %8.3f  %6.3f  %6.1f  %6.1f  %5.2f\n", name.c_str(), (long long)elements, t.best_ms,
                t.median_ms, t.best_ms * 1e6 / (double)elements, bytes / t.best_ms / 1e6, bytes / copy / 1e6,
                t.best_ms / copy);
  }
};

kernels::StridedShape dense(int64_t n) {
  kernels::StridedShape s;
  s.ndim = 1, s.sizes[0] = n, s.strides[0] = 1;
  return s;
}

template <template <class> class Op, class... P>
void unary_rows(Bench& b, const char* name, int64_t n, P... params) {
  Buf x(n, 1), y(n, 2);
  const auto sx = dense(n);
  b.row(std::string("kernel ") + name + " [" + std::to_string(n) + "]", n, 8,
        [&] { cpu::map_strided<float, float, 1>(y.p, {x.p}, {sx}, Op<float>{static_cast<float>(params)...}); });
}

template <template <class> class Op, class... P>
void binary_rows(Bench& b, const char* name, int64_t n, P... params) {
  Buf u(n, 3), v(n, 4), y(n, 5);
  const auto s = dense(n);
  b.row(std::string("kernel ") + name + " [" + std::to_string(n) + "]", n, 12, [&] {
    cpu::map_strided<float, float, 2>(y.p, {u.p, v.p}, {s, s}, Op<float>{static_cast<float>(params)...});
  });
}

void op_rows(Bench& b, const Shape& shape) {
  NoGradGuard no_grad;
  Rng gen(7);
  Tensor x = randn(shape, DType::f32, &gen), g = randn(shape, DType::f32, &gen);
  const int64_t n = x.numel();
  std::string dims = shape_str(shape);
  b.row("op leaky_relu " + dims, n, 8, [&] { (void)leaky_relu(x, 0.2); });
  b.row("op leaky_relu_backward " + dims, n, 12, [&] { (void)leaky_relu_backward(g, x, 0.2); });
  b.row("op tanh " + dims, n, 8, [&] { (void)gantry::tanh(x); });
  b.row("op mul " + dims, n, 12, [&] { (void)mul(g, x); });
  Shape per_sample(shape.size(), 1);
  per_sample[0] = shape[0];
  Tensor a = randn(per_sample, DType::f32, &gen);
  b.row("op mul " + shape_str(per_sample) + " x " + dims, n, 8, [&] { (void)mul(a, x); });
}

void batch_norm_rows(Bench& b, kernels::BatchNormShape s) {
  const int64_t n = s.n * s.c * s.s;
  Buf x(n, 11, -2, 3), y(n, 12), dy(n, 13), dx(n, 14);
  Buf gamma(s.c, 15), beta(s.c, 16), rm(s.c, 17), rv(s.c, 18, 0.5, 2), mean(s.c, 19), invstd(s.c, 20), dg(s.c, 21),
      db(s.c, 22);
  const std::string dims = "[" + std::to_string(s.n) + "," + std::to_string(s.c) + "," + std::to_string(s.s) + "]";
  b.row("kernel batch_norm_forward_train " + dims, n, 8, [&] {
    cpu::batch_norm_forward_train(y.p, mean.p, invstd.p, rm.p, rv.p, x.p, gamma.p, beta.p, s, 0.1f, 1e-5f);
  });
  b.row("kernel batch_norm_backward " + dims, n, 12,
        [&] { cpu::batch_norm_backward(dx.p, dg.p, db.p, dy.p, x.p, mean.p, invstd.p, gamma.p, s); });
}

// The critic's layer norm over [2f, 7, 7] (WGAN-GP), with its elementwise weight and bias:
// forward alone and forward + backward (x, weight and bias requiring grad).
void layer_norm_rows(Bench& b, const Shape& shape) {
  Rng gen(9);
  const Shape norm(shape.begin() + 1, shape.end());
  Tensor x = randn(shape, DType::f32, &gen), g = randn(shape, DType::f32, &gen);
  Tensor w = randn(norm, DType::f32, &gen), bias = randn(norm, DType::f32, &gen);
  const int64_t n = x.numel();
  const std::string dims = shape_str(shape);
  {
    NoGradGuard no_grad;
    b.row("op layer_norm " + dims, n, 8, [&] { (void)layer_norm(x, norm, w, bias, 1e-5); });
  }
  Tensor xr = x.detach(), wr = w.detach(), br = bias.detach();
  for (Tensor* t : {&xr, &wr, &br}) t->requires_grad_(true);
  b.row("op layer_norm forward+backward " + dims, n, 20, [&] {
    Tensor y = layer_norm(xr, norm, wr, br, 1e-5);
    (void)grad({y}, {xr, wr, br}, {g});
  });
}

void adam_rows(Bench& b, int64_t n) {
  Buf p(n, 31), m(n, 32, 0, 0.01f), v(n, 33, 0, 0.001f), g(n, 34);
  const kernels::AdamStep h{2e-4, 0.5, 0.999, 1e-8, 0, 1 - 0.5 * 0.5, 1 - 0.999 * 0.999};
  b.row("kernel adam_step [" + std::to_string(n) + "]", n, 28, [&] { cpu::adam_step(p.p, m.p, v.p, g.p, n, h); });
}

}  // namespace

int main(int argc, char** argv) {
  int threads = 1, repeats = 15;
  std::string only;
  CLI::App app{"CPU pointwise, batch norm and Adam kernels at the GAN steps' sizes"};
  app.add_option("--threads", threads)->check(CLI::Range(1, 1024));
  app.add_option("--repeats", repeats)->check(CLI::Range(1, 10000));
  app.add_option("--only", only, "run only rows whose name contains one of TEXT,... (e.g. tanh,batch_norm)");
  CLI11_PARSE(app, argc, argv);
  gantry::set_num_threads(threads);
  bench::print_machine(threads);
  Bench b{repeats, {}};
  for (size_t at = 0; !only.empty() && at != std::string::npos;) {
    const size_t comma = only.find(',', at);
    b.only.push_back(only.substr(at, comma == std::string::npos ? comma : comma - at));
    at = comma == std::string::npos ? comma : comma + 1;
  }
  std::printf("%-52s %9s  %8s %8s  %6s  %6s  %6s  %5s\n", "row", "elements", "best ms", "med ms", "ns/el", "GB/s",
              "memcpy", "x cpy");
  for (int64_t n : {8192, 50176, 200704, 401408, 802816}) {  // 8192: below the threshold for threads
    unary_rows<ew::Relu>(b, "relu", n);
    unary_rows<ew::LeakyRelu>(b, "leaky_relu", n, 0.2);
    binary_rows<ew::LeakyReluBackward>(b, "leaky_relu_backward", n, 0.2);
    binary_rows<ew::Mul>(b, "mul", n);
    binary_rows<ew::Add>(b, "add", n);
  }
  for (int64_t n : {8192, 50176, 401408}) {
    unary_rows<ew::Tanh>(b, "tanh", n);
    unary_rows<ew::Sigmoid>(b, "sigmoid", n);
    unary_rows<ew::Softplus>(b, "softplus", n);
  }
  op_rows(b, {64, 1, 28, 28});
  op_rows(b, {64, 32, 14, 14});
  for (auto s : {kernels::BatchNormShape{64, 128, 49}, kernels::BatchNormShape{64, 64, 196},
                 kernels::BatchNormShape{64, 64, 49}})
    batch_norm_rows(b, s);
  batch_norm_rows(b, kernels::BatchNormShape{1, 64, 3136});  // layer norm's rows: [64, 64, 7, 7] as [1, 64, 3136]
  layer_norm_rows(b, {64, 64, 7, 7});
  for (int64_t n : {627200, 131072, 32768}) adam_rows(b, n);
  std::printf(
      "GB/s counts the bytes an ideal kernel moves (unary 8 B/element, binary 12, broadcast mul 8, batch norm "
      "forward 8, backward 12, adam 28); memcpy: the same bytes copied on the same threads; x cpy: best time / "
      "memcpy's.\n");
  return 0;
}
