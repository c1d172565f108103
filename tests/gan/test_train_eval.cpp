// The metric inside training (--eval-every) and `gantry eval --checkpoint` for the zoo's
// variants, on the tiny labelled data set of zoo_util.hpp (used as the test split too).
#include <doctest/doctest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "gan/eval/evaluate.hpp"
#include "gan/train/trainer.hpp"
#include "zoo_util.hpp"

using namespace gantry;
namespace fs = std::filesystem;

namespace {

// zoo_data() with its train files also laid out as the test split the Evaluator reads.
std::string data_with_test_split() {
  const fs::path dir = testing::zoo_data();
  for (const char* kind : {"images-idx3", "labels-idx1"}) {
    const fs::path to = dir / (std::string("t10k-") + kind + "-ubyte");
    if (!fs::exists(to)) fs::copy_file(dir / (std::string("train-") + kind + "-ubyte"), to);
  }
  return dir.string();
}

std::vector<std::vector<std::string>> read_csv(const std::string& path) {
  std::ifstream in(path);
  std::vector<std::vector<std::string>> rows;
  for (std::string line; std::getline(in, line);) {
    std::vector<std::string> cells;
    std::stringstream ss(line);
    for (std::string cell; std::getline(ss, cell, ',');) cells.push_back(cell);
    if (!line.empty() && line.back() == ',') cells.push_back("");
    rows.push_back(cells);
  }
  return rows;
}

}  // namespace

TEST_CASE("--eval-every writes the metric to metrics.csv every K epochs and after the last") {
  gan::TrainOptions o = testing::zoo_options("cgan", "train_eval_cgan");
  o.data_dir = data_with_test_split();
  o.epochs = 3, o.eval_every = 2, o.eval_n = 30;
  gan::TrainResult r = gan::train(o);
  auto rows = read_csv((fs::path(o.out_dir) / "metrics.csv").string());
  REQUIRE(rows.size() == 3);  // header, epoch 2, epoch 3 (the last)
  CHECK(rows[0] == std::vector<std::string>{"epoch", "step", "n", "fd_classifier", "classes_covered", "kl_uniform",
                                            "label_accuracy"});
  CHECK(rows[1][0] == "2");
  CHECK(rows[2][0] == "3");
  CHECK(std::stoll(rows[2][1]) == r.steps);
  for (size_t i = 1; i < rows.size(); ++i) {
    REQUIRE(rows[i].size() == 7);
    CHECK(rows[i][2] == "30");
    CHECK(std::isfinite(std::stod(rows[i][3])));
    CHECK(std::stod(rows[i][3]) >= 0);
    const double acc = std::stod(rows[i][6]);  // cgan: accuracy on the requested classes
    CHECK(acc >= 0);
    CHECK(acc <= 1);
  }
}

TEST_CASE("generate() draws balanced classes from a cgan checkpoint and none from an unconditional one") {
  gan::TrainOptions o = testing::zoo_options("cgan", "generate_cgan");
  gan::TrainResult r = gan::train(o);
  Tensor labels;
  Tensor images = gan::generate(r.checkpoint, 23, 5, &labels);
  CHECK(images.shape() == Shape{23, 1, 28, 28});
  REQUIRE(labels.defined());
  std::vector<int64_t> y = labels.to_vector<int64_t>();
  for (int64_t i = 0; i < 23; ++i) CHECK(y[i] == i % 10);
  // The same seed gives the same images.
  CHECK(gan::generate(r.checkpoint, 23, 5).to_vector<float>() == images.to_vector<float>());

  gan::TrainOptions v = testing::zoo_options("wgan-gp", "generate_wgan_gp");
  gan::TrainResult rv = gan::train(v);
  Tensor none;
  CHECK(gan::generate(rv.checkpoint, 4, 1, &none).shape() == Shape{4, 1, 28, 28});
  CHECK_FALSE(none.defined());
}

TEST_CASE("--eval-every refuses 32x32 training and names the flag") {
  gan::TrainOptions o = testing::zoo_options("dcgan", "train_eval_pad32");
  o.data_dir = data_with_test_split();
  o.pad32 = true, o.eval_every = 1;
  CHECK_THROWS_WITH_AS(gan::train(o), doctest::Contains("--eval-every needs 28x28 images"), Error);
}

TEST_CASE("gantry eval --labels with a label outside 0..9 is an error naming the file, the label and its index") {
  const fs::path dir = fs::temp_directory_path() / "gantry_eval_bad_labels";
  fs::create_directories(dir);
  gan::IdxImages imgs{3, 28, 28, std::vector<uint8_t>(3 * 28 * 28, 0)};
  gan::write_idx_images((dir / "s.idx").string(), imgs);
  gan::write_idx_labels((dir / "l.idx").string(), {1, 12, 3});
  gan::EvalOptions o;
  o.samples = (dir / "s.idx").string();
  o.labels = (dir / "l.idx").string();
  CHECK_THROWS_WITH_AS(gan::run_eval(o), doctest::Contains("label 12 at index 1"), Error);
}
