// examples/toy_flags.hpp — the flags of the 2-D mode-collapse toy (gan/zoo/toy.hpp), shared
// by `gantry train toy` and examples/toy_modes.cpp. The toy trains MLPs on 2-D points, not
// images, so it is not a registry variant (no image data, grids, checkpoints or eval); it is
// the one experiment `gantry train` offers beside them.
#pragma once
#include <CLI/CLI.hpp>
#include <cstdio>

#include "gan/zoo/toy.hpp"

namespace gantry::cli {

// Adds the toy's flags to sub, writing into o.
inline void add_toy_flags(CLI::App* sub, gan::ToyOptions& o) {
  sub->add_option("--target", o.target, "ring8 | grid25")->check(CLI::IsMember({"ring8", "grid25"}));
  sub->add_option("--loss", o.loss, "bce | wgan-gp")->check(CLI::IsMember({"bce", "wgan-gp"}));
  sub->add_option("--unroll", o.unroll, "K: unrolled D steps in G's loss (0: none)")->check(CLI::Range(0, 100));
  sub->add_option("--steps", o.steps, "G steps")->check(CLI::Range((int64_t)1, (int64_t)10000000));
  sub->add_option("--batch", o.batch, "batch size")->check(CLI::Range(1, 1 << 20));
  sub->add_option("--z-dim", o.z_dim, "latent size")->check(CLI::Range(1, 4096));
  sub->add_option("--hidden", o.hidden, "hidden width of G and D (G: 2 hidden layers, D: --d-layers)")
      ->check(CLI::Range(1, 4096));
  sub->add_option("--d-layers", o.d_layers, "D's hidden layers (the paper: 1)")->check(CLI::Range(1, 16));
  sub->add_option("--d-input-scale", o.d_input_scale, "D sees this times x (the paper: 0.25)")
      ->check(CLI::Range(1e-6, 1e6));
  sub->add_option("--init", o.init, "torch | orthogonal (the paper: orthogonal, gain 0.8)")
      ->check(CLI::IsMember({"torch", "orthogonal"}));
  sub->add_option("--init-gain", o.init_gain, "the orthogonal init's gain")->check(CLI::Range(1e-6, 100.0));
  sub->add_option("--g-loss", o.g_loss, "bce's G loss: ns (-log D(G(z))) | minimax (the paper's)")
      ->check(CLI::IsMember({"ns", "minimax"}));
  sub->add_option("--lr-g", o.lr_g, "G's Adam learning rate")->check(CLI::Range(0.0, 1.0));
  sub->add_option("--lr-d", o.lr_d, "D's Adam learning rate")->check(CLI::Range(0.0, 1.0));
  sub->add_option("--beta1", o.beta1, "Adam beta1 (G and D)")->check(CLI::Range(0.0, 0.9999));
  sub->add_option("--beta2", o.beta2, "Adam beta2 (G and D)")->check(CLI::Range(0.0, 0.9999));
  sub->add_option("--d-steps", o.d_steps, "D steps per G step (0: 1 for bce, 5 for wgan-gp)")
      ->check(CLI::Range(0, 100));
  sub->add_option("--snapshots", o.snapshots, "scatters in the strip, from step 0 to the last")
      ->check(CLI::Range(1, 100));
  sub->add_option("--eval-samples", o.eval_samples, "samples per snapshot")->check(CLI::Range(1, 1 << 20));
  sub->add_option("--seed", o.seed, "seed");
  sub->add_option("--out", o.out, "PNG strip path (none if empty)");
}

// Trains the toy, printing each snapshot's mode count and the final line.
inline int run_toy(gan::ToyOptions o) {
  o.verbose = true;
  gan::ToyResult r = gan::train_toy(o);
  const auto& last = r.snapshots.back().count;
  std::printf("final: modes %lld  high-quality %.3f  train %.1f s%s%s\n", (long long)last.modes_covered,
              last.high_quality, r.seconds, o.out.empty() ? "" : "  strip ", o.out.c_str());
  return 0;
}

}  // namespace gantry::cli
