// The mode-collapse toy: the mixtures and their sampling, the mode counter on hand-made
// sample sets, the differentiable Adam against nn::Adam, the unrolled gradient against
// float64 central differences through the K steps, a tiny train_toy run, the orthogonal init,
// and the paper's knobs (1-layer D on x/4, orthogonal init, minimax G loss) in a tiny run.
#include <doctest/doctest.h>

#include <cmath>
#include <filesystem>

#include "gan/zoo/toy.hpp"
#include "nn/optim.hpp"
#include "test_util.hpp"

using namespace gantry;
using namespace gantry::gan;

TEST_CASE("toy2d: ring8 and grid25 place their modes, and sampling is seeded and fair") {
  Mixture2d ring = ring8();
  REQUIRE(ring.modes() == 8);
  CHECK(ring.sigma == 0.02);
  for (int64_t k = 0; k < 8; ++k) CHECK(std::hypot(ring.means[2 * k], ring.means[2 * k + 1]) == doctest::Approx(2.0));
  CHECK(ring.means[0] == doctest::Approx(2.0));
  CHECK(ring.means[5] == doctest::Approx(2.0));  // mode 2 at (0, 2)
  Mixture2d grid = grid25();
  REQUIRE(grid.modes() == 25);
  CHECK(grid.means[0] == -4.0);
  CHECK(grid.means[49] == 4.0);
  CHECK(testing::error_of([] { toy_target("ring9"); }).find("ring9") != std::string::npos);

  Rng a(5), b(5);
  Tensor x = sample_mixture(ring, 8000, &a), y = sample_mixture(ring, 8000, &b);
  REQUIRE(x.shape() == Shape{8000, 2});
  CHECK(x.to_vector<float>() == y.to_vector<float>());
  // Every sample lies near a mode, the modes are drawn about equally, and the share within
  // 3 sigma is that of a 2-d isotropic normal: 1 - exp(-9/2) = 0.9889.
  ModeCount c = count_modes(ring, x, 3.0);
  CHECK(c.modes_covered == 8);
  for (int64_t n : c.per_mode) CHECK((n > 850 && n < 1150));
  CHECK(c.high_quality == doctest::Approx(1 - std::exp(-4.5)).epsilon(0.005));
  CHECK(count_modes(ring, x, 6.0).high_quality > 0.9999);
}

TEST_CASE("count_modes: modes covered and the high-quality share on a hand-made set") {
  Mixture2d ring = ring8();  // sigma 0.02: 3 sigma = 0.06
  std::vector<double> xy;
  auto at = [&](int64_t k, double dx, double dy) {
    xy.push_back(ring.means[2 * k] + dx);
    xy.push_back(ring.means[2 * k + 1] + dy);
  };
  for (int i = 0; i < 5; ++i) at(0, 0, 0), at(3, 0.01, -0.01), at(6, -0.02, 0.0);  // 15 on modes 0, 3, 6
  at(1, 0.058, 0);                                                                 // 2.9 sigma from mode 1: counts
  at(2, 0, 0.062);                                                                 // 3.1 sigma from mode 2: does not
  xy.push_back(0), xy.push_back(0);                                                // the centre: far from every mode
  Tensor s = from_vector(xy, {18, 2}, DType::f64);
  ModeCount c = count_modes(ring, s);
  CHECK(c.modes_covered == 4);
  CHECK(c.per_mode == std::vector<int64_t>{5, 1, 0, 5, 0, 0, 5, 0});
  CHECK(c.high_quality == doctest::Approx(16.0 / 18));
  CHECK(count_modes(ring, s, 3.0, 5).modes_covered == 3);  // mode 1's single sample is not enough
  CHECK(count_modes(ring, s, 3.2).per_mode[2] == 1);       // a wider radius takes the 3.1 sigma one
  CHECK(count_modes(ring, s, 3.0, 6).modes_covered == 0);
  CHECK(testing::error_of([&] { count_modes(ring, reshape(s, {12, 3})); }).find("[n, 2]") != std::string::npos);
}

TEST_CASE("optimizer_step: the differentiable Adam and SGD match nn::Adam and p - lr g") {
  Rng g(3);
  Tensor p = randn({4, 3}, DType::f32, &g).requires_grad_(true), q = p.detach().clone();
  nn::Adam ref({p}, 0.01, 0.5, 0.999);
  const UnrollOptimizer adam{UnrollOptimizer::adam, 0.01, 0.5, 0.999, 1e-8};
  OptimState st;
  for (int t = 0; t < 4; ++t) {
    Tensor grad = randn({4, 3}, DType::f32, &g);
    p.set_grad(grad);
    ref.step();
    q = optimizer_step(adam, {q}, {grad}, st)[0];
  }
  CHECK(st.t == 4);
  testing::check_close(q.to_vector<float>(), p.detach().to_vector<double>(), 1e-5, "adam");
  OptimState s2;
  Tensor r = optimizer_step({UnrollOptimizer::sgd, 0.5}, {q}, {ones_like(q)}, s2)[0];
  testing::check_close(r.to_vector<float>(), add(q, -0.5).to_vector<double>(), 1e-7, "sgd");
}

