// gan/zoo/cgan.cpp — the conditional GAN's nets, its step and the "cgan" registration.
#include "gan/zoo/cgan.hpp"

#include "nn/init.hpp"

namespace gantry::gan {

using std::make_shared;

namespace {
void check_labels(const char* who, const Tensor& labels, int64_t n, int64_t num_classes) {
  GANTRY_CHECK(labels.defined() && labels.dtype() == DType::i64 && labels.dim() == 1 && labels.size(0) == n, who,
               ": labels must be int64 [", n, "] in [0, ", num_classes, ")");
}
DcganConfig with_channels(DcganConfig c, int64_t in_channels, int64_t z_dim) {
  c.in_channels = in_channels;
  c.z_dim = z_dim;
  return c;
}
}  // namespace

CganGenerator::CganGenerator(const DcganConfig& c, int64_t num_classes, int64_t embed_dim)
    : z_dim(c.z_dim), num_classes(num_classes) {
  GANTRY_CHECK(num_classes > 0 && embed_dim > 0, "CganGenerator: num_classes and embed_dim must be positive");
  embed_ = register_module("embed", make_shared<nn::Embedding>(num_classes, embed_dim));
  net_ = register_module("net", make_shared<DcganGenerator>(with_channels(c, 1, c.z_dim + embed_dim)));
}

Tensor CganGenerator::forward_many(const std::vector<Tensor>& inputs) {
  GANTRY_CHECK(inputs.size() == 2, "CganGenerator: forward takes {z, labels}, got ", inputs.size(), " inputs");
  const Tensor &z = inputs[0], &labels = inputs[1];
  GANTRY_CHECK(z.dim() == 2 && z.size(1) == z_dim, "CganGenerator: z must be [N, ", z_dim, "], got ",
               shape_str(z.shape()));
  check_labels("CganGenerator", labels, z.size(0), num_classes);
  return net_->forward(cat({z, embed_->forward(labels)}, 1));
}

CganDiscriminator::CganDiscriminator(const DcganConfig& c, int64_t num_classes, int64_t embed_dim)
    : num_classes(num_classes) {
  GANTRY_CHECK(num_classes > 0 && embed_dim > 0, "CganDiscriminator: num_classes and embed_dim must be positive");
  embed_ = register_module("embed", make_shared<nn::Embedding>(num_classes, embed_dim));
  net_ = register_module("net", make_shared<DcganDiscriminator>(with_channels(c, 1 + embed_dim, c.z_dim)));
}

Tensor CganDiscriminator::forward_many(const std::vector<Tensor>& inputs) {
  GANTRY_CHECK(inputs.size() == 2, "CganDiscriminator: forward takes {images, labels}, got ", inputs.size(), " inputs");
  const Tensor &x = inputs[0], &labels = inputs[1];
  GANTRY_CHECK(x.dim() == 4 && x.size(1) == 1, "CganDiscriminator: images must be [N, 1, S, S], got ",
               shape_str(x.shape()));
  check_labels("CganDiscriminator", labels, x.size(0), num_classes);
  const int64_t n = x.size(0), h = x.size(2), w = x.size(3);
  Tensor e = embed_->forward(labels);                                              // [N, E]
  Tensor planes = expand(reshape(e, {n, e.size(1), 1, 1}), {n, e.size(1), h, w});  // [N, E, H, W]
  return net_->forward(cat({x, planes}, 1));
}

Cgan::Cgan(const Hyperparams& h, ModelShape shape, uint64_t seed) : BceGan(h, shape, seed) {
  check_gray("cgan", shape, {28, 32});
  const int64_t k = h.i("num_classes"), e = h.i("embed_dim");
  const DcganConfig dc{shape.image_size, h.i("z_dim"), h.i("width")};
  Rng init_gen(seed);
  G = make_shared<CganGenerator>(dc, k, e);
  D = make_shared<CganDiscriminator>(dc, k, e);
  for (nn::Module* m : {(nn::Module*)G.get(), (nn::Module*)D.get()}) {
    dcgan_init(*m, &init_gen);
    for (auto& [name, p] : m->named_parameters())
      if (name == "embed.weight") nn::init::normal_(p, 0, 1, &init_gen);
  }
  setup(G, D, [dc, k, e] { return make_shared<CganGenerator>(dc, k, e); });
}

Losses Cgan::step(const Batch& b) {
  check_labels("cgan step", b.labels, b.size(), num_classes());
  for (int64_t y : b.labels.to(Device::cpu()).to_vector<int64_t>())
    GANTRY_CHECK(y >= 0 && y < num_classes(), "cgan: the data has label ", y, " but --num-classes is ", num_classes(),
                 " (labels must be in [0, ", num_classes(), "))");
  const Tensor real_labels = b.labels.to(device());
  const Tensor fake_labels = random_labels(b.size());
  return bce_step(
      b.images, [&](const Tensor& z) { return (*G)(z, fake_labels); },
      [&](const Tensor& x, bool is_real) { return (*D)(x, is_real ? real_labels : fake_labels); });
}

namespace {
const RegisterVariant registered(
    {"cgan",
     "Conditional GAN (Mirza & Osindero, 2014) on DCGAN's nets: G and D see the class label; sample --class K",
     {hp::z_dim(), hp::width(), int_hyper("num_classes", 10, 2, 1000, "Classes G and D are conditioned on"),
      int_hyper("embed_dim", 10, 1, 1024, "Label embedding size (G's extra input, D's extra planes)"),
      hp::lr(2e-4, "DCGAN's 2e-4"), hp::beta1(0.5), hp::beta2(0.999), hp::real_label(), hp::instance_noise(),
      hp::ema()},
     DataKind::images,
     [](const Hyperparams& h, ModelShape s, uint64_t seed) { return std::make_unique<Cgan>(h, s, seed); },
     {}});
}  // namespace

}  // namespace gantry::gan
