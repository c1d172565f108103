// fuzz/fuzz_image_folder.cpp — libFuzzer target: the image-folder reader
// (gan/data/image_folder.cpp: stb_image's PNG/JPEG decode, the size checks, resize and
// crop). The input is one file, read as a .png and as a .jpg (stb sniffs the format
// from the bytes), as gray and as RGB. Any gantry::Error is a clean rejection.
#include <cstdint>

#include "fuzz/fuzz_util.hpp"
#include "gan/data/image_folder.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::string path = gantry::fuzz::scratch_path("-img.png");
  if (!gantry::fuzz::write_bytes(path, data, size)) return 0;
  gantry::gan::ImageFolderOptions o;
  o.size = 8;
  o.max_pixels = 1 << 20;  // the fuzzer's memory limit; the reader's own check is what is fuzzed
  for (int64_t channels : {1, 3}) {
    o.channels = channels;
    try {
      gantry::Tensor t = gantry::gan::read_image_file(path, o);
      if (t.shape() != gantry::Shape{1, channels, 8, 8}) __builtin_trap();
    } catch (const gantry::Error&) {
    }
  }
  return 0;
}
