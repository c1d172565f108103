// kernels/cuda/versions.cu — the kernel versions the ops run (kernels/cuda/versions.hpp):
// the defaults, and the checked override for bench_kernels and tests.
#include "kernels/cuda/versions.hpp"

#include <string>

#include "kernels/cuda/cuda_compat.cuh"

namespace gantry::kernels::cuda {

namespace {
KernelVersions& current() {
  static KernelVersions v;
  return v;
}
void check_kept(const char* field, int v, int lo, int hi) {
  KERNEL_CHECK(v >= lo && v <= hi, std::string("KernelVersions::") + field + " = " + std::to_string(v) +
                                       ": kept versions are " + std::to_string(lo) + ".." + std::to_string(hi));
}
}  // namespace

const KernelVersions& kernel_versions() { return current(); }

KernelVersions set_kernel_versions(const KernelVersions& v) {
#if defined(GANTRY_CUDA_EMU)
  check_kept("gemm", v.gemm, 1, kGemmVersions);  // cuBLAS cannot be emulated
#else
  check_kept("gemm", v.gemm, 1, kGemmCublas);
#endif
  check_kept("conv_forward", v.conv_forward, 1, kConvVersions);
  check_kept("conv_backward_input", v.conv_backward_input, 1, kConvVersions);
  check_kept("conv_backward_weight", v.conv_backward_weight, 1, kConvWeightVersions);
  check_kept("batch_norm", v.batch_norm, 1, kBatchNormVersions);
#if defined(GANTRY_CUDA_EMU)
  KERNEL_CHECK(!v.cudnn || cudnn_available(), "KernelVersions::cudnn: this build has no cuDNN (GANTRY_CUDA=emu)");
#else
  KERNEL_CHECK(!v.cudnn || cudnn_available(), "KernelVersions::cudnn: this build has no cuDNN (GANTRY_CUDNN=OFF)");
#endif
  const KernelVersions before = current();
  current() = v;
  return before;
}

}  // namespace gantry::kernels::cuda
