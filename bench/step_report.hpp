// bench/step_report.hpp — what every training-step bench prints about the machine and the
// process, measured the same way as bench/peers/step_timer.py does for the PyTorch peer:
// the CPU model (/proc/cpuinfo), the thread count, this machine's own float32 GEMM rate
// (a 512^3 sgemm, the fastest of 11 after a warm-up, on the threads the step uses: gantry's own
// SGEMM, the one the step runs, and Eigen's beside it) and the process's peak resident set
// (getrusage ru_maxrss, i.e. VmHWM, in MiB), the CPU time per timed step (getrusage user +
// system), and the step's effective rate: its conv and GEMM flops, counted per kernel call
// by the profiler, over the timed step time, as a share of the sgemm probe (the higher of
// its runs before and after the timed steps).
#pragma once
#include <sys/resource.h>

#include <Eigen/Core>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "core/profile.hpp"
#include "kernels/cpu/sgemm.hpp"

namespace gantry::bench {

// "model name" of the first CPU in /proc/cpuinfo, or "unknown cpu".
inline std::string cpu_model() {
  std::ifstream f("/proc/cpuinfo");
  for (std::string line; std::getline(f, line);)
    if (line.rfind("model name", 0) == 0) {
      const auto colon = line.find(':');
      if (colon != std::string::npos) return line.substr(line.find_first_not_of(' ', colon + 1));
    }
  return "unknown cpu";
}

// The fastest of 11 timed calls of `product` after one untimed, in seconds: a machine's
// rate is its least disturbed run (a median of 5 read half the rate while a build ran).
template <class F>
double fastest_seconds(F product) {
  product();
  double best = 1e30;
  for (int r = 0; r < 11; ++r) {
    auto t0 = std::chrono::steady_clock::now();
    product();
    best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  return best;
}

// Float32 GFLOP/s of C = A B at n x n x n through Eigen's blocked product (2 n^3 flops),
// fastest_seconds; Eigen follows OpenMP's team size.
inline double eigen_probe_gflops(int n = 512) {
  using M = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  M a = M::Random(n, n), b = M::Random(n, n), c(n, n);
  const double seconds = fastest_seconds([&] { c.noalias() = a * b; });
  volatile float sink = c(0, 0);
  (void)sink;
  return 2.0 * n * n * n / seconds / 1e9;
}

// The same through the float GEMM gantry's kernels call (kernels::cpu::gemm<float>: its own
// AVX-512 SGEMM where the CPU has it, else Eigen), threaded over OpenMP's team.
inline double gemm_probe_gflops(int n = 512) {
  std::vector<float> a((size_t)n * n), b((size_t)n * n), c((size_t)n * n);
  for (size_t i = 0; i < a.size(); ++i)
    a[i] = (float)((i * 7919) % 1000) / 1000.0f - 0.5f, b[i] = a[(i * 31) % a.size()];
  const double seconds = fastest_seconds(
      [&] { kernels::cpu::gemm<float>(false, false, n, n, n, a.data(), n, b.data(), n, c.data(), n, false); });
  volatile float sink = c[0];
  (void)sink;
  return 2.0 * n * n * n / seconds / 1e9;
}

// CPU time (user + system, all threads) this process has used so far, ms. Per step it
// is steadier than wall time when other processes share the cores.
inline double process_cpu_ms() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return (u.ru_utime.tv_sec + u.ru_stime.tv_sec) * 1e3 + (u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e3;
}

// Peak resident set of this process so far, MiB (ru_maxrss is in KiB on Linux).
inline double peak_rss_mib() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return u.ru_maxrss / 1024.0;
}

// The machine line: "machine gantry: CPU, threads T, sgemm 512^3 G GFLOP/s (gantry's
// KERNEL), eigen E"; returns G. Call it before the timed steps (the probes' buffers are 3
// MiB, far below any step's RSS).
inline double print_machine(int threads) {
  const double gantry = gemm_probe_gflops(), eigen = eigen_probe_gflops();
  const bool own = kernels::cpu::sgemm_kernel() == kernels::cpu::SgemmKernel::kAvx512;
  std::printf("machine gantry: %s, threads %d, sgemm 512^3 %.1f GFLOP/s (gantry's %s), eigen %.1f\n",
              cpu_model().c_str(), threads, gantry, own ? "avx512" : "eigen", eigen);
  return gantry;
}

// The effective line: runs `steps` more steps with the profiler counting the flops of every
// conv / modconv / gemm call, and prints them per step, over the timed `step_ms`, as GFLOP/s
// and as a share of the sgemm probe (issue 12 asks for >= 50% on the DCGAN step). The probe
// runs again here, after the timed steps, and the share is of the higher of the two rates,
// `probe_before` (print_machine's) and this one: a probe disturbed at start-up (the 2-thread
// probe of a run read ~130 GFLOP/s instead of ~280 at times, printing 112-124%) only lowers
// the share, never inflates it.
template <class Step>
void print_effective_rate(double step_ms, double probe_before, int steps, Step step) {
  profile::reset();
  profile::enable(true);
  for (int i = 0; i < steps; ++i) step();
  profile::enable(false);
  const double gflop = profile::total_work() / steps / 1e9;
  profile::reset();
  const double probe_after = gemm_probe_gflops(), probe = std::max(probe_before, probe_after);
  const double rate = gflop / (step_ms * 1e-3);
  std::printf(
      "effective: %.3f GFLOP/step of conv and GEMM in %.2f ms = %.1f GFLOP/s, sgemm probe %.1f before / %.1f "
      "after the steps, %.0f%% of the higher\n",
      gflop, step_ms, rate, probe_before, probe_after, 100.0 * rate / probe);
}

// The line bench/run_step_pair.sh reads: "RESULT gantry <median ms> <peak RSS MiB> <CPU ms per step>".
inline void print_result(double median_ms, double cpu_ms_per_step) {
  std::printf("RESULT gantry %.4f %.1f %.4f\n", median_ms, peak_rss_mib(), cpu_ms_per_step);
}

// --profile N: N more steps after the timed ones, every kernel entry, elementwise functor
// and backward rule timed by name (core/profile.hpp), printed as a table sorted by self time
// per step, with the steps' wall time beside the summed self times (what is left is code
// outside any timed scope: the autograd walk, shape checks, the trainer's own glue).
// GANTRY_PROFILE_SHAPES=1 splits each conv entry by its geometry (profile::group_by_shape).
template <class Step>
void print_profile(int steps, Step step) {
  if (steps <= 0) return;
  const char* shapes = std::getenv("GANTRY_PROFILE_SHAPES");
  profile::group_by_shape(shapes && std::string(shapes) == "1");
  profile::reset();
  profile::enable(true);
  const auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < steps; ++i) step();
  const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  profile::enable(false);
  std::printf("profile over %d steps (timing adds a clock read per kernel call): %.2f ms/step wall\n", steps,
              ms / steps);
  profile::print(steps, "profile ");
}

}  // namespace gantry::bench
