// bench/kernels.cpp — gantry's CUDA kernels at the GAN models' sizes (batch 64): the
// DCGAN / WGAN-GP conv layers at 28x28 and 32x32 and a 64x64 model for headroom (each
// layer's three kernels: forward, input gradient, weight gradient), batch norm on those
// activations (every kept version), leaky_relu, the WGAN-GP gradient penalty on
// [64, 1*28*28] and [64, 3*64*64], StyleGAN2's fused modulated conv at its layer sizes
// (beside cuDNN's grouped conv), and SGEMM as a reference. Per kernel: the median time of
// --repeats samples (cudaEvent timing), GFLOP/s (conv: 2 N Cout OH OW Cin KH KW) or GB/s
// (bandwidth-bound kernels: the bytes an ideal kernel reads + writes), the percent of
// this device's roofline measured in the same run (a cudaMemcpy device-to-device for
// bandwidth, cublasSgemm 4096^3 for float32 FLOP/s), and the peer's figure beside it:
// cuDNN for conv and batch norm, cuBLAS for SGEMM, where the build has them. Every output
// is first checked against the cpu kernels.
//
// Under the emulator (GANTRY_CUDA=emu) it is a smoke test (--smoke, the default there):
// batch 2, the 28x28 and 32x32 layers, one repeat; the times are the emulator's and say
// nothing about a GPU. ctest runs it (bench_kernels_smoke).
//
//   ./build/bench_kernels [--repeats R] [--smoke | --full] [--only TEXT[,TEXT...]] [--csv FILE]
#include <CLI/CLI.hpp>
#include <cstdio>
#include <string>
#include <vector>

#if GANTRY_HAS_CUDA
#include "bench/bench_util.hpp"
#include "kernels/cpu/batchnorm.hpp"
#include "kernels/cpu/conv.hpp"
#include "kernels/cpu/gemm.hpp"
#include "kernels/cpu/modconv.hpp"
#include "kernels/cpu/penalty.hpp"
#include "kernels/cuda/batchnorm.cuh"
#include "kernels/cuda/conv.cuh"
#include "kernels/cuda/dnn.cuh"
#include "kernels/cuda/elementwise.cuh"
#include "kernels/cuda/gemm.cuh"
#include "kernels/cuda/modconv.cuh"
#include "kernels/cuda/modconv_cudnn.cuh"
#include "kernels/cuda/penalty.cuh"
#if !defined(GANTRY_CUDA_EMU)
#include <cublas_v2.h>
#endif
#endif

#if !GANTRY_HAS_CUDA
int main() {
  std::printf(
      "bench_kernels: this build has no cuda device (GANTRY_CUDA=off), so there is nothing to measure.\n"
      "Configure with -DGANTRY_CUDA=real on a machine with a GPU, or -DGANTRY_CUDA=emu for the emulator's "
      "smoke test.\n");
  return 0;
}
#else

namespace {

using namespace gantry::bench;
using gantry::kernels::BatchNormShape;
using gantry::kernels::Conv2dShape;
namespace cpu = gantry::kernels::cpu;
namespace gpu = gantry::kernels::cuda;
namespace cudnn = gantry::kernels::cudnn;

#if defined(GANTRY_CUDA_EMU)
constexpr bool kEmulator = true;
#else
constexpr bool kEmulator = false;
#endif

struct Options {
  int repeats = 0;  // 0: 20 on a GPU, 1 on the emulator
  bool smoke = false, full = false, default_versions = false;
  std::vector<std::string> only;  // rows whose "kernel shape" contains any of these
  std::string csv;
};

// Checks, times and records rows.
class Runner {
 public:
  Runner(const Options& opt, int64_t batch, bool cudnn) : opt_(opt), batch_(batch), cudnn_(cudnn) {}

  int64_t batch() const { return batch_; }
  bool cudnn() const { return cudnn_; }
  bool wanted(const std::string& kernel, const std::string& shape) const {
    if (opt_.only.empty()) return true;
    const std::string row = kernel + " " + shape;
    for (const std::string& text : opt_.only)
      if (row.find(text) != std::string::npos) return true;
    return false;
  }

  // Runs `ours` once into `out` (pre-filled with NaN) and compares with `want`; the peer
  // likewise; then times both. `tol` bounds |got - want| / (1 + |want|).
  const Row& measure(Row r, const std::function<void()>& ours, const std::function<void()>& peer,
                     const DeviceArray& out, const std::vector<float>& want, double tol) {
    r.check = verdict(ours, out, want, tol);
    if (peer) r.check += "; " + r.peer + " " + verdict(peer, out, want, tol);
    r.ms = median_ms(ours, repeats(), !kEmulator);
    if (peer) r.peer_ms = median_ms(peer, repeats(), !kEmulator);
    rows_.push_back(r);
    return rows_.back();
  }

