// gan/zoo/dcgan_step.hpp — DCGAN as a registered variant "dcgan" (shared by the trainer,
// the tests and bench/). Its step is BceGan::bce_step: D sees the real batch and a
// detached fake batch and takes an Adam step on BCE; then G takes an Adam step on the
// non-saturating loss through D. Hyperparameters (Radford et al.): Adam 2e-4, (0.5, 0.999),
// z 100; width 32 (the nets in gan/zoo/dcgan.hpp).
//
// --unroll K (Metz et al., 2017; default 0, today's step): after D's step, G's loss is
// taken against D after K more Adam steps (D's lr and betas, from D's optimizer state) on
// D's BCE loss, written in differentiable ops, and G's gradient flows back through those
// steps (gan/train/unroll.hpp). Every unrolled step sees the same batch: the real batch
// D just stepped on and G's fake batch (not detached, so the steps depend on G too). The
// unrolled copies' batch norm normalizes with each forward's batch statistics (as D's
// step does) and their running statistics are never written back: D's running_mean/var
// move only in D's own step (with K > 0 G's pass no longer updates them). Nothing of the
// unrolled copies is kept; D's real parameters and optimizer state are only read.
#pragma once
#include <memory>

#include "gan/train/unroll.hpp"
#include "gan/zoo/dcgan.hpp"
#include "gan/zoo/gan_common.hpp"

namespace gantry::gan {

// D's parameters after K unrolled steps of `opt` from `params` and a copy of `state` on
// D's BCE loss d_loss_bce(D(real_input), D(fake_input), real_label), the same inputs at
// every step (D.forward_with: batch statistics, running statistics untouched). The result
// depends differentiably on params, on fake_input (and so on G) and on real_input.
std::vector<Tensor> unroll_dcgan_d(const DcganDiscriminator& D, const std::vector<Tensor>& params,
                                   const Tensor& real_input, const Tensor& fake_input, double real_label,
                                   const UnrollOptimizer& opt, const OptimState& state, int64_t K);

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
