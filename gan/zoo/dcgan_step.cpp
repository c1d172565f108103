#include "gan/zoo/dcgan_step.hpp"

namespace gantry::gan {

DcganModel::DcganModel(const GanConfig& c, uint64_t seed) : GanModel(c, seed) {
  const DcganConfig dc{c.image_size, c.z_dim, c.width};
  Generator init_gen(seed);
  G = std::make_shared<DcganGenerator>(dc);
  D = std::make_shared<DcganDiscriminator>(dc);
  dcgan_init(*G, &init_gen);
  dcgan_init(*D, &init_gen);
  register_nets(G, D, [dc] { return std::make_shared<DcganGenerator>(dc); });
  opt_g = std::make_unique<nn::Adam>(G->parameters(), c.lr, c.beta1, c.beta2);
  opt_d = std::make_unique<nn::Adam>(D->parameters(), c.lr, c.beta1, c.beta2);
}

StepLosses DcganModel::step(const Tensor& real, const Tensor&) {
  return bce_step(real, [&](const Tensor& z) { return G->forward(z); },
                  [&](const Tensor& x, bool) { return D->forward(x); });
}

}  // namespace gantry::gan
