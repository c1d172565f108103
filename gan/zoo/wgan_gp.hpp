// gan/zoo/wgan_gp.hpp — WGAN-GP (Gulrajani et al., 2017): the Lipschitz constraint as a
// penalty on the critic's input gradient at random interpolates,
//
//   x^ = a x + (1 - a) x~,  a ~ U(0, 1) per sample,
//   L_D = mean D(x~) - mean D(x) + lambda * mean_n (||grad_x^ D(x^)_n||_2 - 1)^2.
//
// grad_x^ D is taken with create_graph, so the critic's step differentiates through
// it (a true double backward). The critic has no batchnorm (the penalty is per
// sample; batchnorm would couple samples): DCGAN's conv critic with layer norm over
// [C, H, W] in its place, as the paper suggests, or no normalization (critic_norm
// "none"). Adam 1e-4, betas (0, 0.9) as in the paper's Algorithm 1; lambda 10;
// n_critic 5.
#pragma once
#include "gan/zoo/wgan.hpp"

namespace gantry::gan {

// DCGAN's discriminator layout with layer norm (or nothing) instead of batchnorm:
// 28x28: 1 -> f x 14x14 -> 2f x 7x7 (LN) -> 1 (7x7 conv); 32x32 one more stage.
class GpCritic : public nn::Module {
 public:
  GpCritic(const DcganConfig& c, bool layer_norm);
  // images [N, 1, S, S] -> scores [N]
  Tensor forward(const Tensor& x) override;
  DcganConfig config;

 private:
  std::shared_ptr<nn::Sequential> main_;
};

// x^ = a real + (1 - a) fake, a ~ U(0, 1) drawn per sample from gen.
Tensor interpolate(const Tensor& real, const Tensor& fake, Rng* gen);
// The same with the weights given: a [N, 1, 1, 1] in [0, 1) (a data-parallel rank's rows).
Tensor interpolate(const Tensor& real, const Tensor& fake, const Tensor& a);
// lambda * mean_n (||grad_x^ sum(critic(x^))_n|| - 1)^2, differentiable w.r.t. the critic's
// parameters: grad({sum(critic(x^))}, {x^}, {}, retain_graph, create_graph), then
// gantry::gradient_penalty. x_hat must not require grad (it is made a leaf here).
Tensor wgan_gradient_penalty(nn::Module& critic, const Tensor& x_hat, double lambda);

class WganGp : public CriticGan {
 public:
  // critic_layer_norm picks the critic's normalization; Adam with lr, beta1, beta2.
  WganGp(const Hyperparams& h, ModelShape shape, uint64_t seed);

 protected:
  Tensor critic_regularizer(const Tensor& real, const Tensor& fake, Losses& l) override;
  bool has_gp() const override { return hyper().f("gp_lambda") > 0; }
};

}  // namespace gantry::gan
