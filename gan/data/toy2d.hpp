// gan/data/toy2d.hpp — the 2-D mixtures of Gaussians that show mode collapse (Metz et al.,
// 2017, Figure 1): a ring of 8 and a 5x5 grid, with seeded sampling.
#pragma once
#include <string>
#include <vector>

#include "core/ops.hpp"

namespace gantry::gan {

// An equal-weight mixture of isotropic Gaussians in the plane.
struct Mixture2d {
  std::vector<double> means;  // x0, y0, x1, y1, ... (2 per mode)
  double sigma = 0.02;        // the standard deviation of every component, per axis
  int64_t modes() const { return (int64_t)means.size() / 2; }
};

// 8 modes on a circle of `radius` at angles 2*pi*k/8 (the paper: radius 2, sigma 0.02).
Mixture2d ring8(double radius = 2.0, double sigma = 0.02);
// 25 modes at {-2s, -s, 0, s, 2s}^2 for spacing s (VEEGAN's and PacGAN's grid: s = 2, sigma 0.05).
Mixture2d grid25(double spacing = 2.0, double sigma = 0.05);
// "ring8" or "grid25" with its default sizes; throws on any other name.
Mixture2d toy_target(const std::string& name);

// n points [n, 2] (float32): a uniformly drawn mode per point plus N(0, sigma^2) per axis,
// all from `gen` (the same generator state gives the same points).
Tensor sample_mixture(const Mixture2d& m, int64_t n, Rng* gen);

}  // namespace gantry::gan
