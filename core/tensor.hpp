// core/tensor.hpp — the Tensor: an N-d strided view of a shared Storage, plus
// the autograd fields (requires_grad, grad, grad_fn).
//
// A Tensor is a cheap handle (a shared_ptr); copying it aliases the same data, as
// in PyTorch. Views (reshape, transpose, narrow, expand, ...) share storage with
// their base; every op's kernel sees contiguous inputs (ops call contiguous()).
// The free functions in core/ops.hpp are the API; the methods below are sugar.
#pragma once
#include <initializer_list>
#include <iosfwd>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/dtype.hpp"
#include "core/shape.hpp"

namespace gantry {

class Node;

// A block of device memory. Freed when the last tensor that views it goes away.
struct Storage {
  void* data = nullptr;
  size_t nbytes = 0;
  Device device;
  Storage(size_t nbytes, Device device);
  ~Storage();
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;
};

// Bytes held by live Storage on a device kind, and the peak since the last reset.
struct MemoryStats {
  int64_t current_bytes = 0, peak_bytes = 0;
};
MemoryStats memory_stats(Device d = Device::cpu());
void reset_peak_memory(Device d = Device::cpu());

struct TensorImpl {
  std::shared_ptr<Storage> storage;
  Shape sizes, strides;
  int64_t offset = 0;  // in elements
  DType dtype = DType::f32;
  bool requires_grad = false;              // set on leaves by the user, on results by autograd
  std::shared_ptr<TensorImpl> grad;        // accumulated by backward() on leaves
  std::shared_ptr<Node> grad_fn;           // the op that made this tensor (null for leaves)
  std::shared_ptr<Node> grad_accumulator;  // a leaf's sink node, made on first use
};

class Tensor {
 public:
  Tensor() = default;
  explicit Tensor(std::shared_ptr<TensorImpl> impl) : impl_(std::move(impl)) {}

  bool defined() const { return impl_ != nullptr; }
  const Shape& shape() const;
  const Shape& strides() const;
  int64_t offset() const;
  int64_t dim() const { return (int64_t)shape().size(); }
  int64_t size(int64_t d) const;
  int64_t numel() const { return numel_of(shape()); }
  DType dtype() const;
  Device device() const;
  bool is_contiguous() const;
  // Pointer to element 0 of this view; T must match dtype().
  template <class T>
  T* data() const;
  void* raw_data() const;
  TensorImpl* impl() const { return impl_.get(); }
  const std::shared_ptr<TensorImpl>& impl_ptr() const { return impl_; }
  bool same(const Tensor& o) const { return impl_ == o.impl_; }

  // ---- autograd ----
  bool requires_grad() const;
  // Marks a leaf as a parameter to differentiate; throws on a non-leaf or an int tensor.
  Tensor& requires_grad_(bool on = true);
  bool is_leaf() const;
  const std::shared_ptr<Node>& grad_fn() const;
  // The gradient accumulated by backward() (undefined until then).
  Tensor grad() const;
  void set_grad(const Tensor& g) const;
  // Sums d(this)/d(leaf) * grad_output into every leaf's grad. grad_output may be
  // omitted only for a one-element tensor. retain_graph defaults to create_graph.
  void backward(const Tensor& grad_output = {}, std::optional<bool> retain_graph = {}, bool create_graph = false) const;
  // The same data, cut from the graph.
  Tensor detach() const;

  // ---- sugar for core/ops.hpp (see there for what each computes) ----
  Tensor reshape(const Shape& s) const;
  Tensor view(const Shape& s) const;
  Tensor flatten(int64_t start = 0, int64_t end = -1) const;
  Tensor narrow(int64_t dim, int64_t start, int64_t length) const;
  Tensor select(int64_t dim, int64_t index) const;
  Tensor squeeze(std::optional<int64_t> dim = {}) const;
  Tensor unsqueeze(int64_t dim) const;
  Tensor transpose(int64_t d0, int64_t d1) const;
  Tensor permute(const std::vector<int64_t>& dims) const;
  Tensor expand(const Shape& s) const;
  Tensor contiguous() const;
  Tensor clone() const;
  Tensor to(DType t) const;
  Tensor to(Device d) const;
  Tensor sum() const;
  Tensor mean() const;
  Tensor sum(const std::vector<int64_t>& dims, bool keepdim = false) const;
  Tensor mean(const std::vector<int64_t>& dims, bool keepdim = false) const;

  // The single value of a one-element tensor.
  double item() const;
  template <class T>
  std::vector<T> to_vector() const;
  // Shape, dtype, device and values, truncated for big tensors like PyTorch.
  std::string str() const;

 private:
  std::shared_ptr<TensorImpl> impl_;
};

std::ostream& operator<<(std::ostream& os, const Tensor& t);

// ---- factories ---------------------------------------------------------------
// All take a dtype (default float32) and a device (default cpu).
Tensor empty(const Shape& s, DType t = DType::f32, Device d = Device::cpu());
Tensor zeros(const Shape& s, DType t = DType::f32, Device d = Device::cpu());
Tensor ones(const Shape& s, DType t = DType::f32, Device d = Device::cpu());
Tensor full(const Shape& s, double value, DType t = DType::f32, Device d = Device::cpu());
// [start, start+step, ...) up to end (exclusive), 1-d.
Tensor arange(double start, double end, double step = 1, DType t = DType::f32, Device d = Device::cpu());
Tensor arange(int64_t n, DType t = DType::f32, Device d = Device::cpu());
// A tensor of the given shape from row-major values (converted to dtype t).
Tensor from_vector(const std::vector<double>& values, const Shape& s, DType t = DType::f32, Device d = Device::cpu());
Tensor tensor(std::initializer_list<double> values, const Shape& s, DType t = DType::f32);
Tensor from_indices(const std::vector<int64_t>& values, const Shape& s, Device d = Device::cpu());
Tensor scalar_tensor(double v, DType t = DType::f32, Device d = Device::cpu());
Tensor empty_like(const Tensor& x);
Tensor zeros_like(const Tensor& x);
Tensor ones_like(const Tensor& x);
Tensor full_like(const Tensor& x, double v);

// ---- random numbers: Philox4x32-10, same (seed, offset) gives the same numbers on every device.
class Rng {
 public:
  explicit Rng(uint64_t seed = 0) : seed_(seed) {}
  void manual_seed(uint64_t s) { seed_ = s, offset_ = 0; }
  uint64_t seed() const { return seed_; }
  uint64_t offset() const { return offset_; }
  void set_state(uint64_t seed, uint64_t offset) { seed_ = seed, offset_ = offset; }
  // Reserves `blocks` Philox counter values and returns the first.
  uint64_t advance(uint64_t blocks) {
    uint64_t o = offset_;
    offset_ += blocks;
    return o;
  }

 private:
  uint64_t seed_, offset_ = 0;
};
Rng& default_generator();
void manual_seed(uint64_t seed);
// U[lo, hi) and N(mean, std) from `gen` (default: the global generator), on device d:
// the cpu and the cuda device give the same float32 numbers for the same generator state.
Tensor rand(const Shape& s, DType t = DType::f32, Rng* gen = nullptr, double lo = 0, double hi = 1,
            Device d = Device::cpu());
Tensor randn(const Shape& s, DType t = DType::f32, Rng* gen = nullptr, double mean = 0, double std = 1,
             Device d = Device::cpu());
Tensor rand_like(const Tensor& x, Rng* gen = nullptr);
Tensor randn_like(const Tensor& x, Rng* gen = nullptr);

}  // namespace gantry
