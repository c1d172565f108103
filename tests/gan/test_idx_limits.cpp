// The IDX reader's named limits (issue 14): crafted headers whose dims overflow an int64
// or exceed the per-dim or element-count limit give an error naming the file and the
// limit, raw and gzip, through read_idx_images and load_dataset.
#include <doctest/doctest.h>
#include <unistd.h>
#include <zlib.h>

#include <filesystem>
#include <fstream>

#include "gan/data/dataset.hpp"
#include "test_util.hpp"

using namespace gantry;
using namespace gantry::gan;
using gantry::testing::error_of;
namespace fs = std::filesystem;

namespace {

std::string limits_dir() {
  fs::path p = fs::temp_directory_path() / ("gantry_idx_limits_" + std::to_string(::getpid()));
  fs::create_directories(p);
  return p.string();
}

std::string be32(uint32_t v) {
  std::string s;
  for (int shift = 24; shift >= 0; shift -= 8) s.push_back((char)((v >> shift) & 0xff));
  return s;
}

// An images header [n, rows, cols] and no pixels.
std::string header(uint32_t n, uint32_t rows, uint32_t cols) { return be32(0x803) + be32(n) + be32(rows) + be32(cols); }

void write_raw(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary).write(bytes.data(), (std::streamsize)bytes.size());
}

void write_gz(const std::string& path, const std::string& bytes) {
  gzFile f = gzopen(path.c_str(), "wb");
  REQUIRE(f);
  gzwrite(f, bytes.data(), (unsigned)bytes.size());
  gzclose(f);
}

}  // namespace

TEST_CASE("IDX: n=64, rows=cols=2^29 and no pixels is an error naming the element-count limit, not a crash") {
  const std::string dir = limits_dir();
  // The file: 64 * 2^29 * 2^29 = 2^64 wraps an int64 to 0, so the size check passed.
  write_raw(dir + "/train-images-idx3-ubyte", header(64, 1u << 29, 1u << 29));
  write_raw(dir + "/train-labels-idx1-ubyte", be32(0x801) + be32(64) + std::string(64, '\0'));
  const std::string e = error_of([&] { read_idx_images(dir + "/train-images-idx3-ubyte"); });
  CHECK(e.find(dir + "/train-images-idx3-ubyte") != std::string::npos);
  CHECK(e.find("element-count limit") != std::string::npos);
  CHECK(e.find("kMaxIdxElements") != std::string::npos);
  DatasetOptions o;
  o.dir = dir;
  CHECK(error_of([&] { load_dataset(o); }).find("kMaxIdxElements") != std::string::npos);
  write_gz(dir + "/big.gz", header(64, 1u << 29, 1u << 29));
  CHECK(error_of([&] { read_idx_images(dir + "/big.gz"); }).find("kMaxIdxElements") != std::string::npos);
  fs::remove_all(dir);
}

TEST_CASE("IDX: every product the header can make is checked, and each dim has a named limit") {
  const std::string dir = limits_dir();
  // 2^32 - 1 in every dim: over the per-dim limit.
  write_raw(dir + "/huge", header(0xffffffffu, 0xffffffffu, 0xffffffffu));
  std::string e = error_of([&] { read_idx_images(dir + "/huge"); });
  CHECK(e.find("per-dim limit") != std::string::npos);
  CHECK(e.find("kMaxIdxDim") != std::string::npos);
  // Each dim under the limit, product 2^30 * 2^30 over the element-count limit already at dim 1.
  write_raw(dir + "/wide", header(1u << 30, 1u << 30, 1));
  CHECK(error_of([&] { read_idx_images(dir + "/wide"); }).find("kMaxIdxElements") != std::string::npos);
  // Within every limit but with no pixels: truncated, with the byte count it wanted.
  write_raw(dir + "/cut", header(2, 1u << 10, 1u << 10));
  e = error_of([&] { read_idx_images(dir + "/cut"); });
  CHECK(e.find("truncated: expected 2097168 bytes, got 16") != std::string::npos);
  // A zero dim is a valid empty file.
  write_raw(dir + "/empty", header(0, 28, 28));
  CHECK(read_idx_images(dir + "/empty").pixels.empty());
  fs::remove_all(dir);
}

TEST_CASE("numel_of: an overflowing or over-limit shape is an error naming kMaxNumel") {
  CHECK(numel_of({2, 3, 4}) == 24);
  CHECK(numel_of({}) == 1);
  CHECK(error_of([] { numel_of({64, int64_t(1) << 29, int64_t(1) << 29}); }).find("kMaxNumel") != std::string::npos);
  CHECK(error_of([] {
          numel_of({int64_t(1) << 31, int64_t(1) << 31});
        }).find("[2147483648,2147483648]") != std::string::npos);
  CHECK(error_of([] { empty({int64_t(1) << 40, int64_t(1) << 40}); }).find("kMaxNumel") != std::string::npos);
}
