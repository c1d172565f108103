// nn/checkpoint.hpp — safetensors files: an 8-byte little-endian header length N,
// N bytes of JSON ({"name": {"dtype", "shape", "data_offsets": [begin, end]}, ...,
// "__metadata__": {string: string}}), then the raw little-endian data. Loadable from
// Python with `safetensors.torch.load_file`.
#pragma once
#include <map>
#include <string>

#include "nn/module.hpp"

namespace gantry::nn {

using Metadata = std::map<std::string, std::string>;

struct SafetensorsFile {
  Named tensors;      // in file order (sorted by name)
  Metadata metadata;
};

// Writes tensors (float32, float64 or int64, any layout) and metadata to `path`
// atomically: into "<path>.tmp.<pid>", flushed and fsynced, then renamed over `path`,
// so a crash mid-write never corrupts the last good file. Throws naming the file.
void save_safetensors(const std::string& path, const Named& tensors, const Metadata& meta = {});

// Reads a whole file; throws naming the file and what is wrong (missing, truncated,
// bad header, unknown dtype, offsets that do not fit).
SafetensorsFile load_safetensors(const std::string& path);

// The parameters and buffers of m by their dotted names, plus `extra` tensors
// (e.g. optimizer state, under a prefix of the caller's) and metadata.
void save_checkpoint(const std::string& path, const Module& m, const Named& extra = {}, const Metadata& meta = {});

// Loads m's parameters and buffers in place. Every one must be in the file with the
// same shape and dtype, and the file may hold no other tensors except those whose
// name starts with `extra_prefix` (returned, with the metadata). Everything is
// checked before anything is written: a failed load leaves m untouched.
SafetensorsFile load_checkpoint(const std::string& path, Module& m, const std::string& extra_prefix = "");

}  // namespace gantry::nn
