// gan/data/dataset.cpp — IDX files (read with named limits, written checked), the data set, the batch iterator.
#include "gan/data/dataset.hpp"

#include <zlib.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "core/file_io.hpp"
#include "kernels/philox.hpp"

namespace gantry::gan {

namespace {

constexpr uint32_t kImagesMagic = 0x00000803, kLabelsMagic = 0x00000801;
// The limits the reader enforces, each named in its error: a size of one dim, the
// element count (the product of the dims, overflow-checked), and the bytes a .gz file may
// inflate to (all of them 4 GiB; EMNIST byclass, the largest IDX set, is 0.55 GB).
constexpr int64_t kMaxIdxDim = int64_t(1) << 30;
constexpr int64_t kMaxIdxElements = int64_t(1) << 32;
constexpr size_t kMaxIdxInflated = size_t(1) << 32;

// The whole file, gunzipped if it starts with the gzip magic.
std::string read_all(const std::string& path) {
  std::ifstream probe(path, std::ios::binary);
  GANTRY_CHECK(probe.good(), "IDX file ", path, ": cannot open it (missing?)");
  unsigned char magic[2] = {0, 0};
  probe.read(reinterpret_cast<char*>(magic), 2);
  const bool gz = probe.gcount() == 2 && magic[0] == 0x1f && magic[1] == 0x8b;
  probe.close();
  if (!gz) {
    std::ifstream in(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
  }
  gzFile f = gzopen(path.c_str(), "rb");
  GANTRY_CHECK(f, "IDX file ", path, ": cannot open it as gzip");
  std::string out;
  char buf[1 << 16];
  int got;
  while ((got = gzread(f, buf, sizeof buf)) > 0) {
    if (out.size() + (size_t)got > kMaxIdxInflated) {
      gzclose(f);
      throw Error(detail::concat("IDX file ", path, ": inflates to more than the limit of ", kMaxIdxInflated,
                                 " bytes (kMaxIdxInflated)"));
    }
    out.append(buf, got);
  }
  int err = 0;
  const char* msg = gzerror(f, &err);
  const std::string why = msg ? msg : "";
  gzclose(f);
  GANTRY_CHECK(got == 0 && (err == Z_OK || err == Z_STREAM_END), "IDX file ", path, ": corrupt gzip data (", why, ")");
  return out;
}

uint32_t be32(const std::string& s, size_t at) {
  return (uint32_t)(uint8_t)s[at] << 24 | (uint32_t)(uint8_t)s[at + 1] << 16 | (uint32_t)(uint8_t)s[at + 2] << 8 |
         (uint32_t)(uint8_t)s[at + 3];
}

void put_be32(std::string& s, uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) s.push_back((char)((v >> shift) & 0xff));
}

// Checks magic and size; returns the dims.
std::vector<int64_t> parse_header(const std::string& data, uint32_t magic, int ndims, const std::string& path) {
  GANTRY_CHECK(data.size() >= 4, "IDX file ", path, ": only ", data.size(), " bytes, too short for an IDX header");
  const uint32_t found = be32(data, 0);
  GANTRY_CHECK(found == magic, "IDX file ", path, ": magic number 0x", std::hex, found, " but expected 0x", magic,
               std::dec, magic == kImagesMagic ? " (uint8 images, 3 dims)" : " (uint8 labels, 1 dim)");
  GANTRY_CHECK(data.size() >= 4 + 4 * (size_t)ndims, "IDX file ", path, ": only ", data.size(),
               " bytes, too short for an IDX header");
  std::vector<int64_t> dims;
  int64_t total = 1;
  for (int d = 0; d < ndims; ++d) {
    dims.push_back(be32(data, 4 + 4 * d));
    GANTRY_CHECK(dims.back() <= kMaxIdxDim, "IDX file ", path, ": dim ", d, " = ", dims.back(),
                 " is over the per-dim limit of ", kMaxIdxDim, " (kMaxIdxDim)");
    // Overflow-checked: each dim <= 2^30 and total <= 2^32 before the multiply, so it
    // cannot wrap, but the builtin says so whatever the limits become.
    const bool over = __builtin_mul_overflow(total, dims.back(), &total);
    GANTRY_CHECK(!over && total <= kMaxIdxElements, "IDX file ", path, ": the dims ", shape_str(dims),
                 (d + 1 < ndims ? "..." : ""), " hold more than the element-count limit of ", kMaxIdxElements,
                 " (kMaxIdxElements)");
  }
  const size_t want = 4 + 4 * ndims + (size_t)total;
  GANTRY_CHECK(data.size() >= want, "IDX file ", path, ": truncated: expected ", want, " bytes, got ", data.size());
  return dims;
}

// Writes raw IDX, or gzip (in memory, zlib's gzip wrapper) for a ".gz" path, through
// one checked atomic write (core/file_io.hpp): errors name the file.
void write_all(const std::string& path, const std::string& bytes) {
  const bool gz = path.size() > 3 && path.compare(path.size() - 3, 3, ".gz") == 0;
  if (!gz) return write_file_atomic(path, bytes, "IDX file");
  z_stream z{};
  GANTRY_CHECK(deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) == Z_OK, "IDX file ",
               path, ": cannot start gzip");
  std::string out(deflateBound(&z, (uLong)bytes.size()) + 32, '\0');
  z.next_in = (Bytef*)bytes.data();
  z.avail_in = (uInt)bytes.size();
  z.next_out = (Bytef*)out.data();
  z.avail_out = (uInt)out.size();
  const int rc = deflate(&z, Z_FINISH);
  out.resize(z.total_out);
  deflateEnd(&z);
  GANTRY_CHECK(rc == Z_STREAM_END, "IDX file ", path, ": gzip compression failed (", rc, ")");
  write_file_atomic(path, out, "IDX file");
}

std::string find_file(const std::string& dir, const std::string& stem) {
  for (const std::string& name : {stem + ".gz", stem}) {
    std::filesystem::path p = std::filesystem::path(dir) / name;
    if (std::filesystem::exists(p)) return p.string();
  }
  throw Error(detail::concat("data: neither ", stem, ".gz nor ", stem, " is in ", dir,
                             " (install Debian's dataset-fashion-mnist, or pass --data DIR with IDX files)"));
}

}  // namespace

