// core/ops/shape.cpp — views (reshape, narrow, permute, expand, ...) and the ops
// that move data without arithmetic (contiguous, clone, to_dtype, cat, stack).
//
// A view shares its base's storage with new sizes/strides/offset. Its rule is the
// adjoint of the index map: reshape back, permute back, sum an expand, zero-pad a
// narrow (narrow_backward, an op whose own rule is narrow again).
#include <numeric>

#include "core/cuda_device.hpp"
#include "core/ops/common.hpp"

namespace gantry {

namespace {

Tensor make_view(const Tensor& x, Shape sizes, Shape strides, int64_t offset) {
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = x.impl()->storage;
  impl->sizes = std::move(sizes);
  impl->strides = std::move(strides);
  impl->offset = offset;
  impl->dtype = x.dtype();
  return Tensor(impl);
}

// dst(i) = src(i) for two views of the same shape on the same device; any dtypes.
void assign(const Tensor& dst, const Tensor& src) {
  GANTRY_CHECK(dst.device() == src.device(), "copy: devices differ (", dst.device().str(), " vs ", src.device().str(),
               ")");
  detail::backend(dst.device()).assign(dst, src);
}

Shape infer_shape(Shape s, int64_t numel, const Shape& from, const char* op) {
  int64_t known = 1, infer = -1;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == -1) {
      GANTRY_CHECK(infer < 0, op, ": only one dim can be -1 in ", shape_str(s));
      infer = (int64_t)i;
    } else {
      GANTRY_CHECK(s[i] >= 0, op, ": invalid size in ", shape_str(s));
      known *= s[i];
    }
  }
  if (infer >= 0) {
    GANTRY_CHECK(known != 0 && numel % known == 0, op, ": shape ", shape_str(s), " is invalid for input of shape ",
                 shape_str(from));
    s[infer] = numel / known;
  }
  GANTRY_CHECK(numel_of(s) == numel, op, ": shape ", shape_str(s), " is invalid for input of shape ", shape_str(from),
               " (", numel, " elements)");
  return s;
}

}  // namespace

void copy_(const Tensor& dst, const Tensor& src) {
  detail::check_defined("copy_", dst, "destination");
  detail::check_defined("copy_", src, "source");
  GANTRY_CHECK(!GradMode::enabled() || !dst.requires_grad(),
               "copy_: in-place write to a tensor that requires grad; do it under NoGradGuard");
  GANTRY_CHECK(dst.device() == src.device(), "copy_: devices differ (", dst.device().str(), " vs ", src.device().str(),
               ")");
  GradModeGuard off(false);
  assign(dst, expand(src.detach(), dst.shape()));
}

void fill_(const Tensor& dst, double value) { copy_(dst, full({}, value, dst.dtype(), dst.device())); }

Tensor view(const Tensor& x, Shape s) {
  detail::check_defined("view", x, "input");
  s = infer_shape(std::move(s), x.numel(), x.shape(), "view");
  GANTRY_CHECK(x.is_contiguous(), "view: input of shape ", shape_str(x.shape()),
               " is not contiguous; use reshape (which copies)");
  Tensor y = make_view(x, s, contiguous_strides(s), x.offset());
  return record("view", y, {x}, [sx = x.shape()](const Tensor& g) { return Grads{reshape(g, sx)}; });
}

Tensor reshape(const Tensor& x, Shape s) {
  detail::check_defined("reshape", x, "input");
  s = infer_shape(std::move(s), x.numel(), x.shape(), "reshape");
  if (x.is_contiguous()) return view(x, s);
  return view(contiguous(x), s);
}

Tensor flatten(const Tensor& x, int64_t start, int64_t end) {
  if (x.dim() == 0) return reshape(x, {1});
  start = wrap_dim(start, x.dim(), "flatten");
  end = wrap_dim(end, x.dim(), "flatten");
  GANTRY_CHECK(start <= end, "flatten: start dim ", start, " is after end dim ", end);
  Shape s(x.shape().begin(), x.shape().begin() + start);
  int64_t mid = 1;
  for (int64_t d = start; d <= end; ++d) mid *= x.shape()[d];
  s.push_back(mid);
  s.insert(s.end(), x.shape().begin() + end + 1, x.shape().end());
  return reshape(x, s);
}

Tensor narrow(const Tensor& x, int64_t dim, int64_t start, int64_t length) {
  detail::check_defined("narrow", x, "input");
  dim = wrap_dim(dim, x.dim(), "narrow");
  const int64_t n = x.shape()[dim];
  if (start < 0) start += n;
  GANTRY_CHECK(start >= 0 && length >= 0 && start + length <= n, "narrow: range [", start, ", ", start + length,
               ") is out of bounds for dim ", dim, " of size ", n, " (shape ", shape_str(x.shape()), ")");
  Shape sizes = x.shape();
  sizes[dim] = length;
  Tensor y = make_view(x, sizes, x.strides(), x.offset() + start * x.strides()[dim]);
  return record("narrow", y, {x},
                [sx = x.shape(), dim, start](const Tensor& g) { return Grads{narrow_backward(g, sx, dim, start)}; });
}

