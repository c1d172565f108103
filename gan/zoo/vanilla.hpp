// gan/zoo/vanilla.hpp — the original GAN (Goodfellow et al., 2014) with MLPs, as in the
// common PyTorch-GAN implementation (eriklindernoren/PyTorch-GAN, gan.py):
//
//   G: z [N, 100] -> 128 -> 256 -> 512 -> 1024 -> S*S, tanh, reshaped to [N, 1, S, S]
//      leaky ReLU 0.2 after every hidden layer; BatchNorm1d on every hidden layer but
//      the first (128). PyTorch-GAN writes BatchNorm1d(n, 0.8), which sets eps = 0.8
//      (meant as momentum); we use the defaults eps = 1e-5, momentum = 0.1.
//   D: images -> S*S -> 512 -> 256 -> 1 logit, leaky ReLU 0.2, no normalization.
//
// BCE on logits, the non-saturating G loss, Adam 2e-4, betas (0.5, 0.999). Weights
// start as PyTorch's defaults (U(-1/sqrt(fan_in), 1/sqrt(fan_in))), drawn from the seed.
#pragma once
#include "gan/zoo/gan_common.hpp"
#include "nn/layers.hpp"

namespace gantry::gan {

class MlpGenerator : public nn::Module {
 public:
  MlpGenerator(int64_t z_dim, int64_t image_size);
  // z [N, z_dim] -> images [N, 1, S, S] in [-1, 1]
  Tensor forward(const Tensor& z) override;
  int64_t z_dim, image_size;

 private:
  std::shared_ptr<nn::Sequential> main_;
};

class MlpDiscriminator : public nn::Module {
 public:
  explicit MlpDiscriminator(int64_t image_size);
  // images [N, 1, S, S] -> logits [N]
  Tensor forward(const Tensor& x) override;
  int64_t image_size;

 private:
  std::shared_ptr<nn::Sequential> main_;
};

// PyTorch's default initialization of every Linear, Conv2d and ConvTranspose2d in m
// (weights and biases ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in))), and N(0, 1) for every
// Embedding, drawn from gen, so a seed fixes the whole model.
void default_init(nn::Module& m, Rng* gen);

class VanillaGan : public BceGan {
 public:
  // The MLPs above, initialized from seed; Adam with lr and betas for both.
  VanillaGan(const Hyperparams& h, ModelShape shape, uint64_t seed);
  // One BCE step (BceGan::bce_step); labels are not used.
  Losses step(const Batch& b) override;
  Sampling sampling() const override { return Sampling::latents; }
  int64_t z_dim() const override { return hyper().i("z_dim"); }
  std::shared_ptr<MlpGenerator> G;
  std::shared_ptr<MlpDiscriminator> D;
};

}  // namespace gantry::gan
