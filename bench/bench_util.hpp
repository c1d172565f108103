// bench/bench_util.hpp — the pieces of bench/kernels.cpp that are not about one kernel:
// device buffers, cudaEvent timing (median of repeats), the result table and its CSV,
// and the check of a device output against the cpu kernels. Only for builds with a cuda
// device (GANTRY_HAS_CUDA): the emulator or a GPU.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "bench/random.hpp"
#include "kernels/cuda/cuda_compat.cuh"

namespace gantry::bench {

// A device array of floats, freed on scope exit.
struct DeviceArray {
  float* ptr = nullptr;
  size_t count = 0;
  explicit DeviceArray(size_t n) : count(n) { CUDA_CHECK(cudaMalloc(&ptr, std::max<size_t>(n, 1) * sizeof(float))); }
  explicit DeviceArray(const std::vector<float>& host) : DeviceArray(host.size()) {
    CUDA_CHECK(cudaMemcpy(ptr, host.data(), count * sizeof(float), cudaMemcpyHostToDevice));
  }
  ~DeviceArray() { cudaFree(ptr); }
  DeviceArray(const DeviceArray&) = delete;
  DeviceArray& operator=(const DeviceArray&) = delete;
  std::vector<float> to_host() const {
    std::vector<float> v(count);
    CUDA_CHECK(cudaDeviceSynchronize());
    CUDA_CHECK(cudaMemcpy(v.data(), ptr, count * sizeof(float), cudaMemcpyDeviceToHost));
    return v;
  }
  operator float*() const { return ptr; }
};

// Median milliseconds of one call of `run`, by cudaEvents on the default stream. Two
// untimed calls first (cuDNN chooses its algorithm on the first); then each of `repeats`
// samples times `inner` calls back to back, inner chosen so a sample lasts about 1 ms
// (event resolution is ~0.5 us), so short kernels are not timed as launch overhead.
inline double median_ms(const std::function<void()>& run, int repeats, bool calibrate = true) {
  cudaEvent_t start, stop;
  CUDA_CHECK(cudaEventCreate(&start));
  CUDA_CHECK(cudaEventCreate(&stop));
  auto sample = [&](int inner) {
    CUDA_CHECK(cudaEventRecord(start, nullptr));
    for (int i = 0; i < inner; ++i) run();
    CUDA_CHECK(cudaEventRecord(stop, nullptr));
    CUDA_CHECK(cudaEventSynchronize(stop));
    float ms = 0;
    CUDA_CHECK(cudaEventElapsedTime(&ms, start, stop));
    return (double)ms;
  };
  sample(1);
  const double first = sample(1);
  const int inner = calibrate ? std::clamp((int)(1.0 / std::max(first, 1e-4)), 1, 1000) : 1;
  std::vector<double> ms;
  for (int r = 0; r < repeats; ++r) ms.push_back(sample(inner) / inner);
  cudaEventDestroy(start), cudaEventDestroy(stop);
  std::sort(ms.begin(), ms.end());
  return ms[ms.size() / 2];
}

// Worst |got - want| / (1 + |want|) over the arrays (NaN if any value is NaN or the sizes differ).
inline double max_rel_error(const std::vector<float>& got, const std::vector<float>& want) {
  if (got.size() != want.size()) return NAN;
  double worst = 0;
  for (size_t i = 0; i < got.size(); ++i) {
    const double e = std::abs((double)got[i] - want[i]) / (1 + std::abs((double)want[i]));
    if (!(e <= worst)) worst = e;  // NaN propagates
  }
  return worst;
}

// One kernel at one size: our time, and the peer's (cuDNN, cuBLAS) when it ran.
struct Row {
  std::string kernel, shape;
  bool flops = true;  // work is floating-point operations (else bytes read + written)
  double work = 0;
  double ms = NAN;
  std::string peer;  // "" when there is none in this build
  double peer_ms = NAN;
  std::string check;  // "ok 3e-07", "FAIL 2e-02", "-" when not checked
};

inline Row make_row(std::string kernel, std::string shape, bool flops, double work, std::string peer = "") {
  Row r;
  r.kernel = std::move(kernel), r.shape = std::move(shape), r.flops = flops, r.work = work, r.peer = std::move(peer);
  return r;
}

// The denominators of "% of roofline": measured on the device in this run, or NaN.
struct Roofline {
  double gflops = NAN;  // cublasSgemm 4096^3, float32 without TF32
  double gbs = NAN;     // cudaMemcpy device to device, (read + written) bytes / s
};

inline double rate(const Row& r, double ms) { return r.work / (ms * 1e6); }  // GFLOP/s or GB/s
inline std::string fmt(const char* f, double v) {
  if (std::isnan(v)) return "-";
  char buf[64];
  std::snprintf(buf, sizeof buf, f, v);
  return buf;
}
inline std::string unit(const Row& r) { return r.flops ? "GFLOP/s" : "GB/s"; }
inline double percent(const Row& r, const Roofline& roof) {
  return 100 * rate(r, r.ms) / (r.flops ? roof.gflops : roof.gbs);
}

// rates = false (the emulator) leaves the rate columns blank: an emulator's GB/s mean nothing.
inline void print_table(const std::vector<Row>& rows, const Roofline& roof, bool rates = true) {
  std::printf("%-30s %-40s %10s %10s %-7s %6s | %-7s %10s %10s %8s | %s\n", "kernel", "shape", "ms", "rate", "unit",
              "%roof", "peer", "peer ms", "peer rate", "ms/peer", "check");
  for (const Row& r : rows)
    std::printf("%-30s %-40s %10s %10s %-7s %6s | %-7s %10s %10s %8s | %s\n", r.kernel.c_str(), r.shape.c_str(),
                fmt("%.4f", r.ms).c_str(), fmt("%.1f", rates ? rate(r, r.ms) : NAN).c_str(), unit(r).c_str(),
                fmt("%.1f", percent(r, roof)).c_str(), r.peer.empty() ? "-" : r.peer.c_str(),
                fmt("%.4f", r.peer_ms).c_str(), fmt("%.1f", rate(r, r.peer_ms)).c_str(),
                fmt("%.2f", r.ms / r.peer_ms).c_str(), r.check.c_str());
}

inline void write_csv(const std::string& path, const std::vector<Row>& rows, const Roofline& roof,
                      const std::string& device) {
  std::ofstream f(path);
  if (!f) throw std::runtime_error("bench_kernels: cannot write " + path);
  f << "device,kernel,shape,ms,rate,unit,percent_of_roofline,peer,peer_ms,peer_rate,ms_over_peer_ms,check\n";
  auto num = [](double v) { return std::isnan(v) ? std::string() : fmt("%.6g", v); };
  for (const Row& r : rows)
    f << '"' << device << "\"," << r.kernel << ",\"" << r.shape << "\"," << num(r.ms) << ',' << num(rate(r, r.ms))
      << ',' << unit(r) << ',' << num(percent(r, roof)) << ',' << r.peer << ',' << num(r.peer_ms) << ','
      << num(rate(r, r.peer_ms)) << ',' << num(r.ms / r.peer_ms) << ",\"" << r.check << "\"\n";
}

}  // namespace gantry::bench
