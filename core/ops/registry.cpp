// core/ops/registry.cpp — every op of core/ops.hpp by name, with the backends it runs on,
// how many times it can be differentiated, and its sample cases (odd shapes, the parity
// tolerance). The tests walk it: tests/cuda/test_parity.cpp runs each sample of an op
// marked cuda on cuda and on the cpu (forward, backward, double backward), and
// tests/core/test_gradcheck_ops.cpp gradchecks (and gradgradchecks) each small sample in
// float64; both fail naming an op that has no sample, and print every op's coverage.
#include "core/ops.hpp"

namespace gantry {

namespace {

using V = std::vector<Tensor>;
using In = SampleInput;

constexpr unsigned kCpuCuda = OpInfo::kCpu | OpInfo::kCuda;
constexpr int kNoGrad = 0, kGrad = 1, kGradGrad = 2;

// Sums of up to a few hundred products of values in [-1, 1], a few float32 roundings deep
// through the double backward: about K 2^-24 4 for K ~ 800, the largest sum in the conv and
// modconv samples.
constexpr double kConvAtol = 2e-4;
// Normalization: sums over M values of products of numbers ~1 in the double backward.
constexpr double kNormAtol = 1e-4, kNormRtol = 1e-3;

// The odd shapes most elementwise samples share: [7,1,5,3] against a broadcast [5,1].
const Shape kOdd = {7, 1, 5, 3}, kB2 = {5, 1};
const In kAny{kOdd}, kBcast{kB2}, kPos{kOdd, 0.3, 2.0}, kKink0{kOdd, -1, 1, {0.0}};

Conv2dOptions options(int64_t sh, int64_t sw, int64_t ph, int64_t pw, int64_t dh, int64_t dw) {
  return {sh, sw, ph, pw, dh, dw};
}
Tensor conv(const V& in, Conv2dOptions o) { return conv2d(in[0], in[1], in.size() > 2 ? in[2] : Tensor(), o); }
Tensor convt(const V& in, Conv2dOptions o, int64_t oph, int64_t opw) {
  return conv_transpose2d(in[0], in[1], in.size() > 2 ? in[2] : Tensor(), o, oph, opw);
}
std::vector<OpSample> with_atol(std::vector<OpSample> s, double atol, double rtol = 2e-4) {
  for (auto& one : s) one.atol = atol, one.rtol = rtol;
  return s;
}

// batch_norm in train mode with running statistics: y and, after it, the updated running
// statistics, so the in-place update is compared too (not gradchecked: the statistics move
// with x outside autograd).
Tensor train_with_running(const V& v, bool affine) {
  const int64_t c = v[0].size(1);
  Tensor rm = full({c}, 0.25, v[0].dtype(), v[0].device()), rv = full({c}, 1.5, v[0].dtype(), v[0].device());
  Tensor y = affine ? batch_norm(v[0], rm, rv, v[1], v[2], true, 0.1, 1e-5) : batch_norm(v[0], rm, rv, {}, {}, true);
  return cat({reshape(y, {-1}), rm, rv}, 0);
}

// batch_norm_act in train mode with running statistics (as train_with_running).
Tensor act_train_with_running(const V& v, double slope) {
  const int64_t c = v[0].size(1);
  Tensor rm = full({c}, 0.25, v[0].dtype(), v[0].device()), rv = full({c}, 1.5, v[0].dtype(), v[0].device());
  Tensor y = batch_norm_act(v[0], rm, rv, v[1], v[2], true, 0.1, 1e-5, slope);
  return cat({reshape(y, {-1}), rm, rv}, 0);
}

// StyleGAN2's [1,3,3,1] blur, outer product, times gain.
Tensor blur(double gain, const Tensor& like) {
  const double f1[] = {1, 3, 3, 1};
  std::vector<double> v;
  for (double a : f1)
    for (double b : f1) v.push_back(a * b / 64.0 * gain);
  return from_vector(v, {4, 4}, like.dtype(), like.device());
}

// The sample tables keep one row per case (clang-format leaves them as written).
// clang-format off
std::vector<OpSample> conv2d_samples() {
  return with_atol(
      {{[](const V& in) { return conv(in, options(1, 1, 1, 1, 1, 1)); }, {{{1, 3, 7, 5}}, {{4, 3, 3, 3}}, {{4}}},
        "N=1, C=3, a 7x5 image, bias"},
       {[](const V& in) { return conv(in, options(2, 2, 1, 0, 1, 1)); }, {{{2, 3, 9, 7}}, {{5, 3, 3, 2}}},
        "stride 2 on odd sizes, no bias, a 3x2 kernel"},
       {[](const V& in) { return conv(in, options(1, 2, 3, 2, 2, 2)); }, {{{2, 2, 6, 7}}, {{3, 2, 3, 3}}, {{3}}},
        "padding larger than the kernel's half-width, dilation 2"},
       {[](const V& in) { return conv(in, options(2, 2, 1, 1, 1, 1)); }, {{{2, 1, 28, 28}}, {{32, 1, 4, 4}}, {{32}}},
        "DCGAN discriminator: 1 -> 32 ch, 28x28 -> 14x14, 4x4 s2 p1"},
       {[](const V& in) { return conv(in, options(2, 2, 1, 1, 1, 1)); }, {{{2, 32, 14, 14}}, {{64, 32, 4, 4}}},
        "DCGAN discriminator: 32 -> 64 ch, 14x14 -> 7x7"},
       {[](const V& in) { return conv(in, options(2, 1, 1, 2, 1, 2)); }, {{{2, 3, 5, 4}}, {{2, 3, 3, 2}}, {{2}}},
        "stride 2x1, padding 1x2, dilation 1x2 (gradchecked)"},
       {[](const V& in) { return conv(in, {2, 1, 1, 1, 1, 1, 2}); }, {{{2, 4, 5, 4}}, {{6, 2, 3, 2}}, {{6}}},
        "groups 2, stride 2x1, bias (gradchecked)"},
       {[](const V& in) { return conv(in, {1, 1, 1, 1, 1, 1, 3}); }, {{{1, 3, 7, 5}}, {{3, 1, 3, 3}}, {{3}}},
        "depthwise: groups = Cin = 3 (gradchecked)"},
       {[](const V& in) { return conv(in, {1, 1, 1, 0, 2, 1, 4}); }, {{{2, 8, 9, 7}}, {{12, 2, 3, 3}}},
        "groups 4, 3 output channels a group, dilation 2x1, no bias"}},
      kConvAtol);
}

std::vector<OpSample> conv_transpose2d_samples() {
  return with_atol(
      {{[](const V& in) { return convt(in, options(2, 2, 1, 1, 1, 1), 1, 0); }, {{{1, 3, 4, 3}}, {{3, 2, 3, 3}}, {{2}}},
        "weight [Cin, Cout, KH, KW]; stride 2 with output_padding 1x0"},
       {[](const V& in) { return convt(in, options(3, 1, 2, 1, 2, 1), 2, 0); }, {{{2, 2, 5, 3}}, {{2, 3, 3, 2}}},
        "dilation 2, odd sizes, stride 3x1, output_padding 2x0, no bias"},
       {[](const V& in) { return convt(in, options(2, 2, 1, 1, 1, 1), 0, 0); },
        {{{2, 64, 7, 7}}, {{64, 32, 4, 4}}, {{32}}}, "DCGAN generator: 64 -> 32 ch, 7x7 -> 14x14"},
       {[](const V& in) { return convt(in, options(2, 2, 1, 1, 1, 1), 0, 0); }, {{{2, 32, 14, 14}}, {{32, 1, 4, 4}}},
        "DCGAN generator: 32 -> 1 ch, 14x14 -> 28x28"},
       {[](const V& in) { return convt(in, options(1, 1, 0, 0, 2, 2), 1, 1); }, {{{1, 1, 2, 2}}, {{1, 1, 2, 2}}},
        "output_padding >= stride (dilation > stride): the issue 14 case"},
       {[](const V& in) { return convt(in, options(2, 1, 1, 0, 3, 2), 2, 1); }, {{{2, 2, 3, 3}}, {{2, 3, 2, 3}}, {{3}}},
        "output_padding 2 >= stride 2 in rows"},
       {[](const V& in) { return convt(in, options(2, 2, 1, 0, 1, 1), 1, 1); }, {{{2, 3, 3, 2}}, {{3, 2, 3, 3}}, {{2}}},
        "stride 2, padding 1x0, output_padding 1 (gradchecked)"},
       {[](const V& in) { return convt(in, options(2, 1, 1, 0, 3, 2), 2, 1); }, {{{2, 2, 3, 3}}, {{2, 2, 2, 3}}, {{2}}},
        "output_padding >= stride, 2 output channels (gradchecked)"}},
      kConvAtol);
}

std::vector<OpSample> conv2d_backward_weight_samples() {
  return with_atol(
      {{[](const V& in) { return conv2d_backward_weight(in[0], in[1], {4, 3, 3, 2}, options(2, 1, 1, 2, 1, 2)); },
        {{{2, 4, 4, 7}}, {{2, 3, 7, 5}}}, "its rule is conv2d and conv_transpose2d"},
       {[](const V& in) { return conv2d_backward_weight(in[0], in[1], {32, 1, 4, 4}, options(2, 2, 1, 1, 1, 1)); },
        {{{4, 32, 14, 14}}, {{4, 1, 28, 28}}}, "DCGAN's first discriminator layer"},
       {[](const V& in) { return conv2d_backward_weight(in[0], in[1], {2, 2, 2, 3}, options(2, 1, 1, 0, 3, 2)); },
        {{{2, 2, 3, 2}}, {{2, 2, 8, 7}}}, "g one row and column short of conv2d's output (output_padding >= stride)"},
       {[](const V& in) { return conv2d_backward_weight(in[0], in[1], {3, 2, 2, 3}, Conv2dOptions::square(1, 1)); },
        {{{1, 3, 6, 4}}, {{1, 2, 5, 4}}}, "stride 1 pad 1 (gradchecked)"}},
      kConvAtol);
}

std::vector<OpSample> batch_norm_act_samples() {
  std::vector<OpSample> s = with_atol(
      {{[](const V& v) { return act_train_with_running(v, 0.2); }, {{{2, 3, 7, 5}}, {{3}}, {{3}}},
        "train leaky 0.2, running stats, affine"},
       {[](const V& v) { return batch_norm_act(v[0], {}, {}, v[1], v[2], true, 0.1, 1e-5, 0.2); },
        {{{4, 3, 2, 3}}, {{3}, 0.5, 1.5}, {{3}}}, "train leaky 0.2, affine (gradchecked)"},
       {[](const V& v) { return batch_norm_act(v[0], {}, {}, {}, {}, true, 0.1, 1e-5, 0.0); }, {{{2, 3, 2, 3}}},
        "train relu (gradchecked)"},
       {[](const V& v) { return batch_norm_act(v[0], {}, {}, v[1], v[2], true, 0.1, 1e-3, 0.0); },
        {{{6, 4}}, {{4}, 0.5, 1.5}, {{4}}}, "train relu [N,C], affine, eps 1e-3 (gradchecked)"}},
      kNormAtol, kNormRtol);
  s[0].gradcheck = false;
  s.push_back({[](const V& v) { return batch_norm_act(v[0], v[1], v[2], v[3], v[4], false, 0.1, 1e-5, 0.2); },
               {{{4, 3, 2, 3}}, {{3}, 0, 1, {}, true}, {{3}, 0.5, 1.5, {}, true}, {{3}, 0.5, 1.5}, {{3}}},
               "eval leaky 0.2, affine (gradchecked)"});
  return s;
}

std::vector<OpSample> batch_norm_samples() {
  std::vector<OpSample> s = with_atol(
      {{[](const V& v) { return train_with_running(v, true); }, {{{7, 5}}, {{5}}, {{5}}}, "train, running stats, affine"},
       {[](const V& v) { return train_with_running(v, false); }, {{{2, 3, 7, 5}, -2, 3}}, "train, running stats"},
       {[](const V& v) { return batch_norm(v[0], {}, {}, {}, {}, true); }, {{{1, 3, 7, 5}}}, "train"},
       {[](const V& v) { return batch_norm(v[0], {}, {}, v[1], v[2], true); }, {{{1, 3, 7, 5}}, {{3}}, {{3}}},
        "train, affine"},
       {[](const V& v) { return batch_norm(v[0], {}, {}, v[1], v[2], true, 0.1, 1e-5); },
        {{{4, 3, 2, 3}}, {{3}, 0.5, 1.5}, {{3}}}, "train affine (gradchecked)"},
       {[](const V& v) { return batch_norm(v[0], {}, {}, {}, {}, true); }, {{{5, 3}}}, "train [N,C] (gradchecked)"}},
      kNormAtol, kNormRtol);
  s[0].gradcheck = s[1].gradcheck = false;
  const In rm{{5}, -1, 1, {}, true}, rv{{5}, 0.5, 2, {}, true}, rm3{{3}, -1, 1, {}, true}, rv3{{3}, 0.5, 2, {}, true};
  s.push_back({[](const V& v) { return batch_norm(v[0], v[1], v[2], v[3], v[4], false); },
               {{{7, 5}}, rm, rv, {{5}}, {{5}}}, "eval, affine"});
  s.push_back({[](const V& v) { return batch_norm(v[0], v[1], v[2], {}, {}, false); }, {{{1, 3, 7, 5}}, rm3, rv3},
               "eval"});
  s.push_back({[](const V& v) { return batch_norm(v[0], v[1], v[2], v[3], {}, false); },
               {{{2, 3, 7, 5}}, rm3, rv3, {{3}}}, "eval, weight only"});
  s.push_back({[](const V& v) { return batch_norm(v[0], v[1], v[2], v[3], v[4], false); },
               {{{4, 3, 2, 3}}, {{3}, 0, 1, {}, true}, {{3}, 0.5, 1.5, {}, true}, {{3}, 0.5, 1.5}, {{3}}},
               "eval affine (gradchecked)"});
  return s;
}

std::vector<OpSample> modconv_samples(const char* which) {
  const Conv2dOptions same = Conv2dOptions::square(1, 1), odd{2, 1, 1, 0, 1, 2}, o{2, 1, 1, 1, 1, 2};
  const In style{{3, 5}, 0.3, 1.3}, s23{{2, 3}, 0.3, 1.3}, d22{{2, 2}, 0.3, 1.3};
  std::vector<OpSample> s;
  const std::string w = which;
  if (w == "modulated_conv2d") {
    s = {{[same](const V& in) { return modulated_conv2d(in[0], in[1], in[2], true, same); },
          {{{3, 5, 7, 6}}, {{4, 5, 3, 3}}, style}, "StyleGAN2's 3x3 conv, demodulated, styles in [0.3, 1.3]"},
         {[](const V& in) { return modulated_conv2d(in[0], in[1], in[2], false); },
          {{{2, 7, 5, 3}}, {{3, 7, 1, 1}}, {{2, 7}, 0.3, 1.3}}, "toRGB: a modulated 1x1 without demodulation"},
         {[same](const V& in) { return modulated_conv2d(in[0], in[1], in[2], true, same); },
          {{{2, 65, 6, 5}}, {{66, 65, 3, 3}}, {{2, 65}, 0.3, 1.3}}, "more than one 64x64 tile in M and K"},
         {[o](const V& in) { return modulated_conv2d(in[0], in[1], in[2], true, o); },
          {{{2, 3, 5, 4}}, {{2, 3, 3, 2}}, s23}, "demodulated, stride 2x1, dilation 1x2 (gradchecked)"},
         {[same](const V& in) { return modulated_conv2d(in[0], in[1], in[2], false, same); },
          {{{2, 3, 5, 4}}, {{2, 3, 3, 3}}, s23}, "plain, 3x3 same padding (gradchecked)"},
         {[](const V& in) { return modulated_conv2d(in[0], in[1], in[2], false); },
          {{{2, 3, 5, 4}}, {{1, 3, 1, 1}}, s23}, "1x1 toRGB (gradchecked)"}};
  } else if (w == "modulation_demod") {
    s = {{[](const V& in) { return modulation_demod(in[0], in[1]); }, {{{4, 5, 3, 3}}, style}},
         {[](const V& in) { return modulation_demod(in[0], in[1]); }, {{{2, 3, 2, 2}}, s23}, "(gradchecked)"}};
  } else if (w == "modconv2d") {
    s = {{[odd](const V& in) { return modconv2d(in[0], in[1], in[2], in[3], odd); },
          {{{2, 3, 9, 7}}, {{5, 3, 3, 2}}, {{2, 3}}, {{2, 5}}}, "every input free: stride 2x1, padding 1x0, dilation 1x2"},
         {[o](const V& in) { return modconv2d(in[0], in[1], in[2], in[3], o); },
          {{{2, 3, 5, 4}}, {{2, 3, 3, 2}}, s23, d22}, "(gradchecked)"}};
  } else if (w == "modconv2d_backward_input") {
    s = {{[odd](const V& in) { return modconv2d_backward_input(in[0], in[1], in[2], in[3], {2, 3, 9, 7}, odd); },
          {{{2, 5, 5, 5}}, {{5, 3, 3, 2}}, {{2, 3}}, {{2, 5}}}},
         {[o](const V& in) { return modconv2d_backward_input(in[0], in[1], in[2], in[3], {2, 3, 5, 4}, o); },
          {{{2, 2, 3, 4}}, {{2, 3, 3, 2}}, s23, d22}, "(gradchecked)"}};
  } else if (w == "modconv2d_backward_weight") {
    s = {{[odd](const V& in) { return modconv2d_backward_weight(in[0], in[1], in[2], in[3], {5, 3, 3, 2}, odd); },
          {{{2, 5, 5, 5}}, {{2, 3, 9, 7}}, {{2, 3}}, {{2, 5}}}},
         {[o](const V& in) { return modconv2d_backward_weight(in[0], in[1], in[2], in[3], {2, 3, 3, 2}, o); },
          {{{2, 2, 3, 4}}, {{2, 3, 5, 4}}, s23, d22}, "(gradchecked)"}};
  } else if (w == "upfirdn2d") {
    s = {{[](const V& in) { return upfirdn2d(in[0], blur(4, in[0]), {2, 1, 2, 1, 2, 1}); }, {{{3, 2, 7, 5}}},
          "StyleGAN2's 2x upsampling blur"},
         {[](const V& in) { return upfirdn2d(in[0], blur(1, in[0]), {1, 2, 1, 1, 1, 1}); }, {{{3, 2, 7, 5}}},
          "the discriminator's blur before a stride-2 step"},
         {[](const V& in) { return upfirdn2d(in[0], blur(4, in[0]), {2, 1, 2, 1, 2, 1}); }, {{{2, 2, 4, 3}}},
          "blur up 2 (gradchecked)"},
         {[](const V& in) { return upfirdn2d(in[0], blur(1, in[0]), {1, 2, 1, 1, 1, 1}); }, {{{2, 2, 4, 3}}},
          "blur down 2 (gradchecked)"},
         {[](const V& in) { return upfirdn2d(in[0], in[1], {3, 2, 2, -1, 0, 1}); },
          {{{2, 2, 4, 3}}, {{3, 2}, 0.5, 1.5, {}, true}}, "asymmetric, up 3 down 2, a crop (gradchecked)"}};
  }
  return with_atol(s, kConvAtol);
}

}  // namespace

const std::vector<OpInfo>& op_registry() {
  static const std::vector<OpInfo> ops = {
      // ---- elementwise (kernels/elementwise_ops.hpp, kernels/cuda/elementwise.cu) ----
      {"add", kCpuCuda, kGradGrad,
       {{[](const V& x) { return add(x[0], x[1]); }, {kAny, kBcast}},
        {[](const V& x) { return add(x[0], x[1]); }, {{{3, 1, 4}}, {{2, 4}}}, "broadcast both ways"}}},
      {"sub", kCpuCuda, kGradGrad,
       {{[](const V& x) { return sub(x[0], x[1]); }, {kAny, kBcast}},
        {[](const V& x) { return sub(x[0], x[1]); }, {{{3, 1, 4}}, {{2, 4}}}, "broadcast both ways"}}},
      {"mul", kCpuCuda, kGradGrad,
       {{[](const V& x) { return mul(x[0], x[1]); }, {kAny, kBcast}},
        {[](const V& x) { return mul(x[0], x[1]); }, {{{3, 1, 4}}, {{2, 4}}}, "broadcast both ways"}}},
      {"div", kCpuCuda, kGradGrad,
       {{[](const V& x) { return div(x[0], x[1]); }, {kAny, {kB2, 0.5, 2}}},
        {[](const V& x) { return div(x[0], x[1]); }, {{{3, 1, 4}}, {{2, 4}, 0.5, 2.0}}, "broadcast both ways"}}},
      // minimum/maximum of x and x + an offset kept 0.1 from zero: no ties under central differences
      {"minimum", kCpuCuda, kGradGrad,
       {{[](const V& x) { return minimum(x[0], x[1]); }, {kAny, kBcast}},
        {[](const V& x) { return minimum(x[0], add(x[0], x[1])); }, {{{7, 3}}, {{7, 3}, -1, 1, {0.0}, false, 0.1}},
         "away from ties"}}},
      {"maximum", kCpuCuda, kGradGrad,
       {{[](const V& x) { return maximum(x[0], x[1]); }, {kAny, kBcast}},
        {[](const V& x) { return maximum(x[0], add(x[0], x[1])); }, {{{7, 3}}, {{7, 3}, -1, 1, {0.0}, false, 0.1}},
         "away from ties"}}},
      {"add_scalar", kCpuCuda, kGradGrad,
       {{[](const V& x) { return add(x[0], 1.5); }, {kAny}}, {[](const V& x) { return add(x[0], 2.5); }, {{{3, 1, 4}}}}}},
      {"mul_scalar", kCpuCuda, kGradGrad,
       {{[](const V& x) { return mul(x[0], -2.0); }, {kAny}},
        {[](const V& x) { return mul(x[0], -1.5); }, {{{3, 1, 4}}}}}},
      {"neg", kCpuCuda, kGradGrad, {{[](const V& x) { return neg(x[0]); }, {kAny}}}},
      {"pow", kCpuCuda, kGradGrad,
       {{[](const V& x) { return pow(x[0], 3.0); }, {kAny}, "pow 3"},
        {[](const V& x) { return pow(x[0], 2.0); }, {{{7, 1, 5}}}, "pow 2"},
        {[](const V& x) { return pow(x[0], -1.5); }, {{{7, 1, 5}, 0.3, 2.0}}, "pow -1.5"},
        {[](const V& x) { return pow(x[0], 0.0); }, {{{7, 1, 5}, 0.3, 2.0}}, "pow 0"}}},
      {"sqrt", kCpuCuda, kGradGrad, {{[](const V& x) { return sqrt(x[0]); }, {kPos}}}},
      {"rsqrt", kCpuCuda, kGradGrad, {{[](const V& x) { return rsqrt(x[0]); }, {kPos}}}},
      {"exp", kCpuCuda, kGradGrad, {{[](const V& x) { return exp(x[0]); }, {kAny}}}},
      {"log", kCpuCuda, kGradGrad, {{[](const V& x) { return log(x[0]); }, {kPos}}}},
      {"abs", kCpuCuda, kGradGrad, {{[](const V& x) { return abs(x[0]); }, {kKink0}}}},
      {"sign", kCpuCuda, kNoGrad, {{[](const V& x) { return sign(x[0]); }, {kAny}}}},
      {"clamp", kCpuCuda, kGradGrad,
       {{[](const V& x) { return clamp(x[0], -0.5, 0.5); }, {{kOdd, -1, 1, {0.5}}}},
        {[](const V& x) { return clamp(x[0], -0.4, 0.6); }, {{{7, 1, 5}, -1, 1, {-0.4, 0.6}}}, "both bounds"},
        {[](const V& x) { return clamp(x[0], -0.4, std::nullopt); }, {{{7, 1, 5}, -1, 1, {-0.4}}}, "lower bound only"}}},
      {"where", kCpuCuda, kGradGrad,
       {{[](const V& x) { return where(gt(x[0], 0.0), x[0], x[1]); }, {kKink0, kBcast}},
        {[](const V& x) { return where(gt(x[2], 0.0), x[0], x[1]); }, {{{7, 1, 5}}, {{5}}, {{7, 1, 5}, -1, 1, {}, true}},
         "a constant mask"}}},
      {"eq", kCpuCuda, kNoGrad, {{[](const V& x) { return eq(x[0], x[1]); }, {kAny, kBcast}}}},
      {"ne", kCpuCuda, kNoGrad, {{[](const V& x) { return ne(x[0], x[1]); }, {kAny, kBcast}}}},
      {"lt", kCpuCuda, kNoGrad, {{[](const V& x) { return lt(x[0], x[1]); }, {kAny, kBcast}}}},
      {"le", kCpuCuda, kNoGrad, {{[](const V& x) { return le(x[0], x[1]); }, {kAny, kBcast}}}},
      {"gt", kCpuCuda, kNoGrad, {{[](const V& x) { return gt(x[0], x[1]); }, {kAny, kBcast}}}},
      {"ge", kCpuCuda, kNoGrad, {{[](const V& x) { return ge(x[0], x[1]); }, {kAny, kBcast}}}},
      {"relu", kCpuCuda, kGradGrad,
       {{[](const V& x) { return relu(x[0]); }, {kKink0}},
        {[](const V& x) { return relu(x[0]); }, {{{3, 7, 5}, -1, 1, {0.0}}}}}},
      {"leaky_relu", kCpuCuda, kGradGrad,
       {{[](const V& x) { return leaky_relu(x[0], 0.2); }, {kKink0}},
        {[](const V& x) { return leaky_relu(x[0], 0.2); }, {{{3, 7, 5}, -1, 1, {0.0}}}}}},
      {"leaky_relu_backward", kCpuCuda, kGradGrad,
       {{[](const V& x) { return leaky_relu_backward(x[0], x[1], 0.2); }, {kAny, kKink0}},
        {[](const V& x) { return leaky_relu_backward(x[0], x[1], 0.2); }, {{{3, 7, 5}}, {{3, 7, 5}, -1, 1, {0.0}}}}}},
      {"sigmoid", kCpuCuda, kGradGrad,
       {{[](const V& x) { return sigmoid(x[0]); }, {{kOdd, -4, 4}}},
        {[](const V& x) { return sigmoid(x[0]); }, {{{3, 7, 5}, -3, 3}}}}},
      {"tanh", kCpuCuda, kGradGrad,
       {{[](const V& x) { return tanh(x[0]); }, {{kOdd, -3, 3}}}, {[](const V& x) { return tanh(x[0]); }, {{{3, 7, 5}, -3, 3}}}}},
      {"softplus", kCpuCuda, kGradGrad,
       {{[](const V& x) { return softplus(x[0]); }, {{kOdd, -5, 5}}},
        {[](const V& x) { return softplus(x[0]); }, {{{3, 7, 5}, -3, 3}}}}},
      // ---- reductions (kernels/cuda/reduce.cu; mean, var, norm, sum_to are compositions) ----
      {"sum", kCpuCuda, kGradGrad,
       {{[](const V& x) { return sum(x[0], {0, 2}); }, {kAny}},
        {[](const V& x) { return sum(x[0]); }, {{{70001}}}, "one long row: many threads per block"},
        {[](const V& x) { return sum(x[0]); }, {{{4, 3, 5}}}, "all"},
        {[](const V& x) { return sum(x[0], {-1}, true); }, {{{4, 3, 5}}}, "keepdim"},
        {[](const V& x) { return sum(x[0], {0, 2}); }, {{{6, 1, 5, 37}}}, "leading dims (a size-1 dim between): down the columns"},
        {[](const V& x) { return sum(x[0], {0}); }, {{{3, 600}}}, "down the columns: two blocks of 512"}}},
      {"mean", kCpuCuda, kGradGrad,
       {{[](const V& x) { return mean(x[0], {-1}, true); }, {kAny}},
        {[](const V& x) { return mean(x[0], {1}); }, {{{4, 3, 5}}}}}},
      {"var", kCpuCuda, kGradGrad,
       {{[](const V& x) { return var(x[0], {0}); }, {kAny}},
        {[](const V& x) { return var(x[0], {0, 2}); }, {{{4, 3, 5}}}, "unbiased"},
        {[](const V& x) { return var(x[0], {1}, 0, true); }, {{{4, 3, 5}}}, "biased keepdim"}}},
      {"max", kCpuCuda, kGradGrad,
       {{[](const V& x) { return max(x[0], {2}); }, {kAny}},
        {[](const V& x) { return max(x[0], {1}); }, {{{4, 3, 5}}}, "dims"},
        {[](const V& x) { return max(x[0]); }, {{{4, 3, 5}}}, "all"}}},
      {"argmax", kCpuCuda, kNoGrad, {{[](const V& x) { return argmax(x[0], 0); }, {kAny}}}},
      {"norm", kCpuCuda, kGradGrad,
       {{[](const V& x) { return norm(x[0], 2, {0, 3}); }, {kAny}},
        {[](const V& x) { return norm(x[0], 2, {2}); }, {{{4, 3, 5}}}, "norm 2"},
        {[](const V& x) { return norm(x[0], 1); }, {{{4, 3, 5}, -1, 1, {0.0}}}, "norm 1"},
        {[](const V& x) { return norm(x[0], 3, {0}, true); }, {{{4, 3, 5}}}, "norm 3"}}},
      {"sum_to", kCpuCuda, kGradGrad,
       {{[](const V& x) { return sum_to(x[0], {5, 1}); }, {kAny}},
        {[](const V& x) { return sum_to(x[0], {3, 1}); }, {{{4, 3, 5}}}}}},
      // ---- views and data movement (kernels/cuda/fill_copy.cu) ----
      {"reshape", kCpuCuda, kGradGrad,
       {{[](const V& x) { return reshape(x[0], {5, -1}); }, {kAny}},
        {[](const V& x) { return reshape(x[0], {5, -1}); }, {{{2, 3, 5}}}}}},
      {"view", kCpuCuda, kGradGrad,
       {{[](const V& x) { return view(x[0], {35, 3}); }, {kAny}}, {[](const V& x) { return view(x[0], {6, 5}); }, {{{2, 3, 5}}}}}},
      {"flatten", kCpuCuda, kGradGrad,
       {{[](const V& x) { return flatten(x[0], 1); }, {kAny}}, {[](const V& x) { return flatten(x[0], 1); }, {{{2, 3, 5}}}}}},
      {"narrow", kCpuCuda, kGradGrad,
       {{[](const V& x) { return narrow(x[0], 2, 1, 3); }, {kAny}},
        {[](const V& x) { return narrow(x[0], 2, 1, 3); }, {{{2, 3, 5}}}}}},
      {"narrow_backward", kCpuCuda, kGradGrad,
       {{[](const V& x) { return narrow_backward(x[0], {7, 1, 9, 3}, 2, 2); }, {kAny}},
        {[](const V& x) { return narrow_backward(x[0], {2, 3, 9}, 2, 4); }, {{{2, 3, 5}}}}}},
      {"select", kCpuCuda, kGradGrad,
       {{[](const V& x) { return select(x[0], 0, -2); }, {kAny}},
        {[](const V& x) { return select(x[0], 1, -1); }, {{{2, 3, 5}}}}}},
      {"squeeze", kCpuCuda, kGradGrad,
       {{[](const V& x) { return squeeze(x[0], 1); }, {kAny}},
        {[](const V& x) { return squeeze(unsqueeze(x[0], 1), 1); }, {{{2, 3, 5}}}, "unsqueeze+squeeze"}}},
      {"unsqueeze", kCpuCuda, kGradGrad, {{[](const V& x) { return unsqueeze(x[0], 2); }, {kAny}}}},
      {"transpose", kCpuCuda, kGradGrad,
       {{[](const V& x) { return contiguous(transpose(x[0], 0, 3)); }, {kAny}},
        {[](const V& x) { return transpose(x[0], 0, 2); }, {{{2, 3, 5}}}}}},
      {"permute", kCpuCuda, kGradGrad,
       {{[](const V& x) { return permute(x[0], {3, 0, 2, 1}); }, {kAny}},
        {[](const V& x) { return permute(x[0], {1, 2, 0}); }, {{{2, 3, 5}}}}}},
      {"expand", kCpuCuda, kGradGrad,
       {{[](const V& x) { return expand(x[0], {2, 5, 3}); }, {{{5, 1}}}},
        {[](const V& x) { return expand(x[0], {4, 2, 3, 5}); }, {{{2, 3, 5}}}},
        {[](const V& x) { return expand(x[0], {3, 4}); }, {{{3, 1}}}, "size-1"}}},
      {"contiguous", kCpuCuda, kGradGrad,
       {{[](const V& x) { return contiguous(transpose(x[0], 1, 2)); }, {kAny}},
        {[](const V& x) { return contiguous(transpose(x[0], 1, 2)); }, {{{2, 3, 5}}}}}},
      {"clone", kCpuCuda, kGradGrad,
       {{[](const V& x) { return clone(x[0]); }, {kAny}}, {[](const V& x) { return clone(x[0]); }, {{{2, 3, 5}}}}}},
      {"to_dtype", kCpuCuda, kGrad,
       {{[](const V& x) { return mul(x[0].to(DType::i64).to(DType::f32), 1.0); }, {{kOdd, -5, 5}}, "through int64",
         1e-5, 2e-4, false}},
       "values only: a cast's gradient is the cast back, and float32 rounding defeats central differences"},
      {"to_device", kCpuCuda, kGradGrad, {{[](const V& x) { return exp(x[0].to(Device::cpu()).to(x[0].device())); }, {kAny}}}},
      {"cat", kCpuCuda, kGradGrad,
       {{[](const V& x) { return cat({x[0], x[1]}, 2); }, {kAny, {{7, 1, 2, 3}}}},
        {[](const V& x) { return cat({x[0], x[1]}, 1); }, {{{2, 3, 5}}, {{2, 1, 5}}}}}},
      {"stack", kCpuCuda, kGradGrad,
       {{[](const V& x) { return stack({x[0], x[1]}, 1); }, {kAny, kAny}},
        {[](const V& x) { return stack({x[0], x[1]}, 2); }, {{{2, 3, 5}}, {{2, 3, 5}}}}}},
      // ---- softmax and losses (log_softmax: kernels/cuda/reduce.cu; the losses are compositions) ----
      {"log_softmax", kCpuCuda, kGradGrad,
       {{[](const V& x) { return log_softmax(x[0], 2); }, {{kOdd, -3, 3}}},
        {[](const V& x) { return log_softmax(x[0], 1); }, {{{4, 5}, -2, 2}}},
        {[](const V& x) { return log_softmax(x[0], 0); }, {{{4, 5}, -2, 2}}, "dim 0"}}},
      {"softmax", kCpuCuda, kGradGrad,
       {{[](const V& x) { return softmax(x[0], 0); }, {{kOdd, -3, 3}}},
        {[](const V& x) { return softmax(x[0], -1); }, {{{4, 5}, -2, 2}}}}},
      {"bce_with_logits", kCpuCuda, kGradGrad,
       {{[](const V& x) { return bce_with_logits(x[0], x[1]); }, {kAny, {kOdd, 0, 1}}},
        {[](const V& x) { return bce_with_logits(x[0], x[1]); }, {{{4, 5}, -2, 2}, {{4, 5}, 0, 1, {}, true}},
         "constant targets"},
        {[](const V& x) { return bce_with_logits(x[0], x[1], Reduction::sum); }, {{{4, 5}, -2, 2}, {{4, 5}, 0, 1}},
         "sum"}}},
      {"mse_loss", kCpuCuda, kGradGrad,
       {{[](const V& x) { return mse_loss(x[0], x[1]); }, {kAny, kAny}},
        {[](const V& x) { return mse_loss(x[0], x[1]); }, {{{4, 5}, -2, 2}, {{4, 5}}}}}},
      {"l1_loss", kCpuCuda, kGradGrad,
       {{[](const V& x) { return l1_loss(x[0], x[1]); }, {{kOdd, 0.2, 1}, {kOdd, -1, -0.2}}},
        {[](const V& x) { return l1_loss(add(x[1], x[0]), x[1], Reduction::none); },
         {{{4, 5}, -1, 1, {0.0}}, {{4, 5}, -1, 1, {}, true}}, "none, a constant target"}}},
      {"cross_entropy", kCpuCuda, kGradGrad,
       {{[](const V& x) { return cross_entropy(x[0], from_indices({1, 4, 0, 4}, {4}, x[0].device())); }, {{{4, 5}, -2, 2}}}}},
      // ---- matmul and linear (kernels/cuda/gemm.cu) ----
      {"matmul", kCpuCuda, kGradGrad,
       {{[](const V& x) { return matmul(x[0], x[1]); }, {{{4}}, {{4}}}, "two vectors"},
        {[](const V& x) { return matmul(x[0], x[1]); }, {{{2, 1, 37, 29}}, {{3, 29, 41}}}, "batched, broadcast"},
        {[](const V& x) { return matmul(x[0], x[1]); }, {{{3, 4}}, {{4, 5}}}, "2-d"},
        {[](const V& x) { return matmul(x[0], x[1]); }, {{{2, 1, 3, 4}}, {{3, 4, 2}}}, "batched broadcast, small"},
        {[](const V& x) { return matmul(x[0], x[1]); }, {{{4}}, {{4, 3}}}, "vector by matrix"}}},
      {"linear", kCpuCuda, kGradGrad,
       {{[](const V& x) { return linear(x[0], x[1], x[2]); }, {{{9, 13}}, {{70, 13}}, {{70}}}},
        {[](const V& x) { return linear(x[0], x[1], x[2]); }, {{{5, 3}}, {{2, 3}}, {{2}}}}}},
      // ---- convolution (kernels/cuda/conv.cu, conv_backward.cu) ----
      {"conv2d", kCpuCuda, kGradGrad, conv2d_samples()},
      {"conv2d_act", kCpuCuda, kGradGrad,
       with_atol({{[](const V& v) { return conv2d_act(v[0], v[1], {}, Conv2dOptions::square(2, 1), 0.2); },
                   {{{2, 1, 7, 5}}, {{3, 1, 4, 4}}}, "leaky 0.2, k4 s2 p1, one channel: in the tiles' store"},
                  {[](const V& v) { return conv2d_act(v[0], v[1], v[2], Conv2dOptions::square(1, 1), 0.0); },
                   {{{2, 3, 5, 6}}, {{4, 3, 3, 3}}, {{4}}}, "relu, bias: a pass after"},
                  {[](const V& v) {
                     Conv2dOptions o = Conv2dOptions::square(1);
                     o.groups = 2;
                     return conv2d_act(v[0], v[1], {}, o, 0.2);
                   },
                   {{{1, 4, 4, 4}}, {{2, 2, 3, 3}}}, "grouped: the composition"}},
                 kConvAtol)},
      {"conv_transpose2d", kCpuCuda, kGradGrad, conv_transpose2d_samples()},
      {"conv2d_backward_weight", kCpuCuda, kGradGrad, conv2d_backward_weight_samples()},
      // ---- normalization (kernels/cuda/batchnorm.cu; layer_norm and instance_norm reuse it) ----
      {"batch_norm", kCpuCuda, kGradGrad, batch_norm_samples()},
      {"batch_norm_act", kCpuCuda, kGradGrad, batch_norm_act_samples()},
      {"batch_norm_backward_input", kCpuCuda, kGradGrad,
       with_atol({{[](const V& v) { return batch_norm_backward_input(v[0], v[1]); }, {{{2, 3, 5, 4}}, {{2, 3, 5, 4}}},
                   "no weight (gradchecked)"},
                  {[](const V& v) { return batch_norm_backward_input(v[0], v[1], v[2], 1e-3); },
                   {{{4, 3, 2, 3}}, {{4, 3, 2, 3}}, {{3}, 0.5, 1.5}}, "weight, eps 1e-3 (gradchecked)"},
                  {[](const V& v) { return batch_norm_backward_input(v[0], v[1], v[2]); }, {{{6, 4}}, {{6, 4}}, {{4}}},
                   "[N,C], weight (gradchecked)"},
                  {[](const V& v) { return batch_norm_backward_input(v[0], v[1]); }, {{{1, 6, 300}}, {{1, 6, 300}}},
                   "layer_norm's [1, rows, len] view"}},
                 kNormAtol, kNormRtol)},
      {"layer_norm", kCpuCuda, kGradGrad,
       with_atol({{[](const V& x) { return layer_norm(x[0], {5, 3}); }, {kAny}},
                  {[](const V& v) { return layer_norm(v[0], {257}, v[1], v[2]); }, {{{3, 257}}, {{257}}, {{257}}},
                   "a row longer than a block"},
                  {[](const V& v) { return layer_norm(v[0], {1}); }, {{{4, 1}}}, "len 1: the composition"},
                  {[](const V& v) { return layer_norm(v[0], {2, 3}, v[1], v[2]); },
                   {{{4, 3, 2, 3}}, {{2, 3}}, {{2, 3}}}, "affine"}},
                 kNormAtol, kNormRtol)},
      {"layer_norm_act", kCpuCuda, kGradGrad,
       with_atol({{[](const V& v) { return layer_norm_act(v[0], {2, 3}, v[1], v[2], 1e-5, 0.2); },
                   {{{4, 3, 2, 3}}, {{2, 3}, 0.5, 1.5}, {{2, 3}}}, "leaky 0.2, affine"},
                  {[](const V& v) { return layer_norm_act(v[0], {257}, v[1], v[2], 1e-5, 0.0); },
                   {{{3, 257}}, {{257}}, {{257}}}, "relu, a row longer than a block"},
                  {[](const V& v) { return layer_norm_act(v[0], {5, 3}, {}, {}, 1e-5, 0.2); }, {{{2, 5, 3}}},
                   "no affine: the composition"}},
                 kNormAtol, kNormRtol)},
      {"instance_norm", kCpuCuda, kGradGrad,
       with_atol({{[](const V& x) { return instance_norm(reshape(x[0], {7, 1, 15})); }, {kAny}},
                  {[](const V& v) { return instance_norm(v[0], v[1], v[2]); }, {{{2, 3, 300}}, {{3}}, {{3}}}, "affine"},
                  {[](const V& v) { return instance_norm(v[0], v[1], v[2]); }, {{{4, 3, 2, 3}}, {{3}, 0.5, 1.5}, {{3}}},
                   "affine, 4-d"}},
                 kNormAtol, kNormRtol)},
      // ---- images and indexing (kernels/cuda/image.cu) ----
      {"pad2d", kCpuCuda, kGradGrad,
       {{[](const V& x) { return pad2d(reshape(x[0], {7, 1, 5, 3}), 2, 1, 3, 1, PadMode::reflect); }, {kAny}, "reflect"},
        {[](const V& x) { return pad2d(reshape(x[0], {1, 7, 5, 3}), 0, 4, 1, 2); }, {kAny}, "zero"},
        {[](const V& x) { return pad2d(x[0], 1, 2, 0, 3); }, {{{2, 3, 4, 5}}}, "zero"},
        {[](const V& x) { return pad2d(x[0], 2, 1, 3, 1, PadMode::reflect); }, {{{2, 3, 4, 5}}}, "reflect"}}},
      {"upsample_nearest2d", kCpuCuda, kGradGrad,
       {{[](const V& x) { return upsample_nearest2d(reshape(x[0], {7, 1, 5, 3}), 2, 3); }, {kAny}},
        {[](const V& x) { return upsample_nearest2d(x[0], 2, 3); }, {{{2, 3, 4, 5}}}}}},
      {"embedding", kCpuCuda, kGradGrad,
       {{[](const V& x) { return embedding(from_indices({3, 0, 3, 1, 4, 3}, {2, 3}, x[0].device()), x[0]); }, {{{5, 4}}}}}},
      {"one_hot", kCpuCuda, kNoGrad,
       {{[](const V& x) { return mul(one_hot(from_indices({2, 0, 4}, {3}, x[0].device()), 5, x[0].dtype()), x[0]); },
         {{{3, 5}}}}}},
      // ---- penalties (kernels/cuda/penalty.cu) ----
      {"gradient_penalty", kCpuCuda, kGradGrad,
       {{[](const V& x) { return gradient_penalty(x[0], 10.0); }, {kAny}},
        {[](const V& x) { return gradient_penalty(x[0], 10.0); }, {{{5, 2, 3}}}}}},
      // ---- modulated convolution (kernels/cuda/modconv.cu; modulated_conv2d and modulation_demod
      // are compositions) and upfirdn2d (kernels/cuda/upfirdn.cu) ----
      {"modulated_conv2d", kCpuCuda, kGradGrad, modconv_samples("modulated_conv2d")},
      {"modulation_demod", kCpuCuda, kGradGrad, modconv_samples("modulation_demod")},
      {"modconv2d", kCpuCuda, kGradGrad, modconv_samples("modconv2d")},
      {"modconv2d_backward_input", kCpuCuda, kGradGrad, modconv_samples("modconv2d_backward_input")},
      {"modconv2d_backward_weight", kCpuCuda, kGradGrad, modconv_samples("modconv2d_backward_weight")},
      {"upfirdn2d", kCpuCuda, kGradGrad, modconv_samples("upfirdn2d")},
  };
  return ops;
}
// clang-format on

}  // namespace gantry
