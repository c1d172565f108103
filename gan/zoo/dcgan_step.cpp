// gan/zoo/dcgan_step.cpp — the DCGAN model and its registration.
#include "gan/zoo/dcgan_step.hpp"

#include <map>

#include "gan/train/losses.hpp"
#include "nn/optim.hpp"

namespace gantry::gan {

DcganModel::DcganModel(const Hyperparams& h, ModelShape shape, uint64_t seed) : BceGan(h, shape, seed) {
  check_gray("dcgan", shape, {28, 32});
  const DcganConfig dc{shape.image_size, h.i("z_dim"), h.i("width")};
  Rng init_gen(seed);
  G = std::make_shared<DcganGenerator>(dc);
  D = std::make_shared<DcganDiscriminator>(dc);
  dcgan_init(*G, &init_gen);
  dcgan_init(*D, &init_gen);
  setup(G, D, [dc] { return std::make_shared<DcganGenerator>(dc); });
}

std::vector<Tensor> unroll_dcgan_d(const DcganDiscriminator& D, const std::vector<Tensor>& params,
                                   const Tensor& real_input, const Tensor& fake_input, double real_label,
                                   const UnrollOptimizer& opt, const OptimState& state, int64_t K) {
  ParamLoss loss = [&](const std::vector<Tensor>& p, int64_t) {
    return d_loss_bce(D.forward_with(p, real_input), D.forward_with(p, fake_input), real_label);
  };
  return unroll(loss, params, opt, state, K);
}

namespace {
// An nn::Adam's moments ("<i>.exp_avg", "<i>.exp_avg_sq") and step count as an OptimState
// (read, not copied: the unroll never writes them).
OptimState adam_state(const nn::Optimizer& opt) {
  std::map<std::string, Tensor> slots;
  for (const auto& [name, t] : opt.state()) slots[name] = t.detach();
  OptimState s;
  s.t = opt.steps();
  if (s.t == 0) return s;  // fresh: moments read as zeros
  for (size_t i = 0; i < opt.params().size(); ++i) {
    s.m.push_back(slots.at(std::to_string(i) + ".exp_avg"));
    s.v.push_back(slots.at(std::to_string(i) + ".exp_avg_sq"));
  }
  return s;
}
}  // namespace

Losses DcganModel::step(const Batch& b) {
  const int64_t K = hyper().i("unroll");
  auto gen = [&](const Tensor& z) { return G->forward(z); };
  auto disc = [&](const Tensor& x, bool) { return D->forward(x); };
  if (K == 0) return bce_step(b.images, gen, disc);
  GANTRY_CHECK(dp_size() == 1,
               "dcgan: --unroll is single-process only (its unrolled D steps would take this rank's "
               "batch statistics and gradients), got ",
               dp_size(), " processes");
  auto unrolled = [&, K](const Tensor& real_input, const Tensor& fake_input) {
    const auto& opt_d = dynamic_cast<const nn::Adam&>(optimizer("d"));  // D's own rate, betas and eps
    const UnrollOptimizer opt{UnrollOptimizer::adam, opt_d.lr, opt_d.beta1, opt_d.beta2, opt_d.eps};
    std::vector<Tensor> dk =
        unroll_dcgan_d(*D, D->parameters(), real_input, fake_input, hyper().f("real_label"), opt, adam_state(opt_d), K);
    return D->forward_with(dk, fake_input);
  };
  return bce_step(b.images, gen, disc, unrolled);
}

namespace {
const RegisterVariant registered(
    {"dcgan",
     "DCGAN (Radford et al., 2015): transposed-conv G, strided-conv D with batchnorm, BCE, Adam 2e-4",
     {hp::z_dim(), hp::width(), hp::lr(2e-4, "paper: 2e-4"), hp::beta1(0.5), hp::beta2(0.999), hp::real_label(),
      hp::instance_noise(), hp::ema(),
      added_later(int_hyper("unroll", 0, 0, 10,
                            "Unrolled GAN (Metz et al., 2017): G's loss against D after K differentiable Adam steps on "
                            "the same batch (0: off; each step costs about one more D forward and double backward)"))},
     DataKind::images,
     [](const Hyperparams& h, ModelShape s, uint64_t seed) { return std::make_unique<DcganModel>(h, s, seed); },
     {}});
}  // namespace

}  // namespace gantry::gan
