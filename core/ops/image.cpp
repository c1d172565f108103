// core/ops/image.cpp — pad2d, upsample_nearest2d, embedding, one_hot.
//
// Each forward is a linear index map, so each backward is its adjoint kernel
// (pad2d_backward, upsample_nearest2d_backward, embedding_backward), itself an op
// whose rule is the forward again: linear maps have linear adjoints.
#include "core/ops/common.hpp"

namespace gantry {

namespace {

struct Pads {
  int64_t l, r, t, b;
  PadMode mode;
};

Tensor pad2d_backward(const Tensor& g, const Shape& in, const Pads& p) {
  Tensor gc = contiguous(g), dx = empty(in, g.dtype(), g.device());
  const int64_t pads[4] = {p.l, p.r, p.t, p.b};
  detail::backend(g.device()).pad2d_backward(dx, gc, pads, p.mode == PadMode::reflect);
  return record("pad2d_backward", dx, {g},
                [p](const Tensor& gg) { return Grads{pad2d(gg, p.l, p.r, p.t, p.b, p.mode)}; });
}

Tensor upsample_backward(const Tensor& g, const Shape& in, int64_t sh, int64_t sw) {
  Tensor gc = contiguous(g), dx = empty(in, g.dtype(), g.device());
  detail::backend(g.device()).upsample_nearest2d_backward(dx, gc, sh, sw);
  return record("upsample_nearest2d_backward", dx, {g},
                [sh, sw](const Tensor& gg) { return Grads{upsample_nearest2d(gg, sh, sw)}; });
}

void check_indices(const char* op, const Tensor& idx, int64_t limit, const char* what) {
  GANTRY_CHECK(idx.defined() && idx.dtype() == DType::i64, op, ": ", what, " must be an int64 tensor, got ",
               idx.defined() ? dtype_name(idx.dtype()) : "undefined");
  Tensor c = contiguous(idx).to(Device::cpu());  // checked on the host before any kernel reads it
  const int64_t* p = c.data<int64_t>();
  for (int64_t i = 0; i < c.numel(); ++i)
    GANTRY_CHECK(p[i] >= 0 && p[i] < limit, op, ": ", what, " [", i, "] = ", p[i], " is out of range [0, ", limit, ")");
}

Tensor embedding_backward(const Tensor& g, const Tensor& indices, const Shape& table_shape) {
  Tensor gc = contiguous(g), ic = contiguous(indices), dt = empty(table_shape, g.dtype(), g.device());
  detail::backend(g.device()).embedding_backward(dt, gc, ic);
  return record("embedding_backward", dt, {g}, [indices](const Tensor& gg) { return Grads{embedding(indices, gg)}; });
}

}  // namespace

Tensor pad2d(const Tensor& x, int64_t left, int64_t right, int64_t top, int64_t bottom, PadMode mode) {
  detail::check_floating("pad2d", x);

  detail::check_dim("pad2d", x, 4, "input");
  GANTRY_CHECK(left >= 0 && right >= 0 && top >= 0 && bottom >= 0, "pad2d: padding must be non-negative, got (", left,
               ", ", right, ", ", top, ", ", bottom, ")");
  if (mode == PadMode::reflect)
    GANTRY_CHECK(left < x.size(3) && right < x.size(3) && top < x.size(2) && bottom < x.size(2),
                 "pad2d: reflect padding (", left, ", ", right, ", ", top, ", ", bottom,
                 ") must be smaller than the input's spatial size ", x.size(2), "x", x.size(3), " (input ",
                 shape_str(x.shape()), ")");
  Pads p{left, right, top, bottom, mode};
  Tensor xc = contiguous(x);
  Tensor y = empty({x.size(0), x.size(1), x.size(2) + top + bottom, x.size(3) + left + right}, x.dtype(), x.device());
  const int64_t pads[4] = {left, right, top, bottom};
  detail::backend(x.device()).pad2d_forward(y, xc, pads, mode == PadMode::reflect);
  return record("pad2d", y, {x}, [p, s = x.shape()](const Tensor& g) { return Grads{pad2d_backward(g, s, p)}; });
}

Tensor upsample_nearest2d(const Tensor& x, int64_t sh, int64_t sw) {
  detail::check_floating("upsample_nearest2d", x);

  detail::check_dim("upsample_nearest2d", x, 4, "input");
  GANTRY_CHECK(sh >= 1 && sw >= 1, "upsample_nearest2d: scale factors must be >= 1, got ", sh, "x", sw);
  Tensor xc = contiguous(x);
  Tensor y = empty({x.size(0), x.size(1), x.size(2) * sh, x.size(3) * sw}, x.dtype(), x.device());
  detail::backend(x.device()).upsample_nearest2d_forward(y, xc, sh, sw);
  return record("upsample_nearest2d", y, {x},
                [s = x.shape(), sh, sw](const Tensor& g) { return Grads{upsample_backward(g, s, sh, sw)}; });
}

Tensor embedding(const Tensor& indices, const Tensor& table) {
  detail::check_floating("embedding", table);
  GANTRY_CHECK(indices.device() == table.device(), "embedding: indices on ", indices.device().str(), " but table on ",
               table.device().str());
  detail::check_dim("embedding", table, 2, "table");
  check_indices("embedding", indices, table.size(0), "index");
  Shape out = indices.shape();
  out.push_back(table.size(1));
  Tensor ic = contiguous(indices), tc = contiguous(table), y = empty(out, table.dtype(), table.device());
  detail::backend(table.device()).embedding_forward(y, ic, tc);
  return record("embedding", y, {table},
                [indices, s = table.shape()](const Tensor& g) { return Grads{embedding_backward(g, indices, s)}; });
}

Tensor one_hot(const Tensor& labels, int64_t num_classes, DType t) {
  GANTRY_CHECK(num_classes > 0, "one_hot: num_classes must be positive, got ", num_classes);
  GANTRY_CHECK(is_floating(t), "one_hot: output dtype must be floating, got ", dtype_name(t));
  check_indices("one_hot", labels, num_classes, "label");
  Shape out = labels.shape();
  out.push_back(num_classes);
  Tensor lc = contiguous(labels), y = zeros(out, t, labels.device());
  detail::backend(labels.device()).one_hot(y, lc, num_classes);
  return y;
}

}  // namespace gantry
