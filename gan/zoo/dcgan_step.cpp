// gan/zoo/dcgan_step.cpp — the DCGAN model and its registration.
#include "gan/zoo/dcgan_step.hpp"

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

Losses DcganModel::step(const Batch& b) {
  return bce_step(b.images, [&](const Tensor& z) { return G->forward(z); },
                  [&](const Tensor& x, bool) { return D->forward(x); });
}

namespace {
const RegisterVariant registered({
    "dcgan",
    "DCGAN (Radford et al., 2015): transposed-conv G, strided-conv D with batchnorm, BCE, Adam 2e-4",
    {hp::z_dim(), hp::width(), hp::lr(2e-4, "paper: 2e-4"), hp::beta1(0.5), hp::beta2(0.999), hp::real_label(),
     hp::instance_noise(), hp::ema()},
    DataKind::images,
    [](const Hyperparams& h, ModelShape s, uint64_t seed) { return std::make_unique<DcganModel>(h, s, seed); },
    {}});
}  // namespace

}  // namespace gantry::gan