Tensor narrow_backward(const Tensor& g, const Shape& shape, int64_t dim, int64_t start) {
  Tensor y = zeros(shape, g.dtype(), g.device());
  {
    GradModeGuard off(false);
    assign(narrow(y, dim, start, g.shape()[dim]), g);
  }
  return record("narrow_backward", y, {g},
                [dim, start, len = g.shape()[dim]](const Tensor& gg) { return Grads{narrow(gg, dim, start, len)}; });
}

Tensor select(const Tensor& x, int64_t dim, int64_t index) {
  dim = wrap_dim(dim, x.dim(), "select");
  const int64_t n = x.shape()[dim];
  GANTRY_CHECK(index >= -n && index < n, "select: index ", index, " is out of bounds for dim ", dim, " of size ", n);
  return squeeze(narrow(x, dim, index < 0 ? index + n : index, 1), dim);
}

Tensor squeeze(const Tensor& x, std::optional<int64_t> dim) {
  detail::check_defined("squeeze", x, "input");
  Shape sizes, strides;
  const int64_t only = dim ? wrap_dim(*dim, x.dim(), "squeeze") : -1;
  for (int64_t d = 0; d < x.dim(); ++d) {
    bool drop = x.shape()[d] == 1 && (only < 0 || only == d);
    if (!drop) sizes.push_back(x.shape()[d]), strides.push_back(x.strides()[d]);
  }
  Tensor y = make_view(x, sizes, strides, x.offset());
  return record("squeeze", y, {x}, [sx = x.shape()](const Tensor& g) { return Grads{reshape(g, sx)}; });
}

Tensor unsqueeze(const Tensor& x, int64_t dim) {
  detail::check_defined("unsqueeze", x, "input");
  dim = wrap_dim(dim, x.dim() + 1, "unsqueeze");
  Shape sizes = x.shape(), strides = x.strides();
  int64_t st = dim < x.dim() ? x.strides()[dim] * x.shape()[dim] : 1;
  sizes.insert(sizes.begin() + dim, 1);
  strides.insert(strides.begin() + dim, st);
  Tensor y = make_view(x, sizes, strides, x.offset());
  return record("unsqueeze", y, {x}, [sx = x.shape()](const Tensor& g) { return Grads{reshape(g, sx)}; });
}

Tensor permute(const Tensor& x, const std::vector<int64_t>& dims) {
  detail::check_defined("permute", x, "input");
  GANTRY_CHECK((int64_t)dims.size() == x.dim(), "permute: ", dims.size(), " dims given for a tensor of shape ",
               shape_str(x.shape()));
  std::vector<int64_t> inverse(dims.size(), -1);
  Shape sizes, strides;
  for (size_t i = 0; i < dims.size(); ++i) {
    int64_t d = wrap_dim(dims[i], x.dim(), "permute");
    GANTRY_CHECK(inverse[d] < 0, "permute: dim ", d, " is repeated");
    inverse[d] = (int64_t)i;
    sizes.push_back(x.shape()[d]);
    strides.push_back(x.strides()[d]);
  }
  Tensor y = make_view(x, sizes, strides, x.offset());
  return record("permute", y, {x}, [inverse](const Tensor& g) { return Grads{permute(g, inverse)}; });
}

Tensor transpose(const Tensor& x, int64_t d0, int64_t d1) {
  std::vector<int64_t> order(x.dim());
  std::iota(order.begin(), order.end(), 0);
  std::swap(order[wrap_dim(d0, x.dim(), "transpose")], order[wrap_dim(d1, x.dim(), "transpose")]);
  return permute(x, order);
}

Tensor expand(const Tensor& x, const Shape& s) {
  detail::check_defined("expand", x, "input");
  GANTRY_CHECK(s.size() >= x.shape().size(), "expand: cannot expand ", shape_str(x.shape()), " to ", shape_str(s));
  const size_t lead = s.size() - x.shape().size();
  Shape sizes(s.size()), strides(s.size(), 0);
  for (size_t d = 0; d < s.size(); ++d) {
    if (d < lead) {
      GANTRY_CHECK(s[d] >= 0, "expand: -1 is not allowed for a new leading dim in ", shape_str(s));
      sizes[d] = s[d];
      continue;
    }
    const int64_t have = x.shape()[d - lead];
    const int64_t want = s[d] == -1 ? have : s[d];
    GANTRY_CHECK(have == want || have == 1, "expand: cannot expand ", shape_str(x.shape()), " to ", shape_str(s),
                 " (dim ", d, ": ", have, " vs ", want, ")");
    sizes[d] = want;
    strides[d] = have == want ? x.strides()[d - lead] : 0;
  }
  if (sizes == x.shape()) return x;
  Tensor y = make_view(x, sizes, strides, x.offset());
  return record("expand", y, {x}, [sx = x.shape()](const Tensor& g) { return Grads{sum_to(g, sx)}; });
}

