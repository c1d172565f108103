// gan/data/image_folder.cpp — PNG/JPEG folders through stb_image and stb_image_resize.
#include "gan/data/image_folder.hpp"

#include <stb/stb_image.h>
#include <stb/stb_image_resize.h>
#include <zlib.h>

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

uint32_t be32(const unsigned char* p) {
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

// The exact byte count of a PNG's filtered scanlines (what its IDAT zlib stream must
// inflate to): per row, 1 filter byte + ceil(width * bits_per_pixel / 8); an interlaced
// image is its 7 Adam7 passes, each a (possibly empty) sub-image of that form. w * h is
// at most max_pixels (checked first), so nothing here overflows 64 bits.
uint64_t png_scanline_bytes(uint64_t w, uint64_t h, uint64_t bits_per_pixel, bool interlaced) {
  auto image = [&](uint64_t pw, uint64_t ph) {
    return pw == 0 || ph == 0 ? 0 : ph * (1 + (pw * bits_per_pixel + 7) / 8);
  };
  if (!interlaced) return image(w, h);
  static const int x0[7] = {0, 4, 0, 2, 0, 1, 0}, y0[7] = {0, 0, 4, 0, 2, 0, 1};
  static const int dx[7] = {8, 8, 4, 4, 2, 2, 1}, dy[7] = {8, 8, 8, 4, 4, 2, 2};
  uint64_t total = 0;
  for (int p = 0; p < 7; ++p)
    total += image(w > (uint64_t)x0[p] ? (w - x0[p] + dx[p] - 1) / dx[p] : 0,
                   h > (uint64_t)y0[p] ? (h - y0[p] + dy[p] - 1) / dy[p] : 0);
  return total;
}

// A PNG is checked before stb_image sees it; not a PNG (JPEG): nothing to check.
//  - Its chunks each fit in the file: every chunk (4-byte big-endian length, 4-byte type,
//    data, 4-byte CRC) up to IEND ends inside `bytes`. stb_image grows its buffer to a
//    chunk's declared length before reading it, so an 8 KiB file could make it ask for 2 GiB.
//  - IHDR is the first chunk, 13 bytes, and each field is one the PNG spec allows (width and
//    height 1..2^31-1, a bit depth valid for the colour type, compression and filter method
//    0, interlace 0 or 1); the error names the field. w x h is within max_pixels.
//  - The IDAT chunks' data, in order, are one complete zlib stream that inflates to exactly
//    the image's filtered scanlines (png_scanline_bytes). stb_image bounds its inflate only
//    by its own checks (it accepts extra output), so ~1 KiB of IDAT could make it inflate
//    and allocate ~1 MiB per 1 KiB; here the inflate streams into a 16 KiB stack buffer,
//    keeps nothing, and stops as soon as the output passes the image's size. (The 221-byte
//    finding, fuzz/findings/image_folder_slow_png_221b.png, is a mutated IDAT length: the
//    chunk walk refuses it.) Costs one more inflate per PNG: ~13 us for a 32x32 RGB.
//    Apple's CgBI PNGs (no IHDR first, raw deflate) are refused.
void check_png(const std::string& path, const std::vector<unsigned char>& bytes, int64_t max_pixels) {
  static const unsigned char signature[8] = {137, 80, 78, 71, 13, 10, 26, 10};
  if (bytes.size() < 8 || std::memcmp(bytes.data(), signature, 8) != 0) return;
  size_t at = 8;
  bool seen_ihdr = false;
  uint64_t need = 0;
  std::vector<std::pair<const unsigned char*, size_t>> idat;  // each IDAT chunk's data, in order
  while (at + 8 <= bytes.size()) {
    const uint64_t len = be32(&bytes[at]);
    const std::string type(reinterpret_cast<const char*>(&bytes[at + 4]), 4);
    GANTRY_CHECK(len <= bytes.size() - at - 8 && bytes.size() - at - 8 - len >= 4, "image: cannot decode ", path,
                 " (a truncated or corrupt PNG: chunk '", type, "' at byte ", at, " declares ", len,
                 " data bytes, past the file's end at ", bytes.size(), ")");
    const unsigned char* data = &bytes[at + 8];
    if (!seen_ihdr) {
      GANTRY_CHECK(type == "IHDR" && len == 13, "image: cannot decode ", path, " (a corrupt PNG: the first chunk is '",
                   type, "' of ", len, " bytes, not the 13-byte IHDR)");
      const uint32_t w = be32(data), h = be32(data + 4);
      const int depth = data[8], colour = data[9], compression = data[10], filter = data[11], interlace = data[12];
      GANTRY_CHECK(w >= 1 && w <= 0x7fffffffu, "image: cannot decode ", path, " (PNG IHDR: width ", w,
                   " is outside 1..2^31-1)");
      GANTRY_CHECK(h >= 1 && h <= 0x7fffffffu, "image: cannot decode ", path, " (PNG IHDR: height ", h,
                   " is outside 1..2^31-1)");
      int channels = 0;
      bool depth_ok = false;
      switch (colour) {
        case 0: channels = 1, depth_ok = depth == 1 || depth == 2 || depth == 4 || depth == 8 || depth == 16; break;
        case 2: channels = 3, depth_ok = depth == 8 || depth == 16; break;
        case 3: channels = 1, depth_ok = depth == 1 || depth == 2 || depth == 4 || depth == 8; break;
        case 4: channels = 2, depth_ok = depth == 8 || depth == 16; break;
        case 6: channels = 4, depth_ok = depth == 8 || depth == 16; break;
        default: break;
      }
      GANTRY_CHECK(channels != 0, "image: cannot decode ", path, " (PNG IHDR: colour type ", colour,
                   " is not one of 0, 2, 3, 4, 6)");
      GANTRY_CHECK(depth_ok, "image: cannot decode ", path, " (PNG IHDR: bit depth ", depth,
                   " is not valid for colour type ", colour, ")");
      GANTRY_CHECK(compression == 0, "image: cannot decode ", path, " (PNG IHDR: compression method ", compression,
                   " is not 0)");
      GANTRY_CHECK(filter == 0, "image: cannot decode ", path, " (PNG IHDR: filter method ", filter, " is not 0)");
      GANTRY_CHECK(interlace == 0 || interlace == 1, "image: cannot decode ", path, " (PNG IHDR: interlace method ",
                   interlace, " is not 0 or 1)");
      GANTRY_CHECK((int64_t)w * h <= max_pixels, "image: ", path, " has ", w, "x", h, " = ", (int64_t)w * h,
                   " pixels, over the limit of ", max_pixels, " (max_pixels)");
      need = png_scanline_bytes(w, h, (uint64_t)channels * depth, interlace == 1);
      seen_ihdr = true;
    } else if (type == "IDAT") {
      if (len > 0) idat.emplace_back(data, (size_t)len);
    } else if (type == "IEND") {
      break;
    }
    at += 12 + len;
  }
  GANTRY_CHECK(seen_ihdr, "image: cannot decode ", path, " (a truncated PNG: no IHDR chunk)");
  GANTRY_CHECK(!idat.empty(), "image: cannot decode ", path, " (a corrupt PNG: no IDAT data)");
  z_stream z{};
  GANTRY_CHECK(inflateInit(&z) == Z_OK, "image: cannot decode ", path, " (zlib inflateInit failed)");
  std::unique_ptr<z_stream, int (*)(z_stream*)> guard(&z, inflateEnd);
  unsigned char scratch[16 << 10];  // the output is counted, not kept (stb inflates it again)
  uint64_t total = 0;
  size_t next = 0;  // the next IDAT chunk to feed (a chunk is < 2^31 bytes: it fits avail_in)
  int rc = Z_OK;
  while (rc == Z_OK) {
    if (z.avail_in == 0) {
      if (next == idat.size()) break;
      z.next_in = const_cast<unsigned char*>(idat[next].first), z.avail_in = (uInt)idat[next].second, ++next;
    }
    z.next_out = scratch, z.avail_out = sizeof scratch;
    rc = inflate(&z, Z_NO_FLUSH);
    total += sizeof scratch - z.avail_out;
    GANTRY_CHECK(total <= need, "image: cannot decode ", path,
                 " (a corrupt PNG: its IDAT data inflates to more than the ", need,
                 " bytes of scanlines its IHDR declares)");
    if (rc == Z_BUF_ERROR && z.avail_in == 0 && next < idat.size()) rc = Z_OK;  // needs the next chunk
  }
  GANTRY_CHECK(rc == Z_STREAM_END, "image: cannot decode ", path, " (a corrupt PNG: its IDAT zlib stream is ",
               rc == Z_OK || rc == Z_BUF_ERROR ? "cut short" : (z.msg ? z.msg : "corrupt"), ")");
  GANTRY_CHECK(total == need, "image: cannot decode ", path, " (a corrupt PNG: its IDAT data inflates to ", total,
               " bytes, not the ", need, " bytes of scanlines its IHDR declares)");
}

// A JPEG's segments, walked as stb_image 2.27 walks them, before stb decodes it: every
// scan (SOS) must use Huffman and quantization tables that a DHT and a DQT before it
// defined. stb keeps its tables in an uninitialized malloc'd struct, so a scan naming a
// table no DHT defined made it decode with garbage tables: a wild read, a SEGV found by
// fuzz_image_folder (fuzz/findings/image_folder_jpeg_undefined_huffman_581b.jpg: AC table 2
// named, tables 0 and 1 defined). Baseline and extended scans need each component's DC and
// AC table; progressive ones the DC table in a first DC scan and the AC table in an AC
// scan (as stb reads them). Segments are walked by their lengths; in the header (before
// SOF) stray bytes between segments are skipped as stb skips them; after a scan the walk
// goes to the next marker (0xFF then not 0x00, not 0xFF fill, not RST0-7). Where stb reads
// the bytes otherwise (a bad length, a marker after a scan it took early) it stops with an
// error itself, never reaching a scan this walk did not check.
void check_jpeg(const std::string& path, const std::vector<unsigned char>& bytes) {
  if (bytes.size() < 2 || bytes[0] != 0xFF || bytes[1] != 0xD8) return;
  const size_t n = bytes.size();
  bool dc[4] = {}, ac[4] = {}, quant[4] = {}, progressive = false, frame = false;
  struct Component {
    int id, tq;
  };
  std::vector<Component> comps;
  size_t at = 2;
  auto u16 = [&](size_t i) { return i + 1 < n ? (size_t)bytes[i] << 8 | bytes[i + 1] : 0; };
  while (at < n) {
    // The next marker: 0xFF (fill 0xFF bytes skipped), then its code. Before SOF stb skips
    // stray bytes between segments; after it, a stray byte ends stb's decode with an error.
    if (bytes[at] != 0xFF) {
      if (!frame) {
        ++at;
        continue;
      }
      return;  // stb: "expected marker"
    }
    while (at < n && bytes[at] == 0xFF) ++at;
    if (at >= n) return;
    const int m = bytes[at++];
    if (m == 0xD9) return;  // EOI
    const size_t len = u16(at);
    if (m == 0xC4) {  // DHT: (class, id), 16 counts, the values; repeated
      size_t i = at + 2;
      const size_t end = at + len;
      while (i < end && i < n) {
        const int tc = bytes[i] >> 4, th = bytes[i] & 15;
        if (tc > 1 || th > 3) return;  // stb: "bad DHT header"
        size_t count = 0;
        for (size_t k = 0; k < 16; ++k) count += i + 1 + k < n ? bytes[i + 1 + k] : 0;
        (tc == 0 ? dc : ac)[th] = true;
        i += 17 + count;
      }
    } else if (m == 0xDB) {  // DQT: (precision, id), 64 values; repeated
      size_t i = at + 2;
      const size_t end = at + len;
      while (i < end && i < n) {
        const int p = bytes[i] >> 4, t = bytes[i] & 15;
        if (p > 1 || t > 3) return;  // stb: "bad DQT type" / "bad DQT table"
        quant[t] = true;
        i += 1 + (p ? 128 : 64);
      }
    } else if (m == 0xC0 || m == 0xC1 || m == 0xC2) {  // SOF: baseline, extended, progressive
      if (frame) return;                               // stb: a second SOF is an unknown marker
      frame = true, progressive = m == 0xC2;
      const size_t nc = at + 7 < n ? bytes[at + 7] : 0;
      for (size_t c = 0; c < nc && at + 10 + 3 * c < n; ++c)
        comps.push_back({bytes[at + 8 + 3 * c], bytes[at + 10 + 3 * c]});
    } else if (m == 0xDA) {  // SOS: its components and their tables, then the entropy-coded data
      if (!frame) return;
      const size_t ns = at + 2 < n ? bytes[at + 2] : 0;
      const size_t spec = at + 3 + 2 * ns;  // Ss, Se, Ah/Al
      const int ss = spec < n ? bytes[spec] : 0, ah = spec + 2 < n ? bytes[spec + 2] >> 4 : 0;
      for (size_t c = 0; c < ns && at + 4 + 2 * c < n; ++c) {
        const int id = bytes[at + 3 + 2 * c], td = bytes[at + 4 + 2 * c] >> 4, ta = bytes[at + 4 + 2 * c] & 15;
        if (td > 3 || ta > 3) return;  // stb: "bad DC huff" / "bad AC huff"
        const bool need_dc = !progressive || (ss == 0 && ah == 0), need_ac = !progressive || ss > 0;
        GANTRY_CHECK(!need_dc || dc[td], "image: cannot decode ", path, " (a corrupt JPEG: the scan at byte ", at - 2,
                     " uses DC Huffman table ", td, ", which no DHT before it defines)");
        GANTRY_CHECK(!need_ac || ac[ta], "image: cannot decode ", path, " (a corrupt JPEG: the scan at byte ", at - 2,
                     " uses AC Huffman table ", ta, ", which no DHT before it defines)");
        for (const Component& k : comps)
          if (k.id == id)
            GANTRY_CHECK(k.tq <= 3 && quant[k.tq], "image: cannot decode ", path, " (a corrupt JPEG: component ", id,
                         " uses quantization table ", k.tq, ", which no DQT before the scan at byte ", at - 2,
                         " defines)");
      }
      // The entropy-coded data: up to the next marker (0xFF 0x00 is a stuffed 0xFF; RSTn
      // and 0xFF fill bytes belong to the data).
      size_t i = at + len;
      while (i + 1 < n && !(bytes[i] == 0xFF && bytes[i + 1] != 0x00 && bytes[i + 1] != 0xFF &&
                            (bytes[i + 1] < 0xD0 || bytes[i + 1] > 0xD7)))
        ++i;
      at = i;
      continue;
    } else if (m == 0xD8 || m == 0x01 || (m >= 0xD0 && m <= 0xD7)) {
      if (frame) return;  // stb: "unknown marker"
      continue;           // no length
    }
    if (len < 2) return;  // stb: a bad length ends the decode
    at += len;
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
  GANTRY_CHECK(bytes.size() <= (size_t)INT32_MAX, "image: ", path, " is too large to decode (", bytes.size(),
               " bytes)");
  const int len = (int)bytes.size();
  GANTRY_CHECK(is_png_or_jpeg(bytes), "image: ", path,
               " is not a PNG or JPEG image (its first bytes are neither signature)");
  check_png(path, bytes, o.max_pixels);
  check_jpeg(path, bytes);
  GANTRY_CHECK(stbi_info_from_memory(bytes.data(), len, &w, &h, &file_channels), "image: ", path,
               " is not a PNG or JPEG image (", stbi_failure_reason(), ")");
  GANTRY_CHECK(w >= 1 && h >= 1, "image: ", path, " declares an empty image (", w, "x", h, " pixels)");
  GANTRY_CHECK((int64_t)w * h <= o.max_pixels, "image: ", path, " has ", w, "x", h, " = ", (int64_t)w * h,
               " pixels, over the limit of ", o.max_pixels, " (max_pixels)");
  std::unique_ptr<unsigned char, void (*)(void*)> data(stbi_load_from_memory(bytes.data(), len, &w, &h, &file_channels,
                                                                             (int)o.channels),
                                                       stbi_image_free);
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
    if (d.w <= d.h) rw = (int)s;
    else rh = (int)s;
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
  GANTRY_CHECK(o.size >= 1 && o.max_files >= 1 && o.max_pixels >= 1, "image folder: size (", o.size, "), max_files (",
               o.max_files, ") and max_pixels (", o.max_pixels, ") must be positive");
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
  for (int64_t i = 0; i < n; ++i)
    resize_crop(decode(f.files[i], read_bytes(f.files[i]), o), o, f.files[i], out + i * per);
  return f;
}

}  // namespace gantry::gan
