// gan/zoo/cyclegan_step.cpp — CycleGAN's training step: G_AB and G_BA together, then D_A and D_B.
#include "gan/zoo/cyclegan_step.hpp"

#include "gan/zoo/wgan_gp.hpp"

namespace gantry::gan {

CycleganGanMode cyclegan_gan_mode(const std::string& name) {
  if (name == "lsgan") return CycleganGanMode::lsgan;
  if (name == "vanilla") return CycleganGanMode::vanilla;
  if (name == "wgangp") return CycleganGanMode::wgangp;
  GANTRY_CHECK(false, "--gan-mode: unknown mode '", name, "' (known: lsgan, vanilla, wgangp)");
  return CycleganGanMode::lsgan;
}

const char* cyclegan_gan_mode_name(CycleganGanMode m) {
  switch (m) {
    case CycleganGanMode::lsgan: return "lsgan";
    case CycleganGanMode::vanilla: return "vanilla";
    case CycleganGanMode::wgangp: return "wgangp";
  }
  return "?";
}

CycleganConfig cyclegan_small_config() {
  CycleganConfig c;
  c.ngf = 8, c.n_blocks = 2, c.ndf = 16, c.n_layers = 2;
  return c;
}

double loss_of(const NamedLosses& l, const std::string& name) {
  for (const auto& [n, v] : l)
    if (n == name) return v;
  GANTRY_CHECK(false, "CycleGAN losses: no loss named '", name, "'");
  return 0;
}

namespace {
std::vector<Tensor> params_of(const nn::Module& a, const nn::Module& b) {
  std::vector<Tensor> p = a.parameters(), q = b.parameters();
  p.insert(p.end(), q.begin(), q.end());
  return p;
}

// Gradients of loss for params only (nothing else's .grad is touched), stored as their .grad.
void set_grads(const Tensor& loss, const std::vector<Tensor>& params) {
  std::vector<Tensor> g = grad({loss}, params);
  for (size_t i = 0; i < params.size(); ++i) params[i].set_grad(g[i]);
}
}  // namespace

CycleganStep::CycleganStep(const CycleganConfig& c, uint64_t seed, Device d)
    : config(c),
      device(d),
      fake_a_pool(c.pool_size, seed * 4 + 1),
      fake_b_pool(c.pool_size, seed * 4 + 2),
      gp_noise(seed * 4 + 3) {
  GANTRY_CHECK(c.lambda_identity == 0 || c.channels_a == c.channels_b, "cyclegan: the identity loss needs domains ",
               "with the same channels (A has ", c.channels_a, ", B ", c.channels_b, "); set lambda_identity 0");
  GANTRY_CHECK(c.lambda_a >= 0 && c.lambda_b >= 0 && c.lambda_identity >= 0 && c.gp_lambda >= 0,
               "cyclegan: lambda_A, lambda_B, lambda_identity and gp_lambda must be >= 0");
  Rng init_gen(seed);
  G_AB = std::make_shared<ResnetGenerator>(ResnetGeneratorConfig{c.channels_a, c.channels_b, c.ngf, c.n_blocks});
  G_BA = std::make_shared<ResnetGenerator>(ResnetGeneratorConfig{c.channels_b, c.channels_a, c.ngf, c.n_blocks});
  D_A = std::make_shared<PatchDiscriminator>(PatchDiscriminatorConfig{c.channels_b, c.ndf, c.n_layers});
  D_B = std::make_shared<PatchDiscriminator>(PatchDiscriminatorConfig{c.channels_a, c.ndf, c.n_layers});
  for (nn::Module* m : std::initializer_list<nn::Module*>{G_AB.get(), G_BA.get(), D_A.get(), D_B.get()}) {
    cyclegan_init(*m, &init_gen);
    m->to(d);
  }
  opt_G = std::make_unique<nn::Adam>(params_of(*G_AB, *G_BA), c.lr, c.beta1, c.beta2);
  opt_D = std::make_unique<nn::Adam>(params_of(*D_A, *D_B), c.lr, c.beta1, c.beta2);
  use_optimizers(*opt_G, *opt_D);
}

void CycleganStep::set_lr(double lr) { g_opt_->lr = lr, d_opt_->lr = lr; }

Tensor CycleganStep::gan_loss(const Tensor& logits, bool target_real) const {
  switch (config.gan_mode) {
    case CycleganGanMode::lsgan: return mse_loss(logits, full_like(logits, target_real ? 1.0 : 0.0));
    case CycleganGanMode::vanilla: return bce_with_logits(logits, full_like(logits, target_real ? 1.0 : 0.0));
    case CycleganGanMode::wgangp: return target_real ? neg(mean(logits)) : mean(logits);
  }
  throw Error("cyclegan: bad gan mode");
}

Tensor CycleganStep::d_loss(PatchDiscriminator& d, const Tensor& real, const Tensor& fake) {
  Tensor loss = mul(add(gan_loss(d.forward(real), true), gan_loss(d.forward(fake), false)), 0.5);
  if (config.gan_mode == CycleganGanMode::wgangp && config.gp_lambda > 0)
    loss = add(loss, wgan_gradient_penalty(d, interpolate(real, fake, &gp_noise), config.gp_lambda));
  return loss;
}

NamedLosses CycleganStep::step(const Tensor& real_a, const Tensor& real_b) {
  GANTRY_CHECK(real_a.dim() == 4 && real_b.dim() == 4 && real_a.size(1) == config.channels_a &&
                   real_b.size(1) == config.channels_b,
               "cyclegan step: a must be [N, ", config.channels_a, ", S, S] and b [N, ", config.channels_b,
               ", S, S], got ", shape_str(real_a.shape()), " and ", shape_str(real_b.shape()));
  GANTRY_CHECK(real_a.device() == device && real_b.device() == device, "cyclegan step: the batches must be on the ",
               "model's device");
  const double la = config.lambda_a, lb = config.lambda_b, li = config.lambda_identity;
  Tensor fake_b = G_AB->forward(real_a), fake_a = G_BA->forward(real_b);
  Tensor rec_a = G_BA->forward(fake_b), rec_b = G_AB->forward(fake_a);

  // G_AB and G_BA: adversarial + cycle + identity, gradients for G's parameters only.
  Tensor g_a = gan_loss(D_A->forward(fake_b), true), g_b = gan_loss(D_B->forward(fake_a), true);
  Tensor cycle_a = mul(l1_loss(rec_a, real_a), la), cycle_b = mul(l1_loss(rec_b, real_b), lb);
  Tensor loss_g = add(add(g_a, g_b), add(cycle_a, cycle_b));
  Tensor idt_a = zeros({}, real_a.dtype(), device), idt_b = idt_a;
  if (li > 0) {
    idt_a = mul(l1_loss(G_AB->forward(real_b), real_b), lb * li);
    idt_b = mul(l1_loss(G_BA->forward(real_a), real_a), la * li);
    loss_g = add(loss_g, add(idt_a, idt_b));
  }
  g_opt_->zero_grad();
  set_grads(loss_g, g_opt_->params());
  g_opt_->step();

  // D_A and D_B on the real batches and on pooled, detached fakes.
  Tensor d_a = d_loss(*D_A, real_b, fake_b_pool.query(fake_b));
  Tensor d_b = d_loss(*D_B, real_a, fake_a_pool.query(fake_a));
  d_opt_->zero_grad();
  set_grads(add(d_a, d_b), d_opt_->params());
  d_opt_->step();

  return {{"D_A", d_a.item()}, {"G_A", g_a.item()}, {"cycle_A", cycle_a.item()}, {"idt_A", idt_a.item()},
          {"D_B", d_b.item()}, {"G_B", g_b.item()}, {"cycle_B", cycle_b.item()}, {"idt_B", idt_b.item()}};
}

}  // namespace gantry::gan