IdxImages read_idx_images(const std::string& path) {
  std::string data = read_all(path);
  auto dims = parse_header(data, kImagesMagic, 3, path);
  IdxImages out{dims[0], dims[1], dims[2], {}};
  out.pixels.assign(data.begin() + 16, data.begin() + 16 + out.n * out.rows * out.cols);
  return out;
}

std::vector<uint8_t> read_idx_labels(const std::string& path) {
  std::string data = read_all(path);
  auto dims = parse_header(data, kLabelsMagic, 1, path);
  return std::vector<uint8_t>(data.begin() + 8, data.begin() + 8 + dims[0]);
}

void write_idx_images(const std::string& path, const IdxImages& im) {
  GANTRY_CHECK((int64_t)im.pixels.size() == im.n * im.rows * im.cols, "write_idx_images: ", im.pixels.size(),
               " pixels do not fill ", im.n, "x", im.rows, "x", im.cols);
  std::string bytes;
  put_be32(bytes, kImagesMagic);
  put_be32(bytes, (uint32_t)im.n);
  put_be32(bytes, (uint32_t)im.rows);
  put_be32(bytes, (uint32_t)im.cols);
  bytes.append(im.pixels.begin(), im.pixels.end());
  write_all(path, bytes);
}

void write_idx_labels(const std::string& path, const std::vector<uint8_t>& labels) {
  std::string bytes;
  put_be32(bytes, kLabelsMagic);
  put_be32(bytes, (uint32_t)labels.size());
  bytes.append(labels.begin(), labels.end());
  write_all(path, bytes);
}

std::string default_data_dir() {
  const char* env = std::getenv("GANTRY_DATA");
  return env && *env ? env : "/usr/share/datasets/fashion-mnist";
}

