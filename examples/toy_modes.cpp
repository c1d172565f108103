// examples/toy_modes.cpp — the mode-collapse toy from the command line (Metz et al., 2017,
// Figure 1), the same as `gantry train toy`: trains a small GAN on ring8 or grid25, prints
// the modes covered and the share of high-quality samples at each snapshot, and writes the
// scatter strip.
// Run: ./build/toy_modes --target ring8 --loss bce --unroll 5 --steps 3000 --seed 0 --out toy.png
#include "toy_flags.hpp"

int main(int argc, char** argv) {
  gantry::gan::ToyOptions o;
  CLI::App app{"The 2-D mode-collapse toy: BCE, unrolled BCE and WGAN-GP on a ring or grid of Gaussians"};
  gantry::cli::add_toy_flags(&app, o);
  CLI11_PARSE(app, argc, argv);
  try {
    return gantry::cli::run_toy(o);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "toy_modes: %s\n", e.what());
    return 1;
  }
}
