// gan/data/dataset.hpp — IDX image/label files (MNIST's format, .gz or raw), the data set in
// memory scaled to [-1, 1], and seeded shuffled mini-batches.
//
// IDX: a big-endian magic (0x00000803 for uint8 images [N, rows, cols], 0x00000801
// for uint8 labels [N]), big-endian int32 sizes, then the bytes. MNIST, Fashion-MNIST,
// KMNIST and EMNIST all ship this way, so any of them loads with --data DIR.
#pragma once
#include <string>
#include <vector>

#include "core/ops.hpp"

namespace gantry::gan {

struct IdxImages {
  int64_t n = 0, rows = 0, cols = 0;
  std::vector<uint8_t> pixels;  // n * rows * cols
};

// Reads an IDX image or label file, gzip-compressed or raw (told apart by the gzip
// magic bytes). Throws naming the file: missing, wrong magic, truncated, bad gzip.
IdxImages read_idx_images(const std::string& path);
std::vector<uint8_t> read_idx_labels(const std::string& path);
// Writes raw IDX, or gzip when path ends in ".gz".
void write_idx_images(const std::string& path, const IdxImages& images);
void write_idx_labels(const std::string& path, const std::vector<uint8_t>& labels);

// $GANTRY_DATA if set, else /usr/share/datasets/fashion-mnist (Debian's dataset-fashion-mnist).
std::string default_data_dir();

struct DatasetOptions {
  std::string dir;           // empty: default_data_dir()
  bool train = true;         // train-* or t10k-* files
  bool pad_to_32 = false;    // pad 28x28 to 32x32 with background (-1)
  std::vector<int> classes;  // keep only these labels (empty: all)
  int64_t limit = 0;         // keep at most this many after filtering (0: all)
};

// images float32 [N, 1, H, W] in [-1, 1] (x / 127.5 - 1), labels int64 [N].
struct Dataset {
  Tensor images, labels;
};
Dataset load_dataset(const DatasetOptions& o);

// Shuffled mini-batches. The order of an epoch depends only on (seed, epoch), so a
// resumed run sees the same batches as an uninterrupted one.
class BatchIterator {
 public:
  BatchIterator(const Dataset& d, int64_t batch_size, uint64_t seed, bool drop_last = true);
  void start_epoch(int64_t epoch);
  // The next batch of the epoch; false when the epoch is over.
  bool next(Tensor& images, Tensor& labels);
  int64_t batches_per_epoch() const;

 private:
  const Dataset& data_;
  int64_t batch_, pos_ = 0;
  uint64_t seed_;
  bool drop_last_;
  std::vector<int64_t> order_;
};

}  // namespace gantry::gan
