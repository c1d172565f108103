// StyleGAN2 specifics: R1 and path length against float64 central differences on tiny
// nets (the penalty values and their parameter gradients, a true double backward),
// truncation at psi = 0, style mixing, the ramped EMA, and one step on cuda = the cpu's.
#include <doctest/doctest.h>

#include <cmath>

#include "gan/train/gan_checkpoint.hpp"
#include "gan/train/trainer.hpp"
#include "gan/zoo/stylegan.hpp"
#include "test_util.hpp"
#include "zoo_util.hpp"

using namespace gantry;
using namespace gantry::gan;

namespace {

// 8x8 nets: D 1 -> 4 ch at 8x8, one residual block to 4x4, the epilogue; G const 4x4, one up block.
StyleganConfig tiny_config() {
  StyleganConfig c;
  c.image_size = 8, c.z_dim = 3, c.w_dim = 3, c.width = 2;
  return c;
}

// Perturbs every parameter (and noise strength) so no term is trivially zero, then float64.
void jitter_f64(nn::Module& m, uint64_t seed) {
  Rng g(seed);
  NoGradGuard off;
  for (auto& p : m.parameters()) copy_(p, add(p, rand(p.shape(), DType::f32, &g, -0.3, 0.3)));
  m.to(DType::f64);
}

double sum_d(nn::Module& d, const std::vector<double>& x, const Shape& s) {
  NoGradGuard off;
  return sum(d.forward(from_vector(x, s, DType::f64))).item();
}

// gamma/2 mean_n |d sum_m D(x)_m / d x_n|^2 with the gradient by central differences (the
// minibatch-stddev layer couples samples, so the sum's full gradient, as grad() takes it).
double fd_r1(nn::Module& d, const Tensor& real, double gamma) {
  std::vector<double> x = real.to_vector<double>();
  const int64_t n = real.size(0), per = real.numel() / n;
  const double h = 1e-6;
  double total = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    std::vector<double> up = x, down = x;
    up[i] += h, down[i] -= h;
    const double g = (sum_d(d, up, real.shape()) - sum_d(d, down, real.shape())) / (2 * h);
    total += g * g;
  }
  (void)per;
  return gamma / 2 * total / n;
}

void set_element(const Tensor& p, int64_t i, double v) {
  NoGradGuard off;
  std::vector<double> values = p.to_vector<double>();
  values[i] = v;
  copy_(p, from_vector(values, p.shape(), DType::f64));
}

Tensor param(nn::Module& m, const std::string& name) {
  for (auto& [n, p] : m.named_parameters())
    if (n == name) return p;
  FAIL("no parameter " << name);
  return {};
}

// d f / d p[i] by central differences in float64.
double fd_param(const Tensor& p, int64_t i, const std::function<double()>& f) {
  const double p0 = p.to_vector<double>()[i], h = 1e-6;
  set_element(p, i, p0 + h);
  const double up = f();
  set_element(p, i, p0 - h);
  const double down = f();
  set_element(p, i, p0);
  return (up - down) / (2 * h);
}

Hyperparams tiny_hyper() {
  Hyperparams h = find_variant("stylegan").defaults();
  h.set("width", "2", "test"), h.set("z_dim", "4", "test"), h.set("w_dim", "4", "test");
  return h;
}

double max_abs_diff(const Tensor& a, const Tensor& b) {
  NoGradGuard off;
  return max(abs(sub(a, b))).item();
}

}  // namespace

TEST_CASE("StyleGAN R1: the penalty and its weight gradients match float64 central differences") {
  StyleDiscriminator d(tiny_config());
  Rng ig(1);
  d.init(&ig);
  jitter_f64(d, 2);
  Rng g(3);
  Tensor real = rand({4, 1, 8, 8}, DType::f64, &g, -1, 1);
  const double autograd = r1_penalty(d, real, 10).item(), reference = fd_r1(d, real, 10);
  INFO("autograd " << autograd << ", central differences " << reference);
  CHECK(reference > 1e-3);
  CHECK(std::abs(autograd - reference) <= 1e-6 * (1 + std::abs(reference)));
  // The penalty reaches these weights only through the input gradient: create_graph at work.
  for (const char* name : {"from_rgb.weight", "b8.conv1.weight", "epi.conv.weight", "epi.fc.weight"}) {
    CAPTURE(name);
    Tensor w = param(d, name);
    const int64_t i = w.numel() / 3;
    const double analytic = grad({r1_penalty(d, real, 10)}, {w})[0].to_vector<double>()[i];
    const double numeric = fd_param(w, i, [&] { return r1_penalty(d, real, 10).item(); });
    INFO("autograd " << analytic << ", central differences " << numeric);
    CHECK(std::abs(numeric) > 1e-5);
    CHECK(std::abs(analytic - numeric) <= 1e-5 * (1 + std::abs(numeric)));
  }
}

