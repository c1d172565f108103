// safetensors reading under hostile headers (issue 14): the data offsets must be
// contiguous, non-overlapping and cover the data section exactly (a header length off by
// one, overlapping or gapped tensors are errors), JSON nesting is bounded before parsing
// (70,000 nested arrays are an error, not a stack overflow), and errors quote only a
// clipped piece of the file's JSON.
#include <doctest/doctest.h>
#include <unistd.h>

#include <bit>
#include <filesystem>
#include <fstream>

#include "core/file_io.hpp"
#include "nn/checkpoint.hpp"
#include "test_util.hpp"

using namespace gantry;
using gantry::testing::error_of;
namespace fs = std::filesystem;

namespace {

std::string layout_dir() {
  fs::path p = fs::temp_directory_path() / ("gantry_ckpt_layout_" + std::to_string(::getpid()));
  fs::create_directories(p);
  return p.string();
}

std::string le_u64(uint64_t v) {
  std::string out(8, '\0');
  for (int i = 0; i < 8; ++i) out[i] = (char)((v >> (8 * i)) & 0xff);
  return out;
}

std::string f32s(std::initializer_list<float> v) {
  std::string out;
  for (float x : v) {
    const uint32_t u = std::bit_cast<uint32_t>(x);
    for (int i = 0; i < 4; ++i) out.push_back((char)((u >> (8 * i)) & 0xff));
  }
  return out;
}

// [N][header][data] with N = header.size() + length_delta.
std::string st_bytes(const std::string& header, const std::string& data, int64_t length_delta = 0) {
  return le_u64((uint64_t)((int64_t)header.size() + length_delta)) + header + data;
}

void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary).write(bytes.data(), (std::streamsize)bytes.size());
}

std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

}  // namespace

TEST_CASE("safetensors: a header length off by one is an error, not tensors read a byte off") {
  const std::string dir = layout_dir(), path = dir + "/ok.safetensors";
  nn::save_safetensors(path, {{"a", from_vector({1.f, 2.f, 3.f}, {3})}, {"b", from_vector({4.f, 5.f}, {2})}});
  REQUIRE(nn::load_safetensors(path).tensors.size() == 2);
  const std::string good = read_bytes(path);
  uint64_t n = 0;
  for (int i = 0; i < 8; ++i) n |= (uint64_t)(uint8_t)good[i] << (8 * i);
  for (int64_t delta : {-1, 1}) {
    INFO("header length " << (int64_t)n + delta << " for a " << n << "-byte header");
    const std::string bad = dir + "/off.safetensors";
    write_bytes(bad, le_u64(n + delta) + good.substr(8));
    const std::string e = error_of([&] { nn::load_safetensors(bad); });
    CHECK(e.find(bad) != std::string::npos);
    CHECK(e != "(no error)");
  }
  // Header padded with one more space than its length says (the reference pads to 8;
  // a reader one off sees the data one byte late): the coverage check names it.
  const std::string h = R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})";
  write_bytes(dir + "/short.safetensors", st_bytes(h + " ", f32s({1, 2}), -1));
  CHECK(error_of([&] {
          nn::load_safetensors(dir + "/short.safetensors");
        }).find("the tensors cover 8 bytes of the 9-byte data section") != std::string::npos);
  fs::remove_all(dir);
}

