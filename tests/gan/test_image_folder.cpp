// The image-folder reader on generated PNG and JPEG files (stb_image_write): values,
// gray/RGB conversion, resize and center crop, order, and the errors for bad files,
// each naming the file.
#include <doctest/doctest.h>
#include <stb/stb_image_write.h>
#include <sys/stat.h>
#include <unistd.h>

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
  png(d / "tall.png", 32, 64, 1, pixels(32, 64, 1, [](int x, int y, int) { return y < 16 || y >= 48 ? 128 : x < 16 ? 0 : 255; }));
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
  CHECK(error_of([&] { read_image_file((d / "pnm.png").string(), {8, 1}); })
            .find("pnm.png is not a PNG or JPEG image (its first bytes are neither signature)") != std::string::npos);
  write_text(d / "gif.jpg", "GIF89a\x01\x00\x01\x00");
  CHECK(error_of([&] { read_image_file((d / "gif.jpg").string(), {8, 1}); }).find("gif.jpg is not a PNG or JPEG") !=
        std::string::npos);
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
  CHECK(error_of([&] { read_image_file((d / "cut.png").string(), {16, 1}); }).find("cannot decode") !=
        std::string::npos);
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
  CHECK(error_of([&] { read_image_folder(d.string(), {16, 1, 100000, 255}); })
            .find("whole.png has 16x16 = 256 pixels, over the limit of 255 (max_pixels)") != std::string::npos);
  png(d / "second.png", 16, 16, 1, pixels(16, 16, 1, [](int, int, int) { return 7; }));
  CHECK(error_of([&] { read_image_folder(d.string(), {16, 1, 1}); }).find("more than 1 image files (the limit max_files)") !=
        std::string::npos);
  CHECK(error_of([&] { read_image_folder(d.string(), {16, 2}); }).find("channels must be 1 (gray) or 3") !=
        std::string::npos);
  if (::geteuid() != 0) {  // root reads anything, so this case runs only as a user
    ::chmod((d / "second.png").c_str(), 0);
    CHECK(error_of([&] { read_image_folder(d.string(), {16, 1}); }).find("cannot read") != std::string::npos);
    ::chmod((d / "second.png").c_str(), 0644);
  }
  CHECK(read_image_folder(d.string(), {16, 1}).images.shape() == Shape{2, 1, 16, 16});
  fs::remove_all(d);
}
