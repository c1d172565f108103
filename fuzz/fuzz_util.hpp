// fuzz/fuzz_util.hpp — the fuzz targets' shared part: the input bytes as a file (the
// readers take paths), in /dev/shm when it exists so the file costs no disk I/O.
#pragma once
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <string>

namespace gantry::fuzz {

// A per-process scratch file name ending in `suffix`.
inline std::string scratch_path(const std::string& suffix) {
  const char* dir = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
  return std::string(dir) + "/gantry_fuzz_" + std::to_string(::getpid()) + suffix;
}

// Writes bytes to path (overwriting); false if that failed (the input is then skipped).
inline bool write_bytes(const std::string& path, const uint8_t* data, size_t size) {
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) return false;
  const bool ok = size == 0 || std::fwrite(data, 1, size, f) == size;
  return std::fclose(f) == 0 && ok;
}

}  // namespace gantry::fuzz
