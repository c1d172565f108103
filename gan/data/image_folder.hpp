// gan/data/image_folder.hpp — a folder of PNG or JPEG images (stb_image) as one float
// tensor, for CycleGAN's --data-a / --data-b (the reference's "unaligned" folders, e.g.
// horse2zebra's trainA and trainB).
//
// Files: every regular file under the folder (recursively, like the reference's
// make_dataset) whose name ends in .png, .jpg or .jpeg (any case), hidden files
// skipped, in byte order of their paths relative to the folder. Other files are ignored.
// Each image is decoded as gray (stb's luma, 77 R + 150 G + 29 B over 256) or RGB (gray
// replicated; alpha dropped), its shorter side resized to `size` keeping the aspect
// (stb_image_resize, in floats; none when it is already that size), center-cropped to
// size x size, and scaled x / 127.5 - 1 into [-1, 1].
#pragma once
#include <string>
#include <vector>

#include "core/ops.hpp"

namespace gantry::gan {

struct ImageFolderOptions {
  int64_t size = 28;                // output side S
  int64_t channels = 1;             // 1 (gray) or 3 (RGB)
  int64_t max_files = 100000;       // more image files than this is an error
  int64_t max_pixels = 50'000'000;  // an image with more (width x height) pixels is an error
};

struct ImageFolder {
  Tensor images;                   // float32 [N, channels, size, size] in [-1, 1]
  std::vector<std::string> files;  // the files, in the images' order
};

// The image files of dir, in the order read_image_folder uses. Throws naming dir when it
// is missing or not a folder, holds no image file, or more than max_files.
std::vector<std::string> list_image_files(const std::string& dir, int64_t max_files = 100000);

// Reads every image of dir (see above). Throws gantry::Error naming the file that is
// empty (0 bytes), unreadable, not a PNG/JPEG image, or over max_pixels.
ImageFolder read_image_folder(const std::string& dir, const ImageFolderOptions& o = {});

// One image file as [1, channels, size, size]; the same checks and errors.
Tensor read_image_file(const std::string& path, const ImageFolderOptions& o = {});

}  // namespace gantry::gan