Dataset load_dataset(const DatasetOptions& o) {
  const std::string dir = o.dir.empty() ? default_data_dir() : o.dir;
  const std::string split = o.train ? "train" : "t10k";
  const std::string images_path = find_file(dir, split + "-images-idx3-ubyte");
  const std::string labels_path = find_file(dir, split + "-labels-idx1-ubyte");
  IdxImages im = read_idx_images(images_path);
  std::vector<uint8_t> lab = read_idx_labels(labels_path);
  GANTRY_CHECK((int64_t)lab.size() == im.n, "data: ", images_path, " has ", im.n, " images but ", labels_path, " has ",
               lab.size(), " labels");
  std::vector<int64_t> keep;
  for (int64_t i = 0; i < im.n && (o.limit == 0 || (int64_t)keep.size() < o.limit); ++i) {
    bool wanted = o.classes.empty();
    for (int c : o.classes) wanted = wanted || lab[i] == c;
    if (wanted) keep.push_back(i);
  }
  GANTRY_CHECK(!keep.empty(), "data: no images left in ", dir, " after the class filter");
  const int64_t pad = o.pad_to_32 ? (32 - im.rows) / 2 : 0;
  GANTRY_CHECK(!o.pad_to_32 || (im.rows <= 32 && im.cols == im.rows), "data: cannot pad ", im.rows, "x", im.cols,
               " images to 32x32");
  const int64_t h = im.rows + 2 * pad, w = im.cols + 2 * pad, n = (int64_t)keep.size();
  Dataset d{full({n, 1, h, w}, -1.0), empty({n}, DType::i64)};
  float* px = d.images.data<float>();
  int64_t* lb = d.labels.data<int64_t>();
  for (int64_t k = 0; k < n; ++k) {
    const uint8_t* src = im.pixels.data() + keep[k] * im.rows * im.cols;
    for (int64_t r = 0; r < im.rows; ++r)
      for (int64_t c = 0; c < im.cols; ++c) px[(k * h + r + pad) * w + c + pad] = src[r * im.cols + c] / 127.5f - 1.0f;
    lb[k] = lab[keep[k]];
  }
  return d;
}

BatchIterator::BatchIterator(const Dataset& d, int64_t batch_size, uint64_t seed, bool drop_last)
    : data_(d), batch_(batch_size), seed_(seed), drop_last_(drop_last) {
  GANTRY_CHECK(batch_size > 0, "BatchIterator: batch size must be positive");
  start_epoch(0);
}

int64_t BatchIterator::batches_per_epoch() const {
  const int64_t n = data_.images.size(0);
  return drop_last_ ? n / batch_ : (n + batch_ - 1) / batch_;
}

void BatchIterator::start_epoch(int64_t epoch) {
  // Fisher-Yates with Philox words keyed by (seed, epoch): the order depends on nothing else.
  const int64_t n = data_.images.size(0);
  order_.resize(n);
  for (int64_t i = 0; i < n; ++i) order_[i] = i;
  const uint64_t key = seed_ * 0x9E3779B97F4A7C15ull + 0xDA7A;
  for (int64_t i = n - 1; i > 0; --i) {
    const auto block = kernels::philox_block(key, (uint64_t)epoch << 32, (uint64_t)i);
    const uint64_t r = ((uint64_t)block.v[0] << 32) | block.v[1];
    std::swap(order_[i], order_[r % (uint64_t)(i + 1)]);
  }
  pos_ = 0;
}

bool BatchIterator::next(Tensor& images, Tensor& labels) {
  const int64_t n = (int64_t)order_.size();
  const int64_t take = std::min(batch_, n - pos_);
  if (take <= 0 || (drop_last_ && take < batch_)) return false;
  const int64_t h = data_.images.size(2), w = data_.images.size(3), px = h * w;
  images = empty({take, 1, h, w});
  labels = empty({take}, DType::i64);
  const float* src = data_.images.data<float>();
  for (int64_t k = 0; k < take; ++k) {
    const int64_t i = order_[pos_ + k];
    std::copy_n(src + i * px, px, images.data<float>() + k * px);
    labels.data<int64_t>()[k] = data_.labels.data<int64_t>()[i];
  }
  pos_ += take;
  return true;
}

}  // namespace gantry::gan
