// gan/zoo/cgan.hpp — the conditional GAN (Mirza & Osindero, 2014) on DCGAN-style conv
// nets: G and D both see the class label y.
//
//   G: [z, e_G(y)] -> DCGAN's generator, with z_dim + embed_dim input channels
//      (e_G: an nn::Embedding [num_classes, embed_dim] of G's own).
//   D: [x, planes(e_D(y))] -> DCGAN's discriminator with 1 + embed_dim input channels:
//      D's embedding of y, each of its embed_dim values broadcast to a constant HxW
//      plane and concatenated to the image as extra channels.
//
// Training is the BCE GAN step with labels: the real batch keeps its own labels, the
// fake batch is drawn with labels uniform over the classes. Adam 2e-4, (0.5, 0.999).
#pragma once
#include "gan/zoo/dcgan.hpp"
#include "gan/zoo/gan_common.hpp"

namespace gantry::gan {

class CganGenerator : public nn::Module {
 public:
  CganGenerator(const DcganConfig& c, int64_t num_classes, int64_t embed_dim);
  // {z [N, z_dim], labels int64 [N] in [0, num_classes)} -> images [N, 1, S, S]
  // (the one-input forward is Module's, which throws: a cgan generator needs labels)
  Tensor forward_many(const std::vector<Tensor>& inputs) override;
  int64_t z_dim, num_classes;

 private:
  std::shared_ptr<nn::Embedding> embed_;
  std::shared_ptr<DcganGenerator> net_;
};

class CganDiscriminator : public nn::Module {
 public:
  CganDiscriminator(const DcganConfig& c, int64_t num_classes, int64_t embed_dim);
  // {images [N, 1, S, S], labels int64 [N]} -> logits [N]
  Tensor forward_many(const std::vector<Tensor>& inputs) override;
  int64_t num_classes;

 private:
  std::shared_ptr<nn::Embedding> embed_;
  std::shared_ptr<DcganDiscriminator> net_;
};

class Cgan : public BceGan {
 public:
  // G and D above with num_classes classes, DCGAN's init (embeddings N(0, 1)), Adam.
  Cgan(const Hyperparams& h, ModelShape shape, uint64_t seed);
  // b.labels: int64 [N], the real batch's classes.
  Losses step(const Batch& b) override;
  Sampling sampling() const override { return Sampling::latents_and_classes; }
  int64_t z_dim() const override { return hyper().i("z_dim"); }
  int64_t num_classes() const override { return hyper().i("num_classes"); }
  std::shared_ptr<CganGenerator> G;
  std::shared_ptr<CganDiscriminator> D;
};

}  // namespace gantry::gan
