// gan/data/source.hpp — where training batches come from, behind one interface:
//   idx_source      labelled images of one domain from IDX files (MNIST's format);
//   class_domains   two domains made from classes of an IDX data set (e.g. Fashion-MNIST
//                   sneakers vs ankle boots, for image-to-image variants);
//   folder_domains  two folders of PNG/JPEG images (gan/data/image_folder.hpp), e.g.
//                   horse2zebra's trainA and trainB.
// Batches hands out seeded shuffled mini-batches on the model's device: an epoch's order
// depends only on (seed, epoch), so a resumed run sees the same batches.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "gan/data/dataset.hpp"
#include "gan/data/image_folder.hpp"
#include "gan/train/model.hpp"

namespace gantry::gan {

class DataSource {
 public:
  virtual ~DataSource() = default;
  // One line for the start of training, e.g. "60000 images from DIR".
  virtual std::string describe() const = 0;
  virtual bool two_domains() const = 0;
  virtual int64_t size() const = 0;  // samples of domain A (the only one, for one domain)
  virtual int64_t size_b() const { return 0; }
  virtual ModelShape shape() const = 0;
  // The samples idx of A (and idx_b of B) as one cpu batch.
  virtual Batch gather(const std::vector<int64_t>& idx, const std::vector<int64_t>& idx_b) const = 0;
};

// images [N, C, S, S] and labels [N] (labels may be undefined) as a one-domain source.
std::unique_ptr<DataSource> tensor_source(Tensor images, Tensor labels, std::string what);
// a [N, C, S, S] and b [M, C, S, S] as a two-domain source.
std::unique_ptr<DataSource> tensor_domains(Tensor a, Tensor b, std::string what);

// The IDX data set o describes (class filter, limit, padding) as one domain.
std::unique_ptr<DataSource> idx_source(const DatasetOptions& o);

// Fashion-MNIST's class for a name ("sneaker", "Ankle boot", "ankle-boot", "t-shirt") or
// a number 0..9; throws listing the names.
int fashion_class(const std::string& name_or_number);
const std::vector<std::string>& fashion_class_names();
// Domains A and B: the images of o's data set in classes a and of classes b (o.classes is
// ignored; o.limit caps each domain).
std::unique_ptr<DataSource> class_domains(const DatasetOptions& o, const std::vector<int>& a,
                                          const std::vector<int>& b);
// Domains A and B from two image folders, each read with fo; limit > 0 keeps the first
// `limit` images of each.
std::unique_ptr<DataSource> folder_domains(const std::string& dir_a, const std::string& dir_b,
                                           const ImageFolderOptions& fo, int64_t limit = 0);

// Shuffled mini-batches of a source on a device. One domain: batches over a
// permutation of A (drop_last). Two domains: an epoch is max(|A|, |B|) / batch batches;
// A and B each follow their own permutation, taken modulo their size (the reference's
// unaligned data set, made deterministic).
class Batches {
 public:
  Batches(const DataSource& src, int64_t batch_size, uint64_t seed, Device device);
  void start_epoch(int64_t epoch);
  bool next(Batch& b);
  int64_t batches_per_epoch() const;

 private:
  const DataSource& src_;
  int64_t batch_, pos_ = 0;
  uint64_t seed_;
  Device device_;
  std::vector<int64_t> order_, order_b_;
};

// Fisher-Yates of 0..n-1 with Philox words keyed by (key, epoch) (BatchIterator's order).
std::vector<int64_t> epoch_order(int64_t n, uint64_t seed, int64_t epoch, uint64_t salt = 0xDA7A);

}  // namespace gantry::gan
