// gan/zoo/stylegan.cpp — StyleGAN2's step (losses, lazy R1 and path length, style mixing,
// the ramped EMA), its sampling options and style-mixing grid, and the "stylegan" registration.
#include "gan/zoo/stylegan.hpp"

#include <cmath>
#include <cstdio>

#include "gan/zoo/gan_common.hpp"

namespace gantry::gan {

using std::make_shared;

Tensor r1_penalty(nn::Module& d, const Tensor& real, double gamma) {
  Tensor x = real.detach();
  x.requires_grad_(true);
  Tensor g = grad({sum(d.forward(x))}, {x}, {}, /*retain_graph=*/true, /*create_graph=*/true)[0];
  return mul(mean(sum(mul(g, g), {1, 2, 3})), gamma / 2);
}

Tensor path_lengths(const Tensor& ws, const Tensor& img, const Tensor& pl_noise) {
  Tensor g = grad({sum(mul(img, pl_noise))}, {ws}, {}, /*retain_graph=*/true, /*create_graph=*/true)[0];
  return sqrt(mean(sum(mul(g, g), {2}), {1}));
}

namespace {
StyleganConfig config_of(const Hyperparams& h, ModelShape s) {
  StyleganConfig c;
  c.image_size = 32;
  c.channels = s.channels;
  c.z_dim = h.i("z_dim");
  c.w_dim = h.i("w_dim");
  c.map_layers = h.i("map_layers");
  c.width = h.i("width");
  return c;
}

// Adam over params with the lazy-regularization correction c = I / (I + 1) (I = 0: none).
std::unique_ptr<nn::Optimizer> lazy_adam(std::vector<Tensor> p, const Hyperparams& h, int64_t interval) {
  const double c = interval > 0 ? (double)interval / (interval + 1) : 1.0;
  return std::make_unique<nn::Adam>(std::move(p), h.f("lr") * c, std::pow(h.f("beta1"), c), std::pow(h.f("beta2"), c));
}
}  // namespace

Stylegan::Stylegan(const Hyperparams& h, ModelShape shape, uint64_t seed) : GanModel(h, shape, seed) {
  GANTRY_CHECK(shape.image_size == 28 || shape.image_size == 32, "stylegan: image size must be 28 or 32, got ",
               shape.image_size);
  const StyleganConfig c = config_of(h, shape);
  Rng init_gen(seed);
  G_ = make_shared<StyleGenerator>(c);
  D_ = make_shared<StyleDiscriminator>(c);
  G_->init(&init_gen);
  D_->init(&init_gen);
  add_net("G", G_);
  add_net("D", D_);
  add_ema("G_ema", "G", make_shared<StyleGenerator>(c), 0.5);
  const int64_t g_int = h.f("pl_weight") > 0 ? h.i("pl_interval") : 0;
  const int64_t d_int = h.f("r1_gamma") > 0 ? h.i("r1_interval") : 0;
  add_optimizer("g", {"G"}, [&](std::vector<Tensor> p) { return lazy_adam(std::move(p), h, g_int); });
  add_optimizer("d", {"D"}, [&](std::vector<Tensor> p) { return lazy_adam(std::move(p), h, d_int); });
  pl_mean_ = zeros({1});
}

StyleGenerator& Stylegan::generator(const std::string& which) const {
  return dynamic_cast<StyleGenerator&>(net(which));
}

Tensor Stylegan::fit(const Tensor& img) const {
  if (shape().image_size == 32) return img;
  return narrow(narrow(img, 2, 2, 28), 3, 2, 28);
}

Tensor Stylegan::d_in(const Tensor& x) const {
  if (shape().image_size == 32) return x;
  return add(pad2d(add(x, 1.0), 2, 2, 2, 2), -1.0);  // pad with -1, the background
}

Tensor Stylegan::mixed_ws(int64_t n, bool update_w_avg) {
  Tensor ws = G_->mapping_ws(latents(n, &noise), 1, update_w_avg);
  const double mix = hyper().f("style_mix");
  const int64_t L = G_->num_ws();
  if (mix <= 0 || L < 2) return ws;
  std::vector<float> u = rand({2}, DType::f32, &noise).to_vector<float>();
  if (u[0] >= mix) return ws;
  const int64_t cut = std::min<int64_t>(L - 1, 1 + (int64_t)(u[1] * (L - 1)));  // uniform in [1, L)
  Tensor ws2 = G_->mapping_ws(latents(n, &noise), 1, false);
  return cat({narrow(ws, 1, 0, cut), narrow(ws2, 1, cut, L - cut)}, 1);
}

Losses Stylegan::step(const Batch& b) {
  const Hyperparams& h = hyper();
  const Tensor real = b.images;
  const int64_t n = real.size(0);
  nn::Optimizer &opt_g = optimizer("g"), &opt_d = optimizer("d");
  G_->train();
  D_->train();
  auto synth = [&](const Tensor& ws) { return fit(G_->synthesis_run(ws, NoiseMode::random, &noise)); };
  Losses l;

  // Gmain.
  Tensor g_logits = D_->forward(d_in(synth(mixed_ws(n, false))));
  Tensor g_loss = mean(softplus(neg(g_logits)));
  set_grads(g_loss, G_->parameters());
  opt_g.step();

  // Greg: lazy path length.
  double pl = 0;
  const double pl_w = h.f("pl_weight");
  if (pl_w > 0 && steps_ % h.i("pl_interval") == 0) {
    Tensor ws = mixed_ws(std::max<int64_t>(1, n / 2), false);
    Tensor img = synth(ws);
    Tensor y = mul(randn_like(img, &noise), 1.0 / std::sqrt((double)(img.size(2) * img.size(3))));
    Tensor a = path_lengths(ws, img, y);
    if (!(pl_mean_.device() == device())) pl_mean_ = pl_mean_.to(device());  // GanModel::to moves nets only
    {
      NoGradGuard off;
      copy_(pl_mean_, add(pl_mean_, mul(sub(mean(a.detach()), pl_mean_), 0.01)));
    }
    Tensor pen = mean(pow(sub(a, pl_mean_.detach()), 2));
    pl = pen.item();
    // The toRGB biases do not reach d img / d ws: no gradient, and Adam skips them (as torch's).
    std::vector<Tensor> ps = G_->parameters();
    std::vector<Tensor> gs =
        grad({mul(pen, pl_w * (double)h.i("pl_interval"))}, ps, {}, {}, false, /*allow_unused=*/true);
    for (size_t i = 0; i < ps.size(); ++i) ps[i].set_grad(gs[i]);
    opt_g.step();
  }

  // Dmain.
  Tensor fake;
  {
    NoGradGuard off;
    fake = synth(mixed_ws(n, true));
  }
  Tensor fake_logits = D_->forward(d_in(fake));
  Tensor real_logits = D_->forward(d_in(real));
  Tensor d_loss = add(mean(softplus(fake_logits)), mean(softplus(neg(real_logits))));
  opt_d.zero_grad();
  d_loss.backward();
  opt_d.step();

  // Dreg: lazy R1.
  double r1 = 0;
  const double gamma = h.f("r1_gamma");
  if (gamma > 0 && steps_ % h.i("r1_interval") == 0) {
    Tensor pen = r1_penalty(*D_, d_in(real), gamma);
    r1 = pen.item();
    opt_d.zero_grad();
    mul(pen, (double)h.i("r1_interval")).backward();
    opt_d.step();
  }

  // The EMA of G: half-life min(ema_kimg * 1000, images * ema_rampup) images.
  {
    NoGradGuard off;
    double half = h.f("ema_kimg") * 1000;
    if (h.f("ema_rampup") > 0) half = std::min(half, (double)images_ * h.f("ema_rampup"));
    const double beta = std::pow(0.5, (double)n / std::max(half, 1e-8));
    nn::Module& e = net("G_ema");
    auto ps = G_->parameters(), pe = e.parameters();
    for (size_t i = 0; i < ps.size(); ++i) copy_(pe[i], add(ps[i], mul(sub(pe[i], ps[i]), beta)));
    auto bs = G_->named_buffers(), be = e.named_buffers();
    for (size_t i = 0; i < bs.size(); ++i) copy_(be[i].second, bs[i].second);
  }
  ++steps_;
  images_ += n;

  NoGradGuard off;
  l.set("d_loss", d_loss.item());
  l.set("g_loss", g_loss.item());
  l.set("r1", r1);
  l.set("pl", pl);
  l.set("d_real", mean(sigmoid(real_logits)).item());
  l.set("d_fake", mean(sigmoid(fake_logits)).item());
  return l;
}

std::string Stylegan::status(const Losses& l) const {
  char buf[128];
  std::snprintf(buf, sizeof buf, "D %.3f  G %.3f  R1 %.3g  D(x) %.2f  D(G(z)) %.2f", l["d_loss"], l["g_loss"], l["r1"],
                l["d_real"], l["d_fake"]);
  return buf;
}

Tensor Stylegan::synthesize(const Tensor& ws, const std::string& which) {
  NoGradGuard off;
  StyleGenerator& g = generator(which);
  g.eval();
  Tensor img = fit(g.synthesis_run(ws.to(device()), noise_mode, &sample_noise));
  g.train();
  return clamp(img, -1.0, 1.0);
}

Tensor Stylegan::sample(const Tensor& z, const Tensor& labels, bool use_ema) {
  (void)labels;
  NoGradGuard off;
  const std::string which = use_ema ? "G_ema" : "G";
  return synthesize(generator(which).mapping_ws(z.to(device()), psi), which);
}

SampleGrid Stylegan::style_mix_grid(int64_t k, uint64_t seed, int64_t coarse, bool use_ema) {
  NoGradGuard off;
  const std::string which = use_ema ? "G_ema" : "G";
  StyleGenerator& g = generator(which);
  const int64_t L = g.num_ws();
  if (coarse < 0) coarse = std::min<int64_t>(3, L - 1);  // 4x4 conv, 8x8 conv0 and conv1
  Rng gen(seed);
  Tensor rows = g.mapping_ws(randn({k, z_dim()}, DType::f32, &gen, 0, 1, device()), psi);
  Tensor cols = g.mapping_ws(randn({k, z_dim()}, DType::f32, &gen, 0, 1, device()), psi);
  Tensor row_img = synthesize(rows, which), col_img = synthesize(cols, which);
  std::vector<Tensor> cells{full_like(narrow(row_img, 0, 0, 1), -1.0), col_img};
  for (int64_t r = 0; r < k; ++r) {
    Tensor row = expand(narrow(rows, 0, r, 1), {k, L, rows.size(2)});
    Tensor ws = cat({narrow(cols, 1, 0, coarse), narrow(row, 1, coarse, L - coarse)}, 1);
    cells.push_back(narrow(row_img, 0, r, 1));
    cells.push_back(synthesize(ws, which));
  }
  return {cat(cells, 0), k + 1};
}

std::optional<SampleGrid> Stylegan::sample_options(const std::map<std::string, std::string>& opts, int64_t n,
                                                   uint64_t seed) {
  bool grid = false;
  sample_noise = Rng(seed + 1);
  for (auto& [k, v] : opts) {
    if (k == "truncation") {
      psi = std::stod(v);
    } else if (k == "noise_mode") {
      GANTRY_CHECK(v == "const" || v == "random" || v == "none",
                   "stylegan: --noise-mode is const, random or none, got '", v, "'");
      noise_mode = v == "const" ? NoiseMode::constant : v == "random" ? NoiseMode::random : NoiseMode::none;
    } else if (k == "style_mix") {
      grid = v != "0";
    } else {
      GANTRY_CHECK(false, "stylegan has no sampling option '", k, "'");
    }
  }
  if (!grid) return std::nullopt;
  const int64_t k = std::max<int64_t>(1, std::min<int64_t>(8, (int64_t)std::sqrt((double)n) - 1));
  return style_mix_grid(k, seed);
}

nn::Named Stylegan::save_state() const { return {{"pl_mean", pl_mean_}}; }

std::map<std::string, std::string> Stylegan::save_state_metadata() const {
  return {{"steps", std::to_string(steps_)}, {"images", std::to_string(images_)}};
}

void Stylegan::restore_state(const nn::Named& tensors, const std::map<std::string, std::string>& meta) {
  for (auto& [k, t] : tensors) {
    GANTRY_CHECK(k == "pl_mean" && t.numel() == 1, "stylegan: unexpected state tensor '", k, "'");
    NoGradGuard off;
    copy_(pl_mean_, t.to(pl_mean_.device()));
  }
  for (auto& [k, v] : meta) {
    GANTRY_CHECK(k == "steps" || k == "images", "stylegan: unexpected state '", k, "'");
    (k == "steps" ? steps_ : images_) = std::stoll(v);
  }
}

namespace {
const RegisterVariant registered(
    {"stylegan",
     "StyleGAN2 (Karras et al., 2020) at 32x32: mapping + modulated convs, residual D, lazy R1, style mixing, EMA",
     {hp::z_dim(64), int_hyper("w_dim", 64, 1, 4096, "Intermediate latent w size"),
      int_hyper("map_layers", 2, 1, 16, "Mapping network FC layers (paper: 8; cifar config: 2)"), hp::width(16),
      hp::lr(0.0025, "stylegan2-ada small configs: 0.0025"), hp::beta1(0), hp::beta2(0.99),
      real_hyper("r1_gamma", 0.01, 0, 1e6, "R1 weight gamma (stylegan2-ada cifar: 0.01); 0: off"),
      int_hyper("r1_interval", 16, 1, 1000, "Lazy R1 every N D steps (paper: 16)"),
      real_hyper("pl_weight", 0, 0, 1e6, "Path-length weight (paper: 2; cifar config: 0); 0: off"),
      int_hyper("pl_interval", 4, 1, 1000, "Lazy path length every N G steps (paper: 4)"),
      real_hyper("style_mix", 0.9, 0, 1, "Style mixing probability (paper: 0.9)"),
      real_hyper("ema_kimg", 10, 0, 1e6, "EMA half-life of G in thousands of images (paper: 10)"),
      real_hyper("ema_rampup", 0.05, 0, 1, "EMA ramp-up: half-life at most images seen x this (0: none)")},
     DataKind::images,
     [](const Hyperparams& h, ModelShape s, uint64_t seed) { return std::make_unique<Stylegan>(h, s, seed); },
     {}});
}  // namespace

}  // namespace gantry::gan
