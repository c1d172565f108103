// gan/zoo/dcgan_step.hpp — DCGAN as a GanModel (shared by the trainer, the tests and
// bench/). Its step is GanModel::bce_step: D sees the real batch and a detached
// fake batch and takes an Adam step on BCE; then G takes an Adam step on the
// non-saturating loss through D.
#pragma once
#include <memory>

#include "gan/zoo/dcgan.hpp"
#include "gan/train/gan_model.hpp"

namespace gantry::gan {

class DcganModel : public GanModel {
 public:
  // config.variant "dcgan"; image_size, z_dim and width pick the nets.
  DcganModel(const GanConfig& c, uint64_t seed);
  // One step on a real batch [N, 1, S, S] in [-1, 1] (labels are not used).
  StepLosses step(const Tensor& real, const Tensor& labels) override;
  StepLosses step(const Tensor& real) { return step(real, {}); }

  std::shared_ptr<DcganGenerator> G;
  std::shared_ptr<DcganDiscriminator> D;
};

}  // namespace gantry::gan
