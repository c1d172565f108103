// bench/step_report.hpp — what every training-step bench prints about the machine and the
// process, measured the same way as bench/peers/step_timer.py does for the PyTorch peer:
// the CPU model (/proc/cpuinfo), the thread count, this machine's own float32 GEMM rate
// (a 512^3 Eigen sgemm, median of 5 after a warm-up, on the threads the step uses) and
// the process's peak resident set (getrusage ru_maxrss, i.e. VmHWM, in MiB), and the CPU
// time per timed step (getrusage user + system).
#pragma once
#include <sys/resource.h>

#include <Eigen/Core>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "core/profile.hpp"

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

// Float32 GFLOP/s of C = A B at n x n x n through Eigen's blocked product (2 n^3 flops),
// median of 5 timed products after one untimed; Eigen follows OpenMP's team size.
inline double gemm_probe_gflops(int n = 512) {
  using M = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  M a = M::Random(n, n), b = M::Random(n, n), c(n, n);
  c.noalias() = a * b;
  std::vector<double> s;
  for (int r = 0; r < 5; ++r) {
    auto t0 = std::chrono::steady_clock::now();
    c.noalias() = a * b;
    s.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  std::sort(s.begin(), s.end());
  volatile float sink = c(0, 0);
  (void)sink;
  return 2.0 * n * n * n / s[2] / 1e9;
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

// The machine line: "machine: CPU, threads T, sgemm 512^3 G GFLOP/s (eigen)". Call it
// before the timed steps (the probe's buffers are 3 MiB, far below any step's RSS).
inline void print_machine(int threads) {
  std::printf("machine gantry: %s, threads %d, sgemm 512^3 %.1f GFLOP/s (eigen)\n", cpu_model().c_str(), threads,
              gemm_probe_gflops());
}

// The line bench/run_step_pair.sh reads: "RESULT gantry <median ms> <peak RSS MiB> <CPU ms per step>".
inline void print_result(double median_ms, double cpu_ms_per_step) {
  std::printf("RESULT gantry %.4f %.1f %.4f\n", median_ms, peak_rss_mib(), cpu_ms_per_step);
}

// --profile N: N more steps after the timed ones, every kernel entry, elementwise functor
// and backward rule timed by name (core/profile.hpp), printed as a table sorted by self time
// per step, with the steps' wall time beside the summed self times (what is left is code
// outside any timed scope: the autograd walk, shape checks, the trainer's own glue).
template <class Step>
void print_profile(int steps, Step step) {
  if (steps <= 0) return;
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
