// gan/dcgan_step.hpp — one DCGAN training step, shared by the trainer, the tests
// and bench/: D sees the real batch and a detached fake batch and takes an Adam
// step on BCE; then G takes an Adam step on the non-saturating loss through D.
#pragma once
#include <memory>

#include "gan/dcgan.hpp"
#include "nn/optim.hpp"

namespace gantry::gan {

struct DcganHyper {
  double lr = 2e-4, beta1 = 0.5, beta2 = 0.999;
  double real_label = 1.0;  // < 1: one-sided label smoothing
};

struct StepLosses {
  double d_loss, g_loss;
  double d_real, d_fake;  // mean sigmoid(D) on the real and fake batch
};

// G and D under one Module, so their state is saved with names "G.main.0.weight", "D.main.0.weight".
class GanPair : public nn::Module {
 public:
  GanPair(std::shared_ptr<nn::Module> g, std::shared_ptr<nn::Module> d) {
    register_module("G", std::move(g));
    register_module("D", std::move(d));
  }
};

class DcganModel {
 public:
  DcganModel(const DcganConfig& c, const DcganHyper& h, uint64_t seed);
  // One step on a real batch [N, 1, S, S] in [-1, 1]; latents from `noise`.
  StepLosses step(const Tensor& real);
  // Images from latents z [N, z_dim], with G in eval mode (running batchnorm statistics).
  Tensor sample(const Tensor& z);
  Tensor latents(int64_t n, Generator* gen);

  DcganConfig config;
  DcganHyper hyper;
  std::shared_ptr<DcganGenerator> G;
  std::shared_ptr<DcganDiscriminator> D;
  std::shared_ptr<GanPair> nets;  // G and D together, for checkpoints
  std::unique_ptr<nn::Adam> opt_g, opt_d;
  Generator noise;  // draws the latents of every step
};

}  // namespace gantry::gan
