// The IDX reader on small generated files (raw, gzip, and broken ones), the data
// set options, and the batch iterator's determinism.
#include <doctest/doctest.h>

#include "test_util.hpp"
#include <unistd.h>
#include <zlib.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <set>

#include "gan/data/dataset.hpp"

using namespace gantry;
using gantry::testing::error_of;
using namespace gantry::gan;
namespace fs = std::filesystem;

namespace {

DatasetOptions in_dir(const std::string& dir) {
  DatasetOptions o;
  o.dir = dir;
  return o;
}

std::string temp_dir(const std::string& name) {
  fs::path p = fs::temp_directory_path() / ("gantry_data_" + std::to_string(::getpid())) / name;
  fs::create_directories(p);
  return p.string();
}

IdxImages ramp_images(int64_t n, int64_t rows, int64_t cols) {
  IdxImages im{n, rows, cols, {}};
  for (int64_t i = 0; i < n * rows * cols; ++i) im.pixels.push_back((uint8_t)(i * 7 % 256));
  return im;
}

// A tiny data set in IDX form: n images whose pixel (0,0) is the image index, labels i % 10.
std::string tiny_dataset(const std::string& name, int64_t n, bool gz) {
  std::string dir = temp_dir(name);
  IdxImages im{n, 28, 28, std::vector<uint8_t>(n * 28 * 28, 0)};
  std::vector<uint8_t> labels;
  for (int64_t i = 0; i < n; ++i) {
    im.pixels[i * 784] = (uint8_t)i;
    im.pixels[i * 784 + 1] = 255;
    labels.push_back((uint8_t)(i % 10));
  }
  const std::string ext = gz ? ".gz" : "";
  write_idx_images(dir + "/train-images-idx3-ubyte" + ext, im);
  write_idx_labels(dir + "/train-labels-idx1-ubyte" + ext, labels);
  return dir;
}

}  // namespace

TEST_CASE("IDX images and labels round-trip, raw and gzip") {
  std::string dir = temp_dir("roundtrip");
  IdxImages im = ramp_images(3, 5, 7);
  for (const std::string name : {"/a-idx3-ubyte", "/a-idx3-ubyte.gz"}) {
    write_idx_images(dir + name, im);
    IdxImages back = read_idx_images(dir + name);
    CHECK(back.n == 3);
    CHECK(back.rows == 5);
    CHECK(back.cols == 7);
    CHECK(back.pixels == im.pixels);
  }
  write_idx_labels(dir + "/l.gz", {1, 2, 9});
  CHECK(read_idx_labels(dir + "/l.gz") == std::vector<uint8_t>{1, 2, 9});
  // the gzip file really is compressed: it starts with gzip's magic
  std::ifstream in(dir + "/a-idx3-ubyte.gz", std::ios::binary);
  unsigned char m[2];
  in.read(reinterpret_cast<char*>(m), 2);
  CHECK((m[0] == 0x1f && m[1] == 0x8b));
}

TEST_CASE("bad IDX files give errors that name the file and the problem") {
  std::string dir = temp_dir("bad");
  CHECK(error_of([&] { read_idx_images(dir + "/nope"); }).find(dir + "/nope") != std::string::npos);
  write_idx_labels(dir + "/labels", {1, 2});
  std::string e = error_of([&] { read_idx_images(dir + "/labels"); });
  CHECK(e.find("magic number 0x801 but expected 0x803") != std::string::npos);
  write_idx_images(dir + "/full", ramp_images(4, 5, 5));
  std::ifstream in(dir + "/full", std::ios::binary);
  std::string bytes(std::istreambuf_iterator<char>(in), {});
  std::ofstream(dir + "/cut", std::ios::binary).write(bytes.data(), (std::streamsize)bytes.size() - 30);
  e = error_of([&] { read_idx_images(dir + "/cut"); });
  CHECK(e.find("truncated: expected 116 bytes, got 86") != std::string::npos);
  std::string gz = "\x1f\x8b garbage that is not deflate";
  std::ofstream(dir + "/corrupt.gz", std::ios::binary).write(gz.data(), (std::streamsize)gz.size());
  CHECK(error_of([&] { read_idx_images(dir + "/corrupt.gz"); }).find("corrupt.gz") != std::string::npos);
  CHECK(error_of([&] { load_dataset(in_dir(dir + "/empty_dir")); }).find("train-images-idx3-ubyte") !=
        std::string::npos);
}

