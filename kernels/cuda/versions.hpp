// kernels/cuda/versions.hpp — which kept version of each cuda kernel the ops run: one
// named default per op, in this one header, overridden only by bench_kernels and tests.
// Every kept version is built and tested (tests/cuda run each one by number); the
// tables of versions are in the kernel files and docs/kernels/.
#pragma once

namespace gantry::kernels::cuda {

// cuBLAS as the SGEMM (cublasSgemmStridedBatched), real GPU build only: cuBLAS cannot
// run on the emulator, which is why the hand-written versions 1..3 exist.
constexpr int kGemmCublas = 4;
constexpr int kGemmVersions = 3;        // hand-written SGEMM: versions 1..3 (gemm.cu)
constexpr int kConvVersions = 2;        // conv forward and backward-input: versions 1..2 (conv.cu)
constexpr int kConvWeightVersions = 3;  // conv backward-weight: versions 1..3 (conv_backward.cu)
constexpr int kBatchNormVersions = 2;   // batch-norm training forward and backward: 1..2 (batchnorm.cu)

// The versions the ops run. The member initializers are the defaults, named per op.
struct KernelVersions {
#if defined(GANTRY_CUDA_EMU)
  int gemm = 3;  // the best hand-written SGEMM (cuBLAS cannot be emulated)
#else
  int gemm = kGemmCublas;
#endif
  int conv_forward = 2;
  int conv_backward_input = 2;  // also conv_transpose2d's forward
  int conv_backward_weight = 3;
  int batch_norm = 2;  // the training forward and the backward
  // conv2d, conv_transpose2d and batch_norm through cuDNN instead of gantry's kernels
  // (GANTRY_CUDA=real built with cuDNN only).
  bool cudnn = false;
};

// The versions the ops run now: KernelVersions{} unless bench_kernels or a test set others.
const KernelVersions& kernel_versions();
// Makes the ops run `v` and returns the versions they ran before; for bench_kernels and
// tests only (library code never calls it), and not while ops run on another thread.
// Throws cuda::CudaError naming the field for a version that is not kept, or for cudnn
// in a build without cuDNN, and then changes nothing.
KernelVersions set_kernel_versions(const KernelVersions& v);
// Whether this build links cuDNN (GANTRY_CUDA=real with GANTRY_CUDNN=ON).
bool cudnn_available();

}  // namespace gantry::kernels::cuda
