// gan/zoo/cyclegan_nets.cpp — CycleGAN's ResNet generator and PatchGAN discriminator.
#include "gan/zoo/cyclegan_nets.hpp"

#include <algorithm>
#include <charconv>

#include "gan/zoo/dcgan.hpp"

namespace gantry::gan {

using nn::Conv2d;
using nn::ConvTranspose2d;
using nn::InstanceNorm2d;
using nn::LeakyReLU;
using nn::ReflectionPad2d;
using nn::ReLU;
using std::make_shared;

int64_t resnet_blocks_from_name(const std::string& net_g) {
  const std::string pre = "resnet_", post = "blocks";
  int64_t n = 0;
  bool ok = net_g.size() > pre.size() + post.size() && net_g.starts_with(pre) && net_g.ends_with(post);
  if (ok) {
    const char* first = net_g.data() + pre.size();
    const char* last = net_g.data() + net_g.size() - post.size();
    auto [end, ec] = std::from_chars(first, last, n);
    ok = ec == std::errc() && end == last && n >= 1;
  }
  GANTRY_CHECK(ok, "--netG: '", net_g, "' is not a ResNet generator; use resnet_<n>blocks with n >= 1 ",
               "(resnet_6blocks, resnet_9blocks)");
  return n;
}

ResnetBlock::ResnetBlock(int64_t dim) {
  auto b = make_shared<nn::Sequential>();
  b->add(make_shared<ReflectionPad2d>(1)).add(make_shared<Conv2d>(dim, dim, 3, 1, 0, true));
  b->add(make_shared<InstanceNorm2d>(dim)).add(make_shared<ReLU>());
  b->add(make_shared<ReflectionPad2d>(1)).add(make_shared<Conv2d>(dim, dim, 3, 1, 0, true));
  b->add(make_shared<InstanceNorm2d>(dim));
  conv_block_ = register_module("conv_block", b);
}

Tensor ResnetBlock::forward(const Tensor& x) { return add(x, conv_block_->forward(x)); }

ResnetGenerator::ResnetGenerator(const ResnetGeneratorConfig& c) : config(c) {
  GANTRY_CHECK(c.in_channels > 0 && c.out_channels > 0 && c.ngf > 0 && c.n_blocks >= 0,
               "ResnetGenerator: channels, ngf must be positive and n_blocks >= 0 (in ", c.in_channels, ", out ",
               c.out_channels, ", ngf ", c.ngf, ", n_blocks ", c.n_blocks, ")");
  const int64_t f = c.ngf;
  auto m = make_shared<nn::Sequential>();
  m->add(make_shared<ReflectionPad2d>(3)).add(make_shared<Conv2d>(c.in_channels, f, 7, 1, 0, true));
  m->add(make_shared<InstanceNorm2d>(f)).add(make_shared<ReLU>());
  for (int64_t mult : {1, 2}) {  // two stride-2 downsamplings: f -> 2f -> 4f
    m->add(make_shared<Conv2d>(f * mult, f * mult * 2, 3, 2, 1, true));
    m->add(make_shared<InstanceNorm2d>(f * mult * 2)).add(make_shared<ReLU>());
  }
  for (int64_t i = 0; i < c.n_blocks; ++i) m->add(make_shared<ResnetBlock>(4 * f));
  for (int64_t mult : {4, 2}) {  // two stride-2 upsamplings: 4f -> 2f -> f
    m->add(make_shared<ConvTranspose2d>(f * mult, f * mult / 2, 3, 2, 1, 1, true));
    m->add(make_shared<InstanceNorm2d>(f * mult / 2)).add(make_shared<ReLU>());
  }
  m->add(make_shared<ReflectionPad2d>(3)).add(make_shared<Conv2d>(f, c.out_channels, 7, 1, 0, true));
  m->add(make_shared<nn::Tanh>());
  model_ = register_module("model", m);
}

Tensor ResnetGenerator::forward(const Tensor& x) {
  GANTRY_CHECK(x.dim() == 4 && x.size(1) == config.in_channels && x.size(2) % 4 == 0 && x.size(3) % 4 == 0 &&
                   x.size(2) >= 8 && x.size(3) >= 8,
               "ResnetGenerator: images must be [N, ", config.in_channels,
               ", H, W] with H and W multiples of 4 and at least 8, got ", shape_str(x.shape()));
  return model_->forward(x);
}

PatchDiscriminator::PatchDiscriminator(const PatchDiscriminatorConfig& c) : config(c) {
  GANTRY_CHECK(c.in_channels > 0 && c.ndf > 0 && c.n_layers >= 1, "PatchDiscriminator: in_channels, ndf and n_layers ",
               "must be positive (", c.in_channels, ", ", c.ndf, ", ", c.n_layers, ")");
  const int64_t f = c.ndf;
  auto m = make_shared<nn::Sequential>();
  m->add(make_shared<Conv2d>(c.in_channels, f, 4, 2, 1, true)).add(make_shared<LeakyReLU>(0.2));
  int64_t mult = 1;
  for (int64_t n = 1; n <= c.n_layers; ++n) {  // n_layers - 1 more stride-2 convs, then one stride-1
    const int64_t prev = mult;
    mult = std::min<int64_t>(int64_t(1) << std::min<int64_t>(n, 3), 8);
    m->add(make_shared<Conv2d>(f * prev, f * mult, 4, n < c.n_layers ? 2 : 1, 1, true));
    m->add(make_shared<InstanceNorm2d>(f * mult)).add(make_shared<LeakyReLU>(0.2));
  }
  m->add(make_shared<Conv2d>(f * mult, 1, 4, 1, 1, true));
  model_ = register_module("model", m);
}

Tensor PatchDiscriminator::forward(const Tensor& x) {
  GANTRY_CHECK(x.dim() == 4 && x.size(1) == config.in_channels, "PatchDiscriminator: images must be [N, ",
               config.in_channels, ", H, W], got ", shape_str(x.shape()));
  patch_output_size(std::min(x.size(2), x.size(3)), config.n_layers);  // throws when too small
  return model_->forward(x);
}

int64_t patch_receptive_field(int64_t n_layers) {
  GANTRY_CHECK(n_layers >= 1, "patch_receptive_field: n_layers must be >= 1, got ", n_layers);
  int64_t r = 1;
  r = (r - 1) * 1 + 4;  // the 1-channel output conv
  r = (r - 1) * 1 + 4;  // the stride-1 conv
  for (int64_t i = 0; i < n_layers; ++i) r = (r - 1) * 2 + 4;
  return r;
}

int64_t patch_output_size(int64_t image_size, int64_t n_layers) {
  int64_t s = image_size;
  for (int64_t i = 0; i < n_layers && s >= 2; ++i) s = (s + 2 - 4) / 2 + 1;
  s = s - 1 - 1;  // two stride-1 4x4 convs with padding 1
  GANTRY_CHECK(s >= 1, "PatchDiscriminator: a ", image_size, " px input is too small for n_layers ", n_layers,
               " (the output map would be ", s, " px); use fewer layers");
  return s;
}

void cyclegan_init(nn::Module& m, Rng* gen) { dcgan_init(m, gen); }

}  // namespace gantry::gan
