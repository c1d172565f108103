// gan/zoo/gan_common.hpp — what the zoo's latent GANs share: the hyperparameters several
// of them declare (each variant lists its own, with its paper's defaults), and BceGan,
// the standard GAN step on BCE that dcgan, vanilla and cgan take.
#pragma once
#include <functional>
#include <memory>

#include "gan/train/model.hpp"

namespace gantry::gan::hp {

HyperSpec z_dim(int64_t def = 100);
HyperSpec width(int64_t def = 32);  // the conv nets' channel width f
HyperSpec lr(double def, const std::string& paper);
HyperSpec beta1(double def);
HyperSpec beta2(double def);
HyperSpec real_label();      // BCE variants: < 1 is one-sided label smoothing
HyperSpec instance_noise();  // sigma of N(0, sigma^2) on D's inputs, annealed to 0
HyperSpec ema();             // > 0: the decay of an EMA copy "G_ema" of G, used for samples

}  // namespace gantry::gan::hp

namespace gantry::gan {

// ModelShape checks of the zoo's one-channel latent GANs; `sizes` lists the sizes allowed.
void check_gray(const std::string& variant, ModelShape s, std::initializer_list<int64_t> sizes);

// A GAN trained on BCE with logits: D maximizes log D(x) + log(1 - D(G(z))), G minimizes
// the non-saturating -log D(G(z)). Nets "G", "D" (and "G_ema" when ema > 0), Adam
// optimizers "g" over G and "d" over D with lr, beta1, beta2. Losses: d_loss, g_loss and
// d_real / d_fake (mean sigmoid(D) on the real and the fake batch).
class BceGan : public GanModel {
 public:
  using GanModel::GanModel;
  std::vector<std::string> loss_names() const override { return {"d_loss", "g_loss", "d_real", "d_fake"}; }
  std::string status(const Losses& l) const override;

 protected:
  // Registers G, D, the EMA copy (made by make_g) and the two Adam optimizers.
  void setup(std::shared_ptr<nn::Module> g, std::shared_ptr<nn::Module> d,
             const std::function<std::shared_ptr<nn::Module>()>& make_g);
  // D on the real batch and a detached fake batch gen(z) (z from `noise`), one step; then
  // G through D, one step, and the EMA update. gen / disc run G and D, so a conditional
  // variant passes its labels in (disc's flag says whether the batch is the real one).
  // g_disc, if set, is the D that G's loss is taken against, given D's input of the real
  // batch (the one D just stepped on) and of the fake batch (not detached): dcgan's
  // --unroll K passes D after K unrolled steps; unset, G's logits are disc(fake input, false).
  using GDisc = std::function<Tensor(const Tensor& real_input, const Tensor& fake_input)>;
  Losses bce_step(const Tensor& real, const std::function<Tensor(const Tensor&)>& gen,
                  const std::function<Tensor(const Tensor&, bool real)>& disc, const GDisc& g_disc = nullptr);
};

}  // namespace gantry::gan
