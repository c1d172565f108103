// fuzz/fuzz_image_folder.cpp — libFuzzer target: the image-folder reader
// (gan/data/image_folder.cpp: stb_image's PNG/JPEG decode, the size checks, resize and
// crop). The input is one file, read as a .png and as a .jpg (stb sniffs the format
// from the bytes), as gray and as RGB. Any gantry::Error is a clean rejection.
// Speed (docs/reliability.md): nearly all the time went into stb's huge allocations. Its
// PNG reader grows its IDAT buffer to a chunk's declared length before reading the chunk,
// so a mutated length field costs a realloc of up to 1 GB per input (under ASan: mmap, page
// faults and 1/8 of it in shadow memset). Here an allocation over kMaxAllocMiB fails (ASan
// returns null, stb says "outofmem", the reader throws its clean error), which no valid
// input within these limits needs; the pixel limit is kMaxPixels (64x64, still resized and
// cropped, and over it the reader's max_pixels error); fuzz/run.sh caps inputs at 8 KiB.
#include <cstdint>

#include "fuzz/fuzz_util.hpp"
#include "gan/data/image_folder.hpp"

namespace {
constexpr int64_t kMaxPixels = 64 * 64;
// kMaxAllocMiB = 64: an 8 KiB input inflates to at most ~8 MiB; 64x64 RGB decodes to 12 KiB.
}  // namespace

// ASan's defaults for this binary (ASAN_OPTIONS still overrides them).
extern "C" const char* __asan_default_options() { return "allocator_may_return_null=1:max_allocation_size_mb=64"; }

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::string path = gantry::fuzz::scratch_path("-img.png");
  if (!gantry::fuzz::write_bytes(path, data, size)) return 0;
  gantry::gan::ImageFolderOptions o;
  o.size = 8;
  o.max_pixels = kMaxPixels;  // the fuzzer's speed and memory; the reader's own check is what is fuzzed
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
