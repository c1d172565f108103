#include "gan/zoo/wgan.hpp"

#include <cstdio>

namespace gantry::gan {

StepLosses CriticGan::step(const Tensor& real, const Tensor&) {
  G->train();
  D->train();
  StepLosses l;
  Tensor fake;
  {
    NoGradGuard off;  // the critic step does not need G's graph
    fake = G->forward(latents(real.size(0), &noise));
  }
  Tensor d_real = mean(D->forward(d_input(real)));
  Tensor d_fake = mean(D->forward(d_input(fake)));
  Tensor d_loss = sub(d_fake, d_real);
  Tensor reg = critic_regularizer(real, fake, l);
  Tensor total = reg.defined() ? add(d_loss, reg) : d_loss;
  opt_d->zero_grad();
  total.backward();
  opt_d->step();
  after_critic_step();

  l.d_loss = total.item();
  l.d_real = d_real.item();
  l.d_fake = d_fake.item();
  l.wasserstein = l.d_real - l.d_fake;
  l.g_loss = -l.d_fake;
  if (opt_d->steps() % config.n_critic == 0) {
    Tensor g_loss = neg(mean(D->forward(d_input(G->forward(latents(real.size(0), &noise))))));
    std::vector<Tensor> params = G->parameters();
    std::vector<Tensor> grads = grad({g_loss}, params);
    for (size_t i = 0; i < params.size(); ++i) params[i].set_grad(grads[i]);
    opt_g->step();
    update_ema();
    l.g_loss = g_loss.item();
  }
  return l;
}

Tensor CriticGan::critic_regularizer(const Tensor&, const Tensor&, StepLosses&) { return {}; }

std::vector<std::string> CriticGan::log_columns() const {
  std::vector<std::string> c = {"d_loss", "g_loss", "wasserstein", "d_real", "d_fake"};
  if (config.gp_lambda > 0 && config.variant == "wgan-gp") c.push_back("gp");
  return c;
}

std::vector<double> CriticGan::log_values(const StepLosses& l) const {
  std::vector<double> v = {l.d_loss, l.g_loss, l.wasserstein, l.d_real, l.d_fake};
  if (config.gp_lambda > 0 && config.variant == "wgan-gp") v.push_back(l.gp);
  return v;
}

std::string CriticGan::status(const StepLosses& l) const {
  char buf[96];
  if (config.variant == "wgan-gp")
    std::snprintf(buf, sizeof buf, "D %.3f  G %.3f  W %.3f  gp %.3f", l.d_loss, l.g_loss, l.wasserstein, l.gp);
  else
    std::snprintf(buf, sizeof buf, "D %.4f  G %.4f  W %.4f", l.d_loss, l.g_loss, l.wasserstein);
  return buf;
}

Wgan::Wgan(const GanConfig& c, uint64_t seed) : CriticGan(c, seed) {
  const DcganConfig dc{c.image_size, c.z_dim, c.width};
  Generator init_gen(seed);
  G = std::make_shared<DcganGenerator>(dc);
  D = std::make_shared<DcganDiscriminator>(dc);
  dcgan_init(*G, &init_gen);
  dcgan_init(*D, &init_gen);
  register_nets(G, D, [dc] { return std::make_shared<DcganGenerator>(dc); });
  opt_g = std::make_unique<nn::RMSProp>(G->parameters(), c.lr);
  opt_d = std::make_unique<nn::RMSProp>(D->parameters(), c.lr);
  after_critic_step();  // the critic starts inside the clipping box
}

void Wgan::after_critic_step() {
  NoGradGuard off;
  for (const Tensor& p : D->parameters()) clamp_(p, -config.clip, config.clip);
}

}  // namespace gantry::gan
