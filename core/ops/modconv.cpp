// core/ops/modconv.cpp — StyleGAN2's modulated convolution and upfirdn2d.
//
// modulated_conv2d(x, w, s) = modconv2d(x, w, s, d) with d = modulation_demod(w, s) (or none),
// where the primitive modconv2d is conv2d with the per-sample weight d[n,o] w[o,i] s[n,i]:
//   y = D conv(S x, w),  S = diag(s[n, :]) on input channels, D = diag(d[n, :]) on output channels.
// d is composed from differentiable ops, so its dependence on w and s needs no rule here.
// Three primitives, each linear in two of its arguments and the adjoint of the others
// (L = <g, modconv2d(x, w, s, d)>; P1 = modconv2d, P2 = _backward_input, P3 = _backward_weight):
//   P1(x, w, s, d):      dx = P2(g, w, s, d)   dw = P3(g, x, s, d)
//                        ds = sum_hw x * P2(g, w, 1, d)      dd = sum_hw g * P1(x, w, s, 1)
//   P2(g, w, s, d) = dx: d/dg = P1(gg, w, s, d)   d/dw = P3(g, gg, s, d)
//                        d/ds = sum_hw gg * P2(g, w, 1, d)   d/dd = sum_hw g * P1(gg, w, s, 1)
//   P3(g, x, s, d) = dW: d/dg = P1(x, gW, s, d)   d/dx = P2(g, gW, s, d)
//                        d/ds = sum_hw x * P2(g, gW, 1, d)   d/dd = sum_hw g * P1(x, gW, s, 1)
// Where two entries share a pass they share one call: s * P2(g, w, 1, d) is P2(g, w, s, d), and
// d * P1(a, w, s, 1) is P1(a, w, s, d), so e.g. P1's dx and ds come from one dgrad. A rule
// computes only the gradients the engine uses (needs_input_grad): R1's grad(D(x), x) runs no
// weight-gradient pass.
// The rules use only P1, P2, P3, mul and sum, so every order of derivative is one of them
// (docs/kernels/modulated_conv2d.md). On the cpu they run kernels/cpu/modconv (scale, conv,
// scale); on cuda the fused kernels of kernels/cuda/modconv.cu.
//
// upfirdn2d's adjoint in x is another upfirdn2d: the flipped filter, up and down swapped,
// the near pad K-1-pad0 and the far pad that gives back x's size (docs/kernels/upfirdn2d.md).
#include <algorithm>

#include "core/ops/common.hpp"