Tensor clone(const Tensor& x) {
  detail::check_defined("clone", x, "input");
  Tensor y = empty(x.shape(), x.dtype(), x.device());
  assign(y, x);
  return record("clone", y, {x}, [](const Tensor& g) { return Grads{g}; });
}

Tensor contiguous(const Tensor& x) {
  detail::check_defined("contiguous", x, "input");
  return x.is_contiguous() ? x : clone(x);
}

Tensor to_dtype(const Tensor& x, DType t) {
  detail::check_defined("to", x, "input");
  if (x.dtype() == t) return x;
  Tensor y = empty(x.shape(), t, x.device());
  assign(y, x);
  if (!is_floating(t)) return y;
  return record("to_dtype", y, {x}, [from = x.dtype()](const Tensor& g) { return Grads{to_dtype(g, from)}; });
}

Tensor to_device(const Tensor& x, Device d) {
  detail::check_defined("to", x, "input");
  if (x.device() == d) return x;
  GANTRY_CHECK(x.dtype() != DType::f64 || d.is_cpu(), "to(", d.str(),
               "): float64 tensors live on the cpu only; convert with .to(DType::f32) first (shape ",
               shape_str(x.shape()), ")");
  Tensor xc = contiguous(x.detach());
  Tensor y = empty(x.shape(), x.dtype(), d);
  cuda_device::copy(y.raw_data(), d, xc.raw_data(), x.device(), (size_t)x.numel() * dtype_size(x.dtype()));
  if (!is_floating(x.dtype())) return y;
  return record("to_device", y, {x}, [from = x.device()](const Tensor& g) { return Grads{to_device(g, from)}; });
}

Tensor cat(const std::vector<Tensor>& xs, int64_t dim) {
  GANTRY_CHECK(!xs.empty(), "cat: expected at least one tensor");
  const Tensor& x0 = xs[0];
  detail::check_defined("cat", x0, "tensor 0");
  dim = wrap_dim(dim, x0.dim(), "cat");
  Shape out = x0.shape();
  out[dim] = 0;
  for (size_t i = 0; i < xs.size(); ++i) {
    detail::check_defined("cat", xs[i], "a tensor");
    bool ok = xs[i].dim() == x0.dim() && xs[i].dtype() == x0.dtype() && xs[i].device() == x0.device();
    for (int64_t d = 0; ok && d < x0.dim(); ++d) ok = d == dim || xs[i].shape()[d] == x0.shape()[d];
    GANTRY_CHECK(ok, "cat: tensor ", i, " (", dtype_name(xs[i].dtype()), " ", shape_str(xs[i].shape()),
                 ") does not match tensor 0 (", dtype_name(x0.dtype()), " ", shape_str(x0.shape()), ") outside dim ",
                 dim);
    out[dim] += xs[i].shape()[dim];
  }
  Tensor y = empty(out, x0.dtype(), x0.device());
  std::vector<int64_t> offsets;
  {
    GradModeGuard off(false);
    int64_t at = 0;
    for (const auto& x : xs) {
      offsets.push_back(at);
      assign(narrow(y, dim, at, x.shape()[dim]), x);
      at += x.shape()[dim];
    }
  }
  std::vector<int64_t> lengths;
  for (const auto& x : xs) lengths.push_back(x.shape()[dim]);
  return record("cat", y, xs, [dim, offsets, lengths](const Tensor& g) {
    Grads gs;
    for (size_t i = 0; i < offsets.size(); ++i) gs.push_back(narrow(g, dim, offsets[i], lengths[i]));
    return gs;
  });
}

Tensor stack(const std::vector<Tensor>& xs, int64_t dim) {
  GANTRY_CHECK(!xs.empty(), "stack: expected at least one tensor");
  dim = wrap_dim(dim, xs[0].dim() + 1, "stack");
  std::vector<Tensor> us;
  for (size_t i = 0; i < xs.size(); ++i) {
    GANTRY_CHECK(xs[i].defined() && xs[i].shape() == xs[0].shape(), "stack: tensor ", i, " has shape ",
                 xs[i].defined() ? shape_str(xs[i].shape()) : "undefined", " but tensor 0 has ",
                 shape_str(xs[0].shape()));
    us.push_back(unsqueeze(xs[i], dim));
  }
  return cat(us, dim);
}

}  // namespace gantry
