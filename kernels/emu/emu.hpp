// kernels/emu/emu.hpp — CUDA's device-side vocabulary for the host compiler, so
// kernels/cuda/*.cu compile unchanged with g++ and run on the CPU (GANTRY_CUDA=emu).
//
// How it runs (docs/emulator.md has the whole story):
//   grid   -> blocks handed to a persistent pool of OS threads, one block at a time each
//   block  -> all its CUDA threads on that one OS thread, each thread a fiber
//             (Boost.Context); a fiber runs until it reaches a barrier or returns
//   __syncthreads -> the fiber parks; when every live thread of the block is parked the
//             scheduler releases them all, in forward, reverse or seeded-random order
//   warp ops (__shfl_*, __ballot_sync, __syncwarp) -> a barrier over the 32 lanes of the
//             warp, with a per-warp exchange slot for the values
//   __shared__ -> static thread_local: one copy per OS thread, so per running block
//   atomics -> std::atomic_ref, since blocks run in parallel on the pool
// The toolkit's own headers give dim3, float4, cudaError_t and the runtime API's
// declarations; kernels/emu/runtime.cpp defines that API (a fake cudart).
#pragma once
#include <cuda_runtime_api.h>
#include <vector_functions.h>
#include <vector_types.h>

#include <atomic>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <functional>
#include <string>
#include <type_traits>
#include <utility>

// ---- qualifiers ---------------------------------------------------------------
#undef __host__
#undef __device__
#undef __global__
#undef __shared__
#undef __constant__
#undef __forceinline__
#undef __launch_bounds__
#undef __noinline__
#define __host__
#define __device__
#define __global__
#define __shared__ static thread_local
#define __constant__ static
#define __forceinline__ inline
#define __noinline__
#define __launch_bounds__(...)

namespace gantry::emu {

// Where the fiber that is running now stands in the grid.
struct ThreadPosition {
  uint3 thread, block;
  dim3 block_dim, grid_dim;
};
// constinit: g++ then reads it straight from %fs, with no TLS wrapper. Without it, under
// -fsanitize=null (GANTRY_SANITIZE) g++ 12 tests the wrapper's address for null with the
// flags of an `add x@gottpoff(%rip), %reg`, which ld's TLS relaxation rewrites into a `lea`
// (no flags): the test then saw the flags of the previous instruction and UBSan reported a
// "load of null pointer" at a kernel's second read of threadIdx/blockIdx (docs/reliability.md).
extern thread_local constinit ThreadPosition* current;

// Thread order within a block at each release: the emulator resumes parked threads
// in this order, so a kernel that depends on the order (a missing barrier) shows.
enum class Order { forward, reverse, random };
void set_order(Order o, uint64_t seed = 1);
Order order();
// Reads GANTRY_EMU_ORDER = forward | reverse | random[:seed] (done once at start).
void set_order_from_env();

// Barriers, called by the builtins below.
void sync_block();
void sync_warp(unsigned mask);
// Warp exchange: every lane in `mask` publishes 8 bytes and gets back lane src's.
uint64_t warp_exchange(unsigned mask, uint64_t value, int src_lane);
// All lanes in mask publish a bit; returns the ballot.
unsigned warp_ballot(unsigned mask, bool bit);

// The block's dynamic shared memory (the launch's smem bytes, filled with NaN bytes).
void* dynamic_shared();

// Runs kernel body `fn` over the grid. Returns cudaSuccess, or the error a GPU would
// give (bad configuration), or cudaErrorLaunchFailure when a thread deadlocked or
// threw (the message is in last_error_message()).
using KernelBody = std::function<void()>;
cudaError_t run_grid(const void* kernel, const KernelBody& fn, dim3 grid, dim3 block, size_t smem);
std::string last_error_message();
// Records err as cudaGetLastError's next answer.
void set_last_error(cudaError_t err);

}  // namespace gantry::emu

// ---- built-in variables ------------------------------------------------------------
#define threadIdx (::gantry::emu::current->thread)
#define blockIdx (::gantry::emu::current->block)
#define blockDim (::gantry::emu::current->block_dim)
#define gridDim (::gantry::emu::current->grid_dim)
constexpr int warpSize = 32;

// ---- synchronization ---------------------------------------------------------------
inline void __syncthreads() { ::gantry::emu::sync_block(); }
inline void __syncwarp(unsigned mask = 0xffffffffu) { ::gantry::emu::sync_warp(mask); }
inline void __threadfence() { std::atomic_thread_fence(std::memory_order_seq_cst); }
inline void __threadfence_block() { std::atomic_thread_fence(std::memory_order_seq_cst); }

