// bench/conv_cpu.cpp — the CPU conv2d kernels (kernels/cpu/conv.hpp) per DCGAN layer: forward,
// backward input and backward weight in float, each beside plain GEMMs of the same shape
// (kernels::cpu::gemm on ready operands, in blocks of ceil(384 / P) samples as conv.cpp's
// blocks: what the pass would cost if its data movement were free), so the time spent
// outside the GEMM shows.
// Prints the CPU model and threads; per layer and pass the median of --repeats samples, each
// the mean of enough calls to last ~20 ms, as wall ms and as process CPU ms per call (the
// machine may be shared: compare CPU time), and GFLOP/s of the CPU median per thread
// (2·N·Cout·P·K flops, the GEMM's count: padding taps included).
//
//   ./build/bench_conv_cpu [--batch 64] [--threads 1] [--repeats 7] [--only G2]
#include <omp.h>
#include <time.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "bench/random.hpp"
#include "bench/step_report.hpp"
#include "kernels/cpu/conv.hpp"
#include "kernels/cpu/sgemm.hpp"

namespace {

using gantry::bench::random_floats;
using gantry::kernels::Conv2dShape;
namespace cpu = gantry::kernels::cpu;

double process_cpu_seconds() {
  timespec t{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return t.tv_sec + t.tv_nsec * 1e-9;
}
double wall_seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

struct Layer {
  std::string name;
  Conv2dShape s;
};

// The width-32 DCGAN layers as conv2d geometries (a transposed conv's forward is the
// conv2d's backward input on the same geometry, its input gradient the conv2d's forward).
std::vector<Layer> dcgan_layers(int64_t n) {
  //             n  c_in  h   w  c_out oh ow kh kw sh sw ph pw dh dw
  return {
      {"G1 convT 100->128 k7 1->7 (dense)", {n, 128, 7, 7, 100, 1, 1, 7, 7, 1, 1, 0, 0, 1, 1}},
      {"G2 convT 128->64 k4s2p1 7->14", {n, 64, 14, 14, 128, 7, 7, 4, 4, 2, 2, 1, 1, 1, 1}},
      {"G3 convT 64->1 k4s2p1 14->28", {n, 1, 28, 28, 64, 14, 14, 4, 4, 2, 2, 1, 1, 1, 1}},
      {"D1 conv 1->32 k4s2p1 28->14", {n, 1, 28, 28, 32, 14, 14, 4, 4, 2, 2, 1, 1, 1, 1}},
      {"D2 conv 32->64 k4s2p1 14->7", {n, 32, 14, 14, 64, 7, 7, 4, 4, 2, 2, 1, 1, 1, 1}},
      {"D3 conv 64->1 k7 7->1 (dense)", {n, 64, 7, 7, 1, 1, 1, 7, 7, 1, 1, 0, 0, 1, 1}},
  };
}

struct Timing {
  double wall_ms, cpu_ms;
};

// Median over `repeats` samples of the mean wall and CPU time per call of f.
Timing time_calls(const std::function<void()>& f, double flops, int repeats) {
  f();  // warm-up: scratch buffers grown, pages touched
  const int inner = std::max(1, (int)(0.02 / (flops / 50e9 + 1e-6)));
  std::vector<double> wall, cpu;
  for (int r = 0; r < repeats; ++r) {
    const double w0 = wall_seconds(), c0 = process_cpu_seconds();
    for (int i = 0; i < inner; ++i) f();
    wall.push_back((wall_seconds() - w0) / inner * 1e3);
    cpu.push_back((process_cpu_seconds() - c0) / inner * 1e3);
  }
  std::sort(wall.begin(), wall.end());
  std::sort(cpu.begin(), cpu.end());
  return {wall[wall.size() / 2], cpu[cpu.size() / 2]};
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"CPU conv2d kernels per DCGAN layer, beside the plain GEMM of the same shape"};
  int repeats = 7, threads = 1;
  int64_t batch = 64;
  std::string only;
  app.add_option("--batch", batch)->check(CLI::Range(1, 65536));
  app.add_option("--threads", threads)->check(CLI::Range(1, 1024));
  app.add_option("--repeats", repeats, "samples per measurement (the median is reported)")->check(CLI::Range(1, 1000));
  app.add_option("--only", only, "only the layers whose name contains this");
  CLI11_PARSE(app, argc, argv);
  omp_set_num_threads(threads);
  std::printf("machine: %s, threads %d, batch %lld, sgemm kernel %s\n", gantry::bench::cpu_model().c_str(), threads,
              (long long)batch, cpu::sgemm_kernel() == cpu::SgemmKernel::kAvx512 ? "avx512" : "eigen");
  std::printf("%-36s %-6s %8s %8s %8s | %-14s %8s %8s %8s | %6s\n", "layer (as conv2d)", "pass", "wall ms", "cpu ms",
              "GFLOP/s", "gemm m x n x k", "wall ms", "cpu ms", "GFLOP/s", "conv/gemm");
  std::printf("%-36s %-6s %8s %8s %8s | %-14s %8s %8s %8s | %6s\n", "", "", "", "", "(cpu)", "(a block)", "", "",
              "(cpu)", "(cpu)");
  for (const Layer& layer : dcgan_layers(batch)) {
    if (!only.empty() && layer.name.find(only) == std::string::npos) continue;
    const Conv2dShape& s = layer.s;
    const int64_t K = s.c_in * s.k_h * s.k_w, P = s.out_h * s.out_w, NP = s.n * P;
    const auto x = random_floats((size_t)(s.n * s.c_in * s.in_h * s.in_w), 1);
    const auto w = random_floats((size_t)(s.c_out * K), 2);
    const auto dy = random_floats((size_t)(s.n * s.c_out * P), 3);
    const auto bias = random_floats((size_t)s.c_out, 4);
    std::vector<float> y(dy.size()), dx(x.size()), dw(w.size());
    const double flops = 2.0 * s.n * s.c_out * P * K;
    // The same GEMM shapes, one a block of B samples (NB = B·P columns): forward
    // W[Cout, K] @ cols[K, NB] (NN), backward input W^T @ dY[Cout, NB] (TN), backward weight
    // dY @ cols^T (NT, accumulated over the blocks). The dense-layer path (P = 1): one GEMM.
    const int64_t B = P == 1 ? s.n : std::min<int64_t>(s.n, (384 + P - 1) / P), NB = B * P, blocks = (s.n + B - 1) / B;
    const auto ga = random_floats((size_t)std::max(s.c_out * K, K * NP), 5);
    const auto gb = random_floats((size_t)std::max(K * NP, s.c_out * NP), 6);
    std::vector<float> gc((size_t)std::max({s.c_out * NP, K * NP, s.c_out * K}));
    struct Pass {
      const char* name;
      std::function<void()> conv, gemm;
      int64_t m, n, k;
    };
    const Pass passes[] = {
        {"fwd", [&] { cpu::conv2d_forward(y.data(), x.data(), w.data(), bias.data(), s); },
         [&] {
           for (int64_t i = 0; i < blocks; ++i)
             cpu::gemm<float>(false, false, s.c_out, NB, K, ga.data(), K, gb.data(), NB, gc.data(), NB, false);
         },
         s.c_out, NB, K},
        {"dgrad", [&] { cpu::conv2d_backward_input(dx.data(), dy.data(), w.data(), s); },
         [&] {
           for (int64_t i = 0; i < blocks; ++i)
             cpu::gemm<float>(true, false, K, NB, s.c_out, ga.data(), K, gb.data(), NB, gc.data(), NB, false);
         },
         K, NB, s.c_out},
        {"wgrad", [&] { cpu::conv2d_backward_weight(dw.data(), dy.data(), x.data(), s); },
         [&] {
           for (int64_t i = 0; i < blocks; ++i)
             cpu::gemm<float>(false, true, s.c_out, K, NB, gb.data(), NB, ga.data(), NB, gc.data(), K, i > 0);
         },
         s.c_out, K, NB},
    };
    for (const Pass& pass : passes) {
      const Timing conv = time_calls(pass.conv, flops, repeats), gemm = time_calls(pass.gemm, flops, repeats);
      char shape[64];
      std::snprintf(shape, sizeof shape, "%lldx%lldx%lld", (long long)pass.m, (long long)pass.n, (long long)pass.k);
      std::printf("%-36s %-6s %8.3f %8.3f %8.1f | %-14s %8.3f %8.3f %8.1f | %6.2f\n", layer.name.c_str(), pass.name,
                  conv.wall_ms, conv.cpu_ms, flops * threads / conv.cpu_ms / 1e6, shape, gemm.wall_ms, gemm.cpu_ms,
                  flops * threads / gemm.cpu_ms / 1e6, conv.cpu_ms / gemm.cpu_ms);
    }
  }
  return 0;
}
