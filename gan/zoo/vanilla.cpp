// gan/zoo/vanilla.cpp — the MLP GAN, PyTorch's default init, and the "vanilla" registration.
#include "gan/zoo/vanilla.hpp"

#include <cmath>

#include "nn/init.hpp"

namespace gantry::gan {

using nn::BatchNorm1d;
using nn::LeakyReLU;
using nn::Linear;
using std::make_shared;

MlpGenerator::MlpGenerator(int64_t z_dim, int64_t image_size) : z_dim(z_dim), image_size(image_size) {
  GANTRY_CHECK(z_dim > 0 && image_size > 0, "MlpGenerator: z_dim and image size must be positive");
  auto m = make_shared<nn::Sequential>();
  m->add(make_shared<Linear>(z_dim, 128)).add(make_shared<LeakyReLU>(0.2));
  int64_t in = 128;
  for (int64_t out : {256, 512, 1024}) {
    m->add(make_shared<Linear>(in, out)).add(make_shared<BatchNorm1d>(out)).add(make_shared<LeakyReLU>(0.2));
    in = out;
  }
  m->add(make_shared<Linear>(in, image_size * image_size)).add(make_shared<nn::Tanh>());
  main_ = register_module("main", m);
}

Tensor MlpGenerator::forward(const Tensor& z) {
  GANTRY_CHECK(z.dim() == 2 && z.size(1) == z_dim, "MlpGenerator: z must be [N, ", z_dim, "], got ",
               shape_str(z.shape()));
  return reshape(main_->forward(z), {z.size(0), 1, image_size, image_size});
}

MlpDiscriminator::MlpDiscriminator(int64_t image_size) : image_size(image_size) {
  auto m = make_shared<nn::Sequential>();
  m->add(make_shared<Linear>(image_size * image_size, 512)).add(make_shared<LeakyReLU>(0.2));
  m->add(make_shared<Linear>(512, 256)).add(make_shared<LeakyReLU>(0.2));
  m->add(make_shared<Linear>(256, 1));
  main_ = register_module("main", m);
}

Tensor MlpDiscriminator::forward(const Tensor& x) {
  const int64_t s = image_size;
  GANTRY_CHECK(x.dim() == 4 && x.size(1) == 1 && x.size(2) == s && x.size(3) == s,
               "MlpDiscriminator: images must be [N, 1, ", s, ", ", s, "], got ", shape_str(x.shape()));
  return reshape(main_->forward(reshape(x, {x.size(0), s * s})), {x.size(0)});
}

void default_init(nn::Module& m, Rng* gen) {
  auto fan_in_uniform = [gen](const Tensor& w, const Tensor& b, int64_t fan_in) {
    const double bound = 1.0 / std::sqrt((double)fan_in);
    nn::init::uniform_(w, -bound, bound, gen);
    if (b.defined()) nn::init::uniform_(b, -bound, bound, gen);
  };
  m.apply([&](nn::Module& c) {
    if (auto* lin = dynamic_cast<Linear*>(&c)) {
      fan_in_uniform(lin->weight, lin->bias, lin->weight.size(1));
    } else if (auto* conv = dynamic_cast<nn::Conv2d*>(&c)) {
      fan_in_uniform(conv->weight, conv->bias, nn::init::fans(conv->weight).in);
    } else if (auto* convt = dynamic_cast<nn::ConvTranspose2d*>(&c)) {
      // PyTorch's fan_in of a transposed conv weight [in, out, k, k] is dim 1 * k * k.
      fan_in_uniform(convt->weight, convt->bias, nn::init::fans(convt->weight).in);
    } else if (auto* emb = dynamic_cast<nn::Embedding*>(&c)) {
      nn::init::normal_(emb->weight, 0, 1, gen);
    }
  });
}

VanillaGan::VanillaGan(const Hyperparams& h, ModelShape shape, uint64_t seed) : BceGan(h, shape, seed) {
  check_gray("vanilla", shape, {28, 32});
  const int64_t z = h.i("z_dim"), s = shape.image_size;
  Rng init_gen(seed);
  G = make_shared<MlpGenerator>(z, s);
  D = make_shared<MlpDiscriminator>(s);
  default_init(*G, &init_gen);
  default_init(*D, &init_gen);
  setup(G, D, [z, s] { return make_shared<MlpGenerator>(z, s); });
}

Losses VanillaGan::step(const Batch& b) {
  return bce_step(
      b.images, [&](const Tensor& z) { return G->forward(z); }, [&](const Tensor& x, bool) { return D->forward(x); });
}

namespace {
const RegisterVariant registered(
    {"vanilla",
     "The original GAN (Goodfellow et al., 2014) with MLPs as in PyTorch-GAN's gan.py, BCE, Adam 2e-4",
     {hp::z_dim(), hp::lr(2e-4, "PyTorch-GAN: 2e-4"), hp::beta1(0.5), hp::beta2(0.999), hp::real_label(),
      hp::instance_noise(), hp::ema()},
     DataKind::images,
     [](const Hyperparams& h, ModelShape s, uint64_t seed) { return std::make_unique<VanillaGan>(h, s, seed); },
     {}});
}  // namespace

}  // namespace gantry::gan
