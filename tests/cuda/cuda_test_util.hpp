// tests/cuda/cuda_test_util.hpp — shared by the cuda device's tests: they run on the
// emulator (GANTRY_CUDA=emu) or on a real GPU, and say plainly that they were skipped
// on a real build without one.
#pragma once
#include <doctest/doctest.h>

#include <cstdio>

#include "kernels/cuda/cuda_compat.cuh"

namespace gantry::testing {

inline bool have_cuda_device() {
  int count = 0;
  if (cudaGetDeviceCount(&count) != cudaSuccess || count == 0) {
    cudaGetLastError();
    std::printf("SKIPPED: no CUDA device found, so this cuda test did not run (it runs on the emulator or a GPU)\n");
    return false;
  }
  return true;
}

}  // namespace gantry::testing
