// gan/zoo/gan_common.cpp — the shared hyperparameter declarations and the BCE GAN step.
#include "gan/zoo/gan_common.hpp"

#include <cstdio>

#include "gan/train/losses.hpp"

namespace gantry::gan::hp {

HyperSpec z_dim(int64_t def) { return int_hyper("z_dim", def, 1, 4096, "Latent size"); }
HyperSpec width(int64_t def) {
  return int_hyper("width", def, 1, 1024, "Channel width f of the conv nets (DCGAN's ngf/ndf / 2)");
}
HyperSpec lr(double def, const std::string& paper) {
  return real_hyper("lr", def, 0, 1, "Learning rate (" + paper + ")");
}
HyperSpec beta1(double def) { return real_hyper("beta1", def, 0, 0.999999, "Adam beta1"); }
HyperSpec beta2(double def) { return real_hyper("beta2", def, 0, 0.999999, "Adam beta2"); }
HyperSpec real_label() {
  return real_hyper("real_label", 1.0, 0.5, 1.0, "Target for real images (0.9: one-sided label smoothing)");
}
HyperSpec instance_noise() {
  return real_hyper("instance_noise", 0, 0, 10,
                    "Std of Gaussian noise added to D's inputs, annealed linearly to 0 over training");
}
HyperSpec ema() {
  return real_hyper("ema", 0, 0, 0.999999, "Keep an EMA of G's weights with this decay (e.g. 0.999), used for samples");
}

}  // namespace gantry::gan::hp

namespace gantry::gan {

void check_gray(const std::string& variant, ModelShape s, std::initializer_list<int64_t> sizes) {
  GANTRY_CHECK(s.channels == 1, variant, ": one-channel (gray) images only, got ", s.channels, " channels");
  bool ok = false;
  std::string list;
  for (int64_t z : sizes) ok = ok || z == s.image_size, list += (list.empty() ? "" : " or ") + std::to_string(z);
  GANTRY_CHECK(ok, variant, ": image size must be ", list, ", got ", s.image_size);
}

std::string BceGan::status(const Losses& l) const {
  char buf[96];
  std::snprintf(buf, sizeof buf, "D %.3f  G %.3f  D(x) %.2f  D(G(z)) %.2f", l["d_loss"], l["g_loss"], l["d_real"],
                l["d_fake"]);
  return buf;
}

void BceGan::setup(std::shared_ptr<nn::Module> g, std::shared_ptr<nn::Module> d,
                   const std::function<std::shared_ptr<nn::Module>()>& make_g) {
  add_net("G", std::move(g));
  add_net("D", std::move(d));
  if (hyper().f("ema") > 0) add_ema("G_ema", "G", make_g(), hyper().f("ema"));
  const double lr = hyper().f("lr"), b1 = hyper().f("beta1"), b2 = hyper().f("beta2");
  auto adam = [&](std::vector<Tensor> p) { return std::make_unique<nn::Adam>(std::move(p), lr, b1, b2); };
  add_optimizer("g", {"G"}, adam);
  add_optimizer("d", {"D"}, adam);
}

Losses BceGan::bce_step(const Tensor& real, const std::function<Tensor(const Tensor&)>& gen,
                        const std::function<Tensor(const Tensor&, bool real)>& disc, const GDisc& g_disc) {
  nn::Module &g = net("G"), &d = net("D");
  nn::Optimizer &opt_g = optimizer("g"), &opt_d = optimizer("d");
  g.train();
  d.train();
  Tensor fake = gen(latents(real.size(0), &noise));

  // D: maximize log D(x) + log(1 - D(G(z))), on a detached fake batch.
  Tensor real_input = d_input(real);
  Tensor real_logits = disc(real_input, true);
  Tensor fake_logits = disc(d_input(fake.detach()), false);
  Tensor d_loss = d_loss_bce(real_logits, fake_logits, hyper().f("real_label"));
  opt_d.zero_grad();
  d_loss.backward();
  opt_d.step();

  // G: minimize -log D(G(z)). Gradients for G's parameters only: D's weight
  // gradients are never computed (the engine skips rules off the path).
  Tensor fake_input = d_input(fake);
  Tensor g_loss = g_loss_nonsaturating(g_disc ? g_disc(real_input, fake_input) : disc(fake_input, false));
  set_grads(g_loss, g.parameters());
  opt_g.step();
  update_emas();

  NoGradGuard off;
  Losses l;
  l.set("d_loss", d_loss.item());
  l.set("g_loss", g_loss.item());
  l.set("d_real", mean(sigmoid(real_logits)).item());
  l.set("d_fake", mean(sigmoid(fake_logits)).item());
  return l;
}

}  // namespace gantry::gan
