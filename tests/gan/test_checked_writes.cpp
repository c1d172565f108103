// Every file gantry writes outside the trainer goes through core/file_io's checked
// atomic write (issue 14): a PNG grid and IDX files (raw and .gz) under a full disk
// (injected) give an error naming the file and leave the previous file intact.
#include <doctest/doctest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "core/file_io.hpp"
#include "gan/data/dataset.hpp"
#include "gan/eval/image_grid.hpp"
#include "test_util.hpp"

using namespace gantry;
using namespace gantry::gan;
using gantry::testing::error_of;
namespace fs = std::filesystem;

namespace {

std::string writes_dir() {
  fs::path p = fs::temp_directory_path() / ("gantry_checked_writes_" + std::to_string(::getpid()));
  fs::create_directories(p);
  return p.string();
}

std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

}  // namespace

TEST_CASE("save_image_grid on a full disk: an error naming the PNG, the previous PNG intact") {
  const std::string dir = writes_dir(), path = dir + "/grid.png";
  Rng g(3);
  Tensor images = rand({16, 1, 28, 28}, DType::f32, &g, -1, 1);
  save_image_grid(path, images);
  const std::string before = read_bytes(path);
  REQUIRE(before.size() > 1000);
  CHECK(before.substr(1, 3) == "PNG");
  inject_write_failure_after(8192);  // the truncated 8 KiB PNG
  const std::string e = error_of([&] { save_image_grid(path, rand({16, 1, 28, 28}, DType::f32, &g, -1, 1)); });
  inject_write_failure_after(-1);
  CHECK(e.find("PNG " + path) == 0);
  CHECK(e.find("No space left on device") != std::string::npos);
  CHECK(read_bytes(path) == before);
  // A folder that does not exist.
  CHECK(error_of([&] { save_image_grid(dir + "/missing/grid.png", images); }).find(dir + "/missing/grid.png") !=
        std::string::npos);
  fs::remove_all(dir);
}

TEST_CASE("write_idx_images / write_idx_labels on a full disk, raw and gzip: an error naming the file") {
  const std::string dir = writes_dir();
  IdxImages im{4, 5, 5, std::vector<uint8_t>(100, 7)};
  for (const std::string name : {"/x-idx3-ubyte", "/x-idx3-ubyte.gz"}) {
    const std::string path = dir + name;
    write_idx_images(path, im);
    const std::string before = read_bytes(path);
    inject_write_failure_after(10);
    const std::string e = error_of([&] { write_idx_images(path, IdxImages{1, 2, 2, {1, 2, 3, 4}}); });
    inject_write_failure_after(-1);
    CHECK(e.find("IDX file " + path) == 0);
    CHECK(e.find("No space left on device") != std::string::npos);
    CHECK(read_bytes(path) == before);
    CHECK(read_idx_images(path).pixels == im.pixels);
  }
  inject_write_failure_after(3);
  CHECK(error_of([&] { write_idx_labels(dir + "/l", {1, 2, 3}); }).find("IDX file " + dir + "/l") == 0);
  inject_write_failure_after(-1);
  CHECK(!fs::exists(dir + "/l"));
  fs::remove_all(dir);
}