TEST_CASE("load_dataset scales to [-1, 1], pads, filters classes and limits") {
  std::string dir = tiny_dataset("tiny", 30, true);
  Dataset d = load_dataset(in_dir(dir));
  CHECK(d.images.shape() == Shape{30, 1, 28, 28});
  CHECK(d.images.dtype() == DType::f32);
  auto px = d.images.to_vector<float>();
  CHECK(px[1] == 1.0f);   // 255
  CHECK(px[2] == -1.0f);  // 0
  CHECK(px[784 * 5] == doctest::Approx(5 / 127.5 - 1));
  DatasetOptions o = in_dir(dir);
  o.pad_to_32 = true;
  o.classes = {3, 7};
  o.limit = 4;
  Dataset p = load_dataset(o);
  CHECK(p.images.shape() == Shape{4, 1, 32, 32});
  CHECK(p.labels.to_vector<int64_t>() == std::vector<int64_t>{3, 7, 3, 7});
  auto pp = p.images.to_vector<float>();
  CHECK(pp[0] == -1.0f);                                    // padding is background
  CHECK(pp[2 * 32 + 2] == doctest::Approx(3 / 127.5 - 1));  // image 3's pixel (0,0), shifted by 2
  CHECK(load_dataset(in_dir(tiny_dataset("raw", 12, false))).images.size(0) == 12);
}

TEST_CASE("batches: same seed same order, each epoch a new permutation, every sample once") {
  Dataset d = load_dataset(in_dir(tiny_dataset("batches", 30, false)));
  BatchIterator a(d, 8, 42), b(d, 8, 42), c(d, 8, 43);
  CHECK(a.batches_per_epoch() == 3);
  auto epoch_order = [](BatchIterator& it, int64_t e) {
    it.start_epoch(e);
    std::vector<int64_t> order;
    Tensor im, lb;
    while (it.next(im, lb)) {
      CHECK(im.shape() == Shape{8, 1, 28, 28});
      auto v = im.to_vector<float>();
      for (int64_t k = 0; k < 8; ++k) order.push_back(std::lround((v[k * 784] + 1) * 127.5));
    }
    return order;
  };
  auto a0 = epoch_order(a, 0), b0 = epoch_order(b, 0), a1 = epoch_order(a, 1), c0 = epoch_order(c, 0);
  CHECK(a0.size() == 24);  // drop_last: 30 -> 3 full batches
  CHECK(a0 == b0);
  CHECK(a0 != a1);
  CHECK(a0 != c0);
  CHECK(std::set<int64_t>(a0.begin(), a0.end()).size() == 24);
  BatchIterator keep(d, 8, 42, false);
  CHECK(keep.batches_per_epoch() == 4);
  CHECK(epoch_order(a, 1) == a1);  // an epoch's order depends only on (seed, epoch)
}

TEST_CASE("the installed Fashion-MNIST loads, when present") {
  if (!fs::exists(default_data_dir() + "/train-images-idx3-ubyte.gz")) {
    MESSAGE("Fashion-MNIST not installed at " << default_data_dir() << "; skipped");
    return;
  }
  DatasetOptions o;
  o.train = false;
  Dataset d = load_dataset(o);
  CHECK(d.images.shape() == Shape{10000, 1, 28, 28});
  auto labels = d.labels.to_vector<int64_t>();
  CHECK(*std::min_element(labels.begin(), labels.end()) == 0);
  CHECK(*std::max_element(labels.begin(), labels.end()) == 9);
}
