// The image-folder reader on generated PNG and JPEG files (stb_image_write): values,
// gray/RGB conversion, resize and center crop, order, and the errors for bad files,
// each naming the file.
#include <doctest/doctest.h>
#include <stb/stb_image_write.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <chrono>
#include <filesystem>
#include <fstream>

#include "gan/data/image_folder.hpp"
#include "test_util.hpp"

using namespace gantry;
using namespace gantry::gan;
using gantry::testing::error_of;
namespace fs = std::filesystem;

namespace {

fs::path fresh_dir(const std::string& name) {
  fs::path d = fs::temp_directory_path() / ("gantry_imgfolder_" + name + "_" + std::to_string(::getpid()));
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

// w x h x c bytes from f(x, y, channel).
template <class F>
std::vector<unsigned char> pixels(int w, int h, int c, F f) {
  std::vector<unsigned char> p((size_t)w * h * c);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x)
      for (int k = 0; k < c; ++k) p[((size_t)y * w + x) * c + k] = (unsigned char)f(x, y, k);
  return p;
}

void png(const fs::path& p, int w, int h, int c, const std::vector<unsigned char>& px) {
  REQUIRE(stbi_write_png(p.string().c_str(), w, h, c, px.data(), w * c));
}

void write_text(const fs::path& p, const std::string& s) { std::ofstream(p, std::ios::binary) << s; }

float at(const Tensor& t, int64_t n, int64_t c, int64_t y, int64_t x) {
  const int64_t C = t.size(1), S = t.size(2);
  return t.to_vector<float>()[((n * C + c) * S + y) * S + x];
}

// PNGs written by hand (zlib), for what stb_image_write cannot make: 1/2/16-bit samples,
// a palette, Adam7 interlace, bad IHDR fields and IDAT streams of the wrong size.
void put32(std::string& s, uint32_t v) {
  for (int i = 3; i >= 0; --i) s += (char)(v >> (8 * i) & 0xff);
}
void chunk(std::string& s, const char* type, const std::string& data) {
  put32(s, (uint32_t)data.size());
  const std::string td = std::string(type, 4) + data;
  s += td;
  put32(s, (uint32_t)crc32(0, reinterpret_cast<const Bytef*>(td.data()), (uInt)td.size()));
}
std::string zlib_of(const std::string& raw) {
  uLongf n = compressBound(raw.size());
  std::string out(n, '\0');
  REQUIRE(compress(reinterpret_cast<Bytef*>(out.data()), &n, reinterpret_cast<const Bytef*>(raw.data()), raw.size()) ==
          Z_OK);
  out.resize(n);
  return out;
}
struct Ihdr {
  uint32_t w, h;
  int depth, colour, interlace = 0, compression = 0, filter = 0;
};
std::string png_bytes(const Ihdr& i, const std::string& idat_zlib, const std::string& plte = "") {
  std::string s("\x89PNG\r\n\x1a\n", 8), ihdr;
  put32(ihdr, i.w), put32(ihdr, i.h);
  for (int v : {i.depth, i.colour, i.compression, i.filter, i.interlace}) ihdr += (char)v;
  chunk(s, "IHDR", ihdr);
  if (!plte.empty()) chunk(s, "PLTE", plte);
  chunk(s, "IDAT", idat_zlib);
  chunk(s, "IEND", "");
  return s;
}
// The filtered scanlines (filter type 0 each row) of i's image whose pixel (x, y) has the
// samples sample(x, y), each i.depth bits, packed MSB first; Adam7 passes when interlaced.
template <class F>
std::string scanlines(const Ihdr& i, F sample) {
  static const int x0[7] = {0, 4, 0, 2, 0, 1, 0}, y0[7] = {0, 0, 4, 0, 2, 0, 1};
  static const int dx[7] = {8, 8, 4, 4, 2, 2, 1}, dy[7] = {8, 8, 8, 4, 4, 2, 2};
  std::string raw;
  for (int p = 0; p < (i.interlace ? 7 : 1); ++p) {
    const int ax = i.interlace ? x0[p] : 0, ay = i.interlace ? y0[p] : 0;
    const int sx = i.interlace ? dx[p] : 1, sy = i.interlace ? dy[p] : 1;
    if (ax >= (int)i.w) continue;
    for (int y = ay; y < (int)i.h; y += sy) {
      raw += '\0';
      int acc = 0, nbits = 0;
      for (int x = ax; x < (int)i.w; x += sx)
        for (int v : sample(x, y)) {
          if (i.depth == 16) {
            raw += (char)(v >> 8), raw += (char)(v & 0xff);
          } else {
            acc = acc << i.depth | v, nbits += i.depth;
            if (nbits == 8) raw += (char)acc, acc = nbits = 0;
          }
        }
      if (nbits) raw += (char)(acc << (8 - nbits));
    }
  }
  return raw;
}
// read_image_file's [C, S, S] in [-1, 1] back to 0..255.
std::vector<float> bytes_of(const Tensor& t) {
  std::vector<float> v = t.to_vector<float>();
  for (float& x : v) x = (x + 1) * 127.5f;
  return v;
}

}  // namespace

