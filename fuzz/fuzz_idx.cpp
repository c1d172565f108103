// fuzz/fuzz_idx.cpp — libFuzzer target: the IDX reader (gan/data/dataset.cpp), raw and gzip.
// The input is the file itself (gzip when it starts with 1f 8b, as the reader tells them
// apart), read as images and as labels. Any gantry::Error is a clean rejection; a crash,
// a sanitizer report or another exception is a finding.
#include <cstdint>

#include "fuzz/fuzz_util.hpp"
#include "gan/data/dataset.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::string path = gantry::fuzz::scratch_path("-idx");
  if (!gantry::fuzz::write_bytes(path, data, size)) return 0;
  try {
    gantry::gan::IdxImages im = gantry::gan::read_idx_images(path);
    if ((int64_t)im.pixels.size() != im.n * im.rows * im.cols) __builtin_trap();
  } catch (const gantry::Error&) {
  }
  try {
    (void)gantry::gan::read_idx_labels(path);
  } catch (const gantry::Error&) {
  }
  return 0;
}
