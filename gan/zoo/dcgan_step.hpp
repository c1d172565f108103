// gan/zoo/dcgan_step.hpp — DCGAN as a registered variant "dcgan" (shared by the trainer,
// the tests and bench/). Its step is BceGan::bce_step: D sees the real batch and a
// detached fake batch and takes an Adam step on BCE; then G takes an Adam step on the
// non-saturating loss through D. Hyperparameters (Radford et al.): Adam 2e-4, (0.5, 0.999),
// z 100; width 32 (the nets in gan/zoo/dcgan.hpp).
#pragma once
#include <memory>

#include "gan/zoo/dcgan.hpp"
#include "gan/zoo/gan_common.hpp"

namespace gantry::gan {

class DcganModel : public BceGan {
 public:
  // h: dcgan's hyperparameters (find_variant("dcgan").defaults()); shape 28 or 32, gray.
  DcganModel(const Hyperparams& h, ModelShape shape, uint64_t seed);
  // One step on b.images [N, 1, S, S] in [-1, 1] (labels are not used).
  Losses step(const Batch& b) override;
  Losses step(const Tensor& real) { return step(Batch{real, {}, {}}); }
  Sampling sampling() const override { return Sampling::latents; }
  int64_t z_dim() const override { return hyper().i("z_dim"); }

  std::shared_ptr<DcganGenerator> G;
  std::shared_ptr<DcganDiscriminator> D;
};

}  // namespace gantry::gan
