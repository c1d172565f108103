// gan/zoo/stylegan.hpp — StyleGAN2 (Karras et al., 2020; as NVlabs stylegan2-ada-pytorch
// trains it), scaled to 32x32 gray: the nets of gan/zoo/stylegan_nets, the non-saturating
// logistic loss, lazy R1 and path-length regularization, style mixing, Adam with the
// lazy-interval correction, and an EMA of G with a half-life in images and a ramp-up.
//
// One step (the reference's phase order Gmain, Greg, Dmain, Dreg):
//   Gmain: L = mean softplus(-D(G(ws))), ws from z (style mixing with prob 0.9 at a random
//          crossover layer in [1, num_ws)), one Adam step of G.
//   Greg (pl_weight > 0, every pl_interval steps): on N/2 samples, J^T y with y ~ N(0, I)/
//          sqrt(HW) by grad(create_graph), a = |J^T y| (the mean over ws of the squared norms,
//          square-rooted), pl_mean <- lerp(pl_mean, mean a, 0.01), L = pl_weight E (a -
//          pl_mean)^2 * pl_interval, one step.
//   Dmain: L = mean softplus(D(G(ws))) + mean softplus(-D(x)), fake detached, one step.
//   Dreg (r1_gamma > 0, every r1_interval steps): L = gamma/2 E |grad_x D(x)|^2 * r1_interval,
//          a true double backward, one step.
// Adam: lr and betas (lr, (b1, b2)) become (lr c, (b1^c, b2^c)) with c = I / (I + 1) for a
// net with a lazy regularizer of interval I, as the reference does. The EMA "G_ema" moves
// after every step with beta = 0.5^(batch / h), h = min(ema_kimg 1000, images_seen ema_rampup).
// On 28x28 data G draws 32x32 and crops the centre 28x28; D pads its input back to 32 with -1.
#pragma once
#include <memory>

#include "gan/train/model.hpp"
#include "gan/zoo/stylegan_nets.hpp"

namespace gantry::gan {

// The R1 penalty gamma/2 mean_n |grad_x sum D(x)|^2_n, differentiable w.r.t. D's parameters.
Tensor r1_penalty(nn::Module& d, const Tensor& real, double gamma);

// Path-length terms for ws [N, num_ws, w_dim] (requiring grad, in G's graph) and images
// img = synthesis(ws): the lengths a_n = sqrt(mean_l |sum_pix y * d img / d ws[n, l]|^2),
// y = `pl_noise` (already divided by sqrt(H W)); differentiable (create_graph).
Tensor path_lengths(const Tensor& ws, const Tensor& img, const Tensor& pl_noise);

class Stylegan : public GanModel {
 public:
  Stylegan(const Hyperparams& h, ModelShape shape, uint64_t seed);
  Losses step(const Batch& b) override;
  std::vector<std::string> loss_names() const override { return {"d_loss", "g_loss", "r1", "pl", "d_real", "d_fake"}; }
  std::string status(const Losses& l) const override;
  Sampling sampling() const override { return Sampling::latents; }
  int64_t z_dim() const override { return hyper().i("z_dim"); }
  // Images from G_ema (or G) with the sampling options' truncation and noise mode; [-1, 1].
  Tensor sample(const Tensor& z, const Tensor& labels = {}, bool use_ema = true) override;
  // truncation (psi), noise_mode (const | random | none), style_mix (the grid).
  std::optional<SampleGrid> sample_options(const std::map<std::string, std::string>& opts, int64_t n,
                                           uint64_t seed) override;
  // The paper's style-mixing grid: the top row the k column latents' images, the left column
  // the k row latents' images, cell (r, c) row r's ws with its first `coarse` ws (4x4 and
  // 8x8 by default) from column c's. Latents from Rng(seed); G_ema unless !use_ema.
  SampleGrid style_mix_grid(int64_t k, uint64_t seed, int64_t coarse = -1, bool use_ema = true);
  // Images from ws [N, num_ws, w_dim] by net `which` with the current noise mode, in eval mode.
  Tensor synthesize(const Tensor& ws, const std::string& which = "G_ema");

  nn::Named save_state() const override;
  std::map<std::string, std::string> save_state_metadata() const override;
  void restore_state(const nn::Named& tensors, const std::map<std::string, std::string>& meta) override;

  StyleGenerator& generator(const std::string& which = "G") const;
  double psi = 1;                              // truncation for sample()
  NoiseMode noise_mode = NoiseMode::constant;  // noise for sample() (the reference's default)
  Rng sample_noise{0};                         // draws random noise in sample()

  // The generator's ws for n fresh latents with style mixing (the reference's run_G).
  Tensor mixed_ws(int64_t n, bool update_w_avg);
  Tensor fit(const Tensor& img) const;  // G's 32x32 -> the data's size
  Tensor d_in(const Tensor& x) const;   // the data's size -> D's 32x32

 private:
  std::shared_ptr<StyleGenerator> G_;
  std::shared_ptr<StyleDiscriminator> D_;
  Tensor pl_mean_;
  int64_t steps_ = 0, images_ = 0;
};

}  // namespace gantry::gan
