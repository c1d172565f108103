// gan/eval/mode_count.hpp — how many modes of a 2-D mixture a sample set covers, and the
// share of high-quality samples (within `sigmas` standard deviations of some mode's mean),
// the measure of Metz et al. (2017) and VEEGAN/PacGAN.
#pragma once
#include <vector>

#include "gan/data/toy2d.hpp"

namespace gantry::gan {

struct ModeCount {
  int64_t modes_covered = 0;      // modes holding at least min_per_mode high-quality samples
  double high_quality = 0;        // share of all samples within sigmas * sigma of their nearest mode
  std::vector<int64_t> per_mode;  // high-quality samples per mode
};

// samples [n, 2] (any float dtype). A sample is high quality when its Euclidean distance
// to the nearest mode's mean is at most sigmas * m.sigma; it then counts for that mode.
// A mode is covered when at least min_per_mode samples count for it (min_per_mode >= 1).
ModeCount count_modes(const Mixture2d& m, const Tensor& samples, double sigmas = 3.0, int64_t min_per_mode = 1);

}  // namespace gantry::gan
