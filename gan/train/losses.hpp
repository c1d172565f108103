// gan/train/losses.hpp — the GAN objectives on discriminator logits.
#pragma once
#include "core/ops.hpp"

namespace gantry::gan {

// Discriminator BCE: -log D(x) - log(1 - D(G(z))), on logits, averaged over the batch.
// real_label < 1 is one-sided label smoothing (Salimans et al., 2016).
Tensor d_loss_bce(const Tensor& real_logits, const Tensor& fake_logits, double real_label = 1.0);
// The non-saturating generator loss: -log D(G(z)) (Goodfellow et al., 2014, sec. 3).
Tensor g_loss_nonsaturating(const Tensor& fake_logits);

}  // namespace gantry::gan
