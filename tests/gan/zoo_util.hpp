// tests/gan/zoo_util.hpp — a tiny labelled IDX data set and small training options
// shared by the GAN-zoo tests.
#pragma once
#include <unistd.h>

#include <filesystem>
#include <string>

#include "gan/data/dataset.hpp"
#include "gan/train/trainer.hpp"

namespace gantry::testing {

// n random-ish 28x28 images with labels 0..9 in turn, as an IDX data set in a temp folder.
inline std::string zoo_data(int64_t n = 96) {
  namespace fs = std::filesystem;
  fs::path dir =
      fs::temp_directory_path() / ("gantry_zoo_data_" + std::to_string(::getpid()) + "_" + std::to_string(n));
  if (fs::exists(dir / "train-labels-idx1-ubyte")) return dir.string();
  fs::create_directories(dir);
  Rng g(11);
  Tensor x = rand({n, 28, 28}, DType::f32, &g, 0, 255);
  gan::IdxImages im{n, 28, 28, {}};
  for (float v : x.to_vector<float>()) im.pixels.push_back((uint8_t)v);
  std::vector<uint8_t> labels;
  for (int64_t i = 0; i < n; ++i) labels.push_back((uint8_t)(i % 10));
  gan::write_idx_images((dir / "train-images-idx3-ubyte").string(), im);
  gan::write_idx_labels((dir / "train-labels-idx1-ubyte").string(), labels);
  return dir.string();
}

inline std::string zoo_out(const std::string& name) {
  return (std::filesystem::temp_directory_path() / ("gantry_zoo_" + std::to_string(::getpid()) + "_" + name)).string();
}

// Sets hyperparameter `name` of o's variant when the variant declares it.
inline void set_if_declared(gan::TrainOptions& o, const std::string& name, const std::string& value) {
  if (gan::find_variant(o.variant).defaults().has(name)) o.hyper[name] = value;
}

// Small nets (width 4, z 8 where the variant has them), batch 16, one epoch, no progress bar.
inline gan::TrainOptions zoo_options(const std::string& variant, const std::string& out) {
  gan::TrainOptions o;
  o.variant = variant;
  o.data_dir = zoo_data();
  o.out_dir = zoo_out(out);
  o.batch_size = 16;
  for (const std::string& v : gan::variant_names())
    if (v == variant) set_if_declared(o, "width", "4"), set_if_declared(o, "z_dim", "8");
  o.seed = 3;
  o.epochs = 1;
  o.progress = false;
  return o;
}

}  // namespace gantry::testing
