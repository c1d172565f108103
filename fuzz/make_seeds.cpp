// fuzz/make_seeds.cpp — writes the fuzzers' seed corpora from valid files made by gantry's
// own writers: fuzz_make_seeds DIR fills DIR/idx, DIR/safetensors and DIR/image_folder.
#include <stb/stb_image_write.h>

#include <filesystem>
#include <iostream>

#include "core/file_io.hpp"
#include "gan/data/dataset.hpp"
#include "gan/eval/image_grid.hpp"
#include "nn/checkpoint.hpp"

using namespace gantry;
namespace fs = std::filesystem;

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: fuzz_make_seeds DIR\n";
    return 2;
  }
  const fs::path dir = argv[1];
  for (const char* sub : {"idx", "safetensors", "image_folder"}) fs::create_directories(dir / sub);
  // IDX: images and labels, raw and gzip, a few shapes.
  for (int64_t n : {1, 3}) {
    gan::IdxImages im{n, 4, 5, {}};
    for (int64_t i = 0; i < n * 20; ++i) im.pixels.push_back((uint8_t)(i * 37));
    const std::string stem = (dir / "idx" / ("images" + std::to_string(n))).string();
    gan::write_idx_images(stem, im);
    gan::write_idx_images(stem + ".gz", im);
    std::vector<uint8_t> labels(n);
    for (int64_t i = 0; i < n; ++i) labels[i] = (uint8_t)(i % 10);
    gan::write_idx_labels((dir / "idx" / ("labels" + std::to_string(n))).string(), labels);
    gan::write_idx_labels((dir / "idx" / ("labels" + std::to_string(n) + ".gz")).string(), labels);
  }
  // safetensors: every dtype, a scalar, an empty tensor, metadata (like a checkpoint's).
  Rng g(1);
  nn::save_safetensors((dir / "safetensors" / "all_dtypes.safetensors").string(),
                       {{"G.main.0.weight", rand({2, 3}, DType::f32, &g)},
                        {"D.w64", rand({3}, DType::f64, &g)},
                        {"opt.step", from_indices({7}, {1})},
                        {"scalar", full({}, 2.5)},
                        {"empty", zeros({0, 3})}},
                       {{"variant", "dcgan"}, {"epoch", "3"}, {"step", "120"}});
  nn::save_safetensors((dir / "safetensors" / "one.safetensors").string(), {{"w", ones({4})}});
  // Images: PNG (gray, RGB) and JPEG.
  gan::save_image_grid((dir / "image_folder" / "gray.png").string(), rand({4, 1, 6, 6}, DType::f32, &g, -1, 1), 2, 1);
  gan::save_image_grid((dir / "image_folder" / "rgb.png").string(), rand({1, 3, 9, 5}, DType::f32, &g, -1, 1), 1, 0);
  std::string jpg;
  std::vector<uint8_t> px(12 * 10 * 3);
  for (size_t i = 0; i < px.size(); ++i) px[i] = (uint8_t)(i * 11);
  stbi_write_jpg_to_func([](void* ctx, void* d, int n) { static_cast<std::string*>(ctx)->append((char*)d, n); }, &jpg,
                         12, 10, 3, px.data(), 80);
  write_file_atomic((dir / "image_folder" / "rgb.jpg").string(), jpg);
  std::cout << "fuzz seeds in " << dir.string() << "\n";
  return 0;
}
