#include "nn/checkpoint.hpp"

#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>

namespace gantry::nn {

using json = nlohmann::json;

namespace {

const char* st_dtype(DType t) {
  switch (t) {
    case DType::f32: return "F32";
    case DType::f64: return "F64";
    default: return "I64";
  }
}

DType parse_dtype(const std::string& s, const std::string& path, const std::string& name) {
  if (s == "F32") return DType::f32;
  if (s == "F64") return DType::f64;
  if (s == "I64") return DType::i64;
  throw Error(detail::concat("safetensors ", path, ": tensor '", name, "' has dtype ", s,
                             ", which gantry does not read (F32, F64, I64)"));
}

// Host-order bytes are little-endian on every machine gantry builds for.
static_assert(std::endian::native == std::endian::little, "safetensors I/O assumes a little-endian host");

}  // namespace

void save_safetensors(const std::string& path, const Named& tensors, const Metadata& meta) {
  std::vector<std::pair<std::string, Tensor>> sorted(tensors.begin(), tensors.end());
  std::sort(sorted.begin(), sorted.end(), [](auto& a, auto& b) { return a.first < b.first; });
  json header = json::object();
  uint64_t offset = 0;
  for (size_t i = 0; i < sorted.size(); ++i) {
    const auto& [name, t] = sorted[i];
    GANTRY_CHECK(i == 0 || sorted[i - 1].first != name, "safetensors ", path, ": tensor name '", name,
                 "' appears twice");
    GANTRY_CHECK(t.defined() && t.device().is_cpu(), "safetensors ", path, ": tensor '", name,
                 "' is undefined or not on the cpu");
    const uint64_t bytes = t.numel() * dtype_size(t.dtype());
    header[name] = {{"dtype", st_dtype(t.dtype())}, {"shape", t.shape()}, {"data_offsets", {offset, offset + bytes}}};
    offset += bytes;
  }
  if (!meta.empty()) header["__metadata__"] = meta;
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');  // pad so the data starts 8-byte aligned

  const std::string tmp = path + ".tmp." + std::to_string(getpid());
  std::FILE* f = std::fopen(tmp.c_str(), "wb");
  GANTRY_CHECK(f, "safetensors ", path, ": cannot create ", tmp, " (", std::strerror(errno), ")");
  bool ok = true;
  const uint64_t n = text.size();
  ok = ok && std::fwrite(&n, 8, 1, f) == 1;
  ok = ok && std::fwrite(text.data(), 1, text.size(), f) == text.size();
  for (const auto& [name, t] : sorted) {
    Tensor c = contiguous(t.detach());
    const size_t bytes = c.numel() * dtype_size(c.dtype());
    ok = ok && (bytes == 0 || std::fwrite(c.raw_data(), 1, bytes, f) == bytes);
  }
  ok = ok && std::fflush(f) == 0 && fsync(fileno(f)) == 0;
  ok = (std::fclose(f) == 0) && ok;
  if (!ok || std::rename(tmp.c_str(), path.c_str()) != 0) {
    const std::string why = std::strerror(errno);
    std::remove(tmp.c_str());
    throw Error(detail::concat("safetensors ", path, ": write failed (", why, "); the previous file is untouched"));
  }
}

SafetensorsFile load_safetensors(const std::string& path) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  GANTRY_CHECK(in.good(), "safetensors ", path, ": cannot open the file");
  const uint64_t size = (uint64_t)in.tellg();
  in.seekg(0);
  GANTRY_CHECK(size >= 8, "safetensors ", path, ": file is ", size, " bytes, too short for the header length");
  uint64_t n = 0;
  in.read(reinterpret_cast<char*>(&n), 8);
  GANTRY_CHECK(n <= size - 8, "safetensors ", path, ": header length ", n, " runs past the end of the ", size,
               "-byte file (truncated?)");
  std::string text(n, '\0');
  in.read(text.data(), (std::streamsize)n);
  json header;
  try {
    header = json::parse(text);
  } catch (const json::exception& e) {
    throw Error(detail::concat("safetensors ", path, ": the header is not valid JSON (", e.what(), ")"));
  }
  GANTRY_CHECK(header.is_object(), "safetensors ", path, ": the header is not a JSON object");
  const uint64_t data_size = size - 8 - n;
  SafetensorsFile out;
  try {
    for (auto& [name, entry] : header.items()) {
      if (name == "__metadata__") {
        out.metadata = entry.get<Metadata>();
        continue;
      }
      DType t = parse_dtype(entry.at("dtype").get<std::string>(), path, name);
      Shape shape = entry.at("shape").get<Shape>();
      auto offsets = entry.at("data_offsets").get<std::vector<uint64_t>>();
      for (auto d : shape) GANTRY_CHECK(d >= 0, "safetensors ", path, ": tensor '", name, "' has a negative size");
      GANTRY_CHECK(offsets.size() == 2 && offsets[0] <= offsets[1] && offsets[1] <= data_size, "safetensors ", path,
                   ": tensor '", name, "' has data_offsets outside the ", data_size, "-byte data section (truncated?)");
      GANTRY_CHECK(offsets[1] - offsets[0] == (uint64_t)numel_of(shape) * dtype_size(t), "safetensors ", path,
                   ": tensor '", name, "' has ", offsets[1] - offsets[0], " bytes but shape ", shape_str(shape),
                   " needs ", numel_of(shape) * dtype_size(t));
      Tensor x = empty(shape, t);
      in.seekg((std::streamoff)(8 + n + offsets[0]));
      in.read(static_cast<char*>(x.raw_data()), (std::streamsize)(offsets[1] - offsets[0]));
      GANTRY_CHECK(in.good(), "safetensors ", path, ": reading tensor '", name, "' failed");
      out.tensors.emplace_back(name, x);
    }
  } catch (const json::exception& e) {
    throw Error(detail::concat("safetensors ", path, ": malformed header entry (", e.what(), ")"));
  }
  return out;
}

