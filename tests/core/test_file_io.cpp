// core/file_io: AtomicFile and write_file_atomic write all or nothing, and every failure
// (a missing directory, a full disk injected mid-write, a rename onto a directory) is an
// error naming the file that leaves the previous file intact and no temp file behind.
#include <doctest/doctest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "core/file_io.hpp"
#include "test_util.hpp"

using namespace gantry;
using gantry::testing::error_of;
namespace fs = std::filesystem;

namespace {

std::string io_dir() {
  fs::path p = fs::temp_directory_path() / ("gantry_file_io_" + std::to_string(::getpid()));
  fs::create_directories(p);
  return p.string();
}

std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

int temp_files(const std::string& dir) {
  int n = 0;
  for (auto& e : fs::directory_iterator(dir)) n += e.path().filename().string().find(".tmp.") != std::string::npos;
  return n;
}

}  // namespace

TEST_CASE("write_file_atomic writes the bytes and replaces a previous file") {
  const std::string dir = io_dir(), path = dir + "/a.bin";
  write_file_atomic(path, "first");
  CHECK(read_bytes(path) == "first");
  write_file_atomic(path, std::string(100000, 'x'));
  CHECK(read_bytes(path) == std::string(100000, 'x'));
  write_file_atomic(path, "");
  CHECK(fs::file_size(path) == 0);
  CHECK(temp_files(dir) == 0);
  fs::remove_all(dir);
}

TEST_CASE("a full disk mid-write is an error naming the file; the previous file stays and no temp is left") {
  const std::string dir = io_dir(), path = dir + "/b.bin";
  write_file_atomic(path, "good old contents");
  for (int64_t after : {0, 3, 4096, 99999}) {
    INFO("failing after " << after << " bytes");
    inject_write_failure_after(after);
    const std::string e = error_of([&] { write_file_atomic(path, std::string(100000, 'n'), "sample"); });
    inject_write_failure_after(-1);
    CHECK(e.find("sample " + path) == 0);
    CHECK(e.find("No space left on device") != std::string::npos);
    CHECK(e.find("is untouched") != std::string::npos);
    CHECK(read_bytes(path) == "good old contents");
    CHECK(temp_files(dir) == 0);
  }
  // Many small writes: the failure lands in the middle.
  {
    inject_write_failure_after(10);
    AtomicFile f(path, "log");
    f.write("12345");
    CHECK(error_of([&] { f.write("678901234"); }).find("cannot write " + f.temp_path()) != std::string::npos);
    inject_write_failure_after(-1);
  }
  CHECK(read_bytes(path) == "good old contents");
  CHECK(temp_files(dir) == 0);
  fs::remove_all(dir);
}

TEST_CASE("a directory that does not exist, or a directory in the file's place, is an error naming the file") {
  const std::string dir = io_dir();
  const std::string nowhere = dir + "/no/such/dir/c.bin";
  std::string e = error_of([&] { write_file_atomic(nowhere, "x", "checkpoint"); });
  CHECK(e.find("checkpoint " + nowhere + ": cannot write") == 0);
  CHECK(e.find("No such file or directory") != std::string::npos);
  fs::create_directories(dir + "/taken");
  fs::create_directories(dir + "/taken/inside");  // rename over a non-empty directory fails
  e = error_of([&] { write_file_atomic(dir + "/taken", "x"); });
  CHECK(e.find("cannot rename") != std::string::npos);
  CHECK(fs::is_directory(dir + "/taken/inside"));
  CHECK(temp_files(dir) == 0);
  // Abandoned without commit (an exception between writes): no temp file is left.
  {
    AtomicFile f(dir + "/d.bin");
    f.write("partial");
  }
  CHECK(!fs::exists(dir + "/d.bin"));
  CHECK(temp_files(dir) == 0);
  fs::remove_all(dir);
}