TEST_CASE("StyleGAN path length: the lengths and the penalty's weight gradients match float64 central differences") {
  StyleGenerator gnet(tiny_config());
  Rng ig(4);
  gnet.init(&ig);
  jitter_f64(gnet, 5);  // noise strengths become non-zero too
  const int64_t L = gnet.num_ws();
  REQUIRE(L == 4);
  Rng g(6);
  Tensor ws = randn({2, L, 3}, DType::f64, &g);
  ws.requires_grad_(true);
  auto synth = [&](const Tensor& w) { return gnet.synthesis_run(w, NoiseMode::constant, nullptr); };
  Tensor img = synth(ws);
  Tensor y = mul(randn_like(img, &g), 1.0 / 8);
  Tensor a = path_lengths(ws, img, y);
  // Reference: J^T y by central differences of sum(img * y) in each ws element.
  std::vector<double> wv = ws.to_vector<double>(), jty(wv.size());
  auto proj = [&](const std::vector<double>& w) {
    NoGradGuard off;
    return sum(mul(synth(from_vector(w, ws.shape(), DType::f64)), y)).item();
  };
  for (size_t i = 0; i < wv.size(); ++i) {
    std::vector<double> up = wv, down = wv;
    up[i] += 1e-6, down[i] -= 1e-6;
    jty[i] = (proj(up) - proj(down)) / 2e-6;
  }
  std::vector<double> av = a.to_vector<double>();
  for (int64_t n = 0; n < 2; ++n) {
    double s = 0;
    for (int64_t i = 0; i < L * 3; ++i) s += jty[n * L * 3 + i] * jty[n * L * 3 + i];
    const double ref = std::sqrt(s / L);
    CAPTURE(n);
    CHECK(ref > 1e-3);
    CHECK(av[n] == doctest::Approx(ref).epsilon(1e-6));
  }
  // The penalty mean (a - c)^2 through the double backward, against differences in weights.
  auto penalty = [&] {
    Tensor w = ws.detach();
    w.requires_grad_(true);
    return mean(pow(add(path_lengths(w, synth(w), y), -0.5), 2));
  };
  for (const char* name : {"synthesis.const", "synthesis.b4.conv1.weight", "synthesis.b8.conv0.affine.weight",
                           "synthesis.b8.conv1.noise_strength", "synthesis.b8.torgb.weight"}) {
    CAPTURE(name);
    Tensor p = param(gnet, name);
    const int64_t i = p.numel() / 2;
    const double analytic = grad({penalty()}, {p})[0].to_vector<double>()[i];
    const double numeric = fd_param(p, i, [&] { return penalty().item(); });
    INFO("autograd " << analytic << ", central differences " << numeric);
    CHECK(std::abs(numeric) > 1e-6);
    CHECK(std::abs(analytic - numeric) <= 1e-5 * (1 + std::abs(numeric)));
  }
}

TEST_CASE("StyleGAN truncation at psi = 0 draws the average w's image for every latent") {
  Stylegan m(tiny_hyper(), {32, 1}, 7);
  StyleGenerator& e = m.generator("G_ema");
  {
    NoGradGuard off;
    Rng g(8);
    copy_(e.mapping->w_avg, randn({4}, DType::f32, &g));
  }
  m.sample_options({{"truncation", "0"}}, 4, 0);
  Rng g(9);
  Tensor a = m.sample(m.latents(3, &g)), b = m.sample(m.latents(3, &g));
  Tensor avg = m.synthesize(expand(reshape(e.mapping->w_avg, {1, 1, 4}), {3, e.num_ws(), 4}));
  CHECK(max_abs_diff(a, avg) == 0);
  CHECK(max_abs_diff(b, avg) == 0);
  m.sample_options({{"truncation", "1"}}, 4, 0);
  CHECK(max_abs_diff(m.sample(m.latents(3, &g)), avg) > 1e-3);  // psi 1: the latents matter
}

TEST_CASE("StyleGAN style mixing: training ws and the grid take layers from both latents") {
  Hyperparams h = tiny_hyper();
  h.set("style_mix", "1", "test");
  Stylegan m(h, {32, 1}, 10);
  const int64_t L = m.generator().num_ws();
  for (int t = 0; t < 4; ++t) {
    Tensor ws = m.mixed_ws(2, false);
    CHECK(max_abs_diff(select(ws, 1, 0), select(ws, 1, L - 1)) > 0);  // crossover in [1, L)
  }
  // The grid: the first row the column images, the first column the row images.
  const int64_t k = 3;
  SampleGrid none = m.style_mix_grid(k, 1, 0), all = m.style_mix_grid(k, 1, L), mix = m.style_mix_grid(k, 1);
  REQUIRE(mix.images.size(0) == (k + 1) * (k + 1));
  CHECK(mix.nrow == k + 1);
  auto cell = [&](const SampleGrid& s, int64_t r, int64_t c) { return narrow(s.images, 0, r * (k + 1) + c, 1); };
  for (int64_t r = 1; r <= k; ++r)
    for (int64_t c = 1; c <= k; ++c) {
      CAPTURE(r);
      CAPTURE(c);
      CHECK(max_abs_diff(cell(none, r, c), cell(none, r, 0)) == 0);  // no coarse layers: the row's image
      CHECK(max_abs_diff(cell(all, r, c), cell(all, 0, c)) == 0);    // every layer: the column's image
      CHECK(max_abs_diff(cell(mix, r, c), cell(mix, r, 0)) > 1e-4);  // coarse from the column ...
      CHECK(max_abs_diff(cell(mix, r, c), cell(mix, 0, c)) > 1e-4);  // ... fine from the row
    }
}

