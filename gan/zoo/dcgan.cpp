// gan/zoo/dcgan.cpp — DCGAN's generator and discriminator, and its initialization.
#include "gan/zoo/dcgan.hpp"

#include "nn/init.hpp"

namespace gantry::gan {

using nn::BatchNorm2d;
using nn::Conv2d;
using nn::ConvTranspose2d;
using nn::LeakyReLU;
using nn::ReLU;
using std::make_shared;

namespace {
void check_config(const DcganConfig& c) {
  GANTRY_CHECK(c.image_size == 28 || c.image_size == 32, "dcgan: image size must be 28 or 32, got ", c.image_size);
  GANTRY_CHECK(c.z_dim > 0 && c.width > 0 && c.in_channels > 0,
               "dcgan: z_dim, width and in_channels must be positive (", c.z_dim, ", ", c.width, ", ", c.in_channels,
               ")");
}
}  // namespace

DcganGenerator::DcganGenerator(const DcganConfig& c) : config(c) {
  check_config(c);
  const int64_t f = c.width;
  auto m = make_shared<nn::Sequential>();
  if (c.image_size == 28) {
    m->add(make_shared<ConvTranspose2d>(c.z_dim, 4 * f, 7, 1, 0, 0, false));  // 1 -> 7
    m->add(make_shared<BatchNorm2d>(4 * f)).add(make_shared<ReLU>());
    m->add(make_shared<ConvTranspose2d>(4 * f, 2 * f, 4, 2, 1, 0, false));  // 7 -> 14
    m->add(make_shared<BatchNorm2d>(2 * f)).add(make_shared<ReLU>());
    m->add(make_shared<ConvTranspose2d>(2 * f, 1, 4, 2, 1, 0, false));  // 14 -> 28
  } else {
    m->add(make_shared<ConvTranspose2d>(c.z_dim, 8 * f, 4, 1, 0, 0, false));  // 1 -> 4
    m->add(make_shared<BatchNorm2d>(8 * f)).add(make_shared<ReLU>());
    m->add(make_shared<ConvTranspose2d>(8 * f, 4 * f, 4, 2, 1, 0, false));  // 4 -> 8
    m->add(make_shared<BatchNorm2d>(4 * f)).add(make_shared<ReLU>());
    m->add(make_shared<ConvTranspose2d>(4 * f, 2 * f, 4, 2, 1, 0, false));  // 8 -> 16
    m->add(make_shared<BatchNorm2d>(2 * f)).add(make_shared<ReLU>());
    m->add(make_shared<ConvTranspose2d>(2 * f, 1, 4, 2, 1, 0, false));  // 16 -> 32
  }
  m->add(make_shared<nn::Tanh>());
  main_ = register_module("main", m);
}

Tensor DcganGenerator::forward(const Tensor& z) {
  GANTRY_CHECK(z.dim() == 2 && z.size(1) == config.z_dim, "DcganGenerator: z must be [N, ", config.z_dim, "], got ",
               shape_str(z.shape()));
  return main_->forward(reshape(z, {z.size(0), config.z_dim, 1, 1}));
}

DcganDiscriminator::DcganDiscriminator(const DcganConfig& c) : config(c) {
  check_config(c);
  const int64_t f = c.width;
  auto m = make_shared<nn::Sequential>();
  m->add(make_shared<Conv2d>(c.in_channels, f, 4, 2, 1, false)).add(make_shared<LeakyReLU>(0.2));  // S -> S/2
  m->add(make_shared<Conv2d>(f, 2 * f, 4, 2, 1, false));                                           // S/2 -> S/4
  m->add(make_shared<BatchNorm2d>(2 * f)).add(make_shared<LeakyReLU>(0.2));
  if (c.image_size == 28) {
    m->add(make_shared<Conv2d>(2 * f, 1, 7, 1, 0, false));  // 7 -> 1
  } else {
    m->add(make_shared<Conv2d>(2 * f, 4 * f, 4, 2, 1, false));  // 8 -> 4
    m->add(make_shared<BatchNorm2d>(4 * f)).add(make_shared<LeakyReLU>(0.2));
    m->add(make_shared<Conv2d>(4 * f, 1, 4, 1, 0, false));  // 4 -> 1
  }
  main_ = register_module("main", m);
}

Tensor DcganDiscriminator::forward(const Tensor& x) {
  const int64_t s = config.image_size;
  GANTRY_CHECK(x.dim() == 4 && x.size(1) == config.in_channels && x.size(2) == s && x.size(3) == s,
               "DcganDiscriminator: images must be [N, ", config.in_channels, ", ", s, ", ", s, "], got ",
               shape_str(x.shape()));
  return reshape(main_->forward(x), {x.size(0)});
}

Tensor DcganDiscriminator::forward_with(const std::vector<Tensor>& params, const Tensor& x) const {
  const int64_t s = config.image_size;
  GANTRY_CHECK(x.dim() == 4 && x.size(1) == config.in_channels && x.size(2) == s && x.size(3) == s,
               "DcganDiscriminator: images must be [N, ", config.in_channels, ", ", s, ", ", s, "], got ",
               shape_str(x.shape()));
  GANTRY_CHECK(params.size() == parameters().size(), "DcganDiscriminator::forward_with: ", params.size(),
               " parameters given, the net has ", parameters().size());
  size_t next = 0;
  auto take = [&](const Tensor& own) {  // the stand-in for one of the layer's own parameters
    if (!own.defined()) return Tensor();
    const Tensor& p = params[next++];
    GANTRY_CHECK(p.shape() == own.shape(), "DcganDiscriminator::forward_with: parameter ", next - 1, " is ",
                 shape_str(p.shape()), ", the net's is ", shape_str(own.shape()));
    return p;
  };
  Tensor h = x;
  for (const auto& [name, layer] : main_->children()) {
    if (auto* conv = dynamic_cast<const Conv2d*>(layer.get())) {
      Tensor w = take(conv->weight), b = take(conv->bias);
      h = conv2d(h, w, b, conv->options);
    } else if (auto* bn = dynamic_cast<const nn::BatchNorm*>(layer.get())) {
      Tensor w = take(bn->weight), b = take(bn->bias);
      h = bn->is_training() ? batch_norm(h, {}, {}, w, b, true, bn->momentum, bn->eps)
                            : batch_norm(h, bn->running_mean, bn->running_var, w, b, false, bn->momentum, bn->eps);
    } else {
      GANTRY_CHECK(layer->parameters().empty(), "DcganDiscriminator::forward_with: layer ", name,
                   " has parameters it cannot take");
      h = layer->forward(h);
    }
  }
  return reshape(h, {x.size(0)});
}

void dcgan_init(nn::Module& m, Rng* gen) {
  m.apply([gen](nn::Module& c) {
    if (auto* conv = dynamic_cast<Conv2d*>(&c)) {
      nn::init::normal_(conv->weight, 0, 0.02, gen);
      if (conv->bias.defined()) nn::init::zeros_(conv->bias);
    } else if (auto* convt = dynamic_cast<ConvTranspose2d*>(&c)) {
      nn::init::normal_(convt->weight, 0, 0.02, gen);
      if (convt->bias.defined()) nn::init::zeros_(convt->bias);
    } else if (auto* bn = dynamic_cast<nn::BatchNorm*>(&c)) {
      if (bn->weight.defined()) nn::init::normal_(bn->weight, 1, 0.02, gen);
      if (bn->bias.defined()) nn::init::zeros_(bn->bias);
    }
  });
}

}  // namespace gantry::gan