// ---- warp shuffles and votes ----------------------------------------------------------
namespace gantry::emu {
inline int lane_id() {
  const auto& p = *current;
  const unsigned linear = p.thread.x + p.block_dim.x * (p.thread.y + p.block_dim.y * p.thread.z);
  return (int)(linear % 32);
}
template <class T>
T shuffle(unsigned mask, T v, int src) {
  static_assert(sizeof(T) <= 8 && std::is_trivially_copyable_v<T>, "shuffles move up to 8 bytes");
  uint64_t bits = 0;
  std::memcpy(&bits, &v, sizeof(T));
  bits = warp_exchange(mask, bits, src);
  T out;
  std::memcpy(&out, &bits, sizeof(T));
  return out;
}
}  // namespace gantry::emu

// width splits the warp into segments of `width` lanes, as on the GPU.
template <class T>
T __shfl_sync(unsigned mask, T v, int src, int width = 32) {
  const int lane = ::gantry::emu::lane_id();
  return ::gantry::emu::shuffle(mask, v, (lane / width) * width + (src % width + width) % width);
}
template <class T>
T __shfl_up_sync(unsigned mask, T v, unsigned delta, int width = 32) {
  const int lane = ::gantry::emu::lane_id(), base = (lane / width) * width;
  const int src = lane - (int)delta;
  return ::gantry::emu::shuffle(mask, v, src < base ? lane : src);  // out of the segment: own value
}
template <class T>
T __shfl_down_sync(unsigned mask, T v, unsigned delta, int width = 32) {
  const int lane = ::gantry::emu::lane_id(), base = (lane / width) * width;
  const int src = lane + (int)delta;
  return ::gantry::emu::shuffle(mask, v, src >= base + width ? lane : src);
}
template <class T>
T __shfl_xor_sync(unsigned mask, T v, int lane_mask, int width = 32) {
  const int lane = ::gantry::emu::lane_id(), base = (lane / width) * width;
  const int src = lane ^ lane_mask;
  return ::gantry::emu::shuffle(mask, v, src >= base + width ? lane : src);
}
inline unsigned __ballot_sync(unsigned mask, int pred) { return ::gantry::emu::warp_ballot(mask, pred != 0); }
inline int __any_sync(unsigned mask, int pred) { return (::gantry::emu::warp_ballot(mask, pred != 0) & mask) != 0; }
inline int __all_sync(unsigned mask, int pred) { return (::gantry::emu::warp_ballot(mask, pred == 0) & mask) == 0; }

// ---- atomics (real ones: blocks run in parallel on the pool) ----------------------------
namespace gantry::emu {
template <class T, class F>
T atomic_update(T* p, F f) {  // CAS loop: returns the old value
  std::atomic_ref<T> a(*p);
  T old = a.load();
  while (!a.compare_exchange_weak(old, f(old))) {
  }
  return old;
}
}  // namespace gantry::emu
template <class T>
T atomicAdd(T* p, T v) {
  return std::atomic_ref<T>(*p).fetch_add(v);
}
template <class T>
T atomicSub(T* p, T v) {
  return std::atomic_ref<T>(*p).fetch_sub(v);
}
template <class T>
T atomicExch(T* p, T v) {
  return std::atomic_ref<T>(*p).exchange(v);
}
template <class T>
T atomicCAS(T* p, T compare, T v) {
  std::atomic_ref<T>(*p).compare_exchange_strong(compare, v);
  return compare;  // the old value, whether or not it matched
}
template <class T>
T atomicMin(T* p, T v) {
  return ::gantry::emu::atomic_update(p, [v](T old) { return v < old ? v : old; });
}
template <class T>
T atomicMax(T* p, T v) {
  return ::gantry::emu::atomic_update(p, [v](T old) { return v > old ? v : old; });
}

// ---- math intrinsics and loads ----------------------------------------------------------
inline float __expf(float x) { return std::exp(x); }
inline float __logf(float x) { return std::log(x); }
inline float __sinf(float x) { return std::sin(x); }
inline float __cosf(float x) { return std::cos(x); }
inline float __powf(float x, float y) { return std::pow(x, y); }
inline float __fdividef(float x, float y) { return x / y; }
inline float rsqrtf(float x) { return 1.0f / std::sqrt(x); }
inline double rsqrt(double x) { return 1.0 / std::sqrt(x); }
inline float __saturatef(float x) { return x < 0 ? 0.0f : x > 1 ? 1.0f : x; }
inline float __fmaf_rn(float a, float b, float c) { return std::fma(a, b, c); }
inline int __float2int_rn(float x) { return (int)std::nearbyint(x); }
template <class T>
T __ldg(const T* p) {
  return *p;
}

// cuda_runtime.h's typed overload, so cudaMalloc(&float_ptr, n) compiles here too.
template <class T>
cudaError_t cudaMalloc(T** p, size_t bytes) {
  return ::cudaMalloc(reinterpret_cast<void**>(p), bytes);
}