TEST_CASE("an image folder: exact pixels at size, sorted order, recursive, others ignored") {
  fs::path d = fresh_dir("order");
  png(d / "b.png", 4, 4, 1, pixels(4, 4, 1, [](int x, int y, int) { return 10 * y + x; }));
  png(d / "a.PNG", 4, 4, 1, pixels(4, 4, 1, [](int, int, int) { return 255; }));
  fs::create_directories(d / "sub");
  png(d / "sub" / "c.png", 4, 4, 1, pixels(4, 4, 1, [](int, int, int) { return 0; }));
  write_text(d / "notes.txt", "not an image, and not named like one");
  write_text(d / ".hidden.png", "skipped");
  ImageFolder f = read_image_folder(d.string(), {4, 1});
  REQUIRE(f.files.size() == 3);
  CHECK(fs::path(f.files[0]).filename() == "a.PNG");
  CHECK(fs::path(f.files[1]).filename() == "b.png");
  CHECK(fs::path(f.files[2]).filename() == "c.png");
  CHECK(f.images.shape() == Shape{3, 1, 4, 4});
  CHECK(at(f.images, 0, 0, 2, 1) == 1.0f);
  CHECK(at(f.images, 1, 0, 2, 3) == doctest::Approx(23 / 127.5 - 1));
  CHECK(at(f.images, 1, 0, 0, 0) == -1.0f);
  CHECK(at(f.images, 2, 0, 3, 3) == -1.0f);
  CHECK(list_image_files(d.string()) == f.files);
}

TEST_CASE("gray and RGB, resize of the shorter side and a center crop, JPEG") {
  fs::path d = fresh_dir("convert");
  // Pure red: gray is stb's luma (77 * 255) >> 8 = 76; RGB keeps it.
  png(d / "red.png", 8, 8, 3, pixels(8, 8, 3, [](int, int, int k) { return k == 0 ? 255 : 0; }));
  Tensor g = read_image_file((d / "red.png").string(), {8, 1});
  CHECK(at(g, 0, 0, 4, 4) == doctest::Approx(76 / 127.5 - 1));
  Tensor rgb = read_image_file((d / "red.png").string(), {8, 3});
  CHECK(rgb.shape() == Shape{1, 3, 8, 8});
  CHECK(at(rgb, 0, 0, 1, 1) == 1.0f);
  CHECK(at(rgb, 0, 1, 1, 1) == -1.0f);
  // A gray file read as RGB is replicated.
  png(d / "gray.png", 8, 8, 1, pixels(8, 8, 1, [](int, int, int) { return 51; }));
  Tensor rep = read_image_file((d / "gray.png").string(), {8, 3});
  for (int c = 0; c < 3; ++c) CHECK(at(rep, 0, c, 2, 5) == doctest::Approx(51 / 127.5 - 1));
  // 12 wide x 8 high at size 8: no resize, the middle 8 columns (2..9) are kept.
  png(d / "wide.png", 12, 8, 1, pixels(12, 8, 1, [](int x, int, int) { return x < 2 || x > 9 ? 255 : 20 * x; }));
  Tensor wide = read_image_file((d / "wide.png").string(), {8, 1});
  for (int x = 0; x < 8; ++x) CHECK(at(wide, 0, 0, 3, x) == doctest::Approx(20 * (x + 2) / 127.5 - 1));
  // 32 x 64 (tall) at size 16: resized to 16 x 32, then the middle rows; left half dark, right half light.
  png(d / "tall.png", 32, 64, 1, pixels(32, 64, 1, [](int x, int y, int) {
        return y < 16 || y >= 48 ? 128 : x < 16 ? 0 : 255;
      }));
  Tensor tall = read_image_file((d / "tall.png").string(), {16, 1});
  CHECK(tall.shape() == Shape{1, 1, 16, 16});
  for (int y = 1; y < 15; ++y) {  // rows away from the crop's edge see only the middle band
    CHECK(at(tall, 0, 0, y, 2) == doctest::Approx(-1).epsilon(0.02));
    CHECK(at(tall, 0, 0, y, 13) == doctest::Approx(1).epsilon(0.02));
  }
  // A JPEG of a flat gray comes back within a few levels.
  auto flat = pixels(16, 16, 3, [](int, int, int) { return 100; });
  REQUIRE(stbi_write_jpg((d / "flat.jpg").string().c_str(), 16, 16, 3, flat.data(), 95));
  Tensor j = read_image_file((d / "flat.jpg").string(), {16, 1});
  for (float v : j.to_vector<float>()) CHECK(std::abs((v + 1) * 127.5 - 100) < 3);
  // Mixed sizes in one folder are fine: each is resized.
  ImageFolder f = read_image_folder(d.string(), {8, 3});
  CHECK(f.images.shape() == Shape{5, 3, 8, 8});  // 8x8, 12x8, 32x64, 16x16 in one tensor
}

