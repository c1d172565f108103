// gan/data/toy2d.cpp — the ring and grid mixtures, and seeded sampling from them.
#include "gan/data/toy2d.hpp"

#include <cmath>
#include <numbers>

#include "core/error.hpp"

namespace gantry::gan {

Mixture2d ring8(double radius, double sigma) {
  Mixture2d m;
  m.sigma = sigma;
  for (int k = 0; k < 8; ++k) {
    const double a = 2 * std::numbers::pi * k / 8;
    m.means.push_back(radius * std::cos(a));
    m.means.push_back(radius * std::sin(a));
  }
  return m;
}

Mixture2d grid25(double spacing, double sigma) {
  Mixture2d m;
  m.sigma = sigma;
  for (int i = -2; i <= 2; ++i)
    for (int j = -2; j <= 2; ++j) {
      m.means.push_back(spacing * i);
      m.means.push_back(spacing * j);
    }
  return m;
}

Mixture2d toy_target(const std::string& name) {
  if (name == "ring8") return ring8();
  if (name == "grid25") return grid25();
  GANTRY_CHECK(false, "toy_target: unknown target '", name, "' (ring8 or grid25)");
  return {};
}

Tensor sample_mixture(const Mixture2d& m, int64_t n, Rng* gen) {
  GANTRY_CHECK(m.modes() > 0 && n >= 0, "sample_mixture: needs modes and n >= 0 (n = ", n, ")");
  // One uniform per point picks its mode; the noise comes from the same generator.
  std::vector<float> u = rand({n}, DType::f32, gen).to_vector<float>();
  std::vector<float> noise = randn({n, 2}, DType::f32, gen, 0, m.sigma).to_vector<float>();
  std::vector<double> out(2 * n);
  for (int64_t i = 0; i < n; ++i) {
    int64_t k = std::min<int64_t>((int64_t)(u[i] * m.modes()), m.modes() - 1);
    out[2 * i] = m.means[2 * k] + noise[2 * i];
    out[2 * i + 1] = m.means[2 * k + 1] + noise[2 * i + 1];
  }
  return from_vector(out, {n, 2});
}

}  // namespace gantry::gan
