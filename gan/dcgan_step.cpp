#include "gan/dcgan_step.hpp"

#include "gan/losses.hpp"

namespace gantry::gan {

DcganModel::DcganModel(const DcganConfig& c, const DcganHyper& h, uint64_t seed)
    : config(c), hyper(h), noise(seed ^ 0x9E3779B97F4A7C15ull) {
  Generator init_gen(seed);
  G = std::make_shared<DcganGenerator>(c);
  D = std::make_shared<DcganDiscriminator>(c);
  nets = std::make_shared<GanPair>(G, D);
  dcgan_init(*G, &init_gen);
  dcgan_init(*D, &init_gen);
  opt_g = std::make_unique<nn::Adam>(G->parameters(), h.lr, h.beta1, h.beta2);
  opt_d = std::make_unique<nn::Adam>(D->parameters(), h.lr, h.beta1, h.beta2);
}

Tensor DcganModel::latents(int64_t n, Generator* gen) { return randn({n, config.z_dim}, DType::f32, gen); }

StepLosses DcganModel::step(const Tensor& real) {
  G->train();
  D->train();
  const int64_t n = real.size(0);
  Tensor fake = G->forward(latents(n, &noise));

  // D: maximize log D(x) + log(1 - D(G(z))), on a detached fake batch.
  Tensor real_logits = D->forward(real);
  Tensor fake_logits = D->forward(fake.detach());
  Tensor d_loss = d_loss_bce(real_logits, fake_logits, hyper.real_label);
  opt_d->zero_grad();
  d_loss.backward();
  opt_d->step();

  // G: minimize -log D(G(z)). grad() with G's parameters only: D's weight
  // gradients are never computed (the engine skips rules off the path).
  Tensor g_logits = D->forward(fake);
  Tensor g_loss = g_loss_nonsaturating(g_logits);
  std::vector<Tensor> params = G->parameters();
  std::vector<Tensor> grads = grad({g_loss}, params);
  for (size_t i = 0; i < params.size(); ++i) params[i].set_grad(grads[i]);
  opt_g->step();

  NoGradGuard off;
  return {d_loss.item(), g_loss.item(), mean(sigmoid(real_logits)).item(), mean(sigmoid(fake_logits)).item()};
}

Tensor DcganModel::sample(const Tensor& z) {
  NoGradGuard off;
  G->eval();
  Tensor images = G->forward(z);
  G->train();
  return images;
}

}  // namespace gantry::gan
