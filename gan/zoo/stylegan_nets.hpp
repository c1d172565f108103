// gan/zoo/stylegan_nets.hpp — StyleGAN2's nets (Karras et al., 2020, as in NVlabs
// stylegan2-ada-pytorch), scaled to 32x32 gray: the mapping network, the synthesis
// network with skip toRGB outputs, and the residual discriminator, all with equalized
// learning rate (weights stored N(0, 1), scaled by gain / sqrt(fan_in) at run time).
//
// Upsampling is stylegan2-ada's upsample2d: upfirdn2d up 2 with the [1,3,3,1] FIR (gain 4),
// followed by a stride-1 modulated 3x3 conv (the documented simpler equivalent of its
// transposed modulated conv + blur, docs/kernels/modulated_conv2d.md). Downsampling in D is
// the FIR blur with down 2, then the conv.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "nn/module.hpp"

namespace gantry::gan {

struct StyleganConfig {
  int64_t image_size = 32, channels = 1;
  int64_t z_dim = 64, w_dim = 64;
  int64_t map_layers = 2;
  double map_lr_mul = 0.01;
  double w_avg_beta = 0.995;
  int64_t width = 16;  // channels: 2f at 4x4 and 8x8, f at 16x16, f/2 (at least 1) at 32x32
  int64_t channels_at(int64_t res) const;
  std::vector<int64_t> resolutions() const;  // 4, 8, ..., image_size
};

// Equalized-lr fully connected layer: y = x (W * lr_mul / sqrt(in))^T + b * lr_mul, W stored
// N(0, 1) / lr_mul, b initialized to bias_init; optionally leaky ReLU 0.2 times sqrt 2.
class EqLinear : public nn::Module {
 public:
  EqLinear(int64_t in, int64_t out, bool lrelu, double bias_init = 0, double lr_mul = 1);
  void init(Rng* gen);
  Tensor forward(const Tensor& x) override;
  Tensor weight, bias;
  int64_t in, out;
  bool lrelu;
  double bias_init, lr_mul;
};

// Equalized-lr conv (D): conv2d(x, W / sqrt(in k k), b), optionally after a [1,3,3,1] blur
// with down 2, then optionally lrelu x sqrt 2 scaled by `gain`.
class EqConv : public nn::Module {
 public:
  EqConv(int64_t in, int64_t out, int64_t k, bool bias, bool lrelu, bool down, double gain = 1);
  void init(Rng* gen);
  Tensor forward(const Tensor& x) override;
  Tensor weight, bias;
  int64_t k;
  bool lrelu, down;
  double gain;
};

// The [1,3,3,1] FIR as a 2-d filter of sum `gain` on x's device; x up or down by 2 through upfirdn2d.
Tensor fir_up2(const Tensor& x);
Tensor fir_down2(const Tensor& x);
// lrelu(x, 0.2) * sqrt(2).
Tensor lrelu_gain(const Tensor& x);

// z [N, z_dim] -> w [N, w_dim]: z / sqrt(mean z^2 + 1e-8), then map_layers EqLinear with lrelu.
// Buffer w_avg [w_dim]: the running mean of w, w_avg <- beta w_avg + (1 - beta) mean_n w,
// moved by forward_update (training only).
class MappingNet : public nn::Module {
 public:
  explicit MappingNet(const StyleganConfig& c);
  void init(Rng* gen);
  Tensor forward(const Tensor& z) override;
  Tensor forward_update(const Tensor& z);  // forward, then moves w_avg towards the batch mean
  Tensor w_avg;
  StyleganConfig config;

 private:
  std::vector<std::shared_ptr<EqLinear>> fcs_;
};

enum class NoiseMode { random, constant, none };

// One modulated conv layer: styles = affine(w) (bias init 1); modulated_conv2d with
// demodulation (k 3) or without (the toRGB 1x1, styles scaled by 1/sqrt(in)); for the 3x3,
// per-pixel noise * strength (init 0; "noise_const" for NoiseMode::constant), bias, lrelu x sqrt 2.
class SynthesisLayer : public nn::Module {
 public:
  SynthesisLayer(int64_t w_dim, int64_t in, int64_t out, int64_t res, bool up, bool to_rgb);
  void init(Rng* gen);
  // x [N, in, r, r] (r = res / 2 when up), w [N, w_dim] -> [N, out, res, res].
  Tensor run(const Tensor& x, const Tensor& w, NoiseMode mode, Rng* noise_gen);
  std::shared_ptr<EqLinear> affine;
  Tensor weight, bias, noise_strength, noise_const;
  int64_t in, out, res;
  bool up, to_rgb;
};

// ws [N, num_ws, w_dim] -> images [N, channels, S, S] (not squashed; ~[-1, 1]).
// Layer i takes ws[:, i]; a block's toRGB shares the index of the next block's first conv.
class SynthesisNet : public nn::Module {
 public:
  explicit SynthesisNet(const StyleganConfig& c);
  void init(Rng* gen);
  Tensor run(const Tensor& ws, NoiseMode mode, Rng* noise_gen);
  int64_t num_ws() const { return num_ws_; }
  StyleganConfig config;
  Tensor const_input;

 private:
  struct Block {
    std::shared_ptr<SynthesisLayer> conv0, conv1, torgb;  // conv0 absent at 4x4
    int64_t w0;                                           // the ws index of its first conv
  };
  std::vector<Block> blocks_;
  int64_t num_ws_ = 0;
};

// The generator: mapping, optional truncation, synthesis. forward(z) samples with the
// settings below (psi, noise mode); its noise draws come from noise_gen (set by the owner).
class StyleGenerator : public nn::Module {
 public:
  explicit StyleGenerator(const StyleganConfig& c);
  void init(Rng* gen);
  // ws [N, num_ws, w_dim] from z (truncated towards w_avg with psi; update: move w_avg).
  Tensor mapping_ws(const Tensor& z, double psi = 1, bool update = false);
  Tensor synthesis_run(const Tensor& ws, NoiseMode mode, Rng* gen) { return synthesis->run(ws, mode, gen); }
  Tensor forward(const Tensor& z) override;
  int64_t num_ws() const { return synthesis->num_ws(); }
  std::shared_ptr<MappingNet> mapping;
  std::shared_ptr<SynthesisNet> synthesis;
  StyleganConfig config;
  double psi = 1;
  NoiseMode noise_mode = NoiseMode::random;
  Rng* noise_gen = nullptr;
};

// Residual discriminator: fromRGB 1x1, a residual block per resolution down to 4x4
// (skip: blur-down + 1x1, main: 3x3, blur-down + 3x3; summed times sqrt(1/2)), then the
// epilogue: minibatch stddev (group min(4, N) dividing N, 1 feature), 3x3 conv, FC, FC -> [N].
class StyleDiscriminator : public nn::Module {
 public:
  explicit StyleDiscriminator(const StyleganConfig& c);
  void init(Rng* gen);
  Tensor forward(const Tensor& x) override;
  StyleganConfig config;

 private:
  std::shared_ptr<EqConv> from_rgb_, epi_conv_;
  struct Block {
    std::shared_ptr<EqConv> skip, conv0, conv1;
  };
  std::vector<Block> blocks_;
  std::shared_ptr<EqLinear> fc_, out_;
};

// Minibatch standard deviation (group g dividing N, one feature): x [N, C, H, W] ->
// [N, C + 1, H, W], the extra channel sample n's group's mean over C, H, W of the std over the group.
Tensor minibatch_stddev(const Tensor& x, int64_t group = 4);

}  // namespace gantry::gan
