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

Tensor CganGenerator::forward(const Tensor& z, const Tensor& labels) {
  GANTRY_CHECK(z.dim() == 2 && z.size(1) == z_dim, "CganGenerator: z must be [N, ", z_dim, "], got ",
               shape_str(z.shape()));
  check_labels("CganGenerator", labels, z.size(0), num_classes);
  return net_->forward(cat({z, embed_->forward(labels)}, 1));
}

Tensor CganGenerator::forward(const Tensor&) { throw Error("CganGenerator: forward needs labels"); }

CganDiscriminator::CganDiscriminator(const DcganConfig& c, int64_t num_classes, int64_t embed_dim)
    : num_classes(num_classes) {
  GANTRY_CHECK(num_classes > 0 && embed_dim > 0, "CganDiscriminator: num_classes and embed_dim must be positive");
  embed_ = register_module("embed", make_shared<nn::Embedding>(num_classes, embed_dim));
  net_ = register_module("net", make_shared<DcganDiscriminator>(with_channels(c, 1 + embed_dim, c.z_dim)));
}

Tensor CganDiscriminator::forward(const Tensor& x, const Tensor& labels) {
  GANTRY_CHECK(x.dim() == 4 && x.size(1) == 1, "CganDiscriminator: images must be [N, 1, S, S], got ",
               shape_str(x.shape()));
  check_labels("CganDiscriminator", labels, x.size(0), num_classes);
  const int64_t n = x.size(0), h = x.size(2), w = x.size(3);
  Tensor e = embed_->forward(labels);                                        // [N, E]
  Tensor planes = expand(reshape(e, {n, e.size(1), 1, 1}), {n, e.size(1), h, w});  // [N, E, H, W]
  return net_->forward(cat({x, planes}, 1));
}

Tensor CganDiscriminator::forward(const Tensor&) { throw Error("CganDiscriminator: forward needs labels"); }

Cgan::Cgan(const GanConfig& c, uint64_t seed) : GanModel(c, seed) {
  GANTRY_CHECK(c.num_classes > 0, "cgan: num_classes must be positive, got ", c.num_classes);
  const DcganConfig dc{c.image_size, c.z_dim, c.width};
  Generator init_gen(seed);
  G = make_shared<CganGenerator>(dc, c.num_classes, c.embed_dim);
  D = make_shared<CganDiscriminator>(dc, c.num_classes, c.embed_dim);
  for (nn::Module* m : {(nn::Module*)G.get(), (nn::Module*)D.get()}) {
    dcgan_init(*m, &init_gen);
    for (auto& [name, p] : m->named_parameters())
      if (name == "embed.weight") nn::init::normal_(p, 0, 1, &init_gen);
  }
  register_nets(G, D, [dc, c] { return make_shared<CganGenerator>(dc, c.num_classes, c.embed_dim); });
  opt_g = std::make_unique<nn::Adam>(G->parameters(), c.lr, c.beta1, c.beta2);
  opt_d = std::make_unique<nn::Adam>(D->parameters(), c.lr, c.beta1, c.beta2);
}

StepLosses Cgan::step(const Tensor& real, const Tensor& labels) {
  check_labels("cgan step", labels, real.size(0), config.num_classes);
  const Tensor real_labels = labels.to(device());
  const Tensor fake_labels = random_labels(real.size(0));
  return bce_step(
      real, [&](const Tensor& z) { return G->forward(z, fake_labels); },
      [&](const Tensor& x, bool is_real) { return D->forward(x, is_real ? real_labels : fake_labels); });
}

Tensor Cgan::generate(nn::Module& g, const Tensor& z, const Tensor& labels) {
  return static_cast<CganGenerator&>(g).forward(z, labels);
}

}  // namespace gantry::gan
