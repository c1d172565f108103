// gan/zoo/cyclegan_step.hpp — one CycleGAN training step (Zhu et al., 2017) as the
// reference's CycleGANModel.optimize_parameters does it, independent of any registry.
//
// Names follow the reference: G_AB is its netG_A (A -> B), G_BA its netG_B (B -> A);
// D_A is its netD_A, the adversary of G_AB, so it tells real B from G_AB(A); D_B tells
// real A from G_BA(B). One step, on unpaired batches a (domain A) and b (domain B):
//
//   fake_B = G_AB(a), rec_A = G_BA(fake_B), fake_A = G_BA(b), rec_B = G_AB(fake_A)
//   G step (Adam over G_AB + G_BA, D's weights fixed):
//     G_A = gan(D_A(fake_B), real)      cycle_A = lambda_A |rec_A - a|_1
//     G_B = gan(D_B(fake_A), real)      cycle_B = lambda_B |rec_B - b|_1
//     idt_A = lambda_B lambda_idt |G_AB(b) - b|_1    idt_B = lambda_A lambda_idt |G_BA(a) - a|_1
//   D step (Adam over D_A + D_B), on fakes drawn from a 50-image pool each:
//     D_A = (gan(D_A(b), real) + gan(D_A(pool_B(fake_B)), fake)) / 2   (+ GP for wgangp)
//     D_B = (gan(D_B(a), real) + gan(D_B(pool_A(fake_A)), fake)) / 2
//
// gan(p, real) per --gan-mode on the patch logits p: lsgan mean (p - t)^2 with t = 1 or 0
// (the default); vanilla BCE on logits; wgangp -mean p for real, +mean p for fake, and
// (unlike the reference, whose CycleGAN never calls its cal_gradient_penalty) a gradient
// penalty gp_lambda * mean_n (|grad D(x^)_n| - 1)^2 at interpolates of real and pooled
// fake added to each D loss; gp_lambda 0 gives the reference's unpenalized loss.
#pragma once
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "gan/train/image_pool.hpp"
#include "gan/zoo/cyclegan_nets.hpp"
#include "nn/optim.hpp"

namespace gantry::gan {

enum class CycleganGanMode { lsgan, vanilla, wgangp };
// "lsgan", "vanilla", "wgangp"; anything else throws listing them.
CycleganGanMode cyclegan_gan_mode(const std::string& name);
const char* cyclegan_gan_mode_name(CycleganGanMode m);

struct CycleganConfig {
  int64_t channels_a = 1, channels_b = 1;  // identity needs them equal
  int64_t ngf = 64, n_blocks = 9;          // ResNet generator (resnet_9blocks)
  int64_t ndf = 64, n_layers = 3;          // PatchGAN discriminator (70x70)
  CycleganGanMode gan_mode = CycleganGanMode::lsgan;
  double lr = 2e-4, beta1 = 0.5, beta2 = 0.999;
  double lambda_a = 10, lambda_b = 10;  // cycle-consistency weights
  double lambda_identity = 0.5;         // identity weight, as a fraction of lambda_a / lambda_b
  double gp_lambda = 10;                // wgangp only
  int64_t pool_size = 50;
};

// The sizes for 28/32 px grayscale, picked by measurement (bench/cyclegan_sizes.cpp,
// sneaker <-> ankle boot, 1 thread, one seed): ngf 8, resnet_2blocks, ndf 16, n_layers 2
// (a 5x5 map of 34 px patches at 28 px): 49,377 parameters per G, 42,353 per D. At batch
// 4 (50 ms of CPU a step), 6,000 pairs (80 s of CPU) gave 90% / 90% translation success;
// at the paper's batch 1 (16.5 ms a step) one epoch of 6,000 pairs (100 s of CPU) gave
// 96% / 86% with clearer boots and FD 55 / 40, so batch 1 is the better default. ngf 4 /
// ndf 8 drew visibly noisier shoes (80-90%); ngf 16, resnet_3blocks, ndf 32 reached 97% /
// 92% at 2.5x the cost per step.
CycleganConfig cyclegan_small_config();

// Losses by name, in the reference's order: D_A, G_A, cycle_A, idt_A, D_B, G_B, cycle_B, idt_B.
using NamedLosses = std::vector<std::pair<std::string, double>>;
// The value of `name` in l; throws naming it when absent.
double loss_of(const NamedLosses& l, const std::string& name);

class CycleganStep {
 public:
  // Builds the four nets (initialized N(0, 0.02) from Rng(seed), in the order
  // G_AB, G_BA, D_A, D_B), moves them to `device`, and makes the optimizers and pools.
  CycleganStep(const CycleganConfig& c, uint64_t seed, Device device = Device::cpu());

  // One step on real_a [N, channels_a, S, S] and real_b [N, channels_b, S, S] in
  // [-1, 1] on the model's device (S a multiple of 4); returns the eight losses.
  NamedLosses step(const Tensor& real_a, const Tensor& real_b);

  // The learning rate of both optimizers (for the schedule in gan/train/lr_schedule.hpp).
  void set_lr(double lr);
  // Makes step() use g (over G_AB then G_BA) and d (over D_A then D_B) instead of opt_G
  // and opt_D, e.g. after a GanModel took opt_G / opt_D over (gan/zoo/cyclegan.hpp).
  void use_optimizers(nn::Optimizer& g, nn::Optimizer& d) { g_opt_ = &g, d_opt_ = &d; }

  CycleganConfig config;
  Device device;
  std::shared_ptr<ResnetGenerator> G_AB, G_BA;
  std::shared_ptr<PatchDiscriminator> D_A, D_B;
  std::unique_ptr<nn::Adam> opt_G, opt_D;  // made here; a GanModel may take them (use_optimizers)
  ImagePool fake_a_pool, fake_b_pool;
  Rng gp_noise;  // the interpolation weights of wgangp's penalty

 private:
  nn::Optimizer *g_opt_ = nullptr, *d_opt_ = nullptr;  // opt_G / opt_D unless use_optimizers
  Tensor gan_loss(const Tensor& logits, bool target_real) const;
  Tensor d_loss(PatchDiscriminator& d, const Tensor& real, const Tensor& fake);
};

}  // namespace gantry::gan
