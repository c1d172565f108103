// gan/zoo/dcgan.hpp — DCGAN (Radford, Metz & Chintala, 2015) for 1-channel 28x28 or
// 32x32 images.
//
// Generator: z [N, z_dim] -> transposed convs with batchnorm and ReLU -> tanh.
//   28x28: z -> 4f x 7x7 -> 2f x 14x14 -> 1 x 28x28            (f = width)
//   32x32: z -> 8f x 4x4 -> 4f x 8x8 -> 2f x 16x16 -> 1 x 32x32
// Discriminator: strided 4x4 convs with leaky ReLU 0.2 (batchnorm after all but the
// first), a last conv to one logit per image (no sigmoid: the loss takes logits).
//   28x28: 1 -> f x 14x14 -> 2f x 7x7 -> 1 (7x7 conv)
//   32x32: 1 -> f x 16x16 -> 2f x 8x8 -> 4f x 4x4 -> 1 (4x4 conv)
#pragma once
#include <memory>

#include "nn/layers.hpp"

namespace gantry::gan {

struct DcganConfig {
  int64_t image_size = 28;  // 28 or 32
  int64_t z_dim = 100;
  int64_t width = 32;       // f above: channels of the widest layer / 4 (or / 8)
  int64_t in_channels = 1;  // D's input channels (cgan adds label planes)
};

class DcganGenerator : public nn::Module {
 public:
  explicit DcganGenerator(const DcganConfig& c);
  // z [N, z_dim] -> images [N, 1, S, S] in [-1, 1]
  Tensor forward(const Tensor& z) override;
  DcganConfig config;

 private:
  std::shared_ptr<nn::Sequential> main_;
};

class DcganDiscriminator : public nn::Module {
 public:
  explicit DcganDiscriminator(const DcganConfig& c);
  // images [N, in_channels, S, S] -> logits [N]
  Tensor forward(const Tensor& x) override;
  // The same net with its parameters replaced by `params` (one per parameters() entry, in
  // that order), in differentiable ops: a copy of D at other weights, e.g. D after unrolled
  // optimizer steps (gan/train/unroll.hpp). Its batch norm layers in training mode normalize
  // with the batch's own statistics and leave running_mean / running_var /
  // num_batches_tracked untouched (nothing of the copy is written back); in eval mode they
  // read the running statistics. With params == parameters() the logits equal forward(x)'s.
  Tensor forward_with(const std::vector<Tensor>& params, const Tensor& x) const;
  DcganConfig config;

 private:
  std::shared_ptr<nn::Sequential> main_;
};

// DCGAN's initialization: conv and transposed-conv weights ~ N(0, 0.02), batchnorm
// weights ~ N(1, 0.02), biases 0 — applied to every such layer in m.
void dcgan_init(nn::Module& m, Rng* gen = nullptr);

}  // namespace gantry::gan