TEST_CASE("StyleGAN EMA: beta = 0.5^(batch / half-life), ramped from a copy at the first step") {
  Hyperparams h = tiny_hyper();
  h.set("ema_kimg", "0.008", "test");  // half-life 8 images: beta 0.5 at batch 8 without ramp-up
  Stylegan m(h, {32, 1}, 11);
  Rng g(12);
  Batch b{rand({8, 1, 32, 32}, DType::f32, &g, -1, 1), {}, {}};
  m.step(b);  // ramp-up: no images seen yet, half-life 0, the copy equals G
  auto G = m.net("G").parameters(), E = m.net("G_ema").parameters();
  for (size_t i = 0; i < G.size(); ++i) CHECK(max_abs_diff(G[i], E[i]) == 0);
  // Second step: half-life min(8, 8 * 0.05) = 0.4 images, beta = 0.5^20.
  std::vector<Tensor> before;
  for (auto& e : E) before.push_back(clone(e.detach()));
  m.step(b);
  const double beta = std::pow(0.5, 8 / 0.4);
  for (size_t i = 0; i < G.size(); ++i) CHECK(max_abs_diff(E[i], add(G[i], mul(sub(before[i], G[i]), beta))) < 1e-6);
  // Without ramp-up, beta = 0.5 exactly.
  h.set("ema_rampup", "0", "test");
  Stylegan n(h, {32, 1}, 11);
  auto G2 = n.net("G").parameters(), E2 = n.net("G_ema").parameters();
  std::vector<Tensor> b2;
  for (auto& e : E2) b2.push_back(clone(e.detach()));
  n.step(b);
  bool moved = false;
  for (size_t i = 0; i < G2.size(); ++i) {
    CHECK(max_abs_diff(E2[i], mul(add(G2[i], b2[i]), 0.5)) < 1e-6);
    moved = moved || max_abs_diff(G2[i], b2[i]) > 0;
  }
  CHECK(moved);
}

TEST_CASE("StyleGAN: sampling options other variants refuse, and bad ones") {
  Stylegan m(tiny_hyper(), {32, 1}, 13);
  CHECK_THROWS(m.sample_options({{"noise_mode", "loud"}}, 4, 0));
  CHECK_THROWS(m.sample_options({{"psi", "1"}}, 4, 0));
  {
    NoGradGuard off;
    for (auto& [n, p] : m.net("G_ema").named_parameters())
      if (n.find("noise_strength") != std::string::npos) fill_(p, 0.5);
  }
  Rng g(1);
  Tensor z = m.latents(2, &g);
  m.sample_options({{"noise_mode", "const"}}, 4, 5);
  CHECK(max_abs_diff(m.sample(z), m.sample(z)) == 0);  // fixed noise: the same images
  m.sample_options({{"noise_mode", "none"}}, 4, 5);
  Tensor quiet = m.sample(z);
  m.sample_options({{"noise_mode", "random"}}, 4, 5);
  Tensor r1 = m.sample(z), r2 = m.sample(z);
  CHECK(max_abs_diff(r1, r2) > 1e-4);  // fresh noise each call
  CHECK(max_abs_diff(r1, quiet) > 1e-4);
  m.sample_options({{"noise_mode", "random"}}, 4, 5);
  CHECK(max_abs_diff(m.sample(z), r1) == 0);  // the noise follows the sampling seed
  Hyperparams dh = find_variant("dcgan").defaults();
  auto dc = make_model("dcgan", dh, {28, 1}, 0);
  CHECK_THROWS(dc->sample_options({{"truncation", "0.5"}}, 4, 0));
  CHECK_FALSE(dc->sample_options({}, 4, 0).has_value());
}

#if GANTRY_HAS_CUDA
TEST_CASE("StyleGAN: one training step (with R1) on cuda gives the cpu's losses") {
  TrainOptions o = testing::zoo_options("stylegan", "stylegan_cuda_cpu");
  o.limit = 8, o.batch_size = 8, o.threads = 1;
  testing::set_if_declared(o, "width", "2");
  testing::set_if_declared(o, "pl_weight", "2");  // path length on the first step too
  TrainResult cpu = train(o);
  o.device = "cuda";
  o.out_dir = testing::zoo_out("stylegan_cuda_cuda");
  TrainResult cuda = train(o);
  REQUIRE(cuda.losses.size() == 1);
  const Losses &a = cpu.losses[0], &b = cuda.losses[0];
  CHECK(a["r1"] > 0);
  CHECK(a["pl"] > 0);
  for (auto& [name, v] : a.items()) {
    CAPTURE(name);
    CHECK(b[name] == doctest::Approx(v).epsilon(1e-4));
  }
  CHECK(load_gan_checkpoint(cuda.checkpoint).model->variant() == "stylegan");
}
#endif
