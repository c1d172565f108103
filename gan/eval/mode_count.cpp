// gan/eval/mode_count.cpp — nearest-mode assignment of 2-D samples within k sigma.
#include "gan/eval/mode_count.hpp"

#include <cmath>
#include <limits>

#include "core/error.hpp"

namespace gantry::gan {

ModeCount count_modes(const Mixture2d& m, const Tensor& samples, double sigmas, int64_t min_per_mode) {
  GANTRY_CHECK(samples.dim() == 2 && samples.size(1) == 2, "count_modes: samples must be [n, 2], got ",
               shape_str(samples.shape()));
  GANTRY_CHECK(min_per_mode >= 1 && m.modes() > 0, "count_modes: needs modes and min_per_mode >= 1");
  const int64_t n = samples.size(0);
  std::vector<double> xy = samples.detach().to_vector<double>();
  ModeCount out;
  out.per_mode.assign(m.modes(), 0);
  const double radius2 = std::pow(sigmas * m.sigma, 2);
  int64_t good = 0;
  for (int64_t i = 0; i < n; ++i) {
    double best = std::numeric_limits<double>::infinity();
    int64_t best_k = -1;
    for (int64_t k = 0; k < m.modes(); ++k) {
      const double dx = xy[2 * i] - m.means[2 * k], dy = xy[2 * i + 1] - m.means[2 * k + 1];
      const double d2 = dx * dx + dy * dy;
      if (d2 < best) best = d2, best_k = k;
    }
    if (best <= radius2) ++out.per_mode[best_k], ++good;  // NaN samples fail the test and count as bad
  }
  for (int64_t c : out.per_mode) out.modes_covered += c >= min_per_mode;
  out.high_quality = n > 0 ? (double)good / n : 0.0;
  return out;
}

}  // namespace gantry::gan
