// gan/data/image_folder.cpp — PNG/JPEG folders through stb_image and stb_image_resize.
#include "gan/data/image_folder.hpp"

#include <stb/stb_image.h>
#include <stb/stb_image_resize.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>

namespace gantry::gan {

namespace fs = std::filesystem;

namespace {

bool is_image_name(const fs::path& p) {
  std::string ext = p.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return (char)std::tolower(c); });
  return ext == ".png" || ext == ".jpg" || ext == ".jpeg";
}

std::vector<unsigned char> read_bytes(const std::string& path) {
  std::error_code ec;
  GANTRY_CHECK(fs::is_regular_file(path, ec), "image: ", path, " is not a file");
  std::ifstream f(path, std::ios::binary);
  GANTRY_CHECK(f, "image: cannot read ", path, " (", std::strerror(errno), ")");
  std::vector<unsigned char> bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  GANTRY_CHECK(!f.bad(), "image: cannot read ", path, " (read error)");
  GANTRY_CHECK(!bytes.empty(), "image: ", path, " is empty (0 bytes)");
  return bytes;
}

// A PNG's chunks each fit in the file: every chunk (4-byte big-endian length, 4-byte type,
// data, 4-byte CRC) up to IEND ends inside `bytes`. stb_image grows its buffer to a chunk's
// declared length before reading it, so an 8 KiB file could make it ask for 2 GiB; this
// walk refuses such a file first. Not a PNG (JPEG): nothing to check.
void check_png_chunks(const std::string& path, const std::vector<unsigned char>& bytes) {
  static const unsigned char signature[8] = {137, 80, 78, 71, 13, 10, 26, 10};
  if (bytes.size() < 8 || std::memcmp(bytes.data(), signature, 8) != 0) return;
  size_t at = 8;
  while (at + 8 <= bytes.size()) {
    const uint64_t len = (uint64_t)bytes[at] << 24 | (uint64_t)bytes[at + 1] << 16 | (uint64_t)bytes[at + 2] << 8 |
                         (uint64_t)bytes[at + 3];
    const std::string type(reinterpret_cast<const char*>(&bytes[at + 4]), 4);
    GANTRY_CHECK(len <= bytes.size() - at - 8 && bytes.size() - at - 8 - len >= 4, "image: cannot decode ", path,
                 " (a truncated or corrupt PNG: chunk '", type, "' at byte ", at, " declares ", len,
                 " data bytes, past the file's end at ", bytes.size(), ")");
    if (type == "IEND") return;
    at += 12 + len;
  }
}

// True when the bytes open as a PNG (its 8-byte signature) or a JPEG (SOI, then a marker).
// stb_image sniffs a dozen formats (PNM, GIF, BMP, PSD, HDR, TGA, ...) whatever the file's
// name; the reader promises PNG and JPEG only, so the rest never reach stb's decoders.
bool is_png_or_jpeg(const std::vector<unsigned char>& b) {
  static const unsigned char png[8] = {137, 80, 78, 71, 13, 10, 26, 10};
  if (b.size() >= 8 && std::memcmp(b.data(), png, 8) == 0) return true;
  return b.size() >= 3 && b[0] == 0xFF && b[1] == 0xD8 && b[2] == 0xFF;
}

// The image decoded to `channels` 8-bit channels per pixel, as floats, row-major [h][w][c].
struct Decoded {
  int w = 0, h = 0;
  std::vector<float> pixels;
};

Decoded decode(const std::string& path, const std::vector<unsigned char>& bytes, const ImageFolderOptions& o) {
  int w = 0, h = 0, file_channels = 0;
  GANTRY_CHECK(bytes.size() <= (size_t)INT32_MAX, "image: ", path, " is too large to decode (", bytes.size(), " bytes)");
  const int len = (int)bytes.size();
  GANTRY_CHECK(is_png_or_jpeg(bytes), "image: ", path,
               " is not a PNG or JPEG image (its first bytes are neither signature)");
  check_png_chunks(path, bytes);
  GANTRY_CHECK(stbi_info_from_memory(bytes.data(), len, &w, &h, &file_channels), "image: ", path,
               " is not a PNG or JPEG image (", stbi_failure_reason(), ")");
  GANTRY_CHECK(w >= 1 && h >= 1, "image: ", path, " declares an empty image (", w, "x", h, " pixels)");
  GANTRY_CHECK((int64_t)w * h <= o.max_pixels, "image: ", path, " has ", w, "x", h, " = ", (int64_t)w * h,
               " pixels, over the limit of ", o.max_pixels, " (max_pixels)");
  std::unique_ptr<unsigned char, void (*)(void*)> data(
      stbi_load_from_memory(bytes.data(), len, &w, &h, &file_channels, (int)o.channels), stbi_image_free);
  GANTRY_CHECK(data != nullptr, "image: cannot decode ", path, " (", stbi_failure_reason(), ")");
  GANTRY_CHECK(w >= 1 && h >= 1, "image: ", path, " decodes to an empty image (", w, "x", h, " pixels)");
  Decoded d{w, h, std::vector<float>((size_t)w * h * o.channels)};
  for (size_t i = 0; i < d.pixels.size(); ++i) d.pixels[i] = data.get()[i];
  return d;
}

