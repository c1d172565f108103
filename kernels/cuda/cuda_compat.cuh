// kernels/cuda/cuda_compat.cuh — the one header every kernels/cuda/*.cu includes.
// With GANTRY_CUDA=real it is the CUDA runtime and, in .cu files under nvcc,
// launch() is <<<>>>; with GANTRY_CUDA=emu (GANTRY_CUDA_EMU defined) every file is
// compiled by the host compiler against the emulator (kernels/emu).
// Kernels use only what is here: launch(), DYNAMIC_SHARED, CUDA_CHECK.
#pragma once
#include <cstdio>
#include <tuple>
#include <stdexcept>
#include <string>
#include <utility>

#if !defined(GANTRY_CUDA_EMU)  // GANTRY_CUDA=real: nvcc for .cu files, the real cudart for host code
#include <cuda_runtime.h>
#if defined(__CUDACC__)
// Dynamic shared memory, typed: one untyped extern array, viewed as T.
#define DYNAMIC_SHARED(T, name)                                    \
  extern __shared__ __align__(16) unsigned char gantry_smem_raw[]; \
  T* name = reinterpret_cast<T*>(gantry_smem_raw)

template <class... KArgs, class... Args>
cudaError_t launch(void (*kernel)(KArgs...), dim3 grid, dim3 block, size_t smem, cudaStream_t stream, Args&&... args) {
  kernel<<<grid, block, smem, stream>>>(std::forward<Args>(args)...);
  return cudaGetLastError();
}
#endif
#else  // GANTRY_CUDA=emu: the host compiler and the emulator
#include "kernels/emu/emu.hpp"
#define DYNAMIC_SHARED(T, name) T* name = static_cast<T*>(::gantry::emu::dynamic_shared())

// Runs kernel over the grid on the emulator; the arguments are converted to the
// kernel's parameter types once, as a launch copies them to the device.
template <class... KArgs, class... Args>
cudaError_t launch(void (*kernel)(KArgs...), dim3 grid, dim3 block, size_t smem, cudaStream_t stream, Args&&... args) {
  (void)stream;
  auto body = [kernel, params = std::tuple<std::decay_t<KArgs>...>(std::forward<Args>(args)...)]() {
    std::apply(kernel, params);
  };
  return ::gantry::emu::run_grid(reinterpret_cast<const void*>(kernel), body, grid, block, smem);
}
#endif

namespace gantry::cuda {
// The one error type of kernels/cuda: thrown by CUDA_CHECK (a failed CUDA call or launch),
// CUDNN_CHECK, and KERNEL_CHECK (a launcher's argument check: a version out of range,
// a shape a kernel cannot take); its text holds the failing expression and file:line.
struct CudaError : std::runtime_error {
  using std::runtime_error::runtime_error;
};
// What the emulator knows beyond the error code (which thread deadlocked, ...).
inline std::string error_detail(cudaError_t e) {
#if !defined(GANTRY_CUDA_EMU)
  (void)e;
  return "";
#else
  return e == cudaErrorLaunchFailure || e == cudaErrorInvalidConfiguration || e == cudaErrorInvalidValue
             ? " (" + ::gantry::emu::last_error_message() + ")"
             : "";
#endif
}
}  // namespace gantry::cuda

#define CUDA_CHECK(expr)                                                                                    \
  do {                                                                                                      \
    const cudaError_t gantry_err_ = (expr);                                                                 \
    if (gantry_err_ != cudaSuccess)                                                                         \
      throw ::gantry::cuda::CudaError(std::string(#expr) + " failed: " + cudaGetErrorString(gantry_err_) +  \
                                      ::gantry::cuda::error_detail(gantry_err_) + " at " + __FILE__ + ":" + \
                                      std::to_string(__LINE__));                                            \
  } while (0)

// A launcher's argument check: throws CudaError "<what> (`cond` is false at file:line)".
#define KERNEL_CHECK(cond, what)                                                                          \
  do {                                                                                                    \
    if (!(cond))                                                                                          \
      throw ::gantry::cuda::CudaError(std::string(what) + " (`" #cond "` is false at " + __FILE__ + ":" + \
                                      std::to_string(__LINE__) + ")");                                    \
  } while (0)
