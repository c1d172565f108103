// gan/zoo/cyclegan_nets.hpp — CycleGAN's nets (Zhu et al., 2017) as the reference
// implementation (junyanz/pytorch-CycleGAN-and-pix2pix, models/networks.py) builds them
// with --norm instance: the ResNet generator and the PatchGAN (NLayer) discriminator.
// Parameter names match the reference's state_dict keys ("model.1.weight",
// "model.10.conv_block.1.weight"), so weights line up with a PyTorch port.
//
// Generator, c7s1-k = reflect-pad 3, conv 7x7 stride 1, instance norm, ReLU:
//   c7s1-ngf, d(2 ngf), d(4 ngf), n x R(4 ngf), u(2 ngf), u(ngf), reflect-pad 3, conv 7x7 -> C, tanh
//   d(k): conv 3x3 stride 2 pad 1, IN, ReLU    u(k): conv-transpose 3x3 s2 p1 output_padding 1, IN, ReLU
//   R(k): x + [reflect-pad 1, conv 3x3, IN, ReLU, reflect-pad 1, conv 3x3, IN](x)
// H and W must be multiples of 4 (28 -> 14 -> 7 -> 14 -> 28). Instance norm has no affine
// and keeps no running statistics; every conv keeps its bias (the reference's use_bias
// is true under instance norm).
//
// Discriminator (n_layers = L), 4x4 convs with padding 1 and leaky ReLU 0.2:
//   conv s2 -> ndf (no norm), then L-1 convs s2 -> ndf min(2^i, 8) with IN, then one conv
//   s1 -> ndf min(2^L, 8) with IN, then a conv s1 -> 1 channel: a map of patch logits.
#pragma once
#include <memory>
#include <string>

#include "nn/layers.hpp"

namespace gantry::gan {

struct ResnetGeneratorConfig {
  int64_t in_channels = 1, out_channels = 1;
  int64_t ngf = 64;      // channels of the first conv; the residual blocks have 4 ngf
  int64_t n_blocks = 9;  // resnet_9blocks; resnet_6blocks has 6
};

// The number of residual blocks named by --netG: "resnet_<n>blocks" (resnet_6blocks,
// resnet_9blocks, or any n >= 1). Throws naming the value and the accepted form otherwise.
int64_t resnet_blocks_from_name(const std::string& net_g);

// One residual block: x + conv_block(x), conv_block as described above.
class ResnetBlock : public nn::Module {
 public:
  explicit ResnetBlock(int64_t dim);
  Tensor forward(const Tensor& x) override;

 private:
  std::shared_ptr<nn::Sequential> conv_block_;
};

class ResnetGenerator : public nn::Module {
 public:
  explicit ResnetGenerator(const ResnetGeneratorConfig& c);
  // images [N, in_channels, H, W] (H, W multiples of 4) -> [N, out_channels, H, W] in [-1, 1]
  Tensor forward(const Tensor& x) override;
  ResnetGeneratorConfig config;

 private:
  std::shared_ptr<nn::Sequential> model_;
};

struct PatchDiscriminatorConfig {
  int64_t in_channels = 1;
  int64_t ndf = 64;      // channels of the first conv
  int64_t n_layers = 3;  // stride-2 convs; 3 is the reference's 70x70 PatchGAN
};

class PatchDiscriminator : public nn::Module {
 public:
  explicit PatchDiscriminator(const PatchDiscriminatorConfig& c);
  // images [N, in_channels, H, W] -> patch logits [N, 1, h, w] (no sigmoid; the loss takes logits)
  Tensor forward(const Tensor& x) override;
  PatchDiscriminatorConfig config;

 private:
  std::shared_ptr<nn::Sequential> model_;
};

// The side, in input pixels, of the square one output logit of the discriminator sees:
// r = 1, then r = (r - 1) * stride + 4 over its convs from the last to the first
// (n_layers 3: 70, 2: 34, 1: 16).
int64_t patch_receptive_field(int64_t n_layers);
// The side of the discriminator's output map for an input of side `image_size`
// (conv 4x4, pad 1: stride 2 gives floor(s / 2), stride 1 gives s - 1). Throws if it is < 1.
int64_t patch_output_size(int64_t image_size, int64_t n_layers);

// The reference's init_weights(net, "normal", 0.02): every conv and transposed-conv weight
// ~ N(0, 0.02), biases 0 (instance norm without affine has nothing to initialize).
void cyclegan_init(nn::Module& m, Rng* gen = nullptr);

}  // namespace gantry::gan
