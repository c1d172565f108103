// fuzz/fuzz_safetensors.cpp — libFuzzer target: the safetensors checkpoint loader
// (nn/checkpoint.cpp): header length, header JSON and data. Any gantry::Error is a clean
// rejection; a crash, a sanitizer report or another exception is a finding. A file that
// loads must have tensors whose bytes exactly tile the data section.
#include <cstdint>

#include "fuzz/fuzz_util.hpp"
#include "nn/checkpoint.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::string path = gantry::fuzz::scratch_path("-st.safetensors");
  if (!gantry::fuzz::write_bytes(path, data, size)) return 0;
  try {
    gantry::nn::SafetensorsFile f = gantry::nn::load_safetensors(path);
    uint64_t bytes = 0, n = 0;
    for (size_t i = 0; i < 8 && i < size; ++i) n |= (uint64_t)data[i] << (8 * i);
    for (auto& [name, t] : f.tensors) bytes += (uint64_t)t.numel() * gantry::dtype_size(t.dtype());
    if (bytes != size - 8 - n) __builtin_trap();  // the coverage rule the loader enforces
  } catch (const gantry::Error&) {
  }
  return 0;
}
