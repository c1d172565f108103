// gan/eval/image_grid.cpp — make_grid (tiles in rows, [-1, 1] to bytes) and save_image_grid (a PNG, checked write).
#include "gan/eval/image_grid.hpp"

#include <stb/stb_image_write.h>

#include <algorithm>
#include <cmath>

#include "core/file_io.hpp"

namespace gantry::gan {

Grid make_grid(const Tensor& images, int64_t nrow, int64_t padding, int64_t scale) {
  GANTRY_CHECK(images.dim() == 4 && (images.size(1) == 1 || images.size(1) == 3) && images.size(0) > 0,
               "make_grid: images must be [N, 1 or 3, H, W], got ", shape_str(images.shape()));
  GANTRY_CHECK(nrow > 0 && padding >= 0 && scale > 0, "make_grid: nrow and scale must be positive, padding >= 0");
  const int64_t n = images.size(0), c = images.size(1), h = images.size(2) * scale, w = images.size(3) * scale;
  const int64_t cols = std::min(nrow, n), rows = (n + cols - 1) / cols;
  Grid g{cols * (w + padding) + padding, rows * (h + padding) + padding, c, {}};
  g.pixels.assign(g.width * g.height * c, 0);
  std::vector<float> v = images.to_vector<float>();
  const int64_t ih = images.size(2), iw = images.size(3);
  for (int64_t k = 0; k < n; ++k) {
    const int64_t top = padding + (k / cols) * (h + padding), left = padding + (k % cols) * (w + padding);
    for (int64_t y = 0; y < h; ++y)
      for (int64_t x = 0; x < w; ++x)
        for (int64_t ch = 0; ch < c; ++ch) {
          const float val = v[((k * c + ch) * ih + y / scale) * iw + x / scale];
          const float byte = std::clamp((val + 1.0f) * 127.5f, 0.0f, 255.0f);
          g.pixels[((top + y) * g.width + left + x) * c + ch] = (uint8_t)std::lround(byte);
        }
  }
  return g;
}

void save_image_grid(const std::string& path, const Tensor& images, int64_t nrow, int64_t padding, int64_t scale) {
  Grid g = make_grid(images, nrow, padding, scale);
  // Encode into memory, then one checked atomic write (core/file_io.hpp): a full disk is
  // an error naming the file, never a truncated PNG.
  std::string png;
  auto append = [](void* ctx, void* data, int size) {
    static_cast<std::string*>(ctx)->append((const char*)data, size);
  };
  const int ok = stbi_write_png_to_func(append, &png, (int)g.width, (int)g.height, (int)g.channels, g.pixels.data(),
                                        (int)(g.width * g.channels));
  GANTRY_CHECK(ok, "save_image_grid: cannot encode PNG ", path, " (", g.width, "x", g.height, ")");
  write_file_atomic(path, png, "PNG");
}

}  // namespace gantry::gan
