// Sample grids: layout, and a PNG that decodes back to the same pixels.
#include <doctest/doctest.h>
#include <stb/stb_image.h>
#include <unistd.h>

#include <filesystem>

#include "gan/eval/image_grid.hpp"

using namespace gantry;
using namespace gantry::gan;

TEST_CASE("make_grid tiles images with padding, scaling and clamping") {
  // 3 images of 2x3: image k is the constant (k - 1) -> bytes 0, 128, 255 (after clamp of 2 -> 1).
  Tensor images = cat({full({1, 1, 2, 3}, -1.0), full({1, 1, 2, 3}, 0.0), full({1, 1, 2, 3}, 2.0)}, 0);
  Grid g = make_grid(images, 2, 1, 2);
  CHECK(g.width == 2 * (6 + 1) + 1);
  CHECK(g.height == 2 * (4 + 1) + 1);
  CHECK(g.channels == 1);
  auto at = [&](int64_t y, int64_t x) { return g.pixels[y * g.width + x]; };
  CHECK(at(0, 0) == 0);    // padding
  CHECK(at(1, 1) == 0);    // image 0 = -1
  CHECK(at(1, 8) == 128);  // image 1 = 0 -> 127.5 rounds to 128
  CHECK(at(6, 1) == 255);  // image 2, second row of tiles
  CHECK(at(6, 8) == 0);    // the empty fourth tile
  CHECK_THROWS_AS(make_grid(zeros({2, 2, 4, 4})), Error);
}

TEST_CASE("save_image_grid writes a PNG that decodes to the grid") {
  Tensor images = rand({5, 1, 7, 5}, DType::f32, nullptr, -1, 1);
  const std::string path =
      std::filesystem::temp_directory_path() / ("gantry_grid_" + std::to_string(::getpid()) + ".png");
  save_image_grid(path, images, 3, 2, 1);
  int w = 0, h = 0, c = 0;
  unsigned char* px = stbi_load(path.c_str(), &w, &h, &c, 0);
  REQUIRE(px != nullptr);
  Grid g = make_grid(images, 3, 2, 1);
  CHECK(w == g.width);
  CHECK(h == g.height);
  CHECK(c == 1);
  CHECK(std::equal(g.pixels.begin(), g.pixels.end(), px));
  stbi_image_free(px);
  CHECK_THROWS_WITH_AS(save_image_grid("/no/such/dir/x.png", images), doctest::Contains("/no/such/dir/x.png"), Error);
}
