// core/cuda_device.cpp — the cuda device's caching allocator (core/block_cache.hpp over
// cudaMalloc) and cross-device copies. Built with GANTRY_CUDA=emu or real (CMakeLists.txt);
// GANTRY_CUDA=off builds core/cuda_device_off.cpp instead.
#include "core/cuda_device.hpp"

#include "core/block_cache.hpp"
#include "core/error.hpp"
#include "kernels/cuda/cuda_compat.cuh"

namespace gantry::cuda_device {

namespace {

constexpr size_t kRound = 512;  // blocks are cached by size rounded up to this
size_t rounded(size_t bytes) { return (bytes + kRound - 1) / kRound * kRound; }

// The raw allocator under the cache: cudaMalloc, its error kept for the message.
cudaError_t g_last_malloc_error = cudaSuccess;
void* raw_allocate(size_t bytes) {
  void* p = nullptr;
  g_last_malloc_error = cudaMalloc(&p, bytes);
  if (g_last_malloc_error == cudaSuccess) return p;
  cudaGetLastError();
  return nullptr;
}
void raw_release(void* p) { cudaFree(p); }

// At exit the cached blocks go back to the driver, so leak checkers see only real leaks.
// On a GPU the runtime may already be unloading then; its error is ignored. The cache's cap:
// the most live bytes ever (min_cached 0).
struct Cache {
  detail::BlockCache blocks{{raw_allocate, raw_release}, kRound, 0, true};
  ~Cache() {
    blocks.empty();
    cudaGetLastError();
  }
};
detail::BlockCache& cache() {
  static Cache c;
  return c.blocks;
}

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
  bool reused = false;
  void* p = cache().allocate(bytes, &reused);
  if (!p) check(g_last_malloc_error, "cudaMalloc", rounded(bytes));
#if GANTRY_CUDA_EMU
  // On the emulator a reused block is refilled with NaN bytes, as cudaMalloc's fresh
  // memory is, so an op that leaves part of its output unwritten shows it.
  if (reused) cudaMemset(p, 0xFF, rounded(bytes));
#endif
  return p;
}

void release(void* p, size_t bytes) { cache().release(p, bytes); }

Stats stats() {
  const detail::BlockCache::Stats s = cache().stats();
  return {s.current_bytes, s.peak_bytes, s.cached_bytes};
}

void reset_peak() { cache().reset_peak(); }

void empty_cache() { cache().empty(); }

void copy(void* dst, Device to, const void* src, Device from, size_t bytes) {
  if (bytes == 0) return;
  const cudaMemcpyKind kind = to.is_cpu() ? (from.is_cpu() ? cudaMemcpyHostToHost : cudaMemcpyDeviceToHost)
                                          : (from.is_cpu() ? cudaMemcpyHostToDevice : cudaMemcpyDeviceToDevice);
  check(cudaMemcpy(dst, src, bytes, kind), "cudaMemcpy", bytes);
}

}  // namespace gantry::cuda_device