TEST_CASE("safetensors: overlapping, gapped or short-covering offsets are errors") {
  const std::string dir = layout_dir(), path = dir + "/x.safetensors";
  // G's weight reading the optimizer's bytes: both at [0, 8).
  write_bytes(path, st_bytes(R"({"g.w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                             R"("opt.exp_avg":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})",
                             f32s({1, 2, 3, 4})));
  std::string e = error_of([&] { nn::load_safetensors(path); });
  CHECK(e.find("overlapping tensors") != std::string::npos);
  CHECK(e.find("contiguous, non-overlapping") != std::string::npos);
  // Partly overlapping: [0, 8) and [4, 12).
  write_bytes(path, st_bytes(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                             R"("b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})",
                             f32s({1, 2, 3})));
  CHECK(error_of([&] { nn::load_safetensors(path); }).find("overlapping") != std::string::npos);
  // A gap: [0, 4) and [8, 12).
  write_bytes(path, st_bytes(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},)"
                             R"("b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}})",
                             f32s({1, 2, 3})));
  CHECK(error_of([&] { nn::load_safetensors(path); }).find("a gap in the data section") != std::string::npos);
  // Trailing bytes after the last tensor.
  write_bytes(path, st_bytes(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})", f32s({1, 2})));
  CHECK(error_of([&] { nn::load_safetensors(path); }).find("cover 4 bytes of the 8-byte") != std::string::npos);
  // Out of header order but contiguous, and zero-size tensors anywhere: fine.
  write_bytes(path, st_bytes(R"({"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]},)"
                             R"("z":{"dtype":"F32","shape":[0],"data_offsets":[4,4]},)"
                             R"("a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})",
                             f32s({1, 2})));
  auto got = nn::load_safetensors(path);
  REQUIRE(got.tensors.size() == 3);
  CHECK(got.tensors[0].first == "a");
  CHECK(got.tensors[2].first == "b");
  CHECK(got.tensors[2].second.item() == 2);
  fs::remove_all(dir);
}

TEST_CASE("safetensors: 70,000 nested arrays in an entry, a shape or metadata are an error, not a stack overflow") {
  const std::string dir = layout_dir(), path = dir + "/deep.safetensors";
  const std::string deep = std::string(70000, '[') + std::string(70000, ']');
  for (const std::string& h :
       {R"({"a":)" + deep + "}", R"({"a":{"dtype":"F32","shape":)" + deep + R"(,"data_offsets":[0,0]}})",
        R"({"__metadata__":{"k":)" + deep + "}}"}) {
    write_bytes(path, st_bytes(h, ""));
    const std::string e = error_of([&] { nn::load_safetensors(path); });
    CHECK(e.find("more than 64 deep") != std::string::npos);
    CHECK(e.find("kMaxJsonDepth") != std::string::npos);
    CHECK(e.size() < 400);
  }
  // Brackets inside strings are not nesting.
  write_bytes(path, st_bytes(R"({"__metadata__":{"k":")" + std::string(1000, '[') + R"("}})", ""));
  CHECK(nn::load_safetensors(path).metadata.at("k").size() == 1000);
  // Within the limit, a wrong value is quoted clipped: 60 characters and its length.
  const std::string wide = "[\"" + std::string(20000, '1') + "\"]";
  write_bytes(path, st_bytes(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":)" + wide + "}}", ""));
  std::string e = error_of([&] { nn::load_safetensors(path); });
  CHECK(e.find("(20004 characters)") != std::string::npos);
  CHECK(e.size() < 400);
  write_bytes(path, st_bytes(R"({"__metadata__":{"k":[")" + std::string(5000, '7') + "\"]}}", ""));
  e = error_of([&] { nn::load_safetensors(path); });
  CHECK(e.find("is not a string") != std::string::npos);
  CHECK(e.find("(5004 characters)") != std::string::npos);
  CHECK(e.size() < 400);
  fs::remove_all(dir);
}

TEST_CASE("save_safetensors on a full disk: an error naming the checkpoint, the previous one loads as before") {
  const std::string dir = layout_dir(), path = dir + "/ckpt.safetensors";
  nn::save_safetensors(path, {{"w", from_vector({1.f, 2.f, 3.f}, {3})}}, {{"step", "10"}});
  const std::string before = read_bytes(path);
  for (int64_t after : {int64_t(0), int64_t(8), int64_t(20), (int64_t)before.size() - 1}) {
    INFO("failing after " << after << " bytes");
    inject_write_failure_after(after);
    const std::string e = error_of([&] {
      nn::save_safetensors(path, {{"w", from_vector({9.f, 9.f, 9.f}, {3})}}, {{"step", "20"}});
    });
    inject_write_failure_after(-1);
    CHECK(e.find("safetensors " + path) == 0);
    CHECK(e.find("No space left on device") != std::string::npos);
    CHECK(read_bytes(path) == before);
    auto got = nn::load_safetensors(path);
    CHECK(got.metadata.at("step") == "10");
  }
  int temps = 0;
  for (auto& e : fs::directory_iterator(dir)) temps += e.path().filename().string().find(".tmp.") != std::string::npos;
  CHECK(temps == 0);
  fs::remove_all(dir);
}
