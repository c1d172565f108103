// examples/toy_modes.cpp — the mode-collapse toy from the command line (Metz et al., 2017,
// Figure 1): trains a small GAN on ring8 or grid25, prints the modes covered and the share of
// high-quality samples at each snapshot, and writes the scatter strip.
// Run: ./build/toy_modes --target ring8 --loss bce --unroll 5 --steps 3000 --seed 0 --out toy.png
#include <CLI/CLI.hpp>
#include <cstdio>

#include "gan/zoo/toy.hpp"

int main(int argc, char** argv) {
  gantry::gan::ToyOptions o;
  CLI::App app{"The 2-D mode-collapse toy: BCE, unrolled BCE and WGAN-GP on a ring or grid of Gaussians"};
  app.add_option("--target", o.target, "ring8 | grid25")->check(CLI::IsMember({"ring8", "grid25"}));
  app.add_option("--loss", o.loss, "bce | wgan-gp")->check(CLI::IsMember({"bce", "wgan-gp"}));
  app.add_option("--unroll", o.unroll, "K: unrolled D steps in G's loss (0: none)");
  app.add_option("--steps", o.steps, "G steps");
  app.add_option("--batch", o.batch, "batch size");
  app.add_option("--z-dim", o.z_dim, "latent size");
  app.add_option("--hidden", o.hidden, "hidden width of G and D (2 hidden layers each)");
  app.add_option("--lr-g", o.lr_g, "G's Adam learning rate");
  app.add_option("--lr-d", o.lr_d, "D's Adam learning rate");
  app.add_option("--d-steps", o.d_steps, "D steps per G step (0: 1 for bce, 5 for wgan-gp)");
  app.add_option("--snapshots", o.snapshots, "scatters in the strip, from step 0 to the last");
  app.add_option("--eval-samples", o.eval_samples, "samples per snapshot");
  app.add_option("--seed", o.seed, "seed");
  app.add_option("--out", o.out, "PNG strip path (none if empty)");
  CLI11_PARSE(app, argc, argv);
  o.verbose = true;
  try {
    gantry::gan::ToyResult r = gantry::gan::train_toy(o);
    const auto& last = r.snapshots.back().count;
    std::printf("final: modes %lld  high-quality %.3f  train %.1f s\n", (long long)last.modes_covered,
                last.high_quality, r.seconds);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "toy_modes: %s\n", e.what());
    return 1;
  }
  return 0;
}
