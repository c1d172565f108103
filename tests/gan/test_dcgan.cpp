// DCGAN: shapes, a few training steps on a tiny data set (finite losses, parameters
// move, a PNG is written), and resume equality.
#include <doctest/doctest.h>
#include <stb/stb_image.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>

#include "gan/data/dataset.hpp"
#include "gan/train/trainer.hpp"
#include "gan/zoo/dcgan_step.hpp"

using namespace gantry;
using namespace gantry::gan;
namespace fs = std::filesystem;

namespace {

// 96 random-ish 28x28 images as an IDX data set.
std::string tiny_data() {
  fs::path dir = fs::temp_directory_path() / ("gantry_dcgan_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  Rng g(9);
  Tensor x = rand({96, 28, 28}, DType::f32, &g, 0, 255);
  IdxImages im{96, 28, 28, {}};
  for (float v : x.to_vector<float>()) im.pixels.push_back((uint8_t)v);
  write_idx_images((dir / "train-images-idx3-ubyte").string(), im);
  write_idx_labels((dir / "train-labels-idx1-ubyte").string(), std::vector<uint8_t>(96, 3));
  return dir.string();
}

TrainOptions small(const std::string& data, const std::string& out) {
  TrainOptions o;
  o.data_dir = data;
  o.out_dir = out;
  o.batch_size = 16;
  o.hyper = {{"width", "4"}, {"z_dim", "8"}};
  o.seed = 5;
  o.progress = false;
  return o;
}

}  // namespace

TEST_CASE("DCGAN shapes at 28x28 and 32x32") {
  for (int64_t s : {28, 32}) {
    DcganConfig c{s, 10, 4};
    DcganGenerator g(c);
    DcganDiscriminator d(c);
    Tensor img = g.forward(randn({3, 10}));
    CHECK(img.shape() == Shape{3, 1, s, s});
    CHECK(d.forward(img).shape() == Shape{3});
  }
  CHECK_THROWS_WITH_AS(DcganGenerator({30, 10, 4}), doctest::Contains("28 or 32"), Error);
}

TEST_CASE("a few DCGAN steps: finite losses, parameters move, samples and checkpoint written") {
  std::string data = tiny_data(), out = fs::temp_directory_path() / ("gantry_dcgan_out_" + std::to_string(::getpid()));
  TrainOptions o = small(data, out);
  o.epochs = 1;
  Hyperparams config = find_variant("dcgan").defaults();
  config.set("z_dim", "8", "test"), config.set("width", "4", "test");
  DcganModel before(config, {}, 5);
  TrainResult r = train(o);
  CHECK(r.steps == 6);
  for (auto& l : r.losses) {
    CHECK(std::isfinite(l["d_loss"]));
    CHECK(std::isfinite(l["g_loss"]));
  }
  LoadedGan after = load_gan_checkpoint(r.checkpoint);
  CHECK(after.step == 6);
  CHECK(after.epoch == 1);
  auto* loaded = dynamic_cast<DcganModel*>(after.model.get());
  REQUIRE(loaded != nullptr);
  auto p0 = before.G->parameters()[0].to_vector<float>(), p1 = loaded->G->parameters()[0].to_vector<float>();
  CHECK(p0 != p1);
  int w = 0, h = 0, c = 0;
  unsigned char* px = stbi_load(r.samples.c_str(), &w, &h, &c, 0);
  REQUIRE(px != nullptr);  // the PNG decodes: an 8x8 grid of 28x28 tiles, scaled 2x, padding 2
  CHECK(w == 8 * (56 + 2) + 2);
  CHECK(h == w);
  stbi_image_free(px);
  CHECK(fs::exists(r.log));
}

TEST_CASE("resuming from a checkpoint gives the same losses as an uninterrupted run") {
  std::string data = tiny_data();
  const std::string base = fs::temp_directory_path() / ("gantry_resume_" + std::to_string(::getpid()));
  TrainOptions full = small(data, base + "_full");
  full.epochs = 3;
  TrainResult uninterrupted = train(full);
  TrainOptions first = small(data, base + "_split");
  first.epochs = 1;
  train(first);
  TrainOptions rest = small(data, base + "_split");
  rest.epochs = 3;
  rest.resume = base + "_split/checkpoint.safetensors";
  TrainResult resumed = train(rest);
  REQUIRE(uninterrupted.losses.size() == 18);
  REQUIRE(resumed.losses.size() == 12);
  for (size_t i = 0; i < 12; ++i) {
    CHECK(resumed.losses[i]["d_loss"] == uninterrupted.losses[6 + i]["d_loss"]);
    CHECK(resumed.losses[i]["g_loss"] == uninterrupted.losses[6 + i]["g_loss"]);
  }
}
