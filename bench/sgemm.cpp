// bench/sgemm.cpp — gantry's AVX-512 SGEMM against Eigen's on the GEMMs kernels/cpu/conv.cpp
// runs in a width-32 DCGAN step at batch 64 (each conv layer's forward, backward-input and
// backward-weight product, per sample or per block as conv.cpp calls them), one thread.
// Prints the CPU model, the thread count, this core's measured FMA peak (24 independent
// zmm FMA chains), and per shape the GFLOP/s of both: the best of --repeats samples, the
// two kernels alternating sample by sample, each sample the thread CPU time of enough
// calls to last ~20 ms (the machine may be shared: CPU time, not wall time), and the
// spread (worst sample / best). Every output is first checked against Eigen's.
//
//   ./build/bench_sgemm [--repeats N] [--only TEXT]
#include <immintrin.h>
#include <time.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "bench/random.hpp"
#include "bench/step_report.hpp"
#include "kernels/cpu/sgemm.hpp"

namespace {

using gantry::bench::random_floats;
using gantry::kernels::cpu::SgemmKernel;

double thread_seconds() {
  timespec t{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return t.tv_sec + t.tv_nsec * 1e-9;
}

// GFLOP/s of 24 independent chains of vfmadd231ps on zmm registers (2 * 16 flops each,
// on zeros: no denormals), written in assembly so no accumulator leaves its register:
// the core's FMA peak, best of 5.
#define FMA(i) "vfmadd231ps %%zmm24, %%zmm25, %%zmm" #i "\n\t"
#define ZERO(i) "vpxord %%zmm" #i ", %%zmm" #i ", %%zmm" #i "\n\t"
__attribute__((target("avx512f,fma"))) double fma_peak_gflops() {
  double best = 0;
  for (int r = 0; r < 5; ++r) {
    const long iterations = 20000000;
    long count = iterations;
    const double t0 = thread_seconds();
    __asm__ volatile(ZERO(0) ZERO(1) ZERO(2) ZERO(3) ZERO(4) ZERO(5) ZERO(6) ZERO(7) ZERO(8)
                     ZERO(9) ZERO(10) ZERO(11) ZERO(12) ZERO(13) ZERO(14) ZERO(15) ZERO(16) ZERO(17)
                     ZERO(18) ZERO(19) ZERO(20) ZERO(21) ZERO(22) ZERO(23) ZERO(24) ZERO(25)
                     "1:\n\t" FMA(0) FMA(1) FMA(2) FMA(3) FMA(4) FMA(5) FMA(6) FMA(7)
                     FMA(8) FMA(9) FMA(10) FMA(11) FMA(12) FMA(13) FMA(14) FMA(15)
                     FMA(16) FMA(17) FMA(18) FMA(19) FMA(20) FMA(21) FMA(22) FMA(23)
                     "dec %0\n\t"
                     "jnz 1b\n\t"
                     : "+r"(count)
                     :
                     : "cc", "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8",
                       "xmm9", "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15", "xmm16", "xmm17",
                       "xmm18", "xmm19", "xmm20", "xmm21", "xmm22", "xmm23", "xmm24", "xmm25");
    const double seconds = thread_seconds() - t0;
    best = std::max(best, 24.0 * 32 * iterations / seconds / 1e9);
  }
  return best;
}
#undef FMA
#undef ZERO

struct Shape {
  std::string name;  // layer and pass, as conv.cpp calls it
  bool trans_a, trans_b;
  int64_t m, n, k;
};

// conv.cpp's products, batch 64, width 32 (docs/kernels/cpu_conv.md's layer table):
// forward W[Cout, K] @ cols[K, P] (NN), backward input W^T @ dY (TN), backward weight
// dYb[Cout, B*P] @ cols[K, B*P]^T (NT, B = ceil(128 / P)); the dense-layer paths of the 7x7
// layers; and forward / backward input with several samples side by side (what the AVX-512
// kernel's batch invariance allows).
std::vector<Shape> dcgan_shapes() {
  return {
      {"G2 fwd   (convT dgrad) 128x49x1024 NN", false, false, 128, 49, 1024},
      {"G2 dgrad (convT fwd) 1024x49x128 TN", true, false, 1024, 49, 128},
      {"G2 wgrad 128x1024x147 NT", false, true, 128, 1024, 147},
      {"D2 fwd   64x49x512 NN", false, false, 64, 49, 512},
      {"D2 dgrad 512x49x64 TN", true, false, 512, 49, 64},
      {"D2 wgrad 64x512x147 NT", false, true, 64, 512, 147},
      {"G3 fwd   (convT dgrad) 64x196x16 NN", false, false, 64, 196, 16},
      {"G3 dgrad (convT fwd) 16x196x64 TN", true, false, 16, 196, 64},
      {"G3 wgrad 64x16x196 NT", false, true, 64, 16, 196},
      {"D1 fwd   32x196x16 NN", false, false, 32, 196, 16},
      {"D1 dgrad 16x196x32 TN", true, false, 16, 196, 32},
      {"D1 wgrad 32x16x196 NT", false, true, 32, 16, 196},
      {"G1 wgrad (dense) 100x6272x64 TN", true, false, 100, 6272, 64},
      {"G1 dgrad (dense, convT fwd) 6272x1x100 TN", true, false, 6272, 1, 100},
      {"G2 fwd, 8 samples 128x392x1024 NN", false, false, 128, 392, 1024},
      {"G2 dgrad, 8 samples 1024x392x128 TN", true, false, 1024, 392, 128},
      {"D2 fwd, 8 samples 64x392x512 NN", false, false, 64, 392, 512},
      {"D2 dgrad, 8 samples 512x392x64 TN", true, false, 512, 392, 64},
      {"G3 dgrad, 2 samples 16x392x64 TN", true, false, 16, 392, 64},
      {"G1 dgrad, 64 samples (dense) 64x6272x100 NN", false, false, 64, 6272, 100},
      {"G1 fwd, 64 samples (dense) 64x100x6272 NT", false, true, 64, 100, 6272},
      {"G2 fwd, 64 samples 128x3136x1024 NN", false, false, 128, 3136, 1024},
      {"square 512x512x512 NN", false, false, 512, 512, 512},
  };
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"gantry's AVX-512 SGEMM against Eigen on the DCGAN conv GEMM shapes"};
  int repeats = 7;
  std::string only;
  app.add_option("--repeats", repeats, "samples per kernel and shape (best is reported)");
  app.add_option("--only", only, "only the shapes whose name contains this");
  CLI11_PARSE(app, argc, argv);

  namespace cpu = gantry::kernels::cpu;
  Eigen::setNbThreads(1);  // one thread for both (ours is serial)
  std::printf("machine: %s, threads 1 (the kernels are serial)\n", gantry::bench::cpu_model().c_str());
  if (!cpu::sgemm_avx512_supported()) {
    std::printf("this CPU has no AVX-512F/FMA: nothing to compare\n");
    return 0;
  }
  const double peak = fma_peak_gflops();
  std::printf("FMA peak (24 independent zmm vfmadd chains, best of 5): %.1f GFLOP/s\n", peak);
  std::printf("%-44s %9s %9s %7s %12s %12s %9s\n", "shape (m x n x k)", "eigen", "ours", "ours/", "eigen spread",
              "ours spread", "max diff");
  std::printf("%-44s %9s %9s %7s %12s %12s %9s\n", "", "GFLOP/s", "GFLOP/s", "eigen", "worst/best", "worst/best", "");
  for (const Shape& s : dcgan_shapes()) {
    if (!only.empty() && s.name.find(only) == std::string::npos) continue;
    const int64_t lda = s.trans_a ? s.m : s.k, ldb = s.trans_b ? s.k : s.n;
    const std::vector<float> a = random_floats((size_t)(s.m * s.k), 1), b = random_floats((size_t)(s.k * s.n), 2);
    std::vector<float> c_eigen((size_t)(s.m * s.n)), c_ours((size_t)(s.m * s.n));
    auto call = [&](SgemmKernel kernel, std::vector<float>& c) {
      cpu::sgemm(s.trans_a, s.trans_b, s.m, s.n, s.k, a.data(), lda, b.data(), ldb, c.data(), s.n, false, kernel);
    };
    call(SgemmKernel::kEigen, c_eigen);
    call(SgemmKernel::kAvx512, c_ours);
    double diff = 0;
    for (size_t i = 0; i < c_ours.size(); ++i)
      diff = std::max(diff, std::abs((double)c_ours[i] - c_eigen[i]) / (1 + std::abs((double)c_eigen[i])));
    const double flops = 2.0 * s.m * s.n * s.k;
    const int inner = std::max(1, (int)(0.02 / (flops / 50e9)));  // ~20 ms a sample at 50 GFLOP/s
    std::vector<double> eigen_s, ours_s;
    for (int r = 0; r < repeats; ++r)
      for (int which = 0; which < 2; ++which) {
        const SgemmKernel kernel = which == 0 ? SgemmKernel::kEigen : SgemmKernel::kAvx512;
        std::vector<float>& c = which == 0 ? c_eigen : c_ours;
        const double t0 = thread_seconds();
        for (int i = 0; i < inner; ++i) call(kernel, c);
        (which == 0 ? eigen_s : ours_s).push_back((thread_seconds() - t0) / inner);
      }
    std::sort(eigen_s.begin(), eigen_s.end());
    std::sort(ours_s.begin(), ours_s.end());
    const double eigen_g = flops / eigen_s.front() / 1e9, ours_g = flops / ours_s.front() / 1e9;
    std::printf("%-44s %9.1f %9.1f %7.2f %12.2f %12.2f %9.1e\n", s.name.c_str(), eigen_g, ours_g, ours_g / eigen_g,
                eigen_s.back() / eigen_s.front(), ours_s.back() / ours_s.front(), diff);
  }
  return 0;
}
