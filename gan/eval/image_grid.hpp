// gan/eval/image_grid.hpp — sample grids as PNG, like torchvision.utils.make_grid +
// save_image: tiles in rows of `nrow`, `padding` black pixels between them.
#pragma once
#include <string>
#include <vector>

#include "core/ops.hpp"

namespace gantry::gan {

struct Grid {
  int64_t width = 0, height = 0, channels = 0;
  std::vector<uint8_t> pixels;  // row-major, height x width x channels
};

// images [N, C, H, W], C = 1 or 3, values in [-1, 1] (clamped) -> 8-bit grid; each
// pixel enlarged `scale` times (nearest) so 28x28 samples are easy to see.
Grid make_grid(const Tensor& images, int64_t nrow = 8, int64_t padding = 2, int64_t scale = 1);
// make_grid, written as a PNG (stb_image_write). Throws naming the file on failure.
void save_image_grid(const std::string& path, const Tensor& images, int64_t nrow = 8, int64_t padding = 2,
                     int64_t scale = 1);

}  // namespace gantry::gan