namespace {

// A float64 toy: G = a 3 -> 4 -> 2 tanh MLP of z, D = a 2 -> 5 -> 1 tanh MLP (smooth, so
// central differences are accurate). f(G) = BCE(D_K(G(z)), 1), with D_K = D after K steps
// of its BCE loss on (real, G(z)).
struct TinyUnroll {
  Rng gen{17};
  std::vector<Tensor> gp = mlp_init({3, 4, 2}, &gen, DType::f64);
  std::vector<Tensor> dp = mlp_init({2, 5, 1}, &gen, DType::f64);
  Tensor z = randn({6, 3}, DType::f32, &gen).to(DType::f64);
  Tensor real = randn({6, 2}, DType::f32, &gen).to(DType::f64);
  OptimState state;
  UnrollOptimizer opt;

  TinyUnroll(UnrollOptimizer::Kind kind) {
    opt = {kind, kind == UnrollOptimizer::sgd ? 0.5 : 0.05, 0.5, 0.999, 1e-8};
    if (kind == UnrollOptimizer::adam) {  // a state mid-training, so the steps are not just lr * sign(g)
      state.t = 3;
      for (auto& p : dp) {
        state.m.push_back(mul(randn(p.shape(), DType::f32, &gen).to(DType::f64), 0.1));
        state.v.push_back(add(mul(rand(p.shape(), DType::f32, &gen).to(DType::f64), 0.02), 0.005));
      }
    }
  }
  Tensor f(const std::vector<Tensor>& g_params, int64_t K) {
    Tensor fake = mlp_forward(g_params, z, MlpActivation::tanh);
    ParamLoss d_loss = [&](const std::vector<Tensor>& p, int64_t) {
      Tensor sr = mlp_forward(p, real, MlpActivation::tanh), sf = mlp_forward(p, fake, MlpActivation::tanh);
      return add(bce_with_logits(sr, ones_like(sr)), bce_with_logits(sf, zeros_like(sf)));
    };
    std::vector<Tensor> dk = unroll(d_loss, dp, opt, state, K);
    Tensor s = mlp_forward(dk, fake, MlpActivation::tanh);
    return bce_with_logits(s, ones_like(s));
  }
};

void check_unrolled_gradient(UnrollOptimizer::Kind kind) {
  TinyUnroll t(kind);
  const int64_t K = 3;
  std::vector<Tensor> analytic = grad({t.f(t.gp, K)}, t.gp);
  std::vector<Tensor> plain = grad({t.f(t.gp, 0)}, t.gp);
  const double h = 1e-6;
  double differs = 0;
  for (size_t i = 0; i < t.gp.size(); ++i) {
    std::vector<double> base = t.gp[i].detach().to_vector<double>(), want(base.size());
    for (size_t j = 0; j < base.size(); ++j) {
      auto at = [&](double d) {
        std::vector<double> v = base;
        v[j] += d;
        std::vector<Tensor> gp = t.gp;
        gp[i] = from_vector(v, t.gp[i].shape(), DType::f64);
        return t.f(gp, K).item();
      };
      want[j] = (at(h) - at(-h)) / (2 * h);
    }
    testing::check_close(analytic[i].to_vector<double>(), want, 1e-6, "unrolled dG");
    std::vector<double> p = plain[i].to_vector<double>();
    for (size_t j = 0; j < p.size(); ++j) differs = std::max(differs, std::abs(p[j] - want[j]));
  }
  CHECK(differs > 1e-3);  // the unrolled gradient is not the K = 0 one: the steps matter
  CHECK(t.state.t == (kind == UnrollOptimizer::sgd ? 0 : 3));  // unroll left the caller's state alone
}

}  // namespace

TEST_CASE("unroll: G's gradient through K = 3 SGD steps of D equals float64 central differences") {
  check_unrolled_gradient(UnrollOptimizer::sgd);
}

TEST_CASE("unroll: G's gradient through K = 3 Adam steps of D equals float64 central differences") {
  check_unrolled_gradient(UnrollOptimizer::adam);
}

