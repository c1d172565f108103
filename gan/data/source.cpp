// gan/data/source.cpp — the data sources (IDX, class domains, image folders) and Batches.
#include "gan/data/source.hpp"

#include <algorithm>
#include <cctype>

#include "kernels/philox.hpp"

namespace gantry::gan {

namespace {

// Rows idx of x [N, ...] as a new contiguous cpu tensor.
Tensor rows(const Tensor& x, const std::vector<int64_t>& idx) {
  Shape s = x.shape();
  const int64_t per = x.numel() / std::max<int64_t>(1, s[0]);
  s[0] = (int64_t)idx.size();
  Tensor out = empty(s, x.dtype());
  if (x.dtype() == DType::i64) {
    const int64_t* src = x.data<int64_t>();
    for (size_t k = 0; k < idx.size(); ++k) std::copy_n(src + idx[k] * per, per, out.data<int64_t>() + k * per);
  } else {
    const float* src = x.data<float>();
    for (size_t k = 0; k < idx.size(); ++k) std::copy_n(src + idx[k] * per, per, out.data<float>() + k * per);
  }
  return out;
}

class TensorSource : public DataSource {
 public:
  TensorSource(Tensor a, Tensor labels, Tensor b, std::string what)
      : a_(a.contiguous()), labels_(labels.defined() ? labels.contiguous() : labels), what_(std::move(what)) {
    if (b.defined()) b_ = b.contiguous();
    GANTRY_CHECK(a_.dim() == 4 && a_.size(2) == a_.size(3) && a_.size(0) > 0, "data: ", what_,
                 ": images must be a non-empty [N, C, S, S], got ", shape_str(a_.shape()));
    GANTRY_CHECK(!b_.defined() ||
                     (b_.dim() == 4 && b_.size(0) > 0 &&
                      Shape{b_.size(1), b_.size(2), b_.size(3)} == Shape{a_.size(1), a_.size(2), a_.size(3)}),
                 "data: ", what_, ": domain B's images must be [M, ", a_.size(1), ", ", a_.size(2), ", ", a_.size(3),
                 "] like A's");
  }
  std::string describe() const override { return what_; }
  bool two_domains() const override { return b_.defined(); }
  int64_t size() const override { return a_.size(0); }
  int64_t size_b() const override { return b_.defined() ? b_.size(0) : 0; }
  ModelShape shape() const override { return {a_.size(2), a_.size(1)}; }
  Batch gather(const std::vector<int64_t>& idx, const std::vector<int64_t>& idx_b) const override {
    Batch b;
    b.images = rows(a_, idx);
    if (labels_.defined()) b.labels = rows(labels_, idx);
    if (b_.defined()) b.images_b = rows(b_, idx_b);
    return b;
  }

