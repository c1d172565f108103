// kernels/cuda/dnn.cu — the run-time choice between gantry's kernels and cuDNN
// (kernels/cuda/dnn.cuh). In a build without cuDNN (GANTRY_HAVE_CUDNN undefined) the
// kernels::cudnn functions throw.
// The cuDNN calls themselves live in kernels/cuda/cudnn.cu (GANTRY_CUDA=real only).
#include <cstdlib>
#include <cstring>
#include <mutex>

#include "kernels/cuda/dnn.cuh"

namespace gantry::kernels::cuda {

namespace {
// The build, as the errors name it.
#if defined(GANTRY_CUDA_EMU)
constexpr const char* kBuild = "GANTRY_CUDA=emu";
#else
constexpr const char* kBuild = "GANTRY_CUDA=real built with GANTRY_CUDNN=OFF";
#endif
DnnImpl& current() {
  static DnnImpl impl = parse_dnn_impl(std::getenv("GANTRY_DNN"));
  return impl;
}
}  // namespace

DnnImpl parse_dnn_impl(const char* v) {
  if (!v || !*v || std::strcmp(v, "gantry") == 0) return DnnImpl::gantry;
  if (std::strcmp(v, "cudnn") == 0) {
    if (!cudnn_available())
      throw gantry::cuda::CudaError(std::string("GANTRY_DNN=cudnn: this build has no cuDNN (") + kBuild +
                               "); use GANTRY_DNN=gantry");
    return DnnImpl::cudnn;
  }
  throw gantry::cuda::CudaError(std::string("GANTRY_DNN='") + v + "': expected gantry or cudnn");
}

DnnImpl dnn_impl() { return current(); }

void set_dnn_impl(DnnImpl impl) {
  if (impl == DnnImpl::cudnn && !cudnn_available())
    throw gantry::cuda::CudaError(std::string("cuDNN was asked for, but this build has none (") + kBuild +
                             "): it runs gantry's kernels");
  current() = impl;
}

#if !defined(GANTRY_HAVE_CUDNN)
bool cudnn_available() { return false; }
#endif

}  // namespace gantry::kernels::cuda

#if !defined(GANTRY_HAVE_CUDNN)  // GANTRY_CUDA=emu, or a real build not linked to cuDNN
namespace gantry::kernels::cudnn {
namespace {
[[noreturn]] void absent(const char* fn) {
#if defined(GANTRY_CUDA_EMU)
  throw gantry::cuda::CudaError(std::string("cudnn::") + fn + ": this build has no cuDNN (GANTRY_CUDA=emu)");
#else
  throw gantry::cuda::CudaError(std::string("cudnn::") + fn + ": this build has no cuDNN (GANTRY_CUDNN=OFF)");
#endif
}
}  // namespace
void conv2d_forward(float*, const float*, const float*, const float*, const Conv2dShape&) {
  absent("conv2d_forward");
}
void conv2d_backward_input(float*, const float*, const float*, const Conv2dShape&) {
  absent("conv2d_backward_input");
}
void conv2d_backward_weight(float*, const float*, const float*, const Conv2dShape&) {
  absent("conv2d_backward_weight");
}
void batch_norm_forward_train(float*, float*, float*, float*, float*, const float*, const float*, const float*,
                              const BatchNormShape&, float, float) {
  absent("batch_norm_forward_train");
}
void batch_norm_forward_eval(float*, const float*, const float*, const float*, const float*, const float*,
                             const BatchNormShape&, float) {
  absent("batch_norm_forward_eval");
}
void batch_norm_backward(float*, float*, float*, const float*, const float*, const float*, const float*,
                         const float*, const BatchNormShape&) {
  absent("batch_norm_backward");
}
}  // namespace gantry::kernels::cudnn
#endif
