// gan/zoo/wgan_gp.cpp — the layer-norm critic, the gradient penalty, and the "wgan-gp" registration.
#include "gan/zoo/wgan_gp.hpp"

namespace gantry::gan {

using nn::Conv2d;
using nn::LeakyReLU;
using std::make_shared;

GpCritic::GpCritic(const DcganConfig& c, bool layer_norm) : config(c) {
  GANTRY_CHECK(c.image_size == 28 || c.image_size == 32, "GpCritic: image size must be 28 or 32, got ", c.image_size);
  const int64_t f = c.width, s = c.image_size;
  auto m = make_shared<nn::Sequential>();
  m->add(make_shared<Conv2d>(1, f, 4, 2, 1, false)).add(make_shared<LeakyReLU>(0.2));  // S -> S/2
  m->add(make_shared<Conv2d>(f, 2 * f, 4, 2, 1, false));                               // S/2 -> S/4
  if (layer_norm) m->add(make_shared<nn::LayerNorm>(Shape{2 * f, s / 4, s / 4}));
  m->add(make_shared<LeakyReLU>(0.2));
  if (s == 28) {
    m->add(make_shared<Conv2d>(2 * f, 1, 7, 1, 0, false));  // 7 -> 1
  } else {
    m->add(make_shared<Conv2d>(2 * f, 4 * f, 4, 2, 1, false));  // 8 -> 4
    if (layer_norm) m->add(make_shared<nn::LayerNorm>(Shape{4 * f, 4, 4}));
    m->add(make_shared<LeakyReLU>(0.2));
    m->add(make_shared<Conv2d>(4 * f, 1, 4, 1, 0, false));  // 4 -> 1
  }
  main_ = register_module("main", m);
}

Tensor GpCritic::forward(const Tensor& x) {
  const int64_t s = config.image_size;
  GANTRY_CHECK(x.dim() == 4 && x.size(1) == 1 && x.size(2) == s && x.size(3) == s, "GpCritic: images must be [N, 1, ",
               s, ", ", s, "], got ", shape_str(x.shape()));
  return reshape(main_->forward(x), {x.size(0)});
}

Tensor interpolate(const Tensor& real, const Tensor& fake, Rng* gen) {
  GANTRY_CHECK(real.shape() == fake.shape(), "interpolate: real ", shape_str(real.shape()), " and fake ",
               shape_str(fake.shape()), " differ");
  Shape per_sample(real.dim(), 1);
  per_sample[0] = real.size(0);
  return interpolate(real, fake, rand(per_sample, real.dtype(), gen, 0, 1, real.device()));
}

Tensor interpolate(const Tensor& real, const Tensor& fake, const Tensor& a) {
  return add(mul(a, real.detach()), mul(1.0 - a, fake.detach()));
}

Tensor wgan_gradient_penalty(nn::Module& critic, const Tensor& x_hat, double lambda) {
  Tensor x = x_hat.detach();
  x.requires_grad_(true);
  Tensor scores = critic.forward(x);
  Tensor g = grad({sum(scores)}, {x}, {}, /*retain_graph=*/true, /*create_graph=*/true)[0];
  return gradient_penalty(g, lambda);
}

WganGp::WganGp(const Hyperparams& h, ModelShape shape, uint64_t seed) : CriticGan(h, shape, seed) {
  check_gray("wgan-gp", shape, {28, 32});
  const DcganConfig dc{shape.image_size, h.i("z_dim"), h.i("width")};
  Rng init_gen(seed);
  G = make_shared<DcganGenerator>(dc);
  D = make_shared<GpCritic>(dc, h.b("critic_layer_norm"));
  dcgan_init(*G, &init_gen);
  dcgan_init(*D, &init_gen);  // conv weights N(0, 0.02); layer norm keeps weight 1, bias 0
  setup_nets(dc);
  const double lr = h.f("lr"), b1 = h.f("beta1"), b2 = h.f("beta2");
  auto adam = [&](std::vector<Tensor> p) { return std::make_unique<nn::Adam>(std::move(p), lr, b1, b2); };
  add_optimizer("g", {"G"}, adam);
  add_optimizer("d", {"D"}, adam);
}

Tensor WganGp::critic_regularizer(const Tensor& real, const Tensor& fake, Losses& l) {
  GANTRY_CHECK(real.shape() == fake.shape(), "interpolate: real ", shape_str(real.shape()), " and fake ",
               shape_str(fake.shape()), " differ");
  Shape per_sample(real.dim(), 1);
  per_sample[0] = real.size(0);
  Tensor a = batch_rand(per_sample);  // this rank's rows of the global batch's weights
  Tensor gp = wgan_gradient_penalty(*D, interpolate(real, fake, a), hyper().f("gp_lambda"));
  l.set("gp", gp.item());
  return gp;
}

namespace {
const RegisterVariant registered(
    {"wgan-gp",
     "WGAN-GP (Gulrajani et al., 2017): gradient penalty at interpolates, layer-norm critic, Adam 1e-4 (0, 0.9)",
     {hp::z_dim(), hp::width(), hp::lr(1e-4, "paper, Algorithm 1: 1e-4"), hp::beta1(0), hp::beta2(0.9),
      int_hyper("n_critic", 5, 1, 1000, "Critic steps per G step (paper: 5)"),
      real_hyper("gp_lambda", 10, 0, 1e6, "Gradient penalty weight lambda (paper: 10)"),
      bool_hyper("critic_layer_norm", true, "Layer norm in the critic (off: no normalization)", "critic-norm"),
      hp::instance_noise(), hp::ema()},
     DataKind::images,
     [](const Hyperparams& h, ModelShape s, uint64_t seed) { return std::make_unique<WganGp>(h, s, seed); },
     {}});
}  // namespace

}  // namespace gantry::gan
