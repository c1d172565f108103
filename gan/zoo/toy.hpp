// gan/zoo/toy.hpp — the 2-D mode-collapse toy (Metz et al., 2017, Figure 1): small MLPs for
// G and D held as plain parameter lists (so D's parameters can be unrolled), trained with
// BCE (optionally unrolled K steps) or WGAN-GP on ring8 / grid25, with mode counts per
// snapshot and a PNG strip of the sample scatter over training.
#pragma once
#include <string>
#include <vector>

#include "gan/eval/mode_count.hpp"
#include "gan/train/unroll.hpp"

namespace gantry::gan {

// ---- a functional MLP: params = {W0, b0, W1, b1, ...}, W_l [out, in], b_l [out] ----
enum class MlpActivation { relu, tanh };
// PyTorch's nn.Linear initialization, U(-1/sqrt(in), 1/sqrt(in)) for weights and biases,
// for the layer sizes `sizes` (input first, output last), drawn from gen; leaves that require grad.
std::vector<Tensor> mlp_init(const std::vector<int64_t>& sizes, Rng* gen, DType t = DType::f32);
// x [n, sizes[0]] -> [n, sizes.back()]: linear layers with `act` between them, none after the last.
Tensor mlp_forward(const std::vector<Tensor>& params, const Tensor& x, MlpActivation act = MlpActivation::relu);
// The same layers initialized as Metz et al. (2017, appendix A) and TF's orthogonal_initializer
// do: each W_l is `gain` times a random orthogonal matrix (orthonormal rows when out <= in,
// orthonormal columns otherwise: Gram-Schmidt on Gaussian entries, so Haar-distributed), and
// every bias 0; leaves that require grad.
std::vector<Tensor> mlp_init_orthogonal(const std::vector<int64_t>& sizes, double gain, Rng* gen, DType t = DType::f32);

// ---- the toy trainer ----
struct ToyOptions {
  std::string target = "ring8";  // ring8 | grid25 (gan/data/toy2d.hpp)
  std::string loss = "bce";      // bce (non-saturating G loss) | wgan-gp
  int64_t unroll = 0;            // K: G's loss is taken against D after K unrolled Adam steps
  int64_t steps = 3000;          // G steps
  // Sizes and rates: the paper's (appendix A) are z 256, hidden 128, batch 512, Adam lr 1e-4
  // for both, beta1 0.5, 25k alternating steps, with the knobs below. On 2 shared CPU cores a
  // run here has ~3000 steps, so the defaults are smaller and faster (docs/toy.md: measured).
  int64_t batch = 128;
  int64_t z_dim = 64;
  int64_t hidden = 64;  // G: 2 hidden layers of this width, ReLU; D: d_layers of them
  // The paper's knobs (appendix A), defaults off: D with 1 hidden layer that first scales its
  // input by 1/4, orthogonal initialization with gain 0.8, and the minimax G loss.
  int64_t d_layers = 2;        // D's hidden layers (the paper: 1)
  double d_input_scale = 1.0;  // D sees d_input_scale * x (the paper: 0.25)
  std::string init = "torch";  // torch (mlp_init) | orthogonal (mlp_init_orthogonal, gain init_gain)
  double init_gain = 0.8;
  std::string g_loss = "ns";  // bce only: ns, -log D(G(z)) | minimax, G maximizes D's loss (with K > 0 its
                              // real-data term too: it depends on G through the unrolled D)
  double lr_g = 1e-3, lr_d = 1e-3, beta1 = 0.5, beta2 = 0.999;  // WGAN-GP's paper: beta2 0.9
  int64_t d_steps = 0;          // D steps per G step; 0 picks 1 for bce, 5 for wgan-gp (the paper's n_critic)
  double gp_lambda = 0.1;       // WGAN-GP's toy setting (gan_toy.py: LAMBDA = 0.1)
  int64_t snapshots = 6;        // scatters and counts at steps 0, steps/(s-1), ..., steps
  int64_t eval_samples = 2048;  // samples per snapshot (a fixed z, the same at every snapshot)
  int64_t min_per_mode = 10;    // high-quality samples a mode needs to count as covered
  uint64_t seed = 0;
  std::string out;       // PNG strip path; empty: none written
  bool verbose = false;  // print each snapshot's counts to stdout
};

struct ToySnapshot {
  int64_t step = 0;
  ModeCount count;
  Tensor samples;  // [eval_samples, 2]
};

struct ToyResult {
  std::vector<ToySnapshot> snapshots;
  double seconds = 0;  // wall time of the training (not the drawing)
};

// Trains the toy GAN of `o` from o.seed and returns a snapshot (mode count and samples) at
// every o.snapshots points, writing the strip to o.out if set. Throws on a bad option.
ToyResult train_toy(const ToyOptions& o);

// The scatters of `snaps` as one PNG row, one tile_px square tile per snapshot spanning
// [-extent, extent]^2: the modes' 3-sigma discs in red, the samples as dark blue dots.
void save_toy_strip(const std::string& path, const Mixture2d& m, const std::vector<ToySnapshot>& snaps, double extent,
                    int64_t tile_px = 200);

}  // namespace gantry::gan