  const std::vector<Row>& rows() const { return rows_; }
  int failures() const { return failures_; }
  int repeats() const { return opt_.repeats > 0 ? opt_.repeats : kEmulator ? 1 : 20; }
  // Whether every kept version of a kernel gets a row, or only the one the op runs.
  bool sweep() const { return !opt_.default_versions; }

 private:
  std::string verdict(const std::function<void()>& run, const DeviceArray& out, const std::vector<float>& want,
                      double tol) {
    CUDA_CHECK(cudaMemset(out, 0xff, out.count * sizeof(float)));  // NaN: an unwritten element fails
    run();
    const double err = max_rel_error(out.to_host(), want);
    const bool ok = err <= tol;
    if (!ok) ++failures_;
    return (ok ? "ok " : "FAIL ") + fmt("%.0e", err);
  }

  Options opt_;
  int64_t batch_;
  bool cudnn_;
  std::vector<Row> rows_;
  int failures_ = 0;
};

// ---- convolution --------------------------------------------------------------------------

// A layer of one of the models, as the layer sees it: a conv maps c_in x size^2 to c_out
// x (size/stride)^2; a transposed conv (convT) maps c_in x size^2 up to c_out x bigger.
struct ConvLayer {
  const char* name;
  bool transposed;
  int64_t c_in, c_out, size, k, stride, pad;
  bool in_smoke;  // the 64x64 layers are left out of the emulator's smoke test
};

// The conv2d geometry whose three kernels the layer's training step runs. A convT
// c_in -> c_out is the adjoint of a conv2d c_out -> c_in: its forward is that conv's
// backward_input, its input gradient that conv's forward.
Conv2dShape geometry(const ConvLayer& l, int64_t n) {
  const int64_t k = l.k, s = l.stride, p = l.pad;
  if (!l.transposed) {
    const int64_t out = (l.size + 2 * p - k) / s + 1;
    return {n, l.c_in, l.size, l.size, l.c_out, out, out, k, k, s, s, p, p, 1, 1};
  }
  const int64_t big = (l.size - 1) * s - 2 * p + k;
  return {n, l.c_out, big, big, l.c_in, l.size, l.size, k, k, s, s, p, p, 1, 1};
}

// "kernel vN", with * on the version the op runs.
std::string versioned(const char* kernel, int v, int chosen) {
  return std::string(kernel) + " v" + std::to_string(v) + (v == chosen ? "*" : "");
}

// Rows for versions 1..count of one kernel (only `chosen` when the run is not sweeping);
// the reference is computed once, if any row is wanted, and the peer timed once, beside
// the first row.
void version_rows(Runner& run, const char* kernel, const std::string& shape, bool flops, double work, int count,
                  int chosen, const std::function<void(int)>& ours, const std::function<void()>& peer,
                  const DeviceArray& out, const std::function<std::vector<float>()>& reference, double tol) {
  std::vector<float> want;
  double peer_ms = NAN;
  for (int v = 1; v <= count; ++v) {
    const std::string name = versioned(kernel, v, chosen);
    if ((!run.sweep() && v != chosen) || !run.wanted(name, shape)) continue;
    if (want.empty()) want = reference();
    Row r = make_row(name, shape, flops, work, peer ? "cuDNN" : "");
    r.peer_ms = peer_ms;
    peer_ms = run.measure(
                     r, [&, v] { ours(v); }, std::isnan(peer_ms) ? peer : nullptr, out, want, tol)
                  .peer_ms;
  }
}

void bench_conv(Runner& run, const ConvLayer& l) {
  const Conv2dShape s = geometry(l, run.batch());
  const std::string what = std::string(l.name) + (l.transposed ? " convT " : " conv ") + std::to_string(l.c_in) + "->" +
                           std::to_string(l.c_out) + " " + std::to_string(l.transposed ? s.out_h : s.in_h) + "->" +
                           std::to_string(l.transposed ? s.in_h : s.out_h) + " k" + std::to_string(l.k) + "s" +
                           std::to_string(l.stride);
  const char* pass_fwd = l.transposed ? " dgrad" : " fwd";  // what conv2d_forward is for this layer
  const char* pass_bwd_in = l.transposed ? " fwd" : " dgrad";
  const size_t nx = s.n * s.c_in * s.in_h * s.in_w, ny = s.n * s.c_out * s.out_h * s.out_w,
               nw = s.c_out * s.c_in * s.k_h * s.k_w;
  const double flops = 2.0 * s.n * s.c_out * s.out_h * s.out_w * s.c_in * s.k_h * s.k_w;
  const auto x = random_floats(nx, 1), w = random_floats(nw, 2), dy = random_floats(ny, 3);
  DeviceArray x_d(x), w_d(w), dy_d(dy), y_d(ny), dx_d(nx), dw_d(nw);
  auto peer = [&](std::function<void()> f) { return run.cudnn() ? f : std::function<void()>(); };
  auto tol = [](double terms) { return 1e-6 * (terms + 8); };  // float sums of `terms` products in [-1, 1]

  version_rows(
      run, "conv2d_forward", what + pass_fwd, true, flops, gpu::kConvVersions, gpu::kernel_versions().conv_forward,
      [&](int v) { gpu::conv2d_forward(y_d, x_d, w_d, nullptr, s, v); },
      peer([&] { cudnn::conv2d_forward(y_d, x_d, w_d, nullptr, s); }), y_d,
      [&] {
        std::vector<float> want(ny);
        cpu::conv2d_forward(want.data(), x.data(), w.data(), (const float*)nullptr, s);
        return want;
      },
      tol((double)(s.c_in * s.k_h * s.k_w)));
  version_rows(
      run, "conv2d_backward_input", what + pass_bwd_in, true, flops, gpu::kConvVersions,
      gpu::kernel_versions().conv_backward_input, [&](int v) { gpu::conv2d_backward_input(dx_d, dy_d, w_d, s, v); },
      peer([&] { cudnn::conv2d_backward_input(dx_d, dy_d, w_d, s); }), dx_d,
      [&] {
        std::vector<float> want(nx);
        cpu::conv2d_backward_input(want.data(), dy.data(), w.data(), s);
        return want;
      },
      tol((double)(s.c_out * s.k_h * s.k_w)));
  version_rows(
      run, "conv2d_backward_weight", what + " wgrad", true, flops, gpu::kConvWeightVersions,
      gpu::kernel_versions().conv_backward_weight, [&](int v) { gpu::conv2d_backward_weight(dw_d, dy_d, x_d, s, v); },
      peer([&] { cudnn::conv2d_backward_weight(dw_d, dy_d, x_d, s); }), dw_d,
      [&] {
        std::vector<float> want(nw);
        cpu::conv2d_backward_weight(want.data(), dy.data(), x.data(), s);
        return want;
      },
      tol((double)(s.n * s.out_h * s.out_w)));
}

// ---- batch normalization ------------------------------------------------------------------

struct BatchNormLayer {
  const char* name;
  int64_t c, size;  // activations [N, c, size, size]
};

void bench_batch_norm(Runner& run, const BatchNormLayer& l) {
  const BatchNormShape s{run.batch(), l.c, l.size * l.size};
  const std::string what = std::string(l.name) + " [" + std::to_string(s.n) + "," + std::to_string(l.c) + "," +
                           std::to_string(l.size) + "," + std::to_string(l.size) + "]";
  const size_t nx = s.n * s.c * s.s;
  const double bytes = 4.0 * nx;  // one pass over one [N, C, S] array
  const float momentum = 0.1f, eps = 1e-5f;
  const auto x = random_floats(nx, 4, -2, 3), dy = random_floats(nx, 5), gamma = random_floats(s.c, 6, 0.5, 1.5),
             beta = random_floats(s.c, 7), rmean = random_floats(s.c, 8), rvar = random_floats(s.c, 9, 0.5, 2);
  DeviceArray x_d(x), dy_d(dy), g_d(gamma), b_d(beta), rm_d(rmean), rv_d(rvar), y_d(nx), dx_d(nx), mean_d(s.c),
      invstd_d(s.c), dg_d(s.c), db_d(s.c);
  std::vector<float> y_ref(nx), mean_ref(s.c), invstd_ref(s.c), rm_ref = rmean, rv_ref = rvar;
  cpu::batch_norm_forward_train(y_ref.data(), mean_ref.data(), invstd_ref.data(), rm_ref.data(), rv_ref.data(),
                                x.data(), gamma.data(), beta.data(), s, momentum, eps);
  const std::string peer = run.cudnn() ? "cuDNN" : "";
  auto peer_fn = [&](std::function<void()> f) { return run.cudnn() ? f : std::function<void()>(); };

  version_rows(
      run, "batch_norm_forward_train", what, false, 2 * bytes, gpu::kBatchNormVersions,
      gpu::kernel_versions().batch_norm,
      [&](int v) {
        gpu::batch_norm_forward_train(y_d, mean_d, invstd_d, rm_d, rv_d, x_d, g_d, b_d, s, momentum, eps, v);
      },
      peer_fn(
          [&] { cudnn::batch_norm_forward_train(y_d, mean_d, invstd_d, rm_d, rv_d, x_d, g_d, b_d, s, momentum, eps); }),
      y_d, [&] { return y_ref; }, 1e-4);
  if (run.wanted("batch_norm_forward_eval", what)) {
    std::vector<float> want(nx);
    cpu::batch_norm_forward_eval(want.data(), x.data(), rmean.data(), rvar.data(), gamma.data(), beta.data(), s, eps);
    DeviceArray rm0(rmean), rv0(rvar);  // the training rows above moved rm_d, rv_d
    run.measure(
        make_row("batch_norm_forward_eval", what, false, 2 * bytes, peer),
        [&] { gpu::batch_norm_forward_eval(y_d, x_d, rm0, rv0, g_d, b_d, s, eps); },
        peer_fn([&] { cudnn::batch_norm_forward_eval(y_d, x_d, rm0, rv0, g_d, b_d, s, eps); }), y_d, want, 1e-5);
  }
  DeviceArray m0(mean_ref), is0(invstd_ref);  // the cpu's statistics, so both sides start equal
  version_rows(
      run, "batch_norm_backward", what, false, 3 * bytes, gpu::kBatchNormVersions, gpu::kernel_versions().batch_norm,
      [&](int v) { gpu::batch_norm_backward(dx_d, dg_d, db_d, dy_d, x_d, m0, is0, g_d, s, v); },
      peer_fn([&] { cudnn::batch_norm_backward(dx_d, dg_d, db_d, dy_d, x_d, m0, is0, g_d, s); }), dx_d,
      [&] {
        std::vector<float> want(nx), dg(s.c), db(s.c);
        cpu::batch_norm_backward(want.data(), dg.data(), db.data(), dy.data(), x.data(), mean_ref.data(),
                                 invstd_ref.data(), gamma.data(), s);
        return want;
      },
      1e-4);
}

// ---- leaky_relu ----------------------------------------------------------------------------

void bench_leaky_relu(Runner& run, int64_t c, int64_t size) {
  const int64_t count = run.batch() * c * size * size;
  const std::string what = "[" + std::to_string(run.batch()) + "," + std::to_string(c) + "," + std::to_string(size) +
                           "," + std::to_string(size) + "]";
  gantry::kernels::StridedShape dense;
  dense.ndim = 1, dense.sizes[0] = count, dense.strides[0] = 1;
  const float slope = 0.2f;
  const auto x = random_floats(count, 10), g = random_floats(count, 11);
  DeviceArray x_d(x), g_d(g), y_d(count);
  if (run.wanted("leaky_relu", what)) {
    std::vector<float> want(count);
    for (int64_t i = 0; i < count; ++i) want[i] = x[i] > 0 ? x[i] : slope * x[i];
    run.measure(
        make_row("leaky_relu", what, false, 2 * 4.0 * count),
        [&] { gpu::unary(y_d, x_d, dense, gantry::kernels::elementwise::LeakyRelu<float>{slope}); }, nullptr, y_d, want,
        1e-6);
  }
  if (run.wanted("leaky_relu_backward", what)) {
    std::vector<float> want(count);
    for (int64_t i = 0; i < count; ++i) want[i] = x[i] > 0 ? g[i] : slope * g[i];
    run.measure(
        make_row("leaky_relu_backward", what, false, 3 * 4.0 * count),
        [&] {
          gpu::binary(y_d, g_d, dense, x_d, dense, gantry::kernels::elementwise::LeakyReluBackward<float>{slope});
        },
        nullptr, y_d, want, 1e-6);
  }
}

// ---- gradient penalty ---------------------------------------------------------------------

// WGAN-GP's penalty on the critic's per-sample input gradients g [N, K], K = C H W.
void bench_gradient_penalty(Runner& run, int64_t c, int64_t size) {
  const int64_t n = run.batch(), k = c * size * size;
  const std::string what = "[" + std::to_string(n) + "," + std::to_string(k) + "] (" + std::to_string(c) + "x" +
                           std::to_string(size) + "x" + std::to_string(size) + ")";
  const float lambda = 10.f, eps = 1e-12f;
  const auto g = random_floats(n * k, 16, -0.05f, 0.05f);  // norms near 1, where the penalty lives
  DeviceArray g_d(g), norms_d(n), penalty_d(1), dg_d(n * k), grad_out_d(std::vector<float>{0.5f});
  std::vector<float> penalty(1), norms(n);
  cpu::gradient_penalty_forward(penalty.data(), norms.data(), g.data(), n, k, lambda, eps);
  if (run.wanted("gradient_penalty_forward", what))  // reads g, writes N norms and the scalar
    run.measure(
        make_row("gradient_penalty_forward", what, false, 4.0 * (n * k + n + 1)),
        [&] { gpu::gradient_penalty_forward(penalty_d, norms_d, g_d, n, k, lambda, eps); }, nullptr, penalty_d, penalty,
        1e-5);
  if (run.wanted("gradient_penalty_backward", what)) {  // reads g and the norms, writes dg
    std::vector<float> want(n * k);
    const float grad_out = 0.5f;
    cpu::gradient_penalty_backward(want.data(), &grad_out, g.data(), norms.data(), n, k, lambda);
    DeviceArray norms0(norms);
    run.measure(
        make_row("gradient_penalty_backward", what, false, 4.0 * (2 * n * k + n + 1)),
        [&] { gpu::gradient_penalty_backward(dg_d, grad_out_d, g_d, norms0, n, k, lambda); }, nullptr, dg_d, want,
        1e-5);
  }
}

// ---- modulated convolution (StyleGAN2) ----------------------------------------------------

// A synthesis layer: a modulated k x k conv c_in -> c_out at size x size, stride 1, same padding.
struct ModconvLayer {
  const char* name;
  int64_t c_in, c_out, size, k;
  bool in_smoke;
};

// The fused kernels of kernels/cuda/modconv.cu (forward, dgrad, wgrad) with styles and
// demodulation. Peers: cuDNN's grouped conv (groups = N) on the per-sample weights w' =
// d w s, formed beforehand and not timed (the fused kernel forms them in its tile loads),
// for fwd and dgrad; for wgrad cuDNN's shared-weight backward-filter on the pre-scaled
// d*dy and s*x (the unfused form), again with the scaling untimed.
void bench_modconv(Runner& run, const ModconvLayer& l) {
  const int64_t n = run.batch(), pad = l.k / 2;
  const Conv2dShape s{n, l.c_in, l.size, l.size, l.c_out, l.size, l.size, l.k, l.k, 1, 1, pad, pad, 1, 1};
  const std::string what = std::string(l.name) + " modconv " + std::to_string(l.c_in) + "->" + std::to_string(l.c_out) +
                           " " + std::to_string(l.size) + "x" + std::to_string(l.size) + " k" + std::to_string(l.k);
  const bool any = run.wanted("modconv2d_forward", what + " fwd") ||
                   run.wanted("modconv2d_backward_input", what + " dgrad") ||
                   run.wanted("modconv2d_backward_weight", what + " wgrad");
  if (!any) return;
  const size_t nx = n * s.c_in * s.in_h * s.in_w, ny = n * s.c_out * s.out_h * s.out_w,
               nw = s.c_out * s.c_in * s.k_h * s.k_w, taps = s.k_h * s.k_w;
  const double flops = 2.0 * n * s.c_out * s.out_h * s.out_w * s.c_in * s.k_h * s.k_w;
  const auto x = random_floats(nx, 21), w = random_floats(nw, 22), dy = random_floats(ny, 23);
  const auto st = random_floats(n * s.c_in, 24, 0.5f, 1.5f), dm = random_floats(n * s.c_out, 25, 0.5f, 1.5f);
  DeviceArray x_d(x), w_d(w), dy_d(dy), s_d(st), d_d(dm), y_d(ny), dx_d(nx), dw_d(nw);
  auto tol = [](double terms) { return 1e-6 * (terms + 8) * 4; };  // products of up to 4 factors below 1.5
  const bool with_cudnn = run.cudnn();
  const std::string peer = with_cudnn ? "cuDNN grouped" : "";

  std::vector<float> w_per_sample, dy_scaled, x_scaled;  // the peer's inputs (formed untimed)
  if (with_cudnn) {
    w_per_sample.resize(n * nw), dy_scaled.resize(ny), x_scaled.resize(nx);
    for (int64_t b = 0; b < n; ++b)
      for (int64_t co = 0; co < s.c_out; ++co)
        for (int64_t ci = 0; ci < s.c_in; ++ci)
          for (size_t t = 0; t < taps; ++t) {
            const size_t at = (co * s.c_in + ci) * taps + t;
            w_per_sample[b * nw + at] = dm[b * s.c_out + co] * w[at] * st[b * s.c_in + ci];
          }
    for (size_t i = 0; i < ny; ++i) dy_scaled[i] = dy[i] * dm[i / (s.out_h * s.out_w)];
    for (size_t i = 0; i < nx; ++i) x_scaled[i] = x[i] * st[i / (s.in_h * s.in_w)];
  }
  DeviceArray wps_d(w_per_sample), dys_d(dy_scaled), xs_d(x_scaled);
  // The peer's cuDNN workspaces, allocated untimed (the caller's, as the op layer's are).
  const size_t fws_bytes = with_cudnn ? cudnn::grouped_conv2d_forward_workspace(s) : 0;
  const size_t bws_bytes = with_cudnn ? cudnn::grouped_conv2d_backward_input_workspace(s) : 0;
  DeviceArray fws_d((fws_bytes + sizeof(float) - 1) / sizeof(float)),
      bws_d((bws_bytes + sizeof(float) - 1) / sizeof(float));
  auto peer_fn = [&](std::function<void()> f) { return with_cudnn ? f : std::function<void()>(); };

  if (run.wanted("modconv2d_forward", what + " fwd")) {
    std::vector<float> want(ny);
    cpu::modconv2d_forward(want.data(), x.data(), w.data(), st.data(), dm.data(), s);
    run.measure(
        make_row("modconv2d_forward", what + " fwd", true, flops, peer),
        [&] { gpu::modconv2d_forward(y_d, x_d, w_d, s_d, d_d, s); },
        peer_fn([&] { cudnn::grouped_conv2d_forward(y_d, x_d, wps_d, s, fws_d, fws_bytes); }), y_d, want,
        tol((double)(s.c_in * taps)));
  }
  if (run.wanted("modconv2d_backward_input", what + " dgrad")) {
    std::vector<float> want(nx);
    cpu::modconv2d_backward_input(want.data(), dy.data(), w.data(), st.data(), dm.data(), s);
    run.measure(
        make_row("modconv2d_backward_input", what + " dgrad", true, flops, peer),
        [&] { gpu::modconv2d_backward_input(dx_d, dy_d, w_d, s_d, d_d, s); },
        peer_fn([&] { cudnn::grouped_conv2d_backward_input(dx_d, dy_d, wps_d, s, bws_d, bws_bytes); }), dx_d, want,
        tol((double)(s.c_out * taps)));
  }
  if (run.wanted("modconv2d_backward_weight", what + " wgrad")) {
    std::vector<float> want(nw);
    cpu::modconv2d_backward_weight(want.data(), dy.data(), x.data(), st.data(), dm.data(), s);
    run.measure(
        make_row("modconv2d_backward_weight", what + " wgrad", true, flops, with_cudnn ? "cuDNN" : ""),
        [&] { gpu::modconv2d_backward_weight(dw_d, dy_d, x_d, s_d, d_d, s); },
        peer_fn([&] { cudnn::conv2d_backward_weight(dw_d, dys_d, xs_d, s); }), dw_d, want,
        tol((double)(n * s.out_h * s.out_w)));
  }
}

// ---- SGEMM --------------------------------------------------------------------------------

void bench_sgemm(Runner& run, int64_t m, int64_t n, int64_t k) {
  const std::string what = std::to_string(m) + "x" + std::to_string(n) + "x" + std::to_string(k);
  const std::string name = "sgemm v" + std::to_string(gpu::kGemmVersions);
  if (!run.wanted(name, what)) return;
  const auto a = random_floats(m * k, 12), b = random_floats(k * n, 13);
  DeviceArray a_d(a), b_d(b), c_d(m * n);
  std::vector<float> want(m * n);
  cpu::gemm_batched(want.data(), a.data(), b.data(), 1, m, n, k);
  run.measure(
      make_row(name, what, true, 2.0 * m * n * k, kEmulator ? "" : "cuBLAS"),
      [&] { gpu::gemm_batched(c_d, a_d, b_d, 1, m, n, k, gpu::kGemmVersions); },
      kEmulator ? std::function<void()>() : [&] { gpu::gemm_batched(c_d, a_d, b_d, 1, m, n, k, gpu::kGemmCublas); },
      c_d, want, 1e-6 * (double)(k + 8));
}

// ---- the device and its roofline ----------------------------------------------------------

#if !defined(GANTRY_CUDA_EMU)
std::string device_name() {
  int dev = 0;
  CUDA_CHECK(cudaGetDevice(&dev));
  cudaDeviceProp p{};
  CUDA_CHECK(cudaGetDeviceProperties(&p, dev));
  return std::string(p.name) + " (sm_" + std::to_string(p.major) + std::to_string(p.minor) + ", " +
         std::to_string(p.multiProcessorCount) + " SMs, " + fmt("%.0f", p.totalGlobalMem / 1073741824.0) + " GiB)";
}

Roofline measure_roofline(int repeats) {
  Roofline roof;
  {  // bandwidth: a 256 MiB device-to-device copy reads and writes every byte once
    const size_t count = 64u << 20;
    DeviceArray a(count), b(count);
    CUDA_CHECK(cudaMemset(a, 0, count * sizeof(float)));
    const double ms =
        median_ms([&] { CUDA_CHECK(cudaMemcpy(b, a, count * sizeof(float), cudaMemcpyDeviceToDevice)); }, repeats);
    roof.gbs = 2.0 * count * sizeof(float) / (ms * 1e6);
  }
  {  // float32 FLOP/s: cublasSgemm 4096^3, default math (no TF32 tensor cores)
    const int n = 4096;
    DeviceArray a(random_floats((size_t)n * n, 14)), b(random_floats((size_t)n * n, 15)), c((size_t)n * n);
    cublasHandle_t h = nullptr;
    if (cublasCreate(&h) != CUBLAS_STATUS_SUCCESS) throw std::runtime_error("bench_kernels: cublasCreate failed");
    cublasSetMathMode(h, CUBLAS_DEFAULT_MATH);
    const float one = 1.f, zero = 0.f;
    const double ms = median_ms(
        [&] {
          if (cublasSgemm(h, CUBLAS_OP_N, CUBLAS_OP_N, n, n, n, &one, a, n, b, n, &zero, c, n) != CUBLAS_STATUS_SUCCESS)
            throw std::runtime_error("bench_kernels: cublasSgemm failed");
        },
        repeats);
    cublasDestroy(h);
    roof.gflops = 2.0 * n * n * n / (ms * 1e6);
  }
  return roof;
}
#endif

}  // namespace

