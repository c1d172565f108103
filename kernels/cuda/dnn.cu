// kernels/cuda/dnn.cu — cuDNN's stand-ins in a build without cuDNN (GANTRY_HAVE_CUDNN
// undefined): cudnn_available() is false and the kernels::cudnn functions throw. Whether
// the ops use cuDNN is KernelVersions::cudnn (kernels/cuda/versions.hpp).
// The cuDNN calls themselves live in kernels/cuda/cudnn.cu (GANTRY_CUDA=real only).
#include <string>

#include "kernels/cuda/dnn.cuh"

namespace gantry::kernels::cuda {

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
size_t conv2d_forward_workspace(const Conv2dShape&) { absent("conv2d_forward_workspace"); }
size_t conv2d_backward_input_workspace(const Conv2dShape&) { absent("conv2d_backward_input_workspace"); }
size_t conv2d_backward_weight_workspace(const Conv2dShape&) { absent("conv2d_backward_weight_workspace"); }
void conv2d_forward(float*, const float*, const float*, const float*, const Conv2dShape&, void*, size_t) {
  absent("conv2d_forward");
}
void conv2d_backward_input(float*, const float*, const float*, const Conv2dShape&, void*, size_t) {
  absent("conv2d_backward_input");
}
void conv2d_backward_weight(float*, const float*, const float*, const Conv2dShape&, void*, size_t) {
  absent("conv2d_backward_weight");
}
void conv2d_forward(float*, const float*, const float*, const float*, const Conv2dShape&) { absent("conv2d_forward"); }
void conv2d_backward_input(float*, const float*, const float*, const Conv2dShape&) { absent("conv2d_backward_input"); }
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
void batch_norm_backward(float*, float*, float*, const float*, const float*, const float*, const float*, const float*,
                         const BatchNormShape&) {
  absent("batch_norm_backward");
}
}  // namespace gantry::kernels::cudnn
#endif