void save_checkpoint(const std::string& path, const Module& m, const Named& extra, const Metadata& meta) {
  Named all = m.named_parameters();
  for (auto& kv : m.named_buffers()) all.push_back(kv);
  for (auto& kv : extra) all.push_back(kv);
  save_safetensors(path, all, meta);
}

SafetensorsFile load_checkpoint(const std::string& path, Module& m, const std::string& extra_prefix) {
  SafetensorsFile f = load_safetensors(path);
  std::map<std::string, Tensor> in_file(f.tensors.begin(), f.tensors.end());
  Named mine = m.named_parameters();
  for (auto& kv : m.named_buffers()) mine.push_back(kv);
  std::set<std::string> names;
  for (const auto& [name, t] : mine) {
    names.insert(name);
    auto it = in_file.find(name);
    GANTRY_CHECK(it != in_file.end(), "checkpoint ", path, ": '", name, "' is missing from the file");
    GANTRY_CHECK(it->second.shape() == t.shape() && it->second.dtype() == t.dtype(), "checkpoint ", path, ": '",
                 name, "' has ", dtype_name(it->second.dtype()), " shape ", shape_str(it->second.shape()),
                 " in the file but ", dtype_name(t.dtype()), " shape ", shape_str(t.shape()), " in the model");
  }
  SafetensorsFile extras;
  extras.metadata = f.metadata;
  for (const auto& [name, t] : f.tensors) {
    if (names.count(name)) continue;
    GANTRY_CHECK(!extra_prefix.empty() && name.rfind(extra_prefix, 0) == 0, "checkpoint ", path,
                 ": the file has '", name, "', which the model does not");
    extras.tensors.emplace_back(name, t);
  }
  NoGradGuard off;
  for (const auto& [name, t] : mine) copy_(t, in_file.at(name));
  return extras;
}

}  // namespace gantry::nn
