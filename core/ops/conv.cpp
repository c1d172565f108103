// core/ops/conv.cpp — conv2d, conv_transpose2d and conv2d_backward_weight.
//
// Three ops, each the adjoint of the others in one argument, so each one's rule is
// written with the other two (L = <g, conv2d(x, w)>):
//   conv2d:                 dx = conv_transpose2d(g, w)   dw = conv2d_backward_weight(g, x)
//   conv_transpose2d(x,w):  dx = conv2d(g, w)             dw = conv2d_backward_weight(x, g)
//   conv2d_backward_weight(g, x) = dW:  d/dg = conv2d(x, gg)   d/dx = conv_transpose2d(g, gg)
// and the bias gradient is sum(g) over (n, h, w). Each gradient is computed only when the
// engine uses it (needs_input_grad): grad(D(x), x) runs no weight-gradient kernel.
// Each op runs its backend's entry (core/ops/backend.hpp): kernels/cpu/conv.hpp on the cpu,
// kernels/cuda/conv.cuh or cuDNN on the cuda device — the same three contracts.
#include "core/ops/common.hpp"

namespace gantry {

namespace {

int64_t conv_out_size(int64_t in, int64_t pad, int64_t dil, int64_t k, int64_t stride) {
  return (in + 2 * pad - dil * (k - 1) - 1) / stride + 1;
}

void check_options(const char* op, const Conv2dOptions& o) {
  GANTRY_CHECK(o.groups == 1, op, ": groups = ", o.groups, " is not supported (conv2d takes groups)");
  GANTRY_CHECK(o.stride_h > 0 && o.stride_w > 0 && o.dil_h > 0 && o.dil_w > 0 && o.pad_h >= 0 && o.pad_w >= 0, op,
               ": stride and dilation must be positive and padding non-negative (stride ", o.stride_h, "x", o.stride_w,
               ", padding ", o.pad_h, "x", o.pad_w, ", dilation ", o.dil_h, "x", o.dil_w, ")");
}

// The geometry of conv2d(x [N,Cin,H,W], w [Cout,Cin,KH,KW]).
kernels::Conv2dShape conv_geometry(const char* op, const Shape& x, const Shape& w, const Conv2dOptions& o) {
  check_options(op, o);
  kernels::Conv2dShape s;
  s.n = x[0], s.c_in = x[1], s.in_h = x[2], s.in_w = x[3];
  s.c_out = w[0], s.k_h = w[2], s.k_w = w[3];
  s.stride_h = o.stride_h, s.stride_w = o.stride_w, s.pad_h = o.pad_h, s.pad_w = o.pad_w;
  s.dil_h = o.dil_h, s.dil_w = o.dil_w;
  s.out_h = conv_out_size(s.in_h, o.pad_h, o.dil_h, s.k_h, o.stride_h);
  s.out_w = conv_out_size(s.in_w, o.pad_w, o.dil_w, s.k_w, o.stride_w);
  GANTRY_CHECK(s.out_h > 0 && s.out_w > 0, op, ": the ", s.k_h, "x", s.k_w, " kernel (dilation ", o.dil_h, "x", o.dil_w,
               ") does not fit the padded ", s.in_h, "x", s.in_w, " input (padding ", o.pad_h, "x", o.pad_w, ")");
  return s;
}

// Whether conv2d's output may be cut from [s.out_h, s.out_w] rows and columns to
// [out_h, out_w]: when the cut conv2d is the adjoint of a conv_transpose2d, i.e. when the
// output_padding that maps [out_h, out_w] back to [s.in_h, s.in_w] is below max(stride,
// dilation) (it is >= stride exactly when out_h < s.out_h).
bool cut_fits(const kernels::Conv2dShape& s, int64_t out_h, int64_t out_w) {
  auto op = [](int64_t in, int64_t out, int64_t stride, int64_t pad, int64_t dil, int64_t k) {
    return in - ((out - 1) * stride - 2 * pad + dil * (k - 1) + 1);
  };
  const int64_t oph = op(s.in_h, out_h, s.stride_h, s.pad_h, s.dil_h, s.k_h);
  const int64_t opw = op(s.in_w, out_w, s.stride_w, s.pad_w, s.dil_w, s.k_w);
  return out_h > 0 && out_w > 0 && out_h <= s.out_h && out_w <= s.out_w && oph >= 0 && opw >= 0 &&
         oph < std::max(s.stride_h, s.dil_h) && opw < std::max(s.stride_w, s.dil_w);
}

// conv2d's geometry with a given, possibly shorter, output [out_h, out_w]: the adjoint of
// conv_transpose2d(output_padding op) when op >= stride (allowed when dilation > stride,
// as in PyTorch). Its output is [H, W] = x's, while conv2d of the [oh, ow] map comes out
// H + op / stride rows: the last op / stride rows (columns) of that conv are not part of
// the transpose, and every kernel here (cpu, cuda) bounds its loops by out_h/out_w.
kernels::Conv2dShape conv_geometry_out(const char* op, const Shape& x, const Shape& w, const Conv2dOptions& o,
                                       int64_t out_h, int64_t out_w) {
  kernels::Conv2dShape s = conv_geometry(op, x, w, o);
  GANTRY_CHECK(cut_fits(s, out_h, out_w), op, ": output ", out_h, "x", out_w, " does not fit input ", shape_str(x),
               " and weight ", shape_str(w), " (conv2d gives ", s.out_h, "x", s.out_w, ")");
  s.out_h = out_h, s.out_w = out_w;
  return s;
}

// conv2d(x, w) cut to its first [h, w] rows and columns (the adjoint of conv_transpose2d
// with output_padding >= stride; see conv_geometry_out). Differentiable: conv2d then narrow.
Tensor conv2d_cut(const Tensor& x, const Tensor& w, const Conv2dOptions& o, int64_t h, int64_t wd) {
  Tensor y = conv2d(x, w, {}, o);
  if (y.size(2) != h) y = narrow(y, 2, 0, h);
  if (y.size(3) != wd) y = narrow(y, 3, 0, wd);
  return y;
}

// The output_padding that makes conv_transpose2d of an [oh, ow] map come out [h, w].
std::pair<int64_t, int64_t> out_padding_for(const kernels::Conv2dShape& s) {
  auto base = [](int64_t out, int64_t stride, int64_t pad, int64_t dil, int64_t k) {
    return (out - 1) * stride - 2 * pad + dil * (k - 1) + 1;
  };
  return {s.in_h - base(s.out_h, s.stride_h, s.pad_h, s.dil_h, s.k_h),
          s.in_w - base(s.out_w, s.stride_w, s.pad_w, s.dil_w, s.k_w)};
}

void check_bias(const char* op, const Tensor& b, int64_t channels, const Tensor& x) {
  if (!b.defined()) return;
  detail::check_same(op, x, b);
  GANTRY_CHECK(b.dim() == 1 && b.size(0) == channels, op, ": bias ", shape_str(b.shape()), " does not match the ",
               channels, " output channels");
}

// Input 2 of conv2d and conv_transpose2d; computed only when the engine uses it.
Tensor bias_grad(const Tensor& g, const Tensor& b) {
  return b.defined() && needs_input_grad(2) ? sum(g, {0, 2, 3}) : Tensor();
}

// conv2d with o.groups > 1: one conv2d per block of channels, concatenated. A composition of
// differentiable ops (narrow, conv2d, cat), so its derivatives are theirs, on every device.
Tensor grouped_conv2d(const Tensor& x, const Tensor& w, const Tensor& b, const Conv2dOptions& o) {
  const int64_t groups = o.groups, cin = x.size(1), cout = w.size(0);
  GANTRY_CHECK(groups > 0 && cin % groups == 0 && cout % groups == 0, "conv2d: groups = ", groups,
               " must divide the input's ", cin, " and the output's ", cout, " channels (input ", shape_str(x.shape()),
               ", weight ", shape_str(w.shape()), ")");
  GANTRY_CHECK(w.size(1) * groups == cin, "conv2d: input has ", cin, " channels, so with groups = ", groups,
               " the weight should have ", cin / groups, " input channels per group, not ", w.size(1), " (input ",
               shape_str(x.shape()), ", weight ", shape_str(w.shape()), ")");
  check_bias("conv2d", b, cout, x);
  Conv2dOptions one = o;
  one.groups = 1;
  const int64_t ci = cin / groups, co = cout / groups;
  std::vector<Tensor> ys;
  for (int64_t g = 0; g < groups; ++g)
    ys.push_back(conv2d(narrow(x, 1, g * ci, ci), narrow(w, 0, g * co, co),
                        b.defined() ? narrow(b, 0, g * co, co) : Tensor(), one));
  return cat(ys, 1);
}

}  // namespace

namespace {

// conv2d's rule for the upstream g.
Grads conv2d_grads(const Tensor& g, const Tensor& x, const Tensor& w, const Tensor& b, const Conv2dOptions& o,
                   const kernels::Conv2dShape& s) {
  auto [oph, opw] = out_padding_for(s);
  return Grads{needs_input_grad(0) ? conv_transpose2d(g, w, {}, o, oph, opw) : Tensor(),
               needs_input_grad(1) ? conv2d_backward_weight(g, x, w.shape(), o) : Tensor(), bias_grad(g, b)};
}

// conv2d (slope < 0) or conv2d_act (slope >= 0: the backend's conv2d_forward_act, whose rule
// is leaky_relu_backward at the output, then conv2d's); grouped, or where the backend has no
// fused entry, the composition.
Tensor conv2d_impl(const char* op, const Tensor& x, const Tensor& w, const Tensor& b, const Conv2dOptions& o,
                   double slope) {
  detail::check_same(op, x, w);
  detail::check_dim(op, x, 4, "input");
  detail::check_dim(op, w, 4, "weight");
  const auto fused = detail::backend(x.device()).conv2d_forward_act;
  if (o.groups != 1 || (slope >= 0 && !fused)) {
    Tensor y = o.groups != 1 ? grouped_conv2d(x, w, b, o) : conv2d_impl(op, x, w, b, o, -1.0);
    return slope < 0 ? y : detail::activation(y, slope);
  }
  GANTRY_CHECK(x.size(1) == w.size(1), op, ": input has ", x.size(1), " channels but weight expects ", w.size(1),
               " (input ", shape_str(x.shape()), ", weight ", shape_str(w.shape()), ")");
  check_bias(op, b, w.size(0), x);
  kernels::Conv2dShape s = conv_geometry(op, x.shape(), w.shape(), o);
  Tensor xc = contiguous(x), wc = contiguous(w), bc = b.defined() ? contiguous(b) : b;
  Tensor y = empty({s.n, s.c_out, s.out_h, s.out_w}, x.dtype(), x.device());
  if (slope < 0) {
    detail::backend(x.device()).conv2d_forward(y, xc, wc, bc, s);
    return record("conv2d", y, {x, w, b}, [x, w, b, o, s](const Tensor& g) { return conv2d_grads(g, x, w, b, o, s); });
  }
  fused(y, xc, wc, bc, s, slope);
  const Tensor out = y.detach();
  return record("conv2d_act", y, {x, w, b}, [x, w, b, o, s, out, slope](const Tensor& g) {
    return conv2d_grads(leaky_relu_backward(g, out, slope), x, w, b, o, s);
  });
}

}  // namespace

Tensor conv2d(const Tensor& x, const Tensor& w, const Tensor& b, const Conv2dOptions& o) {
  return conv2d_impl("conv2d", x, w, b, o, -1.0);
}

Tensor conv2d_act(const Tensor& x, const Tensor& w, const Tensor& b, const Conv2dOptions& o, double slope) {
  detail::check_act_slope("conv2d_act", slope);
  return conv2d_impl("conv2d_act", x, w, b, o, slope);
}

Tensor conv_transpose2d(const Tensor& x, const Tensor& w, const Tensor& b, const Conv2dOptions& o, int64_t out_pad_h,
                        int64_t out_pad_w) {
  const char* op = "conv_transpose2d";
  detail::check_same(op, x, w);
  detail::check_dim(op, x, 4, "input");
  detail::check_dim(op, w, 4, "weight");
  GANTRY_CHECK(x.size(1) == w.size(0), op, ": input has ", x.size(1), " channels but weight expects ", w.size(0),
               " (input ", shape_str(x.shape()), ", weight ", shape_str(w.shape()), ")");
  check_options(op, o);
  GANTRY_CHECK(out_pad_h >= 0 && out_pad_w >= 0 && out_pad_h < std::max(o.stride_h, o.dil_h) &&
                   out_pad_w < std::max(o.stride_w, o.dil_w),
               op, ": output_padding ", out_pad_h, "x", out_pad_w, " must be smaller than the stride or the dilation");
  check_bias(op, b, w.size(1), x);
  const int64_t oh = (x.size(2) - 1) * o.stride_h - 2 * o.pad_h + o.dil_h * (w.size(2) - 1) + 1 + out_pad_h;
  const int64_t ow = (x.size(3) - 1) * o.stride_w - 2 * o.pad_w + o.dil_w * (w.size(3) - 1) + 1 + out_pad_w;
  GANTRY_CHECK(oh > 0 && ow > 0, op, ": the output size ", oh, "x", ow, " is not positive (input ",
               shape_str(x.shape()), ", weight ", shape_str(w.shape()), ")");
  // The adjoint conv2d maps [N, Cout_t, oh, ow] to x's [N, Cin_t, H, W].
  kernels::Conv2dShape s = conv_geometry_out(op, {x.size(0), w.size(1), oh, ow}, w.shape(), o, x.size(2), x.size(3));
  Tensor xc = contiguous(x), wc = contiguous(w);
  Tensor y = empty({s.n, s.c_in, oh, ow}, x.dtype(), x.device());
  detail::backend(x.device()).conv2d_backward_input(y, xc, wc, s);
  Tensor out = y;
  if (b.defined()) {
    GradModeGuard off(false);
    out = add(y, reshape(b.detach(), {1, b.size(0), 1, 1}));
  }
  return record(op, out, {x, w, b}, [x, w, b, o](const Tensor& g) {
    return Grads{needs_input_grad(0) ? conv2d_cut(g, w, o, x.size(2), x.size(3)) : Tensor(),
                 needs_input_grad(1) ? conv2d_backward_weight(x, g, w.shape(), o) : Tensor(), bias_grad(g, b)};
  });
}

Tensor conv2d_backward_weight(const Tensor& g, const Tensor& x, const Shape& weight_shape, const Conv2dOptions& o) {
  const char* op = "conv2d_backward_weight";
  detail::check_same(op, g, x);
  detail::check_dim(op, x, 4, "input");
  detail::check_dim(op, g, 4, "grad_output");
  GANTRY_CHECK(weight_shape.size() == 4 && weight_shape[1] == x.size(1), op, ": input ", shape_str(x.shape()),
               " does not fit weight shape ", shape_str(weight_shape));
  kernels::Conv2dShape s = conv_geometry(op, x.shape(), weight_shape, o);
  const Shape want = {s.n, s.c_out, s.out_h, s.out_w};
  // g may be shorter than conv2d's output (cut_fits): the weight gradient of
  // conv_transpose2d with output_padding >= stride.
  if (g.dim() == 4 && g.size(0) == s.n && g.size(1) == s.c_out && g.shape() != want &&
      cut_fits(s, g.size(2), g.size(3)))
    s.out_h = g.size(2), s.out_w = g.size(3);
  GANTRY_CHECK(g.shape() == Shape({s.n, s.c_out, s.out_h, s.out_w}), op, ": grad_output ", shape_str(g.shape()),
               " should be ", shape_str(want), " for input ", shape_str(x.shape()), " and weight ",
               shape_str(weight_shape));
  Tensor gc = contiguous(g), xc = contiguous(x);
  Tensor dw = empty(weight_shape, x.dtype(), x.device());
  detail::backend(x.device()).conv2d_backward_weight(dw, gc, xc, s);
  return record(op, dw, {g, x}, [g, x, o, s](const Tensor& gg) {
    auto [oph, opw] = out_padding_for(s);
    return Grads{needs_input_grad(0) ? conv2d_cut(x, gg, o, s.out_h, s.out_w) : Tensor(),
                 needs_input_grad(1) ? conv_transpose2d(g, gg, {}, o, oph, opw) : Tensor()};
  });
}

}  // namespace gantry
