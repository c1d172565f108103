// gan/zoo/wgan.cpp — the critic step both WGANs share, weight clipping, and the "wgan" registration.
#include "gan/zoo/wgan.hpp"

#include <cstdio>

namespace gantry::gan {

void CriticGan::setup_nets(const DcganConfig& dc) {
  add_net("G", G);
  add_net("D", D);
  if (hyper().f("ema") > 0) add_ema("G_ema", "G", std::make_shared<DcganGenerator>(dc), hyper().f("ema"));
}

Losses CriticGan::step(const Batch& b) {
  const Tensor& real = b.images;
  nn::Optimizer &opt_g = optimizer("g"), &opt_d = optimizer("d");
  G->train();
  D->train();
  Losses l;
  Tensor fake;
  {
    NoGradGuard off;  // the critic step does not need G's graph
    fake = G->forward(latents(real.size(0), &noise));
  }
  Tensor d_real = mean(D->forward(d_input(real)));
  Tensor d_fake = mean(D->forward(d_input(fake)));
  Tensor d_loss = sub(d_fake, d_real);
  Losses reg_losses;
  Tensor reg = critic_regularizer(real, fake, reg_losses);
  Tensor total = reg.defined() ? add(d_loss, reg) : d_loss;
  opt_d.zero_grad();
  total.backward();
  opt_d.step();
  after_critic_step();

  const double dr = d_real.item(), df = d_fake.item();
  double g = -df;
  if (opt_d.steps() % hyper().i("n_critic") == 0) {
    Tensor g_loss = neg(mean(D->forward(d_input(G->forward(latents(real.size(0), &noise))))));
    set_grads(g_loss, G->parameters());
    opt_g.step();
    update_emas();
    g = g_loss.item();
  }
  l.set("d_loss", total.item());
  l.set("g_loss", g);
  l.set("wasserstein", dr - df);
  l.set("d_real", dr);
  l.set("d_fake", df);
  if (has_gp()) l.set("gp", reg_losses.has("gp") ? reg_losses["gp"] : 0.0);
  return l;
}

Tensor CriticGan::critic_regularizer(const Tensor&, const Tensor&, Losses&) { return {}; }

std::vector<std::string> CriticGan::loss_names() const {
  std::vector<std::string> c = {"d_loss", "g_loss", "wasserstein", "d_real", "d_fake"};
  if (has_gp()) c.push_back("gp");
  return c;
}

std::string CriticGan::status(const Losses& l) const {
  char buf[96];
  if (has_gp())
    std::snprintf(buf, sizeof buf, "D %.3f  G %.3f  W %.3f  gp %.3f", l["d_loss"], l["g_loss"], l["wasserstein"],
                  l["gp"]);
  else std::snprintf(buf, sizeof buf, "D %.4f  G %.4f  W %.4f", l["d_loss"], l["g_loss"], l["wasserstein"]);
  return buf;
}

Wgan::Wgan(const Hyperparams& h, ModelShape shape, uint64_t seed) : CriticGan(h, shape, seed) {
  check_gray("wgan", shape, {28, 32});
  const DcganConfig dc{shape.image_size, h.i("z_dim"), h.i("width")};
  Rng init_gen(seed);
  G = std::make_shared<DcganGenerator>(dc);
  D = std::make_shared<DcganDiscriminator>(dc);
  dcgan_init(*G, &init_gen);
  dcgan_init(*D, &init_gen);
  setup_nets(dc);
  const double lr = h.f("lr");
  auto rmsprop = [lr](std::vector<Tensor> p) { return std::make_unique<nn::RMSProp>(std::move(p), lr); };
  add_optimizer("g", {"G"}, rmsprop);
  add_optimizer("d", {"D"}, rmsprop);
  after_critic_step();  // the critic starts inside the clipping box
}

void Wgan::after_critic_step() {
  NoGradGuard off;
  const double clip = hyper().f("clip");
  for (const Tensor& p : D->parameters()) clamp_(p, -clip, clip);
}

namespace {
const RegisterVariant registered(
    {"wgan",
     "Wasserstein GAN (Arjovsky et al., 2017): DCGAN's nets, critic weights clipped, RMSProp 5e-5, n_critic 5",
     {hp::z_dim(), hp::width(), hp::lr(5e-5, "paper, Algorithm 1: 5e-5"),
      int_hyper("n_critic", 5, 1, 1000, "Critic steps per G step (paper: 5)"),
      real_hyper("clip", 0.01, 0, 100, "Clip the critic's weights to [-c, c] (paper: 0.01)"), hp::instance_noise(),
      hp::ema()},
     DataKind::images,
     [](const Hyperparams& h, ModelShape s, uint64_t seed) { return std::make_unique<Wgan>(h, s, seed); },
     {}});
}  // namespace

}  // namespace gantry::gan
