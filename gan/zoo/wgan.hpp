// gan/zoo/wgan.hpp — Wasserstein GANs: a critic D (a real-valued score, no sigmoid)
// estimates W1(P_real, P_G) = max_{|D|_L <= 1} E D(x) - E D(G(z)) (Arjovsky et al., 2017).
//
//   critic loss  L_D = mean D(G(z)) - mean D(x)   (+ a Lipschitz regularizer)
//   G loss       L_G = -mean D(G(z))
//
// CriticGan is the step both WGANs share: every step(real) is one critic step on a
// fresh batch; every n_critic-th critic step is followed by one G step on fresh latents
// (as in the papers' Algorithm 1, counting critic steps across batches). Subclasses
// add the Lipschitz constraint: Wgan clips the critic's weights after each critic step
// (this file), WganGp adds the gradient penalty (gan/zoo/wgan_gp.hpp).
#pragma once
#include "gan/zoo/dcgan.hpp"
#include "gan/zoo/gan_common.hpp"

namespace gantry::gan {

class CriticGan : public GanModel {
 public:
  using GanModel::GanModel;  // subclasses build G, D and the optimizers "g" and "d"
  // One critic step on b.images (labels unused); and, when the critic has taken a
  // multiple of n_critic steps, one G step. On a critic-only step g_loss is -mean D(fake)
  // of that step's fake batch, so the column is G's loss at every step.
  Losses step(const Batch& b) override;
  // d_loss, g_loss, wasserstein, d_real, d_fake (mean critic outputs), and gp for wgan-gp.
  std::vector<std::string> loss_names() const override;
  std::string status(const Losses& l) const override;
  Sampling sampling() const override { return Sampling::latents; }
  int64_t z_dim() const override { return hyper().i("z_dim"); }

  std::shared_ptr<DcganGenerator> G;
  std::shared_ptr<nn::Module> D;

 protected:
  // Registers G, D and G_ema (when ema > 0); the subclass then adds the optimizers.
  void setup_nets(const DcganConfig& dc);
  // A term added to the critic loss (undefined: none); may set l's "gp".
  virtual Tensor critic_regularizer(const Tensor& real, const Tensor& fake, Losses& l);
  // Runs after each critic optimizer step.
  virtual void after_critic_step() {}
  // Whether the losses carry "gp".
  virtual bool has_gp() const { return false; }
};

// WGAN (Arjovsky et al., 2017): DCGAN's conv generator and critic (the critic keeps
// DCGAN's batchnorm, as in the paper's experiments; its last conv gives the score);
// every critic parameter clamped to [-clip, clip] (clamp_) after every critic step;
// RMSProp, lr 5e-5; n_critic 5; clip 0.01.
class Wgan : public CriticGan {
 public:
  // DCGAN's G and critic from seed (the critic clipped at once), RMSProp with lr.
  Wgan(const Hyperparams& h, ModelShape shape, uint64_t seed);

 protected:
  void after_critic_step() override;
};

}  // namespace gantry::gan
