// gan/train/losses.cpp — the GAN objectives on discriminator logits (gan/train/losses.hpp).
#include "gan/train/losses.hpp"

namespace gantry::gan {

Tensor d_loss_bce(const Tensor& real_logits, const Tensor& fake_logits, double real_label) {
  return add(bce_with_logits(real_logits, full_like(real_logits, real_label)),
             bce_with_logits(fake_logits, zeros_like(fake_logits)));
}

Tensor g_loss_nonsaturating(const Tensor& fake_logits) { return bce_with_logits(fake_logits, ones_like(fake_logits)); }

}  // namespace gantry::gan
