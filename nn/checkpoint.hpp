// nn/checkpoint.hpp — checkpoints as safetensors files (github.com/huggingface/safetensors):
//
//   [8 bytes: N, little-endian u64][N bytes: UTF-8 JSON header, space-padded to a multiple of 8][data]
//   header = {"__metadata__": {string: string},                       (optional)
//             "<name>": {"dtype": "F32"|"F64"|"I64", "shape": [...], "data_offsets": [begin, end]}, ...}
//
// Offsets are relative to the start of the data section; data is little-endian and
// row-major. The writer lays tensors out like the reference writer (by descending dtype
// alignment, then by name), so every tensor starts 8-byte aligned and a file from
// gantry is byte for byte what `safetensors.torch.save_file` writes for the same tensors
// and loads with `safetensors.torch.load_file`.
#pragma once
#include <map>
#include <string>

#include "nn/module.hpp"

namespace gantry::nn {

using Metadata = std::map<std::string, std::string>;

// The contents of a safetensors file.
struct SafetensorsFile {
  Named tensors;      // cpu tensors, in the order of their data in the file
  Metadata metadata;  // "__metadata__"
};

// Writes tensors (float32, float64 or int64; any layout and device: written contiguous)
// and metadata to `path` atomically: into "<path>.tmp.<pid>", flushed and fsynced, then
// renamed over `path`, so a crash mid-write never corrupts the last good file. Throws
// gantry::Error naming the file on a duplicate or reserved name and on any I/O failure
// (the temp file is removed; `path` is untouched).
void save_safetensors(const std::string& path, const Named& tensors, const Metadata& meta = {});

// Reads a whole file into cpu tensors. Throws gantry::Error naming the file and what is
// wrong: missing file, shorter than 8 bytes, header length past the end or over 100 MB,
// JSON nested more than 64 deep, invalid JSON, unknown dtype, shape and offsets that
// disagree, offsets outside the data section (a truncated file), and offsets that, in
// offset order, are not contiguous, overlap, or do not cover the data section exactly.
// Header entries may come in any order.
SafetensorsFile load_safetensors(const std::string& path);

// Saves m's parameters and buffers under their dotted names ("main.0.weight"), plus
// `extra` tensors (e.g. optimizer state, under a prefix of the caller's such as "opt.")
// and metadata (step, epoch, RNG state, as strings).
void save_checkpoint(const std::string& path, const Module& m, const Named& extra = {}, const Metadata& meta = {});

// Loads m's parameters and buffers in place (copy_ into the existing tensors, so
// optimizer handles stay valid). Every one must be in the file with the same shape and
// dtype, and every other tensor in the file must start with `extra_prefix` (when it is
// non-empty); the error lists every mismatch, e.g.
//   checkpoint x.safetensors: 'main.0.weight' has shape [64,1,4,4] in the file but [64,3,4,4] in the model
// Everything is checked before anything is written: a failed load leaves m untouched.
// Returns the extra tensors (in file order) and the metadata.
SafetensorsFile load_checkpoint(const std::string& path, Module& m, const std::string& extra_prefix = "");

}  // namespace gantry::nn
