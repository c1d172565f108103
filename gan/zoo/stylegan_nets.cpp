// gan/zoo/stylegan_nets.cpp — StyleGAN2's mapping, synthesis and residual discriminator nets.
#include "gan/zoo/stylegan_nets.hpp"

#include <cmath>

#include "nn/init.hpp"

namespace gantry::gan {

using std::make_shared;

namespace {
const double kSqrt2 = std::sqrt(2.0);

// outer([1,3,3,1]) / 64 * gain, [4, 4], in x's dtype and on x's device.
Tensor fir(const Tensor& x, double gain) {
  const double f[4] = {1, 3, 3, 1};
  std::vector<double> v;
  for (double a : f)
    for (double b : f) v.push_back(a * b / 64.0 * gain);
  return from_vector(v, {4, 4}, x.dtype(), x.device());
}
}  // namespace

int64_t StyleganConfig::channels_at(int64_t res) const {
  if (res <= 8) return 2 * width;
  if (res <= 16) return width;
  return std::max<int64_t>(1, width / 2);
}

std::vector<int64_t> StyleganConfig::resolutions() const {
  std::vector<int64_t> r;
  for (int64_t s = 4; s <= image_size; s *= 2) r.push_back(s);
  return r;
}

Tensor fir_up2(const Tensor& x) { return upfirdn2d(x, fir(x, 4), {2, 1, 2, 1, 2, 1}); }
Tensor fir_down2(const Tensor& x) { return upfirdn2d(x, fir(x, 1), {1, 2, 1, 1, 1, 1}); }
Tensor lrelu_gain(const Tensor& x) { return mul(leaky_relu(x, 0.2), kSqrt2); }

EqLinear::EqLinear(int64_t in_, int64_t out_, bool lrelu_, double bias_init_, double lr_mul_)
    : in(in_), out(out_), lrelu(lrelu_), bias_init(bias_init_), lr_mul(lr_mul_) {
  weight = register_parameter("weight", zeros({out, in}));
  bias = register_parameter("bias", zeros({out}));
}

void EqLinear::init(Rng* gen) {
  nn::init::normal_(weight, 0, 1.0 / lr_mul, gen);
  nn::init::constant_(bias, bias_init);
}

Tensor EqLinear::forward(const Tensor& x) {
  Tensor y = linear(x, mul(weight, lr_mul / std::sqrt((double)in)), mul(bias, lr_mul));
  return lrelu ? lrelu_gain(y) : y;
}

EqConv::EqConv(int64_t in, int64_t out, int64_t k_, bool has_bias, bool lrelu_, bool down_, double gain_)
    : k(k_), lrelu(lrelu_), down(down_), gain(gain_) {
  weight = register_parameter("weight", zeros({out, in, k, k}));
  if (has_bias) bias = register_parameter("bias", zeros({out}));
}

void EqConv::init(Rng* gen) { nn::init::normal_(weight, 0, 1, gen); }

Tensor EqConv::forward(const Tensor& x) {
  Tensor h = down ? fir_down2(x) : x;
  const double wg = 1.0 / std::sqrt((double)(weight.size(1) * k * k));
  Tensor y = conv2d(h, mul(weight, wg), bias, Conv2dOptions::square(1, k / 2));
  if (lrelu) y = lrelu_gain(y);
  return gain == 1 ? y : mul(y, gain);
}

MappingNet::MappingNet(const StyleganConfig& c) : config(c) {
  for (int64_t i = 0; i < c.map_layers; ++i)
    fcs_.push_back(register_module("fc" + std::to_string(i),
                                   make_shared<EqLinear>(i == 0 ? c.z_dim : c.w_dim, c.w_dim, true, 0, c.map_lr_mul)));
  w_avg = register_buffer("w_avg", zeros({c.w_dim}));
}

void MappingNet::init(Rng* gen) {
  for (auto& f : fcs_) f->init(gen);
}

Tensor MappingNet::forward(const Tensor& z) {
  GANTRY_CHECK(z.dim() == 2 && z.size(1) == config.z_dim, "MappingNet: z must be [N, ", config.z_dim, "], got ",
               shape_str(z.shape()));
  Tensor x = mul(z, rsqrt(add(mean(mul(z, z), {1}, true), 1e-8)));
  for (auto& f : fcs_) x = f->forward(x);
  return x;
}

Tensor MappingNet::forward_update(const Tensor& z) {
  Tensor w = forward(z);
  NoGradGuard off;
  copy_(w_avg, add(mul(w_avg, config.w_avg_beta), mul(mean(w.detach(), {0}), 1 - config.w_avg_beta)));
  return w;
}

SynthesisLayer::SynthesisLayer(int64_t w_dim, int64_t in_, int64_t out_, int64_t res_, bool up_, bool to_rgb_)
    : in(in_), out(out_), res(res_), up(up_), to_rgb(to_rgb_) {
  affine = register_module("affine", make_shared<EqLinear>(w_dim, in, false, 1.0));
  const int64_t k = to_rgb ? 1 : 3;
  weight = register_parameter("weight", zeros({out, in, k, k}));
  bias = register_parameter("bias", zeros({out}));
  if (!to_rgb) {
    noise_strength = register_parameter("noise_strength", zeros({1}));
    noise_const = register_buffer("noise_const", zeros({1, 1, res, res}));
  }
}

void SynthesisLayer::init(Rng* gen) {
  affine->init(gen);
  nn::init::normal_(weight, 0, 1, gen);
  if (noise_const.defined()) nn::init::normal_(noise_const, 0, 1, gen);
}

Tensor SynthesisLayer::run(const Tensor& x, const Tensor& w, NoiseMode mode, Rng* noise_gen) {
  Tensor styles = affine->forward(w);
  const int64_t n = x.size(0);
  Tensor y;
  if (to_rgb) {
    styles = mul(styles, 1.0 / std::sqrt((double)in));
    y = modulated_conv2d(x, weight, styles, /*demodulate=*/false);
  } else {
    Tensor h = up ? fir_up2(x) : x;
    y = modulated_conv2d(h, weight, styles, /*demodulate=*/true, Conv2dOptions::square(1, 1));
    if (mode == NoiseMode::random)
      y = add(y, mul(randn({n, 1, res, res}, y.dtype(), noise_gen, 0, 1, y.device()), noise_strength));
    else if (mode == NoiseMode::constant) y = add(y, mul(noise_const, noise_strength));
  }
  y = add(y, reshape(bias, {1, out, 1, 1}));
  return to_rgb ? y : lrelu_gain(y);
}

SynthesisNet::SynthesisNet(const StyleganConfig& c) : config(c) {
  GANTRY_CHECK(c.image_size >= 4 && (c.image_size & (c.image_size - 1)) == 0,
               "stylegan: image size must be a power of 2 (pad 28 to 32), got ", c.image_size);
  const_input = register_parameter("const", zeros({c.channels_at(4), 4, 4}));
  int64_t idx = 0, prev = c.channels_at(4);
  for (int64_t r : c.resolutions()) {
    const int64_t ch = c.channels_at(r), tag = r;
    Block b;
    b.w0 = idx;
    if (r > 4) {
      b.conv0 = register_module("b" + std::to_string(tag) + ".conv0",
                                make_shared<SynthesisLayer>(c.w_dim, prev, ch, r, true, false));
      ++idx;
    }
    b.conv1 = register_module("b" + std::to_string(tag) + ".conv1",
                              make_shared<SynthesisLayer>(c.w_dim, r > 4 ? ch : prev, ch, r, false, false));
    ++idx;
    b.torgb = register_module("b" + std::to_string(tag) + ".torgb",
                              make_shared<SynthesisLayer>(c.w_dim, ch, c.channels, r, false, true));
    blocks_.push_back(b);
    prev = ch;
  }
  num_ws_ = idx + 1;
}

void SynthesisNet::init(Rng* gen) {
  nn::init::normal_(const_input, 0, 1, gen);
  for (auto& b : blocks_) {
    if (b.conv0) b.conv0->init(gen);
    b.conv1->init(gen);
    b.torgb->init(gen);
  }
}

Tensor SynthesisNet::run(const Tensor& ws, NoiseMode mode, Rng* noise_gen) {
  GANTRY_CHECK(ws.dim() == 3 && ws.size(1) == num_ws_ && ws.size(2) == config.w_dim, "SynthesisNet: ws must be [N, ",
               num_ws_, ", ", config.w_dim, "], got ", shape_str(ws.shape()));
  const int64_t n = ws.size(0);
  auto w_at = [&](int64_t i) { return select(ws, 1, i); };
  Tensor x = expand(unsqueeze(const_input, 0), {n, -1, -1, -1});
  Tensor img;
  for (auto& b : blocks_) {
    int64_t i = b.w0;
    if (b.conv0) x = b.conv0->run(x, w_at(i++), mode, noise_gen);
    x = b.conv1->run(x, w_at(i++), mode, noise_gen);
    Tensor y = b.torgb->run(x, w_at(i), mode, noise_gen);
    img = img.defined() ? add(fir_up2(img), y) : y;
  }
  return img;
}

StyleGenerator::StyleGenerator(const StyleganConfig& c) : config(c) {
  mapping = register_module("mapping", make_shared<MappingNet>(c));
  synthesis = register_module("synthesis", make_shared<SynthesisNet>(c));
}

void StyleGenerator::init(Rng* gen) {
  mapping->init(gen);
  synthesis->init(gen);
}

Tensor StyleGenerator::mapping_ws(const Tensor& z, double p, bool update) {
  Tensor w = update ? mapping->forward_update(z) : mapping->forward(z);
  if (p != 1) w = add(mapping->w_avg, mul(sub(w, mapping->w_avg), p));
  return expand(unsqueeze(w, 1), {w.size(0), num_ws(), w.size(1)});
}

Tensor StyleGenerator::forward(const Tensor& z) { return synthesis->run(mapping_ws(z, psi), noise_mode, noise_gen); }

Tensor minibatch_stddev(const Tensor& x, int64_t group) {
  const int64_t n = x.size(0), c = x.size(1), h = x.size(2), w = x.size(3);
  int64_t g = std::min(group, n);
  while (n % g) --g;
  const int64_t m = n / g;
  Tensor y = reshape(x, {g, m, c, h, w});
  y = sub(y, mean(y, {0}, true));
  y = sqrt(add(mean(mul(y, y), {0}), 1e-8));  // [m, c, h, w]
  y = mean(y, {1, 2, 3});                     // [m]
  y = reshape(expand(reshape(y, {1, m, 1, 1, 1}), {g, m, 1, h, w}), {n, 1, h, w});
  return cat({x, y}, 1);
}

StyleDiscriminator::StyleDiscriminator(const StyleganConfig& c) : config(c) {
  const auto res = c.resolutions();
  from_rgb_ =
      register_module("from_rgb", make_shared<EqConv>(c.channels, c.channels_at(c.image_size), 1, true, true, false));
  const double h = std::sqrt(0.5);
  for (size_t i = res.size() - 1; i >= 1; --i) {
    const int64_t r = res[i], cin = c.channels_at(r), cout = c.channels_at(r / 2);
    Block b;
    const std::string p = "b" + std::to_string(r);
    b.skip = register_module(p + ".skip", make_shared<EqConv>(cin, cout, 1, false, false, true, h));
    b.conv0 = register_module(p + ".conv0", make_shared<EqConv>(cin, cin, 3, true, true, false));
    b.conv1 = register_module(p + ".conv1", make_shared<EqConv>(cin, cout, 3, true, true, true, h));
    blocks_.push_back(b);
  }
  const int64_t c4 = c.channels_at(4);
  epi_conv_ = register_module("epi.conv", make_shared<EqConv>(c4 + 1, c4, 3, true, true, false));
  fc_ = register_module("epi.fc", make_shared<EqLinear>(c4 * 16, c4, true));
  out_ = register_module("epi.out", make_shared<EqLinear>(c4, 1, false));
}

void StyleDiscriminator::init(Rng* gen) {
  from_rgb_->init(gen);
  for (auto& b : blocks_) b.skip->init(gen), b.conv0->init(gen), b.conv1->init(gen);
  epi_conv_->init(gen);
  fc_->init(gen);
  out_->init(gen);
}

Tensor StyleDiscriminator::forward(const Tensor& x) {
  const int64_t s = config.image_size;
  GANTRY_CHECK(x.dim() == 4 && x.size(1) == config.channels && x.size(2) == s && x.size(3) == s,
               "StyleDiscriminator: images must be [N, ", config.channels, ", ", s, ", ", s, "], got ",
               shape_str(x.shape()));
  Tensor h = from_rgb_->forward(x);
  for (auto& b : blocks_) h = add(b.skip->forward(h), b.conv1->forward(b.conv0->forward(h)));
  h = epi_conv_->forward(minibatch_stddev(h, 4));
  h = fc_->forward(flatten(h, 1));
  return reshape(out_->forward(h), {x.size(0)});
}

}  // namespace gantry::gan
