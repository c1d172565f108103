// core/ops/registry.cpp — every op of core/ops.hpp by name, with the backends it runs on
// and how many times it can be differentiated. The harness (tests/cuda/test_parity.cpp)
// walks it: each op marked cuda against the cpu (failing, naming the op, when it has no
// case), each differentiable op by gradcheck in float64 and each twice-differentiable one
// by gradgradcheck, and prints every op's coverage.
#include "core/ops.hpp"

namespace gantry {

const std::vector<OpInfo>& op_registry() {
  constexpr unsigned kCpuCuda = OpInfo::kCpu | OpInfo::kCuda;
  constexpr int kNoGrad = 0, kGrad = 1, kGradGrad = 2;
  static const std::vector<OpInfo> ops = {
      // elementwise (kernels/cuda/elementwise.cu)
      {"add", kCpuCuda, kGradGrad}, {"sub", kCpuCuda, kGradGrad}, {"mul", kCpuCuda, kGradGrad},
      {"div", kCpuCuda, kGradGrad}, {"minimum", kCpuCuda, kGradGrad}, {"maximum", kCpuCuda, kGradGrad},
      {"add_scalar", kCpuCuda, kGradGrad}, {"mul_scalar", kCpuCuda, kGradGrad}, {"neg", kCpuCuda, kGradGrad},
      {"pow", kCpuCuda, kGradGrad}, {"sqrt", kCpuCuda, kGradGrad}, {"rsqrt", kCpuCuda, kGradGrad},
      {"exp", kCpuCuda, kGradGrad}, {"log", kCpuCuda, kGradGrad}, {"abs", kCpuCuda, kGradGrad},
      {"sign", kCpuCuda, kNoGrad}, {"clamp", kCpuCuda, kGradGrad}, {"where", kCpuCuda, kGradGrad},
      {"eq", kCpuCuda, kNoGrad}, {"ne", kCpuCuda, kNoGrad}, {"lt", kCpuCuda, kNoGrad},
      {"le", kCpuCuda, kNoGrad}, {"gt", kCpuCuda, kNoGrad}, {"ge", kCpuCuda, kNoGrad},
      {"relu", kCpuCuda, kGradGrad}, {"leaky_relu", kCpuCuda, kGradGrad}, {"leaky_relu_backward", kCpuCuda, kGradGrad},
      {"sigmoid", kCpuCuda, kGradGrad}, {"tanh", kCpuCuda, kGradGrad}, {"softplus", kCpuCuda, kGradGrad},
      // reductions (kernels/cuda/reduce.cu; mean, var, norm, sum_to are compositions)
      {"sum", kCpuCuda, kGradGrad}, {"mean", kCpuCuda, kGradGrad}, {"var", kCpuCuda, kGradGrad},
      {"max", kCpuCuda, kGradGrad}, {"argmax", kCpuCuda, kNoGrad}, {"norm", kCpuCuda, kGradGrad},
      {"sum_to", kCpuCuda, kGradGrad},
      // views and data movement (kernels/cuda/fill_copy.cu)
      {"reshape", kCpuCuda, kGradGrad}, {"view", kCpuCuda, kGradGrad}, {"flatten", kCpuCuda, kGradGrad},
      {"narrow", kCpuCuda, kGradGrad}, {"narrow_backward", kCpuCuda, kGradGrad}, {"select", kCpuCuda, kGradGrad},
      {"squeeze", kCpuCuda, kGradGrad}, {"unsqueeze", kCpuCuda, kGradGrad}, {"transpose", kCpuCuda, kGradGrad},
      {"permute", kCpuCuda, kGradGrad}, {"expand", kCpuCuda, kGradGrad}, {"contiguous", kCpuCuda, kGradGrad},
      {"clone", kCpuCuda, kGradGrad}, {"to_dtype", kCpuCuda, kGrad}, {"to_device", kCpuCuda, kGradGrad},
      {"cat", kCpuCuda, kGradGrad}, {"stack", kCpuCuda, kGradGrad},
      // softmax and losses (log_softmax: kernels/cuda/reduce.cu; the losses are compositions)
      {"log_softmax", kCpuCuda, kGradGrad}, {"softmax", kCpuCuda, kGradGrad}, {"bce_with_logits", kCpuCuda, kGradGrad},
      {"mse_loss", kCpuCuda, kGradGrad}, {"l1_loss", kCpuCuda, kGradGrad}, {"cross_entropy", kCpuCuda, kGradGrad},
      // matmul and linear go through kernels/cuda/gemm.cu, conv through kernels/cuda/conv.cu,
      // batch_norm through kernels/cuda/batchnorm.cu (layer_norm and instance_norm reuse it)
      {"matmul", kCpuCuda, kGradGrad}, {"linear", kCpuCuda, kGradGrad}, {"conv2d", kCpuCuda, kGradGrad},
      {"conv_transpose2d", kCpuCuda, kGradGrad}, {"conv2d_backward_weight", kCpuCuda, kGradGrad}, {"batch_norm", kCpuCuda, kGradGrad},
      {"layer_norm", kCpuCuda, kGradGrad}, {"instance_norm", kCpuCuda, kGradGrad}, {"pad2d", kCpuCuda, kGradGrad},
      {"upsample_nearest2d", kCpuCuda, kGradGrad}, {"embedding", kCpuCuda, kGradGrad}, {"one_hot", kCpuCuda, kNoGrad},
      // penalties (kernels/cuda/penalty.cu)
      {"gradient_penalty", kCpuCuda, kGradGrad},
      // modulated convolution (kernels/cuda/modconv.cu; modulated_conv2d and modulation_demod are
      // compositions) and upfirdn2d (kernels/cuda/upfirdn.cu)
      {"modulated_conv2d", kCpuCuda, kGradGrad}, {"modulation_demod", kCpuCuda, kGradGrad}, {"modconv2d", kCpuCuda, kGradGrad},
      {"modconv2d_backward_input", kCpuCuda, kGradGrad}, {"modconv2d_backward_weight", kCpuCuda, kGradGrad}, {"upfirdn2d", kCpuCuda, kGradGrad},
  };
  return ops;
}

}  // namespace gantry
