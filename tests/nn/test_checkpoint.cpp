// safetensors checkpoints: the byte format, round trips, and every corruption case.
#include <doctest/doctest.h>

#include "test_util.hpp"

#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "nn/checkpoint.hpp"
#include "nn/layers.hpp"

using namespace gantry;
using gantry::testing::error_of;
namespace fs = std::filesystem;

namespace {

std::string temp_dir() {
  fs::path p = fs::temp_directory_path() / ("gantry_ckpt_" + std::to_string(::getpid()));
  fs::create_directories(p);
  return p.string();
}

std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(bytes.data(), (std::streamsize)bytes.size());
}

struct Tiny : nn::Module {
  std::shared_ptr<nn::Linear> fc;
  Tensor scale, count;
  Tiny() {
    fc = register_module("fc", std::make_shared<nn::Linear>(3, 2));
    scale = register_parameter("scale", randn({4}));
    count = register_buffer("count", zeros({2}, DType::i64));
  }
};


}  // namespace

TEST_CASE("a safetensors file is byte for byte what the format says") {
  const std::string path = temp_dir() + "/format.safetensors";
  Tensor a = tensor({1.5, -2, 3.25, 0, 7, -0.5}, {2, 3});
  Tensor b = from_indices({42, -7}, {2});
  nn::save_safetensors(path, {{"b", b}, {"a", a}}, {{"step", "12"}});
  std::string bytes = read_bytes(path);
  REQUIRE(bytes.size() >= 8);
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | (uint8_t)bytes[i];  // little-endian
  CHECK(n % 8 == 0);
  auto header = nlohmann::json::parse(bytes.substr(8, n));
  CHECK(header["__metadata__"]["step"] == "12");
  CHECK(header["a"]["dtype"] == "F32");
  CHECK(header["a"]["shape"] == nlohmann::json::array({2, 3}));
  CHECK(header["a"]["data_offsets"] == nlohmann::json::array({0, 24}));
  CHECK(header["b"]["dtype"] == "I64");
  CHECK(header["b"]["data_offsets"] == nlohmann::json::array({24, 40}));
  REQUIRE(bytes.size() == 8 + n + 40);
  const char* data = bytes.data() + 8 + n;
  float f[6];
  std::memcpy(f, data, 24);
  CHECK(f[0] == 1.5f);
  CHECK(f[2] == 3.25f);
  CHECK(f[5] == -0.5f);
  int64_t i[2];
  std::memcpy(i, data + 24, 16);
  CHECK(i[0] == 42);
  CHECK(i[1] == -7);
  for (auto& e : fs::directory_iterator(fs::path(path).parent_path()))
    CHECK(e.path().string().find(".tmp.") == std::string::npos);
}

TEST_CASE("checkpoints round-trip a module and the caller's extra tensors") {
  const std::string path = temp_dir() + "/roundtrip.safetensors";
  manual_seed(1);
  Tiny a;
  a.count.data<int64_t>()[1] = 5;
  nn::save_checkpoint(path, a, {{"opt.0.exp_avg", ones({3})}}, {{"epoch", "3"}});
  manual_seed(2);
  Tiny b;
  nn::SafetensorsFile extras = nn::load_checkpoint(path, b, "opt.");
  CHECK(b.fc->weight.to_vector<float>() == a.fc->weight.to_vector<float>());
  CHECK(b.scale.to_vector<float>() == a.scale.to_vector<float>());
  CHECK(b.count.to_vector<int64_t>() == std::vector<int64_t>{0, 5});
  REQUIRE(extras.tensors.size() == 1);
  CHECK(extras.tensors[0].first == "opt.0.exp_avg");
  CHECK(extras.metadata.at("epoch") == "3");
}

TEST_CASE("corrupt or mismatched checkpoints give clear errors and leave the model untouched") {
  const std::string dir = temp_dir();
  const std::string good = dir + "/good.safetensors";
  Tiny a;
  nn::save_checkpoint(good, a);
  const std::string bytes = read_bytes(good);
  Tiny b;
  const auto before = b.fc->weight.to_vector<float>();

  CHECK(error_of([&] { nn::load_checkpoint(dir + "/missing.safetensors", b); }).find("cannot open") !=
        std::string::npos);
  write_bytes(dir + "/empty.safetensors", "");
  CHECK(error_of([&] { nn::load_checkpoint(dir + "/empty.safetensors", b); }).find("too short") != std::string::npos);
  write_bytes(dir + "/trunc.safetensors", bytes.substr(0, bytes.size() - 10));
  std::string e = error_of([&] { nn::load_checkpoint(dir + "/trunc.safetensors", b); });
  CHECK(e.find("trunc.safetensors") != std::string::npos);
  CHECK(e.find("outside") != std::string::npos);
  std::string big = bytes;
  big[0] = '\xff', big[1] = '\xff';
  write_bytes(dir + "/biglen.safetensors", big);
  CHECK(error_of([&] { nn::load_checkpoint(dir + "/biglen.safetensors", b); }).find("runs past the end") !=
        std::string::npos);
  std::string garbage = bytes;
  garbage[8] = '#';
  write_bytes(dir + "/garbage.safetensors", garbage);
  CHECK(error_of([&] { nn::load_checkpoint(dir + "/garbage.safetensors", b); }).find("not valid JSON") !=
        std::string::npos);

  nn::save_safetensors(dir + "/shape.safetensors",
                       {{"fc.weight", zeros({2, 4})}, {"fc.bias", zeros({2})}, {"scale", zeros({4})},
                        {"count", zeros({2}, DType::i64)}});
  e = error_of([&] { nn::load_checkpoint(dir + "/shape.safetensors", b); });
  CHECK(e.find("'fc.weight' has float32 shape [2,4] in the file but float32 shape [2,3] in the model") !=
        std::string::npos);
  nn::save_safetensors(dir + "/missing_t.safetensors", {{"fc.weight", zeros({2, 3})}});
  CHECK(error_of([&] { nn::load_checkpoint(dir + "/missing_t.safetensors", b); }).find("'scale' is missing") !=
        std::string::npos);
  nn::save_checkpoint(dir + "/extra.safetensors", a, {{"surprise", zeros({1})}});
  CHECK(error_of([&] { nn::load_checkpoint(dir + "/extra.safetensors", b); }).find("'surprise'") !=
        std::string::npos);
  CHECK(b.fc->weight.to_vector<float>() == before);
}

TEST_CASE("a failed write leaves the previous checkpoint intact") {
  const std::string dir = temp_dir();
  const std::string path = dir + "/keep.safetensors";
  nn::save_safetensors(path, {{"x", ones({3})}});
  const std::string before = read_bytes(path);
  CHECK_THROWS_AS(nn::save_safetensors(dir + "/no/such/dir/keep.safetensors", {{"x", zeros({3})}}), Error);
  CHECK_THROWS_WITH_AS(nn::save_safetensors(path, {{"x", zeros({3})}, {"x", ones({1})}}),
                       doctest::Contains("appears twice"), Error);
  CHECK(read_bytes(path) == before);
}
