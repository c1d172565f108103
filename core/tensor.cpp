// core/tensor.cpp — Storage, Tensor accessors, factories, random numbers, printing.
#include "core/tensor.hpp"

#include <atomic>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <iomanip>
#include <sstream>

#include "core/autograd.hpp"
#include "core/ops.hpp"
#include "core/ops/backend.hpp"

namespace gantry {

// ---- Storage -------------------------------------------------------------------

MemoryStats memory_stats(Device d) { return detail::backend(d).memory_stats(); }
void reset_peak_memory(Device d) { detail::backend(d).reset_peak_memory(); }

// The device's backend allocates (the cpu: 64-byte aligned for Eigen and AVX loads;
// cuda: the caching allocator) and counts the bytes for memory_stats.
Storage::Storage(size_t n, Device d) : nbytes(n), device(d) { data = detail::backend(d).allocate(n, d); }
Storage::~Storage() { detail::backend(device).release(data, nbytes); }

// ---- accessors ------------------------------------------------------------------

#define GANTRY_IMPL() (impl_ ? impl_.get() : throw Error("gantry: use of an undefined Tensor"))

const Shape& Tensor::shape() const { return GANTRY_IMPL()->sizes; }
const Shape& Tensor::strides() const { return GANTRY_IMPL()->strides; }
int64_t Tensor::offset() const { return GANTRY_IMPL()->offset; }
DType Tensor::dtype() const { return GANTRY_IMPL()->dtype; }
Device Tensor::device() const { return GANTRY_IMPL()->storage->device; }
int64_t Tensor::size(int64_t d) const { return shape()[wrap_dim(d, dim(), "size")]; }

bool Tensor::is_contiguous() const {
  const auto& sz = shape();
  const auto& st = strides();
  int64_t expect = 1;
  for (size_t i = sz.size(); i-- > 0;) {
    if (sz[i] != 1 && st[i] != expect) return false;
    expect *= sz[i];
  }
  return true;
}

void* Tensor::raw_data() const {
  auto* impl = GANTRY_IMPL();
  return static_cast<char*>(impl->storage->data) + impl->offset * dtype_size(impl->dtype);
}

template <class T>
T* Tensor::data() const {
  GANTRY_CHECK(dtype() == dtype_of<T>(), "data<", dtype_name(dtype_of<T>()), ">() on a ", dtype_name(dtype()),
               " tensor");
  return static_cast<T*>(raw_data());
}
template float* Tensor::data<float>() const;
template double* Tensor::data<double>() const;
template int64_t* Tensor::data<int64_t>() const;

// ---- autograd fields --------------------------------------------------------------

bool Tensor::requires_grad() const { return GANTRY_IMPL()->requires_grad; }
bool Tensor::is_leaf() const { return GANTRY_IMPL()->grad_fn == nullptr; }
const std::shared_ptr<Node>& Tensor::grad_fn() const { return GANTRY_IMPL()->grad_fn; }

Tensor& Tensor::requires_grad_(bool on) {
  GANTRY_CHECK(is_leaf(), "requires_grad_: only leaf tensors can be marked; this one was made by '", grad_fn()->name,
               "' (use detach() first)");
  GANTRY_CHECK(!on || is_floating(dtype()), "requires_grad_: only floating-point tensors can require grad, not ",
               dtype_name(dtype()));
  impl_->requires_grad = on;
  return *this;
}

Tensor Tensor::grad() const { return Tensor(GANTRY_IMPL()->grad); }
void Tensor::set_grad(const Tensor& g) const {
  GANTRY_CHECK(!g.defined() || g.shape() == shape(), "set_grad: gradient of shape ", shape_str(g.shape()),
               " for a tensor of shape ", shape_str(shape()));
  GANTRY_IMPL()->grad = g.impl_ptr();
}

void Tensor::backward(const Tensor& g, std::optional<bool> retain_graph, bool create_graph) const {
  gantry::backward({*this}, g.defined() ? std::vector<Tensor>{g} : std::vector<Tensor>{}, retain_graph, create_graph);
}

Tensor Tensor::detach() const {
  auto impl = std::make_shared<TensorImpl>(*GANTRY_IMPL());
  impl->requires_grad = false;
  impl->grad = nullptr;
  impl->grad_fn = nullptr;
  impl->grad_accumulator = nullptr;
  return Tensor(impl);
}

// ---- sugar ----------------------------------------------------------------------

Tensor Tensor::reshape(const Shape& s) const { return gantry::reshape(*this, s); }
Tensor Tensor::view(const Shape& s) const { return gantry::view(*this, s); }
Tensor Tensor::flatten(int64_t a, int64_t b) const { return gantry::flatten(*this, a, b); }
Tensor Tensor::narrow(int64_t d, int64_t s, int64_t l) const { return gantry::narrow(*this, d, s, l); }
Tensor Tensor::select(int64_t d, int64_t i) const { return gantry::select(*this, d, i); }
Tensor Tensor::squeeze(std::optional<int64_t> d) const { return gantry::squeeze(*this, d); }
Tensor Tensor::unsqueeze(int64_t d) const { return gantry::unsqueeze(*this, d); }
Tensor Tensor::transpose(int64_t a, int64_t b) const { return gantry::transpose(*this, a, b); }
Tensor Tensor::permute(const std::vector<int64_t>& d) const { return gantry::permute(*this, d); }
Tensor Tensor::expand(const Shape& s) const { return gantry::expand(*this, s); }
Tensor Tensor::contiguous() const { return gantry::contiguous(*this); }
Tensor Tensor::clone() const { return gantry::clone(*this); }
Tensor Tensor::to(DType t) const { return gantry::to_dtype(*this, t); }
Tensor Tensor::to(Device d) const { return gantry::to_device(*this, d); }
Tensor Tensor::sum() const { return gantry::sum(*this); }
Tensor Tensor::mean() const { return gantry::mean(*this); }
Tensor Tensor::sum(const std::vector<int64_t>& d, bool k) const { return gantry::sum(*this, d, k); }
Tensor Tensor::mean(const std::vector<int64_t>& d, bool k) const { return gantry::mean(*this, d, k); }

// ---- values out -------------------------------------------------------------------

template <class T>
std::vector<T> Tensor::to_vector() const {
  Tensor c = device().is_cpu() ? gantry::contiguous(*this) : to_device(*this, Device::cpu());
  std::vector<T> out(c.numel());
  dispatch_all(dtype(), [&](auto tag) {
    using S = decltype(tag);
    const S* p = c.data<S>();
    for (size_t i = 0; i < out.size(); ++i) out[i] = static_cast<T>(p[i]);
  });
  return out;
}
template std::vector<float> Tensor::to_vector<float>() const;
template std::vector<double> Tensor::to_vector<double>() const;
template std::vector<int64_t> Tensor::to_vector<int64_t>() const;

double Tensor::item() const {
  GANTRY_CHECK(numel() == 1, "item: expected a tensor with one element, got shape ", shape_str(shape()));
  return to_vector<double>()[0];
}

namespace {
// Prints dims recursively; `summarize` keeps the first and last 3 of each dim.
void print_values(std::ostream& os, const std::vector<double>& v, const Shape& s, size_t dim, int64_t base,
                  bool summarize, bool integral) {
  if (s.empty()) {
    os << v[0];
    return;
  }
  int64_t n = s[dim], inner = 1;
  for (size_t d = dim + 1; d < s.size(); ++d) inner *= s[d];
  os << "[";
  for (int64_t i = 0; i < n; ++i) {
    if (summarize && n > 6 && i == 3) {
      os << (dim + 1 == s.size() ? "..., " : "...,\n" + std::string(dim + 8, ' '));
      i = n - 3;
    }
    if (dim + 1 == s.size()) {
      if (integral) os << (int64_t)v[base + i];
      else os << std::setw(10) << v[base + i];
    } else {
      print_values(os, v, s, dim + 1, base + i * inner, summarize, integral);
    }
    if (i + 1 < n) os << (dim + 1 == s.size() ? ", " : ",\n" + std::string(dim + 8, ' '));
  }
  os << "]";
}
}  // namespace

std::string Tensor::str() const {
  if (!defined()) return "Tensor(undefined)";
  std::ostringstream os;
  os << std::setprecision(4);
  std::vector<double> v = to_vector<double>();
  os << "tensor(";
  print_values(os, v, shape(), 0, 0, numel() > 1000, dtype() == DType::i64);
  os << ", shape=" << shape_str(shape()) << ", dtype=" << dtype_name(dtype()) << ", device=" << device().str();
  if (requires_grad()) os << (grad_fn() ? ", grad_fn=" + grad_fn()->name : ", requires_grad=true");
  os << ")";
  return os.str();
}

std::ostream& operator<<(std::ostream& os, const Tensor& t) { return os << t.str(); }

// ---- factories ----------------------------------------------------------------------

Tensor empty(const Shape& s, DType t, Device d) {
  for (auto n : s) GANTRY_CHECK(n >= 0, "empty: negative size in shape ", shape_str(s));
  GANTRY_CHECK(d.is_cpu() || t != DType::f64, "float64 tensors live on the cpu only (", d.str(),
               " computes in float32); convert with .to(DType::f32) first");
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = std::make_shared<Storage>(numel_of(s) * dtype_size(t), d);
  impl->sizes = s;
  impl->strides = contiguous_strides(s);
  impl->dtype = t;
  return Tensor(impl);
}

Tensor full(const Shape& s, double value, DType t, Device d) {
  Tensor out = empty(s, t, d);
  detail::backend(d).fill(out, value);
  return out;
}
Tensor zeros(const Shape& s, DType t, Device d) { return full(s, 0, t, d); }
Tensor ones(const Shape& s, DType t, Device d) { return full(s, 1, t, d); }
Tensor scalar_tensor(double v, DType t, Device d) { return full({}, v, t, d); }

Tensor arange(double start, double end, double step, DType t, Device d) {
  GANTRY_CHECK(step != 0, "arange: step must be nonzero");
  int64_t n = std::max<int64_t>(0, (int64_t)std::ceil((end - start) / step));
  std::vector<double> v(n);
  for (int64_t i = 0; i < n; ++i) v[i] = start + i * step;
  return from_vector(v, {n}, t, d);
}
Tensor arange(int64_t n, DType t, Device d) { return arange(0, (double)n, 1, t, d); }

Tensor from_vector(const std::vector<double>& values, const Shape& s, DType t, Device d) {
  GANTRY_CHECK((int64_t)values.size() == numel_of(s), "from_vector: ", values.size(), " values do not fill shape ",
               shape_str(s), " (", numel_of(s), " elements)");
  Tensor out = empty(s, t, Device::cpu());  // filled on the host, then moved (a no-op for the cpu)
  dispatch_all(t, [&](auto tag) {
    using T = decltype(tag);
    T* p = out.data<T>();
    for (size_t i = 0; i < values.size(); ++i) p[i] = static_cast<T>(values[i]);
  });
  return to_device(out, d);
}
Tensor tensor(std::initializer_list<double> values, const Shape& s, DType t) {
  return from_vector(std::vector<double>(values), s, t);
}
Tensor from_indices(const std::vector<int64_t>& values, const Shape& s, Device d) {
  GANTRY_CHECK((int64_t)values.size() == numel_of(s), "from_indices: ", values.size(), " values do not fill shape ",
               shape_str(s));
  Tensor out = empty(s, DType::i64, Device::cpu());
  std::memcpy(out.data<int64_t>(), values.data(), values.size() * sizeof(int64_t));
  return to_device(out, d);
}

Tensor empty_like(const Tensor& x) { return empty(x.shape(), x.dtype(), x.device()); }
Tensor zeros_like(const Tensor& x) { return zeros(x.shape(), x.dtype(), x.device()); }
Tensor ones_like(const Tensor& x) { return ones(x.shape(), x.dtype(), x.device()); }
Tensor full_like(const Tensor& x, double v) { return full(x.shape(), v, x.dtype(), x.device()); }

// ---- random -----------------------------------------------------------------------

Rng& default_generator() {
  static Rng g(0);
  return g;
}
void manual_seed(uint64_t seed) { default_generator().manual_seed(seed); }

Tensor rand(const Shape& s, DType t, Rng* gen, double lo, double hi, Device d) {
  Tensor out = empty(s, t, d);
  detail::backend(d).fill_uniform(out, gen ? *gen : default_generator(), lo, hi);
  return out;
}

Tensor randn(const Shape& s, DType t, Rng* gen, double mean, double std, Device d) {
  Tensor out = empty(s, t, d);
  detail::backend(d).fill_normal(out, gen ? *gen : default_generator(), mean, std);
  return out;
}
Tensor rand_like(const Tensor& x, Rng* gen) { return rand(x.shape(), x.dtype(), gen, 0, 1, x.device()); }
Tensor randn_like(const Tensor& x, Rng* gen) { return randn(x.shape(), x.dtype(), gen, 0, 1, x.device()); }

}  // namespace gantry
