// core/ops/registry.cpp — every op of core/ops.hpp by name, with the devices it runs
// on. The cuda parity harness (tests/cuda/test_parity.cpp) checks each op marked
// cuda against the cpu and lists the others, so the gap is visible.
#include "core/ops.hpp"

namespace gantry {

const std::vector<OpInfo>& op_registry() {
  static const std::vector<OpInfo> ops = {
      // elementwise (kernels/cuda/elementwise.cu)
      {"add", true}, {"sub", true}, {"mul", true}, {"div", true}, {"minimum", true}, {"maximum", true},
      {"add_scalar", true}, {"mul_scalar", true}, {"neg", true}, {"pow", true}, {"sqrt", true}, {"rsqrt", true},
      {"exp", true}, {"log", true}, {"abs", true}, {"sign", true}, {"clamp", true}, {"where", true},
      {"eq", true}, {"ne", true}, {"lt", true}, {"le", true}, {"gt", true}, {"ge", true},
      {"relu", true}, {"leaky_relu", true}, {"leaky_relu_backward", true}, {"sigmoid", true}, {"tanh", true},
      {"softplus", true},
      // reductions (kernels/cuda/reduce.cu; mean, var, norm, sum_to are compositions)
      {"sum", true}, {"mean", true}, {"var", true}, {"max", true}, {"argmax", true}, {"norm", true},
      {"sum_to", true},
      // views and data movement (kernels/cuda/fill_copy.cu)
      {"reshape", true}, {"view", true}, {"flatten", true}, {"narrow", true}, {"narrow_backward", true},
      {"select", true}, {"squeeze", true}, {"unsqueeze", true}, {"transpose", true}, {"permute", true},
      {"expand", true}, {"contiguous", true}, {"clone", true}, {"to_dtype", true}, {"to_device", true},
      {"cat", true}, {"stack", true},
      // softmax and losses (log_softmax: kernels/cuda/reduce.cu; the losses are compositions)
      {"log_softmax", true}, {"softmax", true}, {"bce_with_logits", true}, {"mse_loss", true}, {"l1_loss", true},
      {"cross_entropy", true},
      // matmul and linear go through kernels/cuda/gemm.cu, conv through kernels/cuda/conv.cu,
      // batch_norm through kernels/cuda/batchnorm.cu (layer_norm and instance_norm reuse it)
      {"matmul", true}, {"linear", true}, {"conv2d", true}, {"conv_transpose2d", true},
      {"conv2d_backward_weight", true}, {"batch_norm", true}, {"layer_norm", true}, {"instance_norm", true},
      {"pad2d", true}, {"upsample_nearest2d", true}, {"embedding", true}, {"one_hot", true},
      // penalties (kernels/cuda/penalty.cu)
      {"gradient_penalty", true},
      // modulated convolution (kernels/cuda/modconv.cu; modulated_conv2d and modulation_demod are
      // compositions) and upfirdn2d (kernels/cuda/upfirdn.cu)
      {"modulated_conv2d", true}, {"modulation_demod", true}, {"modconv2d", true},
      {"modconv2d_backward_input", true}, {"modconv2d_backward_weight", true}, {"upfirdn2d", true},
  };
  return ops;
}

}  // namespace gantry
