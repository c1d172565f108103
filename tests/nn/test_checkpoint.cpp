// safetensors checkpoints: the byte format (against hand-built bytes and the reference
// writer's own test vectors), round trips, every corruption case, and atomic writes.
#include <doctest/doctest.h>
#include <unistd.h>

#include <bit>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "nn/checkpoint.hpp"
#include "nn/layers.hpp"
#include "test_util.hpp"

using namespace gantry;
using gantry::testing::error_of;
namespace fs = std::filesystem;

namespace {

// A fresh directory per test case, removed at the end.
struct TempDir {
  fs::path path;
  TempDir() {
    static int counter = 0;
    path = fs::temp_directory_path() / ("gantry_ckpt_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
    fs::remove_all(path);
    fs::create_directories(path);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  std::string file(const std::string& name) const { return (path / name).string(); }
  // Names in the directory that look like leftover temp files.
  std::vector<std::string> temp_files() const {
    std::vector<std::string> out;
    for (auto& e : fs::directory_iterator(path))
      if (e.path().filename().string().find(".tmp.") != std::string::npos) out.push_back(e.path().string());
    return out;
  }
};

std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(bytes.data(), (std::streamsize)bytes.size());
}

// Little-endian bytes built with shifts, independent of the host's byte order.
std::string le_u64(uint64_t v) {
  std::string out(8, '\0');
  for (int i = 0; i < 8; ++i) out[i] = (char)((v >> (8 * i)) & 0xff);
  return out;
}
std::string le_u32(uint32_t v) {
  std::string out(4, '\0');
  for (int i = 0; i < 4; ++i) out[i] = (char)((v >> (8 * i)) & 0xff);
  return out;
}
std::string le_f32s(const std::vector<float>& v) {
  std::string out;
  for (float x : v) out += le_u32(std::bit_cast<uint32_t>(x));
  return out;
}
std::string le_i64s(const std::vector<int64_t>& v) {
  std::string out;
  for (int64_t x : v) out += le_u64((uint64_t)x);
  return out;
}

// A safetensors file from a header text (used as is, no padding) and data bytes.
std::string st_bytes(const std::string& header, const std::string& data) {
  return le_u64(header.size()) + header + data;
}

// A parameter, an int64 buffer and a child module.
struct Tiny : nn::Module {
  std::shared_ptr<nn::Linear> fc;
  Tensor scale, count;
  Tiny() {
    fc = register_module("fc", std::make_shared<nn::Linear>(3, 2));
    scale = register_parameter("scale", randn({4}));
    count = register_buffer("count", zeros({2}, DType::i64));
  }
};

// Every parameter and buffer of m by name, as doubles.
std::map<std::string, std::vector<double>> values_of(const nn::Module& m) {
  std::map<std::string, std::vector<double>> out;
  for (auto& [name, t] : m.named_parameters()) out[name] = t.to(DType::f64).to_vector<double>();
  for (auto& [name, t] : m.named_buffers()) out[name] = t.to(DType::f64).to_vector<double>();
  return out;
}

// The call throws gantry::Error whose message names `file` and contains `phrase`.
void check_error(const std::function<void()>& f, const std::string& file, const std::string& phrase) {
  const std::string e = error_of(f);
  INFO("message: " << e);
  CHECK(e.find(file) != std::string::npos);
  CHECK(e.find(phrase) != std::string::npos);
}

}  // namespace

TEST_CASE("a safetensors file is byte for byte what the format says") {
  TempDir dir;
  const std::string path = dir.file("format.safetensors");
  // "a" is a transposed (non-contiguous) view: the file holds its row-major values.
  Tensor a = tensor({1.5, 0, -2, 7, 3.25, -0.5}, {3, 2}).transpose(0, 1);  // [[1.5,-2,3.25],[0,7,-0.5]]
  REQUIRE_FALSE(a.is_contiguous());
  Tensor b = from_indices({42, -7}, {2});
  nn::save_safetensors(path, {{"a", a}, {"b", b}}, {{"step", "12"}, {"rng", "seed=1 offset=96"}});

  const std::string bytes = read_bytes(path);
  REQUIRE(bytes.size() >= 8);
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | (uint8_t)bytes[i];
  CHECK(n % 8 == 0);
  REQUIRE(bytes.size() == 8 + n + 16 + 24);
  const std::string text = bytes.substr(8, n);
  CHECK(text.front() == '{');
  CHECK(text.find_last_not_of(' ') + 1 > n - 8);  // padded with at most 7 spaces
  auto header = nlohmann::json::parse(text);
  CHECK(header.size() == 3);
  CHECK(header["__metadata__"] == nlohmann::json({{"step", "12"}, {"rng", "seed=1 offset=96"}}));
  // The reference writer's order: descending dtype alignment (I64 before F32), then name.
  CHECK(header["b"]["dtype"] == "I64");
  CHECK(header["b"]["shape"] == nlohmann::json::array({2}));
  CHECK(header["b"]["data_offsets"] == nlohmann::json::array({0, 16}));
  CHECK(header["a"]["dtype"] == "F32");
  CHECK(header["a"]["shape"] == nlohmann::json::array({2, 3}));
  CHECK(header["a"]["data_offsets"] == nlohmann::json::array({16, 40}));
  // "__metadata__" first, and each entry's keys in the reference's order.
  CHECK(text.rfind("{\"__metadata__\":{", 0) == 0);
  CHECK(text.find("\"b\":{\"dtype\":\"I64\",\"shape\":[2],\"data_offsets\":[0,16]}") != std::string::npos);

  const std::string data = bytes.substr(8 + n);
  CHECK(data.substr(0, 16) == le_i64s({42, -7}));
  CHECK(data.substr(16, 24) == le_f32s({1.5f, -2, 3.25f, 0, 7, -0.5f}));
  CHECK(dir.temp_files().empty());
}

TEST_CASE("the writer matches the reference implementation's test vectors") {
  // From safetensors/src/tensor.rs: test_serialization, test_empty.
  TempDir dir;
  const std::string one = dir.file("one.safetensors");
  nn::save_safetensors(one, {{"attn.0", tensor({0, 1, 2, 3, 4, 5}, {1, 2, 3})}});
  const std::string header = R"({"attn.0":{"dtype":"F32","shape":[1,2,3],"data_offsets":[0,24]}})";
  REQUIRE(header.size() == 64);  // a multiple of 8: no padding
  CHECK(read_bytes(one) == st_bytes(header, le_f32s({0, 1, 2, 3, 4, 5})));

  const std::string empty = dir.file("empty.safetensors");
  nn::save_safetensors(empty, {});
  CHECK(read_bytes(empty) == st_bytes("{}      ", ""));
  nn::save_safetensors(empty, {}, {{"framework", "pt"}});
  CHECK(read_bytes(empty) == st_bytes(R"({"__metadata__":{"framework":"pt"}}     )", ""));
  CHECK(nn::load_safetensors(empty).metadata == nn::Metadata{{"framework", "pt"}});
}

TEST_CASE("safetensors round-trips every dtype, odd shapes and hand-written layouts") {
  TempDir dir;
  const std::string path = dir.file("all.safetensors");
  Tensor f = tensor({0.1, -1e-30, 3e30, 7}, {2, 2});
  Tensor d = from_vector({1.0 / 3, -2.5e-300, 1e300}, {3, 1}, DType::f64);
  Tensor i = from_indices({INT64_MIN, -1, 0, INT64_MAX, 5}, {5});
  Tensor s = scalar_tensor(2.5);
  Tensor z = zeros({0, 3});
  const nn::Metadata meta{{"epoch", "3"}, {"note", "quotes \" and \\ and ünïcode"}};
  nn::save_safetensors(path, {{"f", f}, {"d", d}, {"i", i}, {"s", s}, {"z", z}}, meta);

  nn::SafetensorsFile got = nn::load_safetensors(path);
  CHECK(got.metadata == meta);
  REQUIRE(got.tensors.size() == 5);
  std::vector<std::string> order;
  for (auto& [name, t] : got.tensors) order.push_back(name);
  CHECK(order == std::vector<std::string>{"i", "d", "f", "s", "z"});  // data order: I64, F64, F32 by name
  std::map<std::string, Tensor> by(got.tensors.begin(), got.tensors.end());
  CHECK(by["f"].shape() == Shape{2, 2});
  CHECK(by["f"].to_vector<float>() == f.to_vector<float>());
  CHECK(by["d"].dtype() == DType::f64);
  CHECK(by["d"].shape() == Shape{3, 1});
  CHECK(by["d"].to_vector<double>() == d.to_vector<double>());
  CHECK(by["i"].to_vector<int64_t>() == i.to_vector<int64_t>());
  CHECK(by["s"].shape() == Shape{});
  CHECK(by["s"].item() == 2.5);
  CHECK(by["z"].shape() == Shape{0, 3});

  // Another writer's layout: entries out of order, data in reverse name order.
  const std::string other = dir.file("other.safetensors");
  write_bytes(other, st_bytes(R"({"x":{"data_offsets":[8,16],"shape":[2],"dtype":"F32"},)"
                              R"("y":{"dtype":"I64","shape":[1],"data_offsets":[0,8]}})",
                              le_i64s({-9}) + le_f32s({4, 5})));
  got = nn::load_safetensors(other);
  REQUIRE(got.tensors.size() == 2);
  CHECK(got.tensors[0].first == "y");
  CHECK(got.tensors[0].second.to_vector<int64_t>() == std::vector<int64_t>{-9});
  CHECK(got.tensors[1].first == "x");
  CHECK(got.tensors[1].second.to_vector<float>() == std::vector<float>{4, 5});
  CHECK(got.metadata.empty());
}

TEST_CASE("checkpoints round-trip a module in place, with the caller's extras and metadata") {
  TempDir dir;
  const std::string path = dir.file("roundtrip.safetensors");
  manual_seed(1);
  Tiny a;
  a.count.data<int64_t>()[1] = 5;
  Tensor exp_avg = tensor({0.5, -0.25, 8}, {3});
  nn::save_checkpoint(path, a, {{"opt.0.exp_avg", exp_avg}, {"opt.step", from_indices({100}, {1})}},
                      {{"epoch", "3"}, {"rng", "1:4096"}});
  manual_seed(2);
  Tiny b;
  REQUIRE(values_of(b) != values_of(a));
  void* weight_storage = b.fc->weight.raw_data();

  nn::SafetensorsFile extras = nn::load_checkpoint(path, b, "opt.");
  CHECK(values_of(b) == values_of(a));
  CHECK(b.count.to_vector<int64_t>() == std::vector<int64_t>{0, 5});
  CHECK(b.fc->weight.raw_data() == weight_storage);  // loaded in place: optimizer handles stay valid
  CHECK(b.fc->weight.requires_grad());
  REQUIRE(extras.tensors.size() == 2);
  std::map<std::string, Tensor> by(extras.tensors.begin(), extras.tensors.end());
  CHECK(by.at("opt.0.exp_avg").to_vector<float>() == exp_avg.to_vector<float>());
  CHECK(by.at("opt.step").to_vector<int64_t>() == std::vector<int64_t>{100});
  CHECK(extras.metadata == nn::Metadata{{"epoch", "3"}, {"rng", "1:4096"}});

  // The module's tensors are in the file under their dotted names.
  std::set<std::string> names;
  for (auto& [name, t] : nn::load_safetensors(path).tensors) names.insert(name);
  CHECK(names == std::set<std::string>{"fc.weight", "fc.bias", "scale", "count", "opt.0.exp_avg", "opt.step"});
}

TEST_CASE("corrupt safetensors files give errors naming the file and the problem") {
  TempDir dir;
  const std::string good = dir.file("good.safetensors");
  manual_seed(3);
  Tiny a;
  nn::save_checkpoint(good, a);
  const std::string bytes = read_bytes(good);
  manual_seed(4);
  Tiny b;
  const auto before = values_of(b);
  // Writes `contents` to `name` and checks loading it as a checkpoint fails with `phrase`.
  auto bad = [&](const std::string& name, const std::string& contents, const std::string& phrase) {
    const std::string path = dir.file(name);
    write_bytes(path, contents);
    check_error([&] { nn::load_checkpoint(path, b); }, path, phrase);
    check_error([&] { nn::load_safetensors(path); }, path, phrase);
  };
  const std::string f32x2 = le_f32s({1, 2});

  SUBCASE("missing file") {
    check_error([&] { nn::load_checkpoint(dir.file("missing.safetensors"), b); }, "missing.safetensors",
                "cannot open the file (No such file or directory)");
  }
  SUBCASE("a directory") {
    check_error([&] { nn::load_safetensors(dir.path.string()); }, "gantry_ckpt", "directory");
  }
  SUBCASE("empty file") { bad("empty.safetensors", "", "the file is 0 bytes, too short"); }
  SUBCASE("shorter than the length") { bad("seven.safetensors", bytes.substr(0, 7), "7 bytes, too short"); }
  SUBCASE("truncated data") {
    bad("trunc.safetensors", bytes.substr(0, bytes.size() - 10), "lie outside the");
    bad("trunc2.safetensors", bytes.substr(0, bytes.size() - 10), "truncated file?");
  }
  SUBCASE("header length bigger than the file") {
    std::string big = bytes;
    big[2] = '\x01';
    bad("biglen.safetensors", big, "runs past the end of the " + std::to_string(bytes.size()) + "-byte file");
    bad("biglen2.safetensors", le_u64(~0ull) + "{}", "runs past the end");
  }
  SUBCASE("garbage JSON") {
    std::string garbage = bytes;
    garbage[8] = '#';
    bad("garbage.safetensors", garbage, "the header is not valid JSON");
    bad("halfjson.safetensors", st_bytes(R"({"x":{"dtype":)", ""), "the header is not valid JSON");
    bad("array.safetensors", st_bytes("[1,2,3] ", ""), "the header is not a JSON object");
  }
  SUBCASE("unknown dtype") {
    bad("bf16.safetensors", st_bytes(R"({"x":{"dtype":"BF16","shape":[2],"data_offsets":[0,4]}})", le_u32(0)),
        "tensor 'x': dtype BF16 is not one gantry reads");
  }
  SUBCASE("shape and offsets disagree") {
    bad("size.safetensors", st_bytes(R"({"x":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", f32x2),
        "tensor 'x': data_offsets [0,8] hold 8 bytes but F32 shape [3] needs 12");
    bad("overflow.safetensors",
        st_bytes(R"({"x":{"dtype":"F64","shape":[4294967296,4294967296],"data_offsets":[0,8]}})", f32x2),
        "needs more than 2^64");
    bad("negative.safetensors", st_bytes(R"({"x":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}})", f32x2),
        "is not a list of sizes >= 0");
    bad("noshape.safetensors", st_bytes(R"({"x":{"dtype":"F32","data_offsets":[0,8]}})", f32x2),
        "needs an object with \"dtype\", \"shape\" and \"data_offsets\"");
  }
  SUBCASE("offsets outside the data section") {
    bad("past.safetensors", st_bytes(R"({"x":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})", f32x2),
        "data_offsets [4,12] lie outside the 8-byte data section");
    bad("reversed.safetensors", st_bytes(R"({"x":{"dtype":"F32","shape":[0],"data_offsets":[8,0]}})", f32x2),
        "end before they begin");
    bad("offsets.safetensors", st_bytes(R"({"x":{"dtype":"F32","shape":[2],"data_offsets":[0]}})", f32x2),
        "\"data_offsets\" is not [begin, end]");
  }
  SUBCASE("metadata that is not string to string") {
    bad("meta.safetensors", st_bytes(R"({"__metadata__":{"step":12}})", ""), "value of 'step' is not a string");
  }
  CHECK(values_of(b) == before);
}

TEST_CASE("a checkpoint that does not fit the model names every mismatch and leaves the model untouched") {
  TempDir dir;
  manual_seed(5);
  Tiny a;
  manual_seed(6);
  Tiny b;
  const auto before = values_of(b);
  const std::string path = dir.file("mismatch.safetensors");
  // The state of a, with some entries replaced or removed.
  auto save_a_with = [&](const nn::Named& replace, const std::set<std::string>& drop = {}) {
    std::map<std::string, Tensor> state;
    for (auto& [name, t] : a.named_parameters()) state[name] = t;
    for (auto& [name, t] : a.named_buffers()) state[name] = t;
    for (auto& [name, t] : replace) state[name] = t;
    nn::Named out;
    for (auto& [name, t] : state)
      if (!drop.count(name)) out.emplace_back(name, t);
    nn::save_safetensors(path, out);
  };
  auto load = [&] { nn::load_checkpoint(path, b, "opt."); };

  SUBCASE("wrong shape") {
    save_a_with({{"fc.weight", zeros({2, 4})}});
    CHECK(error_of(load) == "checkpoint " + path + ": 'fc.weight' has shape [2,4] in the file but [2,3] in the model");
  }
  SUBCASE("wrong dtype") {
    save_a_with({{"count", zeros({2})}});
    check_error(load, path, "'count' has dtype float32 in the file but int64 in the model");
  }
  SUBCASE("missing tensor") {
    save_a_with({}, {"scale"});
    CHECK(error_of(load) == "checkpoint " + path + ": 'scale' is missing from the file");
  }
  SUBCASE("unexpected tensor") {
    save_a_with({{"fc.extra", zeros({1})}});
    check_error(load, path, "the file has 'fc.extra', which is not a parameter or buffer of the model");
    save_a_with({{"optimizer.x", zeros({1})}});  // near the prefix "opt." but not under it
    check_error(load, path, "the file has 'optimizer.x'");
    save_a_with({{"opt.x", zeros({1})}});  // extras need a prefix to be accepted
    check_error([&] { nn::load_checkpoint(path, b); }, path, "the file has 'opt.x'");
  }
  SUBCASE("every problem in one message") {
    save_a_with({{"fc.bias", zeros({3})}, {"surprise", zeros({1})}}, {"scale"});
    const std::string e = error_of(load);
    CHECK(e.find("'fc.bias' has shape [3] in the file but [2] in the model") != std::string::npos);
    CHECK(e.find("'scale' is missing from the file") != std::string::npos);
    CHECK(e.find("the file has 'surprise'") != std::string::npos);
  }
  CHECK(values_of(b) == before);
  // The same file with a's state loads; the model was never left half-written.
  save_a_with({});
  nn::load_checkpoint(path, b);
  CHECK(values_of(b) == values_of(a));
}

TEST_CASE("a failed write leaves the previous checkpoint intact and no temp file behind") {
  TempDir dir;
  const std::string path = dir.file("keep.safetensors");
  nn::save_safetensors(path, {{"x", ones({3})}});
  const std::string good = read_bytes(path);
  auto intact = [&] {
    CHECK(read_bytes(path) == good);
    CHECK(nn::load_safetensors(path).tensors.at(0).second.to_vector<float>() == std::vector<float>{1, 1, 1});
    CHECK(dir.temp_files().empty());
  };

  SUBCASE("a directory that does not exist") {
    const std::string nowhere = dir.file("no/such/dir/keep.safetensors");
    check_error([&] { nn::save_safetensors(nowhere, {{"x", zeros({3})}}); }, nowhere, "cannot write");
  }
  SUBCASE("the temp file cannot be created over an existing checkpoint") {
    const std::string tmp = path + ".tmp." + std::to_string(::getpid());
    fs::create_directory(tmp);  // fopen(tmp, "wb") fails: it is a directory
    check_error([&] { nn::save_safetensors(path, {{"x", zeros({3})}}); }, path, "cannot write " + tmp);
    CHECK(fs::is_directory(tmp));
    fs::remove(tmp);
  }
  SUBCASE("the rename fails: the temp file is removed") {
    const std::string blocked = dir.file("blocked.safetensors");
    fs::create_directories(blocked + "/inside");  // rename(file, non-empty directory) fails
    check_error([&] { nn::save_safetensors(blocked, {{"x", zeros({3})}}); }, blocked, "cannot rename");
    CHECK(fs::is_directory(blocked));
  }
  SUBCASE("duplicate and reserved names") {
    check_error(
        [&] {
          nn::save_safetensors(path, {{"x", zeros({3})}, {"x", ones({1})}});
        },
        path, "tensor name 'x' appears twice");
    check_error([&] { nn::save_safetensors(path, {{"__metadata__", zeros({1})}}); }, path, "reserved");
    Tiny m;
    check_error([&] { nn::save_checkpoint(path, m, {{"scale", zeros({1})}}); }, path, "'scale' appears twice");
  }
  intact();

  // A successful save replaces the file and leaves no temp file.
  nn::save_safetensors(path, {{"x", full({2}, 4)}});
  CHECK(nn::load_safetensors(path).tensors.at(0).second.to_vector<float>() == std::vector<float>{4, 4});
  CHECK(dir.temp_files().empty());
}