// Shorter side to S (aspect kept; untouched when it is S already), then the centre S x S,
// as [C, S, S] in [-1, 1] written to out.
void resize_crop(const Decoded& d, const ImageFolderOptions& o, const std::string& path, float* out) {
  const int64_t s = o.size, c = o.channels;
  int rw = d.w, rh = d.h;
  const float* src = d.pixels.data();
  std::vector<float> resized;
  if (std::min(d.w, d.h) != s) {
    const double scale = (double)s / std::min(d.w, d.h);
    rw = std::max<int>((int)s, (int)std::lround(d.w * scale));
    rh = std::max<int>((int)s, (int)std::lround(d.h * scale));
    if (d.w <= d.h) rw = (int)s; else rh = (int)s;
    resized.resize((size_t)rw * rh * c);
    GANTRY_CHECK(stbir_resize_float(src, d.w, d.h, 0, resized.data(), rw, rh, 0, (int)c), "image: resizing ", path,
                 " from ", d.w, "x", d.h, " to ", rw, "x", rh, " failed");
    src = resized.data();
  }
  const int64_t x0 = (rw - s) / 2, y0 = (rh - s) / 2;
  for (int64_t ch = 0; ch < c; ++ch)
    for (int64_t y = 0; y < s; ++y)
      for (int64_t x = 0; x < s; ++x) {
        const float v = src[((y0 + y) * rw + (x0 + x)) * c + ch];
        out[(ch * s + y) * s + x] = std::clamp(v, 0.0f, 255.0f) / 127.5f - 1.0f;
      }
}

void check_options(const ImageFolderOptions& o) {
  GANTRY_CHECK(o.channels == 1 || o.channels == 3, "image folder: channels must be 1 (gray) or 3 (RGB), got ",
               o.channels);
  GANTRY_CHECK(o.size >= 1 && o.max_files >= 1 && o.max_pixels >= 1, "image folder: size (", o.size,
               "), max_files (", o.max_files, ") and max_pixels (", o.max_pixels, ") must be positive");
}

}  // namespace

std::vector<std::string> list_image_files(const std::string& dir, int64_t max_files) {
  std::error_code ec;
  GANTRY_CHECK(fs::is_directory(dir, ec), "image folder: ", dir, " is not a folder (or does not exist)");
  std::vector<std::string> rel;
  for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::recursive_directory_iterator();
       it.increment(ec)) {
    const fs::path name = it->path().filename();
    if (name.string().starts_with(".")) {
      if (it->is_directory()) it.disable_recursion_pending();
      continue;
    }
    if (!it->is_directory() && is_image_name(name)) rel.push_back(fs::relative(it->path(), dir).string());
    GANTRY_CHECK((int64_t)rel.size() <= max_files, "image folder: ", dir, " has more than ", max_files,
                 " image files (the limit max_files)");
  }
  GANTRY_CHECK(!ec, "image folder: cannot list ", dir, " (", ec.message(), ")");
  GANTRY_CHECK(!rel.empty(), "image folder: ", dir, " has no PNG or JPEG files (.png, .jpg, .jpeg)");
  std::sort(rel.begin(), rel.end());
  for (std::string& r : rel) r = (fs::path(dir) / r).string();
  return rel;
}

Tensor read_image_file(const std::string& path, const ImageFolderOptions& o) {
  check_options(o);
  Tensor out = empty({1, o.channels, o.size, o.size});
  resize_crop(decode(path, read_bytes(path), o), o, path, out.data<float>());
  return out;
}

ImageFolder read_image_folder(const std::string& dir, const ImageFolderOptions& o) {
  check_options(o);
  ImageFolder f;
  f.files = list_image_files(dir, o.max_files);
  const int64_t n = (int64_t)f.files.size(), per = o.channels * o.size * o.size;
  f.images = empty({n, o.channels, o.size, o.size});
  float* out = f.images.data<float>();
  for (int64_t i = 0; i < n; ++i) resize_crop(decode(f.files[i], read_bytes(f.files[i]), o), o, f.files[i], out + i * per);
  return f;
}

}  // namespace gantry::gan