TEST_CASE("image folder errors name the file or the folder and the limit") {
  fs::path d = fresh_dir("errors");
  CHECK(error_of([&] { read_image_folder(d.string()); }).find("has no PNG or JPEG files") != std::string::npos);
  CHECK(error_of([&] { read_image_folder((d / "missing").string()); }).find("missing is not a folder") !=
        std::string::npos);
  write_text(d / "text.png", "hello, I am not a PNG");
  std::string e = error_of([&] { read_image_folder(d.string()); });
  CHECK(e.find("text.png is not a PNG or JPEG image") != std::string::npos);
  fs::remove(d / "text.png");
  // Other formats stb_image would sniff are refused by name whatever the extension: the
  // 2-byte "P5" (a PNM header with no size, which stb "decoded" to 0x0 pixels and
  // stb_image_resize then asserted on; fuzz/findings/image_folder_pnm_p5_2b.png).
  write_text(d / "pnm.png", "P5");
  CHECK(error_of([&] {
          read_image_file((d / "pnm.png").string(), {8, 1});
        }).find("pnm.png is not a PNG or JPEG image (its first bytes are neither signature)") != std::string::npos);
  write_text(d / "gif.jpg", "GIF89a\x01\x00\x01\x00");
  CHECK(error_of([&] {
          read_image_file((d / "gif.jpg").string(), {8, 1});
        }).find("gif.jpg is not a PNG or JPEG") != std::string::npos);
  fs::remove(d / "pnm.png");
  fs::remove(d / "gif.jpg");
  write_text(d / "zero.jpg", "");
  CHECK(error_of([&] { read_image_folder(d.string()); }).find("zero.jpg is empty (0 bytes)") != std::string::npos);
  fs::remove(d / "zero.jpg");
  // A PNG cut short: its header parses, its pixels do not.
  png(d / "whole.png", 16, 16, 1, pixels(16, 16, 1, [](int x, int y, int) { return x * y; }));
  std::ifstream in(d / "whole.png", std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  write_text(d / "cut.png", bytes.substr(0, 40));
  CHECK(error_of([&] {
          read_image_file((d / "cut.png").string(), {16, 1});
        }).find("cannot decode") != std::string::npos);
  fs::remove(d / "cut.png");
  // A chunk declaring more bytes than the file holds is refused before stb_image would
  // allocate them (IHDR is bytes 8..32; the next chunk's length is set to 2^31 - 1).
  std::string huge = bytes;
  huge[33] = 0x7f, huge[34] = huge[35] = huge[36] = (char)0xff;
  write_text(d / "huge.png", huge);
  e = error_of([&] { read_image_file((d / "huge.png").string(), {16, 1}); });
  CHECK(e.find("huge.png (a truncated or corrupt PNG: chunk") != std::string::npos);
  CHECK(e.find("at byte 33 declares 2147483647 data bytes, past the file's end") != std::string::npos);
  fs::remove(d / "huge.png");
  CHECK(error_of([&] {
          read_image_folder(d.string(), {16, 1, 100000, 255});
        }).find("whole.png has 16x16 = 256 pixels, over the limit of 255 (max_pixels)") != std::string::npos);
  png(d / "second.png", 16, 16, 1, pixels(16, 16, 1, [](int, int, int) { return 7; }));
  CHECK(error_of([&] {
          read_image_folder(d.string(), {16, 1, 1});
        }).find("more than 1 image files (the limit max_files)") != std::string::npos);
  CHECK(error_of([&] {
          read_image_folder(d.string(), {16, 2});
        }).find("channels must be 1 (gray) or 3") != std::string::npos);
  if (::geteuid() != 0) {  // root reads anything, so this case runs only as a user
    ::chmod((d / "second.png").c_str(), 0);
    CHECK(error_of([&] { read_image_folder(d.string(), {16, 1}); }).find("cannot read") != std::string::npos);
    ::chmod((d / "second.png").c_str(), 0644);
  }
  CHECK(read_image_folder(d.string(), {16, 1}).images.shape() == Shape{2, 1, 16, 16});
  fs::remove_all(d);
}

TEST_CASE("hand-made PNGs: 1/2/16-bit, palette, gray+alpha, RGBA and Adam7 interlace load") {
  fs::path d = fresh_dir("handmade");
  auto load = [&](const std::string& name, const std::string& bytes, int64_t size, int64_t channels) {
    write_text(d / name, bytes);
    return bytes_of(read_image_file((d / name).string(), {size, channels}));
  };
  auto gray = [](int x, int y) { return 10 * y + x; };
  // 8-bit gray, plain and interlaced (9x9: every Adam7 pass, some partial), same pixels.
  for (int interlace : {0, 1}) {
    Ihdr i{9, 9, 8, 0, interlace};
    std::vector<float> v =
        load("gray" + std::to_string(interlace) + ".png",
             png_bytes(i, zlib_of(scanlines(i, [&](int x, int y) { return std::vector<int>{gray(x, y)}; }))), 9, 1);
    for (int y = 0; y < 9; ++y)
      for (int x = 0; x < 9; ++x) CHECK(v[y * 9 + x] == doctest::Approx(gray(x, y)).epsilon(1e-4));
  }
  // 1-bit gray checkerboard, interlaced: stb scales 1 to 255.
  Ihdr one{8, 8, 1, 0, 1};
  std::vector<float> v =
      load("one.png",
           png_bytes(one, zlib_of(scanlines(one, [](int x, int y) { return std::vector<int>{(x + y) % 2}; }))), 8, 1);
  for (int y = 0; y < 8; ++y)
    for (int x = 0; x < 8; ++x) CHECK(v[y * 8 + x] == doctest::Approx((x + y) % 2 * 255).epsilon(1e-4));
  // 2-bit palette of 4 colours, 5 wide (a partial last byte per row).
  Ihdr pal{5, 5, 2, 3};
  const std::string plte("\x00\x00\x00\xff\x00\x00\x00\xff\x00\x00\x00\xff", 12);
  v = load("pal.png",
           png_bytes(pal, zlib_of(scanlines(pal, [](int x, int y) { return std::vector<int>{(x + y) % 4}; })), plte), 5,
           3);
  for (int y = 0; y < 5; ++y)
    for (int x = 0; x < 5; ++x)
      for (int k = 0; k < 3; ++k)
        CHECK(v[(k * 5 + y) * 5 + x] == doctest::Approx((x + y) % 4 == k + 1 ? 255 : 0).epsilon(1e-4));
  // 16-bit RGB (stb keeps the high byte) and 8-bit RGBA (alpha dropped for 3 channels).
  Ihdr rgb16{4, 4, 16, 2};
  auto rgb = [](int x, int y, int k) { return 40 * k + 10 * y + x; };
  v = load("rgb16.png",
           png_bytes(rgb16, zlib_of(scanlines(
                                rgb16,
                                [&](int x, int y) {
                                  return std::vector<int>{rgb(x, y, 0) * 257, rgb(x, y, 1) * 257, rgb(x, y, 2) * 257};
                                }))),
           4, 3);
  for (int k = 0; k < 3; ++k)
    for (int y = 0; y < 4; ++y)
      for (int x = 0; x < 4; ++x) CHECK(v[(k * 4 + y) * 4 + x] == doctest::Approx(rgb(x, y, k)).epsilon(1e-4));
  Ihdr rgba{4, 4, 8, 6, 1};
  v = load("rgba.png",
           png_bytes(rgba, zlib_of(scanlines(rgba,
                                             [&](int x, int y) {
                                               return std::vector<int>{rgb(x, y, 0), rgb(x, y, 1), rgb(x, y, 2), 99};
                                             }))),
           4, 3);
  for (int k = 0; k < 3; ++k)
    for (int y = 0; y < 4; ++y)
      for (int x = 0; x < 4; ++x) CHECK(v[(k * 4 + y) * 4 + x] == doctest::Approx(rgb(x, y, k)).epsilon(1e-4));
  Ihdr ga{4, 4, 8, 4};
  v = load("ga.png",
           png_bytes(ga, zlib_of(scanlines(ga,
                                           [&](int x, int y) {
                                             return std::vector<int>{gray(x, y), 7};
                                           }))),
           4, 1);
  for (int y = 0; y < 4; ++y)
    for (int x = 0; x < 4; ++x) CHECK(v[y * 4 + x] == doctest::Approx(gray(x, y)).epsilon(1e-4));
  fs::remove_all(d);
}

TEST_CASE("a PNG's IHDR fields and IDAT size are checked before stb_image, naming the file and field") {
  fs::path d = fresh_dir("pngchecks");
  auto error = [&](const std::string& name, const std::string& bytes) {
    write_text(d / name, bytes);
    return error_of([&] { read_image_file((d / name).string(), {4, 1}); });
  };
  const Ihdr i{4, 4, 8, 0};  // 4 rows of 1 + 4 bytes: 20 bytes of scanlines
  const std::string good = zlib_of(std::string(20, '\0'));
  write_text(d / "good.png", png_bytes(i, good));
  CHECK(read_image_file((d / "good.png").string(), {4, 1}).shape() == Shape{1, 1, 4, 4});
  // A zlib bomb: 1 MiB of zeros (about 1 KiB compressed) under a 4x4 IHDR.
  CHECK(error("bomb.png", png_bytes(i, zlib_of(std::string(1 << 20, '\0'))))
            .find("bomb.png (a corrupt PNG: its IDAT data inflates to more than the 20 bytes of scanlines its IHDR "
                  "declares)") != std::string::npos);
  CHECK(error("short.png", png_bytes(i, zlib_of(std::string(19, '\0'))))
            .find("short.png (a corrupt PNG: its IDAT data inflates to 19 bytes, not the 20 bytes") !=
        std::string::npos);
  CHECK(error("cut.png", png_bytes(i, good.substr(0, good.size() - 5)))
            .find("cut.png (a corrupt PNG: its IDAT zlib stream is cut short)") != std::string::npos);
  std::string bad = good;
  bad[2] = (char)0xff;  // the first deflate block's type: 3, reserved
  CHECK(error("corrupt.png", png_bytes(i, bad)).find("corrupt.png (a corrupt PNG: its IDAT zlib stream is ") !=
        std::string::npos);
  // Each IHDR field the spec restricts.
  CHECK(error("depth.png", png_bytes({4, 4, 7, 2}, good))
            .find("depth.png (PNG IHDR: bit depth 7 is not valid for colour type 2)") != std::string::npos);
  CHECK(error("pal16.png", png_bytes({4, 4, 16, 3}, good))
            .find("pal16.png (PNG IHDR: bit depth 16 is not valid for colour type 3)") != std::string::npos);
  CHECK(error("colour.png", png_bytes({4, 4, 8, 5}, good)).find("colour.png (PNG IHDR: colour type 5 is not one of") !=
        std::string::npos);
  CHECK(error("width.png", png_bytes({0, 4, 8, 0}, good)).find("width.png (PNG IHDR: width 0 is outside") !=
        std::string::npos);
  CHECK(error("height.png", png_bytes({4, 0x80000000u, 8, 0}, good))
            .find("height.png (PNG IHDR: height 2147483648 is outside") != std::string::npos);
  CHECK(error("lace.png", png_bytes({4, 4, 8, 0, 2}, good))
            .find("lace.png (PNG IHDR: interlace method 2 is not 0 or 1)") != std::string::npos);
  CHECK(error("comp.png", png_bytes({4, 4, 8, 0, 0, 1}, good))
            .find("comp.png (PNG IHDR: compression method 1 is not 0)") != std::string::npos);
  CHECK(
      error("filt.png", png_bytes({4, 4, 8, 0, 0, 0, 1}, good)).find("filt.png (PNG IHDR: filter method 1 is not 0)") !=
      std::string::npos);
  CHECK(error("big.png", png_bytes({70000, 70000, 8, 0}, good))
            .find("big.png has 70000x70000 = 4900000000 pixels, over the limit") != std::string::npos);
  // CI's fuzz_image_folder finding: 221 bytes, 5x9 RGB, on which stb_image allocated ~250 MB
  // (2 s under ASan). Its IDAT's length field is mutated (1895825563 bytes), so the chunk
  // walk refuses it by name before stb or the inflate (and in microseconds).
  const std::string finding = std::string(GANTRY_SOURCE_DIR) + "/fuzz/findings/image_folder_slow_png_221b.png";
  const auto t0 = std::chrono::steady_clock::now();
  const std::string e = error_of([&] { read_image_file(finding, {4, 3}); });
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  MESSAGE("the 221-byte finding: ", e, " (", s, " s)");
  CHECK(e.find("image_folder_slow_png_221b.png (a truncated or corrupt PNG: chunk 'IDAT' at byte 33 declares "
               "1895825563 data bytes") != std::string::npos);
  CHECK(s < 0.5);
  fs::remove_all(d);
}

TEST_CASE("a JPEG's scans may use only Huffman and quantization tables defined before them (fuzz finding)") {
  // fuzz_image_folder's finding (a long run, random seed): a 581-byte baseline JPEG whose scan
  // names AC Huffman table 2 while its DHTs define tables 0 and 1. stb_image keeps its tables
  // in uninitialized memory, so it decoded with garbage tables and read wild (a SEGV under
  // ASan, depending on what the memory held). The reader now refuses it by name first.
  const std::string finding =
      std::string(GANTRY_SOURCE_DIR) + "/fuzz/findings/image_folder_jpeg_undefined_huffman_581b.jpg";
  for (int64_t channels : {1, 3})
    CHECK(error_of([&] {
            read_image_file(finding, {8, channels});
          })
              .find("image_folder_jpeg_undefined_huffman_581b.jpg (a corrupt JPEG: the scan at byte 488 uses AC "
                    "Huffman table 2, which no DHT before it defines)") != std::string::npos);
  // A valid JPEG (stb_image_write's: baseline, DQT 0 and 1, DHT DC/AC 0 and 1) loads; the
  // same bytes with its scan or frame pointing at a table never defined are refused.
  fs::path d = fresh_dir("jpegtables");
  std::vector<unsigned char> rgb(16 * 16 * 3);
  for (size_t i = 0; i < rgb.size(); ++i) rgb[i] = (unsigned char)(i * 7);
  REQUIRE(stbi_write_jpg((d / "good.jpg").string().c_str(), 16, 16, 3, rgb.data(), 90));
  std::string good;
  {
    std::ifstream in(d / "good.jpg", std::ios::binary);
    good.assign(std::istreambuf_iterator<char>(in), {});
  }
  CHECK(read_image_file((d / "good.jpg").string(), {16, 3}).shape() == Shape{1, 3, 16, 16});
  const size_t sos = good.find("\xFF\xDA"), sof = good.find("\xFF\xC0");
  REQUIRE(sos != std::string::npos);
  REQUIRE(sof != std::string::npos);
  auto error = [&](const std::string& name, std::string bytes, size_t at, unsigned char value) {
    bytes[at] = (char)value;
    write_text(d / name, bytes);
    return error_of([&] { read_image_file((d / name).string(), {16, 3}); });
  };
  // SOS: FF DA, Ls (2), Ns, then (component id, DC << 4 | AC) per component.
  CHECK(error("ac3.jpg", good, sos + 6, 0x03).find("uses AC Huffman table 3, which no DHT before it defines") !=
        std::string::npos);
  CHECK(error("dc2.jpg", good, sos + 6, 0x20).find("uses DC Huffman table 2, which no DHT before it defines") !=
        std::string::npos);
  // SOF0: FF C0, Lf (2), P, Y (2), X (2), Nf, then (id, H << 4 | V, Tq) per component.
  CHECK(error("q3.jpg", good, sof + 12, 0x03).find("uses quantization table 3, which no DQT before the scan") !=
        std::string::npos);
  fs::remove_all(d);
}