 private:
  Tensor a_, labels_, b_;
  std::string what_;
};

std::string lower(std::string s) {
  for (char& c : s) c = (char)std::tolower((unsigned char)c);
  return s;
}

}  // namespace

std::unique_ptr<DataSource> tensor_source(Tensor images, Tensor labels, std::string what) {
  return std::make_unique<TensorSource>(images, labels, Tensor(), std::move(what));
}

std::unique_ptr<DataSource> tensor_domains(Tensor a, Tensor b, std::string what) {
  GANTRY_CHECK(b.defined(), "data: ", what, ": domain B is missing");
  return std::make_unique<TensorSource>(a, Tensor(), b, std::move(what));
}

std::unique_ptr<DataSource> idx_source(const DatasetOptions& o) {
  Dataset d = load_dataset(o);
  const std::string dir = o.dir.empty() ? default_data_dir() : o.dir;
  return tensor_source(d.images, d.labels, std::to_string(d.images.size(0)) + " images from " + dir);
}

const std::vector<std::string>& fashion_class_names() {
  static const std::vector<std::string> names = {"t-shirt/top", "trouser", "pullover", "dress", "coat",
                                                 "sandal",      "shirt",   "sneaker",  "bag",   "ankle boot"};
  return names;
}

int fashion_class(const std::string& name_or_number) {
  std::string s = lower(name_or_number);
  if (!s.empty() && s.size() <= 2 && std::all_of(s.begin(), s.end(), ::isdigit)) {
    const int k = std::stoi(s);
    GANTRY_CHECK(k >= 0 && k <= 9, "class ", name_or_number, ": Fashion-MNIST's classes are 0..9");
    return k;
  }
  std::replace(s.begin(), s.end(), '-', ' ');
  std::replace(s.begin(), s.end(), '_', ' ');
  if (s == "t shirt" || s == "tshirt" || s == "top" || s == "t shirt/top") return 0;
  const auto& names = fashion_class_names();
  for (size_t k = 0; k < names.size(); ++k) {
    std::string n = names[k];
    std::replace(n.begin(), n.end(), '-', ' ');
    if (s == n || s + "s" == n || s == n + "s") return (int)k;
  }
  std::string list;
  for (size_t k = 0; k < names.size(); ++k) list += (k ? ", " : "") + std::to_string(k) + " " + names[k];
  throw Error(detail::concat("unknown Fashion-MNIST class '", name_or_number, "' (the classes: ", list, ")"));
}

std::unique_ptr<DataSource> class_domains(const DatasetOptions& o, const std::vector<int>& a,
                                          const std::vector<int>& b) {
  GANTRY_CHECK(!a.empty() && !b.empty(), "data: each domain needs at least one class");
  DatasetOptions oa = o, ob = o;
  oa.classes = a;
  ob.classes = b;
  Dataset da = load_dataset(oa), db = load_dataset(ob);
  const std::string dir = o.dir.empty() ? default_data_dir() : o.dir;
  auto names = [](const std::vector<int>& c) {
    std::string s;
    for (int k : c) s += (s.empty() ? "" : "+") + (k >= 0 && k < 10 ? fashion_class_names()[k] : std::to_string(k));
    return s;
  };
  return tensor_domains(da.images, db.images,
                        std::to_string(da.images.size(0)) + " " + names(a) + " (A) and " +
                            std::to_string(db.images.size(0)) + " " + names(b) + " (B) images from " + dir);
}

std::unique_ptr<DataSource> folder_domains(const std::string& dir_a, const std::string& dir_b,
                                           const ImageFolderOptions& fo, int64_t limit) {
  Tensor a = read_image_folder(dir_a, fo).images, b = read_image_folder(dir_b, fo).images;
  if (limit > 0) {
    a = a.narrow(0, 0, std::min(limit, a.size(0))).contiguous();
    b = b.narrow(0, 0, std::min(limit, b.size(0))).contiguous();
  }
  return tensor_domains(a, b,
                        std::to_string(a.size(0)) + " images from " + dir_a + " (A) and " + std::to_string(b.size(0)) +
                            " from " + dir_b + " (B)");
}

std::vector<int64_t> epoch_order(int64_t n, uint64_t seed, int64_t epoch, uint64_t salt) {
  std::vector<int64_t> order(n);
  for (int64_t i = 0; i < n; ++i) order[i] = i;
  const uint64_t key = seed * 0x9E3779B97F4A7C15ull + salt;
  for (int64_t i = n - 1; i > 0; --i) {
    const auto block = kernels::philox_block(key, (uint64_t)epoch << 32, (uint64_t)i);
    const uint64_t r = ((uint64_t)block.v[0] << 32) | block.v[1];
    std::swap(order[i], order[r % (uint64_t)(i + 1)]);
  }
  return order;
}

Batches::Batches(const DataSource& src, int64_t batch_size, uint64_t seed, Device device)
    : src_(src), batch_(batch_size), seed_(seed), device_(device) {
  GANTRY_CHECK(batch_size > 0, "Batches: batch size must be positive");
  start_epoch(0);
}

int64_t Batches::batches_per_epoch() const {
  const int64_t n = src_.two_domains() ? std::max(src_.size(), src_.size_b()) : src_.size();
  return n / batch_;
}

void Batches::start_epoch(int64_t epoch) {
  order_ = epoch_order(src_.size(), seed_, epoch);
  if (src_.two_domains()) order_b_ = epoch_order(src_.size_b(), seed_, epoch, 0xB0B);
  pos_ = 0;
}

bool Batches::next(Batch& b) {
  if (pos_ >= batches_per_epoch() * batch_) return false;
  std::vector<int64_t> ia, ib;
  for (int64_t k = pos_; k < pos_ + batch_; ++k) {
    ia.push_back(order_[k % (int64_t)order_.size()]);
    if (src_.two_domains()) ib.push_back(order_b_[k % (int64_t)order_b_.size()]);
  }
  pos_ += batch_;
  b = src_.gather(ia, ib).to(device_);
  return true;
}

}  // namespace gantry::gan