int main(int argc, char** argv) {
  Options opt;
  CLI::App app{"gantry's CUDA kernels at the GAN models' sizes, beside cuDNN / cuBLAS where the build has them"};
  app.add_option("--repeats", opt.repeats,
                 "Timed samples per kernel; the median is reported (default 20; 1 on the emulator)")
      ->check(CLI::Range(1, 100000));
  auto* smoke = app.add_flag("--smoke", opt.smoke,
                             "Small sizes, one repeat: a check that everything runs (the default on the emulator)");
  app.add_flag("--full", opt.full, "Full sizes (batch 64) even on the emulator (slow)")->excludes(smoke);
  app.add_option(
         "--only", opt.only,
         "Run only rows whose kernel name or shape contains one of TEXT,... (e.g. conv2d_forward, G28, batch_norm)")
      ->delimiter(',');
  app.add_option("--csv", opt.csv, "Also write the table to FILE as CSV");
  app.add_flag("--default-versions", opt.default_versions,
               "Only the version of each kernel the op runs (default: every kept version, side by side)");
  CLI11_PARSE(app, argc, argv);
  const bool smoke_run = opt.smoke || (kEmulator && !opt.full);
  const int64_t batch = smoke_run ? 2 : 64;

  int devices = 0;
  if (cudaGetDeviceCount(&devices) != cudaSuccess || devices == 0) {
    std::printf(
        "SKIPPED: no CUDA device found, so nothing was measured (bench_kernels needs a GPU, or the emulator build)\n");
    return 0;
  }
  Roofline roof;
  std::string device;
  if (kEmulator) {
    device = "the CPU emulator (GANTRY_CUDA=emu)";
    std::printf(
        "bench_kernels on THE EMULATOR (GANTRY_CUDA=emu): every kernel ran on the CPU, one CUDA thread per fiber.\n"
        "These are emulator times: they say nothing about GPU performance; no rates, no roofline.\n");
  } else {
#if !defined(GANTRY_CUDA_EMU)
    device = device_name();
    std::printf("bench_kernels on %s\n", device.c_str());
    roof = measure_roofline(smoke_run ? 3 : 10);
    std::printf(
        "roofline measured in this run: cudaMemcpy device-to-device %.0f GB/s (bytes read + written); "
        "cublasSgemm 4096^3 %.0f GFLOP/s (float32, no TF32)\n",
        roof.gbs, roof.gflops);
#endif
  }
  const bool with_cudnn = gpu::cudnn_available();
  Runner run(opt, batch, with_cudnn);
  std::printf("%s: batch %lld, median of %d repeat%s; every output checked against the cpu kernels; peer: %s\n\n",
              smoke_run ? "smoke test (small sizes)" : "full sizes", (long long)batch, run.repeats(),
              run.repeats() == 1 ? "" : "s",
              with_cudnn  ? "cuDNN (FMA math, Find-chosen algorithms) for conv/batch norm, cuBLAS for SGEMM"
              : kEmulator ? "none (cuDNN and cuBLAS cannot run on the emulator)"
                          : "cuBLAS for SGEMM (this build has no cuDNN)");

  // The models' layers (DCGAN / WGAN-GP generator and discriminator, width 32, z 100;
  // gan/zoo/dcgan.cpp) and a 64x64, 3-channel pair at width 64 for headroom.
  const ConvLayer convs[] = {
      {"D28.1", false, 1, 32, 28, 4, 2, 1, true},   {"D28.2", false, 32, 64, 14, 4, 2, 1, true},
      {"G28.2", true, 128, 64, 7, 4, 2, 1, true},   {"G28.3", true, 64, 1, 14, 4, 2, 1, true},
      {"D32.3", false, 64, 128, 8, 4, 2, 1, true},  {"G32.2", true, 256, 128, 4, 4, 2, 1, true},
      {"D64.1", false, 3, 64, 64, 4, 2, 1, false},  {"D64.2", false, 64, 128, 32, 4, 2, 1, false},
      {"G64.3", true, 128, 64, 16, 4, 2, 1, false}, {"G64.4", true, 64, 3, 32, 4, 2, 1, false},
  };
  for (const ConvLayer& l : convs)
    if (!smoke_run || l.in_smoke) bench_conv(run, l);
  const BatchNormLayer norms[] = {{"G28.bn1", 128, 7}, {"G28.bn2", 64, 14}, {"D28.bn", 64, 7}, {"D64.bn2", 128, 16}};
  for (const BatchNormLayer& l : norms)
    if (!smoke_run || l.size < 16) bench_batch_norm(run, l);
  // StyleGAN2's synthesis layers: the paper's 512 channels at 4x4 and 8x8, then the widths
  // halving as resolution doubles, and a toRGB (1x1, one output channel). The smoke test
  // keeps two narrow layers.
  const ModconvLayer modconvs[] = {
      {"SG4", 512, 512, 4, 3, false},   {"SG8", 512, 512, 8, 3, false},    {"SG16", 256, 256, 16, 3, false},
      {"SG32", 128, 128, 32, 3, false}, {"SG32rgb", 128, 1, 32, 1, false}, {"sg8", 32, 32, 8, 3, true},
      {"sg16rgb", 16, 1, 16, 1, true},
  };
  for (const ModconvLayer& l : modconvs)
    if (!smoke_run || l.in_smoke) bench_modconv(run, l);
  bench_leaky_relu(run, 64, 14);
  bench_gradient_penalty(run, 1, 28);
  bench_gradient_penalty(run, 3, smoke_run ? 32 : 64);
  if (!smoke_run) bench_leaky_relu(run, 128, 16);
  if (smoke_run) {
    bench_sgemm(run, 64, 64, 64);
    bench_sgemm(run, 96, 80, 72);
  } else {
    bench_sgemm(run, 1024, 1024, 1024);
    bench_sgemm(run, 4096, 4096, 4096);
  }

  print_table(run.rows(), roof, !kEmulator);
  std::printf(
      "\nconv rows: the layer (D = discriminator/critic, G = generator; 28/32/64 = image size), its input -> "
      "output channels and size, and the pass (fwd, dgrad = input gradient, wgrad = weight gradient); a convT's "
      "fwd is conv2d_backward_input, its dgrad conv2d_forward.\n"
      "modconv rows: StyleGAN2's synthesis layers (SG = batch-64 sizes, sg = smoke sizes; rgb = toRGB 1x1), "
      "fused kernels with styles and demodulation; the peer is cuDNN's grouped conv (groups = N) on per-sample "
      "weights formed untimed beforehand (wgrad: cuDNN's shared-weight backward-filter on pre-scaled inputs).\n"
      "GB/s counts the bytes an ideal kernel moves (batch_norm train/eval 2 passes, backward 3, leaky_relu 2, "
      "its backward 3, gradient_penalty forward 1, backward 2); ms/peer < 1 means gantry is faster; * marks "
      "the version the op runs.\n");
  if (run.rows().empty()) std::printf("no row matched --only\n");
  if (!opt.csv.empty()) {
    write_csv(opt.csv, run.rows(), roof, device);
    std::printf("wrote %s\n", opt.csv.c_str());
  }
  if (run.failures() > 0) {
    std::printf("FAILED: %d output%s differ from the cpu kernels (see the check column)\n", run.failures(),
                run.failures() == 1 ? "" : "s");
    return 1;
  }
  return 0;
}
#endif
