// core/cuda_device.hpp — the cuda device as core sees it: a caching allocator over
// cudaMalloc and copies between devices. Present when gantry is built with
// GANTRY_CUDA=emu (the emulator) or real (a GPU); GANTRY_HAS_CUDA says which build.
#pragma once
#include <cstddef>
#include <cstdint>

#include "core/dtype.hpp"

namespace gantry::cuda_device {

// True if this build has a cuda device and one is present (always, on the emulator).
bool available();

// Device memory of at least `bytes`, from the cache when a freed block of the same
// rounded size is there, else from cudaMalloc (emptying the cache and retrying once
// if that fails). Freed blocks go back to the cache, not to cudaFree, so training does
// not call cudaMalloc per op.
void* allocate(size_t bytes);
void release(void* p, size_t bytes);
// Bytes held by live tensors now and at peak, and bytes cached for reuse.
struct Stats {
  int64_t current_bytes = 0, peak_bytes = 0, cached_bytes = 0;
};
Stats stats();
void reset_peak();
// Returns every cached block to cudaFree.
void empty_cache();

// bytes from src (on device `from`) to dst (on device `to`); either side may be the cpu.
void copy(void* dst, Device to, const void* src, Device from, size_t bytes);

}  // namespace gantry::cuda_device