TEST_CASE("train_toy: a tiny run of each loss gives its snapshots, is seeded, and writes the strip") {
  namespace fs = std::filesystem;
  ToyOptions o;
  o.steps = 20, o.batch = 32, o.z_dim = 4, o.hidden = 16, o.snapshots = 3, o.eval_samples = 64, o.unroll = 2;
  o.out = (fs::temp_directory_path() / "gantry_test_toy.png").string();
  fs::remove(o.out);
  ToyResult a = train_toy(o);
  REQUIRE(a.snapshots.size() == 3);
  CHECK(a.snapshots[0].step == 0);
  CHECK(a.snapshots[1].step == 10);
  CHECK(a.snapshots[2].step == 20);
  CHECK(fs::file_size(o.out) > 500);
  for (float v : a.snapshots[2].samples.to_vector<float>()) CHECK(std::isfinite(v));
  CHECK(a.snapshots[0].samples.to_vector<float>() != a.snapshots[2].samples.to_vector<float>());  // G trained
  o.out.clear();
  ToyResult b = train_toy(o);
  CHECK(a.snapshots[2].samples.to_vector<float>() == b.snapshots[2].samples.to_vector<float>());
  o.loss = "wgan-gp", o.unroll = 0, o.target = "grid25";
  ToyResult w = train_toy(o);
  CHECK(w.snapshots[2].count.per_mode.size() == 25);
  for (float v : w.snapshots[2].samples.to_vector<float>()) CHECK(std::isfinite(v));
  o.loss = "hinge";
  CHECK(testing::error_of([&] { train_toy(o); }).find("hinge") != std::string::npos);
}

TEST_CASE("mlp_init_orthogonal: gain times orthonormal rows or columns, zero biases, seeded") {
  Rng g(11), same(11), other(12);
  const double gain = 0.8;
  std::vector<Tensor> p = mlp_init_orthogonal({6, 4, 9, 1}, gain, &g, DType::f64);
  REQUIRE(p.size() == 6);
  CHECK(p[0].shape() == Shape{4, 6});
  CHECK(p[2].shape() == Shape{9, 4});
  CHECK(p[4].shape() == Shape{1, 9});
  for (size_t l = 0; l < p.size(); l += 2) {
    CHECK(p[l].requires_grad());
    for (double b : p[l + 1].to_vector<double>()) CHECK(b == 0.0);
    // The Gram matrix of the shorter side: W W^T [out, out] when out <= in, else W^T W [in, in].
    const int64_t out = p[l].size(0), in = p[l].size(1);
    Tensor w = p[l].detach();
    Tensor gram = out <= in ? matmul(w, transpose(w, 0, 1)) : matmul(transpose(w, 0, 1), w);
    const int64_t k = std::min(out, in);
    std::vector<double> want(k * k, 0.0);
    for (int64_t i = 0; i < k; ++i) want[i * k + i] = gain * gain;
    testing::check_close(gram.to_vector<double>(), want, 1e-12, "gram");
  }
  std::vector<Tensor> q = mlp_init_orthogonal({6, 4, 9, 1}, gain, &same, DType::f64);
  std::vector<Tensor> r = mlp_init_orthogonal({6, 4, 9, 1}, gain, &other, DType::f64);
  CHECK(p[2].to_vector<double>() == q[2].to_vector<double>());
  CHECK(p[2].to_vector<double>() != r[2].to_vector<double>());
}

TEST_CASE("train_toy: the paper's knobs (1-layer D on x/4, orthogonal init, minimax G loss) run and change the run") {
  ToyOptions o;
  o.steps = 12, o.batch = 32, o.z_dim = 4, o.hidden = 16, o.snapshots = 2, o.eval_samples = 64, o.unroll = 2;
  o.lr_g = o.lr_d = 1e-2;
  const std::vector<float> base = train_toy(o).snapshots[1].samples.to_vector<float>();
  auto last = [&](ToyOptions v) {
    std::vector<float> s = train_toy(v).snapshots[1].samples.to_vector<float>();
    for (float x : s) CHECK(std::isfinite(x));
    return s;
  };
  ToyOptions v = o;
  v.d_layers = 1;
  CHECK(last(v) != base);
  v = o, v.d_input_scale = 0.25;
  CHECK(last(v) != base);
  v = o, v.init = "orthogonal";
  CHECK(last(v) != base);
  v = o, v.g_loss = "minimax";
  CHECK(last(v) != base);
  ToyOptions paper = o;
  paper.d_layers = 1, paper.d_input_scale = 0.25, paper.init = "orthogonal", paper.g_loss = "minimax";
  CHECK(last(paper) == last(paper));  // seeded
  // K = 0 too: G's gradient is then that of log(1 - D(G(z))) alone (the real-data term does not
  // depend on G), which weights each sample by D(G(z)) where -log D(G(z)) weights it by 1 - D(G(z)).
  v = o, v.unroll = 0, v.g_loss = "minimax";
  ToyOptions ns = o;
  ns.unroll = 0;
  CHECK(last(v) != last(ns));
  v.g_loss = "hinge";
  CHECK(testing::error_of([&] { train_toy(v); }).find("hinge") != std::string::npos);
  v = o, v.init = "xavier";
  CHECK(testing::error_of([&] { train_toy(v); }).find("xavier") != std::string::npos);
  v = o, v.d_layers = 0;
  CHECK(testing::error_of([&] { train_toy(v); }).find("d_layers") != std::string::npos);
}