namespace gantry {

namespace {

// The conv2d geometry of input `x` [N,Cin,H,W] and weight `w` [Cout,Cin,KH,KW] under o.
kernels::Conv2dShape modconv_geometry(const char* op, const Shape& x, const Shape& w, const Conv2dOptions& o) {
  GANTRY_CHECK(x.size() == 4 && w.size() == 4, op, ": input ", shape_str(x), " and weight ", shape_str(w),
               " must have 4 dims");
  GANTRY_CHECK(x[1] == w[1], op, ": input has ", x[1], " channels but weight expects ", w[1], " (input ", shape_str(x),
               ", weight ", shape_str(w), ")");
  GANTRY_CHECK(o.stride_h > 0 && o.stride_w > 0 && o.dil_h > 0 && o.dil_w > 0 && o.pad_h >= 0 && o.pad_w >= 0, op,
               ": stride and dilation must be positive and padding non-negative");
  GANTRY_CHECK(o.groups == 1, op, ": groups = ", o.groups, " is not supported (conv2d takes groups)");
  kernels::Conv2dShape s;
  s.n = x[0], s.c_in = x[1], s.in_h = x[2], s.in_w = x[3];
  s.c_out = w[0], s.k_h = w[2], s.k_w = w[3];
  s.stride_h = o.stride_h, s.stride_w = o.stride_w, s.pad_h = o.pad_h, s.pad_w = o.pad_w;
  s.dil_h = o.dil_h, s.dil_w = o.dil_w;
  s.out_h = (s.in_h + 2 * o.pad_h - o.dil_h * (s.k_h - 1) - 1) / o.stride_h + 1;
  s.out_w = (s.in_w + 2 * o.pad_w - o.dil_w * (s.k_w - 1) - 1) / o.stride_w + 1;
  GANTRY_CHECK(s.out_h > 0 && s.out_w > 0, op, ": the ", s.k_h, "x", s.k_w, " kernel does not fit the padded ", s.in_h,
               "x", s.in_w, " input");
  return s;
}

// s [N, Cin] and d [N, Cout], when defined: same dtype and device as `like`, the right shape.
void check_scales(const char* op, const Tensor& like, const Tensor& s, const Tensor& d, const kernels::Conv2dShape& g) {
  if (s.defined()) {
    detail::check_same(op, like, s);
    GANTRY_CHECK(s.shape() == Shape({g.n, g.c_in}), op, ": styles ", shape_str(s.shape()), " should be ",
                 shape_str(Shape{g.n, g.c_in}));
  }
  if (d.defined()) {
    detail::check_same(op, like, d);
    GANTRY_CHECK(d.shape() == Shape({g.n, g.c_out}), op, ": demodulation ", shape_str(d.shape()), " should be ",
                 shape_str(Shape{g.n, g.c_out}));
  }
}

Tensor maybe_contiguous(const Tensor& t) { return t.defined() ? contiguous(t) : t; }

// sum over (h, w) of a * b: a per-(n, channel) scale's gradient, [N, C].
Tensor channel_dot(const Tensor& a, const Tensor& b) { return sum(mul(a, b), {2, 3}); }

// t [N, C, H, W] scaled by scale [N, C] per (n, c); t itself when scale is undefined.
Tensor scale_channels(const Tensor& t, const Tensor& scale) {
  return scale.defined() ? mul(t, reshape(scale, {scale.size(0), scale.size(1), 1, 1})) : t;
}
// The gradients of <g, P1(a, w, s, d)>-like forms in the image argument and the two scales,
// sharing one conv pass between each pair. With t = P2(g, w, 1, d): d/da = s * t and
// d/ds = sum_hw a * t, one dgrad for both (when only d/da is wanted, P2 takes s itself).
// want_*: the rule's needs_input_grad for that input; nothing unwanted is computed.
struct ImageAndStyle {
  Tensor image, style;
};
ImageAndStyle through_backward_input(const Tensor& g, const Tensor& w, const Tensor& s, const Tensor& d,
                                     const Tensor& a, bool want_image, bool want_style, const Conv2dOptions& o) {
  ImageAndStyle r;
  if (!want_style || !s.defined()) {
    if (want_image) r.image = modconv2d_backward_input(g, w, s, d, a.shape(), o);
    return r;
  }
  Tensor t = modconv2d_backward_input(g, w, {}, d, a.shape(), o);
  if (want_image) r.image = scale_channels(t, s);
  r.style = channel_dot(a, t);
  return r;
}
// With u = P1(a, w, s, 1): the output-side image gradient d * u and d/dd = sum_hw g * u.
struct ImageAndDemod {
  Tensor image, demod;
};
ImageAndDemod through_forward(const Tensor& a, const Tensor& w, const Tensor& s, const Tensor& d, const Tensor& g,
                              bool want_image, bool want_demod, const Conv2dOptions& o) {
  ImageAndDemod r;
  if (!want_demod || !d.defined()) {
    if (want_image) r.image = modconv2d(a, w, s, d, o);
    return r;
  }
  Tensor u = modconv2d(a, w, s, {}, o);
  if (want_image) r.image = scale_channels(u, d);
  r.demod = channel_dot(g, u);
  return r;
}

enum class Pass { forward, backward_input, backward_weight };

// Runs one primitive's kernel: out = pass(a, b, s, d) on a's device and dtype.
void run_modconv(Pass pass, const Tensor& out, const Tensor& a, const Tensor& b, const Tensor& s, const Tensor& d,
                 const kernels::Conv2dShape& g, const char* op) {
  (void)op;
  const detail::Backend& be = detail::backend(a.device());
  switch (pass) {
    case Pass::forward: be.modconv2d_forward(out, a, b, s, d, g); break;
    case Pass::backward_input: be.modconv2d_backward_input(out, a, b, s, d, g); break;
    case Pass::backward_weight: be.modconv2d_backward_weight(out, a, b, s, d, g); break;
  }
}

}  // namespace

Tensor modconv2d(const Tensor& x, const Tensor& w, const Tensor& s, const Tensor& d, const Conv2dOptions& o) {
  const char* op = "modconv2d";
  detail::check_same(op, x, w);
  const kernels::Conv2dShape g = modconv_geometry(op, x.shape(), w.shape(), o);
  check_scales(op, x, s, d, g);
  Tensor y = empty({g.n, g.c_out, g.out_h, g.out_w}, x.dtype(), x.device());
  run_modconv(Pass::forward, y, contiguous(x), contiguous(w), maybe_contiguous(s), maybe_contiguous(d), g, op);
  return record(op, y, {x, w, s, d}, [x, w, s, d, o](const Tensor& gy) {
    ImageAndStyle xs = through_backward_input(gy, w, s, d, x, needs_input_grad(0), needs_input_grad(2), o);
    Tensor dd = needs_input_grad(3) ? channel_dot(gy, modconv2d(x, w, s, {}, o)) : Tensor();
    return Grads{xs.image, needs_input_grad(1) ? modconv2d_backward_weight(gy, x, s, d, w.shape(), o) : Tensor(),
                 xs.style, dd};
  });
}

Tensor modconv2d_backward_input(const Tensor& g, const Tensor& w, const Tensor& s, const Tensor& d,
                                const Shape& input_shape, const Conv2dOptions& o) {
  const char* op = "modconv2d_backward_input";
  detail::check_same(op, g, w);
  const kernels::Conv2dShape geo = modconv_geometry(op, input_shape, w.shape(), o);
  check_scales(op, g, s, d, geo);
  const Shape want = {geo.n, geo.c_out, geo.out_h, geo.out_w};
  GANTRY_CHECK(g.shape() == want, op, ": grad_output ", shape_str(g.shape()), " should be ", shape_str(want),
               " for input ", shape_str(input_shape), " and weight ", shape_str(w.shape()));
  Tensor dx = empty(input_shape, g.dtype(), g.device());
  run_modconv(Pass::backward_input, dx, contiguous(g), contiguous(w), maybe_contiguous(s), maybe_contiguous(d), geo,
              op);
  return record(op, dx, {g, w, s, d}, [g, w, s, d, o](const Tensor& gg) {
    ImageAndDemod gd = through_forward(gg, w, s, d, g, needs_input_grad(0), needs_input_grad(3), o);
    Tensor ds = needs_input_grad(2) ? channel_dot(gg, modconv2d_backward_input(g, w, {}, d, gg.shape(), o)) : Tensor();
    return Grads{gd.image, needs_input_grad(1) ? modconv2d_backward_weight(g, gg, s, d, w.shape(), o) : Tensor(), ds,
                 gd.demod};
  });
}

Tensor modconv2d_backward_weight(const Tensor& g, const Tensor& x, const Tensor& s, const Tensor& d,
                                 const Shape& weight_shape, const Conv2dOptions& o) {
  const char* op = "modconv2d_backward_weight";
  detail::check_same(op, g, x);
  const kernels::Conv2dShape geo = modconv_geometry(op, x.shape(), weight_shape, o);
  check_scales(op, x, s, d, geo);
  const Shape want = {geo.n, geo.c_out, geo.out_h, geo.out_w};
  GANTRY_CHECK(g.shape() == want, op, ": grad_output ", shape_str(g.shape()), " should be ", shape_str(want),
               " for input ", shape_str(x.shape()), " and weight ", shape_str(weight_shape));
  Tensor dw = empty(weight_shape, x.dtype(), x.device());
  run_modconv(Pass::backward_weight, dw, contiguous(g), contiguous(x), maybe_contiguous(s), maybe_contiguous(d), geo,
              op);
  return record(op, dw, {g, x, s, d}, [g, x, s, d, o](const Tensor& gw) {
    ImageAndDemod gd = through_forward(x, gw, s, d, g, needs_input_grad(0), needs_input_grad(3), o);
    ImageAndStyle xs = through_backward_input(g, gw, s, d, x, needs_input_grad(1), needs_input_grad(2), o);
    return Grads{gd.image, xs.image, xs.style, gd.demod};
  });
}

Tensor modulation_demod(const Tensor& weight, const Tensor& styles, double eps) {
  detail::check_same("modulation_demod", weight, styles);
  GANTRY_CHECK(weight.dim() == 4 && styles.dim() == 2 && styles.size(1) == weight.size(1), "modulation_demod: weight ",
               shape_str(weight.shape()), " and styles ", shape_str(styles.shape()),
               " should be [Cout, Cin, KH, KW] and [N, Cin]");
  Tensor w2 = sum(mul(weight, weight), {2, 3});                              // [Cout, Cin]
  return rsqrt(add(matmul(mul(styles, styles), transpose(w2, 0, 1)), eps));  // [N, Cout]
}

Tensor modulated_conv2d(const Tensor& x, const Tensor& weight, const Tensor& styles, bool demodulate,
                        const Conv2dOptions& o, double eps) {
  detail::check_same("modulated_conv2d", x, styles);
  GANTRY_CHECK(x.dim() == 4 && styles.dim() == 2 && styles.size(0) == x.size(0), "modulated_conv2d: styles ",
               shape_str(styles.shape()), " should be [N, Cin] for input ", shape_str(x.shape()));
  Tensor d = demodulate ? modulation_demod(weight, styles, eps) : Tensor();
  return modconv2d(x, weight, styles, d, o);
}

// ---- upfirdn2d ----------------------------------------------------------------------------

namespace {

Tensor flipped_filter(const Tensor& f) {
  std::vector<double> v = contiguous(f.detach()).to(Device::cpu()).to(DType::f64).to_vector<double>();
  std::reverse(v.begin(), v.end());  // reversing the flat [KH, KW] buffer flips both axes
  return from_vector(v, f.shape(), f.dtype(), f.device());
}

}  // namespace

Tensor upfirdn2d(const Tensor& x, const Tensor& f, const UpFirDn2dOptions& o) {
  const char* op = "upfirdn2d";
  detail::check_same(op, x, f);
  detail::check_dim(op, x, 4, "input");
  detail::check_dim(op, f, 2, "filter");
  GANTRY_CHECK(o.up >= 1 && o.down >= 1, op, ": up and down must be >= 1 (got ", o.up, ", ", o.down, ")");
  kernels::UpFirDn2dShape s;
  s.n = x.size(0), s.c = x.size(1), s.in_h = x.size(2), s.in_w = x.size(3), s.k_h = f.size(0), s.k_w = f.size(1);
  s.up_y = s.up_x = o.up, s.down_y = s.down_x = o.down, s.pad_y0 = o.pad_y0, s.pad_x0 = o.pad_x0;
  const int64_t span_h = s.in_h * o.up + o.pad_y0 + o.pad_y1 - s.k_h,
                span_w = s.in_w * o.up + o.pad_x0 + o.pad_x1 - s.k_w;
  GANTRY_CHECK(span_h >= 0 && span_w >= 0, op, ": the ", s.k_h, "x", s.k_w,
               " filter does not fit the upsampled, "
               "padded ",
               shape_str(x.shape()), " input (up ", o.up, ", pads x ", o.pad_x0, ",", o.pad_x1, " y ", o.pad_y0, ",",
               o.pad_y1, ")");
  s.out_h = span_h / o.down + 1, s.out_w = span_w / o.down + 1;
  Tensor xc = contiguous(x), fc = contiguous(f);
  Tensor y = empty({s.n, s.c, s.out_h, s.out_w}, x.dtype(), x.device());
  detail::backend(x.device()).upfirdn2d(y, xc, fc, s);
  // The adjoint: near pad K-1-pad0; the far pad that makes the output x's size again.
  UpFirDn2dOptions adj;
  adj.up = o.down, adj.down = o.up;
  adj.pad_y0 = s.k_h - 1 - o.pad_y0, adj.pad_x0 = s.k_w - 1 - o.pad_x0;
  adj.pad_y1 = (s.in_h - 1) * o.up + s.k_h - adj.pad_y0 - s.out_h * o.down;
  adj.pad_x1 = (s.in_w - 1) * o.up + s.k_w - adj.pad_x0 - s.out_w * o.down;
  Tensor f_flip = flipped_filter(f);
  return record(op, y, {x}, [f_flip, adj](const Tensor& g) { return Grads{upfirdn2d(g, f_flip, adj)}; });
}

}  // namespace gantry
