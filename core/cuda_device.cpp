// core/cuda_device.cpp — the caching allocator and cross-device copies. Built with
// GANTRY_CUDA=emu or real (CMakeLists.txt); GANTRY_CUDA=off builds core/cuda_device_off.cpp instead.
#include "core/cuda_device.hpp"

#include <map>
#include <mutex>
#include <vector>

#include "core/error.hpp"
#include "kernels/cuda/cuda_compat.cuh"

namespace gantry::cuda_device {

namespace {

constexpr size_t kRound = 512;  // blocks are cached by size rounded up to this

struct Cache {
  std::mutex m;
  std::map<size_t, std::vector<void*>> free;  // rounded size -> cached blocks
  Stats stats;
  // At exit the cached blocks go back to the driver, so leak checkers see only real
  // leaks. On a GPU the runtime may already be unloading then; its error is ignored.
  ~Cache() {
    for (auto& [size, blocks] : free)
      for (void* b : blocks) cudaFree(b);
    cudaGetLastError();
  }
};
Cache& cache() {
  static Cache c;
  return c;
}

size_t rounded(size_t bytes) { return (std::max<size_t>(bytes, 1) + kRound - 1) / kRound * kRound; }

void check(cudaError_t e, const char* what, size_t bytes) {
  if (e != cudaSuccess)
    throw Error(detail::concat("cuda: ", what, " of ", bytes, " bytes failed: ", cudaGetErrorString(e),
                               gantry::cuda::error_detail(e)));
}

}  // namespace

bool available() {
  int n = 0;
  const bool ok = cudaGetDeviceCount(&n) == cudaSuccess && n > 0;
  if (!ok) cudaGetLastError();
  return ok;
}

void* allocate(size_t bytes) {
  Cache& c = cache();
  const size_t size = rounded(bytes);
  std::lock_guard<std::mutex> g(c.m);
  void* p = nullptr;
  auto it = c.free.find(size);
  if (it != c.free.end() && !it->second.empty()) {
    p = it->second.back();
    it->second.pop_back();
    c.stats.cached_bytes -= (int64_t)size;
#if GANTRY_CUDA_EMU
    // On the emulator a reused block is refilled with NaN bytes, as cudaMalloc's fresh
    // memory is, so an op that leaves part of its output unwritten shows it.
    cudaMemset(p, 0xFF, size);
#endif
  } else {
    if (cudaMalloc(&p, size) != cudaSuccess) {
      cudaGetLastError();
      for (auto& [s, blocks] : c.free)  // give the cache back and try once more
        for (void* b : blocks) cudaFree(b);
      c.free.clear();
      c.stats.cached_bytes = 0;
      check(cudaMalloc(&p, size), "cudaMalloc", size);
    }
  }
  c.stats.current_bytes += (int64_t)size;
  c.stats.peak_bytes = std::max(c.stats.peak_bytes, c.stats.current_bytes);
  return p;
}

void release(void* p, size_t bytes) {
  if (!p) return;
  Cache& c = cache();
  const size_t size = rounded(bytes);
  std::lock_guard<std::mutex> g(c.m);
  c.free[size].push_back(p);
  c.stats.current_bytes -= (int64_t)size;
  c.stats.cached_bytes += (int64_t)size;
}

Stats stats() {
  std::lock_guard<std::mutex> g(cache().m);
  return cache().stats;
}

void reset_peak() {
  std::lock_guard<std::mutex> g(cache().m);
  cache().stats.peak_bytes = cache().stats.current_bytes;
}

void empty_cache() {
  Cache& c = cache();
  std::lock_guard<std::mutex> g(c.m);
  for (auto& [s, blocks] : c.free)
    for (void* b : blocks) cudaFree(b);
  c.free.clear();
  c.stats.cached_bytes = 0;
}

void copy(void* dst, Device to, const void* src, Device from, size_t bytes) {
  if (bytes == 0) return;
  const cudaMemcpyKind kind = to.is_cpu() ? (from.is_cpu() ? cudaMemcpyHostToHost : cudaMemcpyDeviceToHost)
                                          : (from.is_cpu() ? cudaMemcpyHostToDevice : cudaMemcpyDeviceToDevice);
  check(cudaMemcpy(dst, src, bytes, kind), "cudaMemcpy", bytes);
}

}  // namespace gantry::cuda_device
