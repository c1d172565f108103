// nn/checkpoint.cpp — safetensors files and module checkpoints (format: nn/checkpoint.hpp).
//
// Writing follows the reference writer (safetensors/src/tensor.rs, `prepare`): compact
// JSON with "__metadata__" first and each entry's keys as dtype, shape, data_offsets;
// tensors sorted by descending dtype alignment then name; the header padded with spaces
// to a multiple of 8. Reading checks what the reference reader checks: the header is at
// most kMaxHeaderBytes, nests JSON at most kMaxJsonDepth deep (a pre-scan, before the
// parser sees it), and the tensors' data_offsets, in offset order, are contiguous,
// non-overlapping and cover the data section exactly. Errors quote at most a few dozen
// characters of the file's JSON (clip()).
#include "nn/checkpoint.hpp"

#include "core/file_io.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>

namespace gantry::nn {

// ordered_json keeps keys in insertion order, as the reference writer emits them.
using json = nlohmann::ordered_json;

// Host-order bytes are little-endian on every machine gantry builds for.
static_assert(std::endian::native == std::endian::little, "safetensors I/O assumes a little-endian host");

namespace {

constexpr uint64_t kMaxHeaderBytes = 100'000'000;  // the reference reader's limit
// How deep arrays and objects may nest in the header: a checkpoint needs 3 (header,
// entry, shape); nlohmann's parser, dump() and destructor recurse per level, so 70,000
// levels would overflow the stack.
constexpr int kMaxJsonDepth = 64;
// How much of an untrusted string or JSON value an error message quotes.
constexpr size_t kQuoteChars = 60;

// s, cut to kQuoteChars characters with a note of its full length.
std::string clip(const std::string& s) {
  if (s.size() <= kQuoteChars) return s;
  return detail::concat(s.substr(0, kQuoteChars), "... (", s.size(), " characters)");
}
// A JSON value (depth-bounded: the header passed max_json_depth) as clipped text.
std::string clip(const nlohmann::ordered_json& j) { return clip(j.dump()); }

// The deepest nesting of [ and { in JSON text, outside strings; stops counting past limit.
int max_json_depth(const std::string& text, int limit) {
  int depth = 0, deepest = 0;
  bool in_string = false, escaped = false;
  for (char c : text) {
    if (in_string) {
      if (escaped) escaped = false;
      else if (c == '\\') escaped = true;
      else if (c == '"') in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      deepest = std::max(deepest, ++depth);
      if (deepest > limit) return deepest;
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return deepest;
}

const char* st_dtype(DType t) {
  switch (t) {
    case DType::f32: return "F32";
    case DType::f64: return "F64";
    case DType::i64: return "I64";
  }
  return "?";
}

// Position in the reference's Dtype enum, which is in increasing alignment order (F32 < F64 < I64).
int st_rank(DType t) { return t == DType::i64 ? 2 : t == DType::f64 ? 1 : 0; }

std::string errno_text() { return std::strerror(errno); }

// ============================================================================
// writing
// ============================================================================

// ============================================================================
// reading
// ============================================================================

struct Entry {
  std::string name;
  DType dtype;
  Shape shape;
  uint64_t begin, end;
};

DType parse_dtype(const json& j, const std::string& where) {
  GANTRY_CHECK(j.is_string(), where, ": \"dtype\" is not a string");
  const std::string s = j.get<std::string>();
  if (s == "F32") return DType::f32;
  if (s == "F64") return DType::f64;
  if (s == "I64") return DType::i64;
  throw Error(detail::concat(where, ": dtype ", clip(s), " is not one gantry reads (F32, F64, I64)"));
}

// One tensor's header entry, checked against a data section of data_size bytes.
Entry parse_entry(const std::string& name, const json& j, const std::string& path, uint64_t data_size) {
  const std::string where = detail::concat("safetensors ", path, ": tensor '", clip(name), "'");
  GANTRY_CHECK(j.is_object() && j.contains("dtype") && j.contains("shape") && j.contains("data_offsets"), where,
               " needs an object with \"dtype\", \"shape\" and \"data_offsets\", got ", clip(j));
  Entry e{name, parse_dtype(j["dtype"], where), {}, 0, 0};

  const json& shape = j["shape"];
  GANTRY_CHECK(shape.is_array(), where, ": \"shape\" is not an array");
  uint64_t numel = 1;
  bool overflow = false;
  for (const json& d : shape) {
    GANTRY_CHECK(d.is_number_unsigned(), where, ": shape ", clip(shape), " is not a list of sizes >= 0");
    const uint64_t size = d.get<uint64_t>();
    GANTRY_CHECK(size <= (uint64_t)INT64_MAX, where, ": shape ", clip(shape), " has a size too large");
    e.shape.push_back((int64_t)size);
    overflow = overflow || __builtin_mul_overflow(numel, size, &numel);
  }
  uint64_t need = 0;
  overflow = overflow || __builtin_mul_overflow(numel, (uint64_t)dtype_size(e.dtype), &need);

  const json& offsets = j["data_offsets"];
  GANTRY_CHECK(offsets.is_array() && offsets.size() == 2 && offsets[0].is_number_unsigned() &&
                   offsets[1].is_number_unsigned(),
               where, ": \"data_offsets\" is not [begin, end], got ", clip(offsets));
  e.begin = offsets[0].get<uint64_t>(), e.end = offsets[1].get<uint64_t>();
  GANTRY_CHECK(e.begin <= e.end, where, ": data_offsets [", e.begin, ",", e.end, "] end before they begin");
  GANTRY_CHECK(e.end <= data_size, where, ": data_offsets [", e.begin, ",", e.end, "] lie outside the ", data_size,
               "-byte data section (truncated file?)");
  GANTRY_CHECK(!overflow && e.end - e.begin == need, where, ": data_offsets [", e.begin, ",", e.end, "] hold ",
               e.end - e.begin, " bytes but ", st_dtype(e.dtype), " shape ", clip(shape), " needs ",
               overflow ? std::string("more than 2^64") : std::to_string(need));
  return e;
}

Metadata parse_metadata(const json& j, const std::string& path) {
  GANTRY_CHECK(j.is_object(), "safetensors ", path, ": \"__metadata__\" is not an object");
  Metadata meta;
  for (const auto& [key, value] : j.items()) {
    GANTRY_CHECK(value.is_string(), "safetensors ", path, ": \"__metadata__\" value of '", clip(key),
                 "' is not a string (got ", clip(value), ")");
    meta[key] = value.get<std::string>();
  }
  return meta;
}

using File = std::unique_ptr<std::FILE, int (*)(std::FILE*)>;

// Reads exactly n bytes at offset; false on a short read.
bool read_at(std::FILE* f, uint64_t offset, void* out, uint64_t n) {
  if (n == 0) return true;
  return ::fseeko(f, (off_t)offset, SEEK_SET) == 0 && std::fread(out, 1, n, f) == n;
}

// ============================================================================
// checkpoints
// ============================================================================

Named module_state(const Module& m) {
  Named all = m.named_parameters();
  for (auto& kv : m.named_buffers()) all.push_back(kv);
  return all;
}

std::string join_problems(const std::vector<std::string>& problems) {
  constexpr size_t kShown = 20;
  std::string out;
  for (size_t i = 0; i < problems.size() && i < kShown; ++i) out += (i ? "; " : "") + problems[i];
  if (problems.size() > kShown) out += detail::concat("; and ", problems.size() - kShown, " more");
  return out;
}

}  // namespace

void save_safetensors(const std::string& path, const Named& tensors, const Metadata& meta) {
  std::vector<std::pair<std::string, Tensor>> sorted(tensors.begin(), tensors.end());
  for (const auto& [name, t] : sorted) {
    GANTRY_CHECK(t.defined(), "safetensors ", path, ": tensor '", name, "' is undefined");
    GANTRY_CHECK(name != "__metadata__", "safetensors ", path, ": '__metadata__' is reserved, not a tensor name");
  }
  std::stable_sort(sorted.begin(), sorted.end(), [](const auto& a, const auto& b) {
    const int ra = st_rank(a.second.dtype()), rb = st_rank(b.second.dtype());
    return ra != rb ? ra > rb : a.first < b.first;
  });
  std::set<std::string> seen;
  for (const auto& [name, t] : sorted)
    GANTRY_CHECK(seen.insert(name).second, "safetensors ", path, ": tensor name '", name, "' appears twice");

  json header = json::object();
  if (!meta.empty()) {
    json m = json::object();
    for (const auto& [k, v] : meta) m[k] = v;
    header["__metadata__"] = m;
  }
  std::vector<Tensor> data;
  uint64_t offset = 0;
  for (const auto& [name, t] : sorted) {
    data.push_back(contiguous(t.detach().to(Device::cpu())));
    const uint64_t bytes = (uint64_t)t.numel() * dtype_size(t.dtype());
    header[name] =
        json{{"dtype", st_dtype(t.dtype())}, {"shape", t.shape()}, {"data_offsets", {offset, offset + bytes}}};
    offset += bytes;
  }
  std::string text;
  try {
    text = header.dump();
  } catch (const nlohmann::json::exception& e) {
    throw Error(
        detail::concat("safetensors ", path, ": a name or metadata string is not valid UTF-8 (", e.what(), ")"));
  }
  text.append((8 - text.size() % 8) % 8, ' ');  // so the data (and every 8-byte tensor) starts aligned

  // AtomicFile: "<path>.tmp.<pid>", every write checked, fsynced, renamed over path; on
  // any failure the temp file is removed and a previous checkpoint stays as it was.
  AtomicFile f(path, "safetensors");
  const uint64_t n = text.size();
  f.write(&n, 8);
  f.write(text);
  for (const Tensor& t : data) f.write(t.raw_data(), (size_t)t.numel() * dtype_size(t.dtype()));
  f.commit();
}

SafetensorsFile load_safetensors(const std::string& path) {
  std::error_code ec;
  GANTRY_CHECK(!std::filesystem::is_directory(path, ec), "safetensors ", path, ": is a directory, not a file");
  File f(std::fopen(path.c_str(), "rb"), &std::fclose);
  GANTRY_CHECK(f, "safetensors ", path, ": cannot open the file (", errno_text(), ")");
  GANTRY_CHECK(::fseeko(f.get(), 0, SEEK_END) == 0, "safetensors ", path, ": cannot seek (", errno_text(), ")");
  const uint64_t size = (uint64_t)::ftello(f.get());

  GANTRY_CHECK(size >= 8, "safetensors ", path, ": the file is ", size,
               " bytes, too short for the 8-byte header length");
  uint64_t n = 0;
  GANTRY_CHECK(read_at(f.get(), 0, &n, 8), "safetensors ", path, ": cannot read the header length");
  GANTRY_CHECK(n <= size - 8, "safetensors ", path, ": header length ", n, " runs past the end of the ", size,
               "-byte file (truncated or not a safetensors file?)");
  GANTRY_CHECK(n <= kMaxHeaderBytes, "safetensors ", path, ": header length ", n, " is over the ", kMaxHeaderBytes,
               "-byte limit");
  std::string text(n, '\0');
  GANTRY_CHECK(read_at(f.get(), 8, text.data(), n), "safetensors ", path, ": cannot read the header");

  const int depth = max_json_depth(text, kMaxJsonDepth);
  GANTRY_CHECK(depth <= kMaxJsonDepth, "safetensors ", path, ": the header nests JSON arrays/objects more than ",
               kMaxJsonDepth, " deep (the limit kMaxJsonDepth)");
  json header;
  try {
    header = json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    throw Error(
        detail::concat("safetensors ", path, ": the header is not valid JSON (", clip(std::string(e.what())), ")"));
  }
  GANTRY_CHECK(header.is_object(), "safetensors ", path, ": the header is not a JSON object");

  const uint64_t data_start = 8 + n, data_size = size - data_start;
  SafetensorsFile out;
  std::vector<Entry> entries;
  for (const auto& [name, value] : header.items()) {
    if (name == "__metadata__") out.metadata = parse_metadata(value, path);
    else entries.push_back(parse_entry(name, value, path, data_size));
  }
  // The layout safetensors requires: in offset order, each tensor begins where the one
  // before ends, the first at 0 and the last ending at the end of the data section. (A
  // header length off by one, or two tensors sharing bytes, fails here.)
  std::stable_sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) {
    return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
  });
  uint64_t at = 0;
  for (const Entry& e : entries) {
    GANTRY_CHECK(e.begin == at, "safetensors ", path, ": tensor '", clip(e.name), "' has data_offsets [", e.begin, ",",
                 e.end, "] but the tensors before it end at ", at,
                 e.begin < at ? " (overlapping tensors)" : " (a gap in the data section)",
                 "; safetensors requires contiguous, non-overlapping offsets");
    at = e.end;
  }
  GANTRY_CHECK(at == data_size, "safetensors ", path, ": the tensors cover ", at, " bytes of the ", data_size,
               "-byte data section (header length ", n, " off, or bytes after the last tensor?)");
  for (const Entry& e : entries) {
    Tensor t = empty(e.shape, e.dtype);
    GANTRY_CHECK(read_at(f.get(), data_start + e.begin, t.raw_data(), e.end - e.begin), "safetensors ", path,
                 ": reading tensor '", e.name, "' came up short (did the file change while loading?)");
    out.tensors.emplace_back(e.name, t);
  }
  return out;
}

void save_checkpoint(const std::string& path, const Module& m, const Named& extra, const Metadata& meta) {
  Named all = module_state(m);
  all.insert(all.end(), extra.begin(), extra.end());
  save_safetensors(path, all, meta);
}

SafetensorsFile load_checkpoint(const std::string& path, Module& m, const std::string& extra_prefix) {
  SafetensorsFile file = load_safetensors(path);
  const std::map<std::string, Tensor> in_file(file.tensors.begin(), file.tensors.end());
  const Named mine = module_state(m);

  // Check everything first; `staged` holds the source of every copy.
  std::vector<std::string> problems;
  std::set<std::string> module_names;
  std::vector<Tensor> staged(mine.size());
  for (size_t i = 0; i < mine.size(); ++i) {
    const auto& [name, t] = mine[i];
    module_names.insert(name);
    auto it = in_file.find(name);
    if (it == in_file.end()) {
      problems.push_back(detail::concat("'", name, "' is missing from the file"));
    } else if (it->second.dtype() != t.dtype()) {
      problems.push_back(detail::concat("'", name, "' has dtype ", dtype_name(it->second.dtype()), " in the file but ",
                                        dtype_name(t.dtype()), " in the model"));
    } else if (it->second.shape() != t.shape()) {
      problems.push_back(detail::concat("'", name, "' has shape ", shape_str(it->second.shape()), " in the file but ",
                                        shape_str(t.shape()), " in the model"));
    } else {
      staged[i] = it->second;
    }
  }
  SafetensorsFile extras;
  extras.metadata = file.metadata;
  for (const auto& [name, t] : file.tensors) {
    if (module_names.count(name)) continue;
    if (!extra_prefix.empty() && name.starts_with(extra_prefix)) extras.tensors.emplace_back(name, t);
    else
      problems.push_back(detail::concat("the file has '", name, "', which is not a parameter or buffer of the model",
                                        extra_prefix.empty() ? "" : " and does not start with '" + extra_prefix + "'"));
  }
  if (!problems.empty()) throw Error(detail::concat("checkpoint ", path, ": ", join_problems(problems)));

  // Move to the model's devices before writing, so a failure there also leaves m untouched.
  for (size_t i = 0; i < mine.size(); ++i) staged[i] = staged[i].to(mine[i].second.device());
  NoGradGuard no_grad;
  for (size_t i = 0; i < mine.size(); ++i) copy_(mine[i].second, staged[i]);
  return extras;
}

}  // namespace gantry::nn
