// DCGAN --unroll K: K = 0 is the plain BCE step bit for bit, D's functional forward matches
// its module forward, the unrolled G gradient equals float64 central differences through
// the K steps on a tiny DCGAN, the unrolled copies leave D's batch norm statistics alone,
// and a resumed --unroll run is exact (hp.unroll carried by the checkpoint).
#include <doctest/doctest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>

#include "gan/data/dataset.hpp"
#include "gan/train/losses.hpp"
#include "gan/train/trainer.hpp"
#include "gan/zoo/dcgan_step.hpp"
#include "nn/optim.hpp"
#include "test_util.hpp"

using namespace gantry;
using namespace gantry::gan;
namespace fs = std::filesystem;

namespace {

Hyperparams tiny_hyper(int64_t unroll) {
  Hyperparams h = find_variant("dcgan").defaults();
  h.set("z_dim", "8", "test"), h.set("width", "4", "test"), h.set("unroll", std::to_string(unroll), "test");
  return h;
}

bool same(const std::vector<Tensor>& a, const std::vector<Tensor>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (a[i].to_vector<float>() != b[i].to_vector<float>()) return false;
  return true;
}

std::string tiny_data() {
  fs::path dir = fs::temp_directory_path() / ("gantry_dcgan_unroll_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  Rng g(9);
  Tensor x = rand({48, 28, 28}, DType::f32, &g, 0, 255);
  IdxImages im{48, 28, 28, {}};
  for (float v : x.to_vector<float>()) im.pixels.push_back((uint8_t)v);
  write_idx_images((dir / "train-images-idx3-ubyte").string(), im);
  write_idx_labels((dir / "train-labels-idx1-ubyte").string(), std::vector<uint8_t>(48, 3));
  return dir.string();
}

TrainOptions small(const std::string& data, const std::string& out, const std::string& unroll) {
  TrainOptions o;
  o.variant = "dcgan";
  o.data_dir = data;
  o.out_dir = out;
  o.batch_size = 16;
  o.hyper = {{"width", "4"}, {"z_dim", "8"}};
  if (!unroll.empty()) o.hyper["unroll"] = unroll;
  o.seed = 5;
  o.progress = false;
  return o;
}

}  // namespace

TEST_CASE("dcgan --unroll 0 is the plain BCE step bit for bit; K > 0 leaves D's step alone and changes G's") {
  Rng data(3);
  std::vector<Tensor> reals;
  for (int i = 0; i < 3; ++i) reals.push_back(rand({8, 1, 28, 28}, DType::f32, &data, -1, 1));
  DcganModel model(tiny_hyper(0), {}, 5);
  // The step written out: D's Adam step on BCE (real, detached fake), G's on -log D(G(z)).
  DcganModel ref(tiny_hyper(0), {}, 5);
  nn::Adam opt_d(ref.D->parameters(), 2e-4, 0.5, 0.999), opt_g(ref.G->parameters(), 2e-4, 0.5, 0.999);
  for (const Tensor& real : reals) {
    model.step(real);
    Tensor fake = ref.G->forward(ref.latents(real.size(0), &ref.noise));
    Tensor real_logits = ref.D->forward(real);  // before the fake batch: the running statistics' order
    Tensor d_loss = d_loss_bce(real_logits, ref.D->forward(fake.detach()), 1.0);
    opt_d.zero_grad();
    d_loss.backward();
    opt_d.step();
    Tensor g_loss = g_loss_nonsaturating(ref.D->forward(fake));
    std::vector<Tensor> g = grad({g_loss}, ref.G->parameters());
    for (size_t i = 0; i < g.size(); ++i) ref.G->parameters()[i].set_grad(g[i]);
    opt_g.step();
  }
  CHECK(same(model.G->parameters(), ref.G->parameters()));
  CHECK(same(model.D->parameters(), ref.D->parameters()));
  Tensor probe = rand({8, 1, 28, 28}, DType::f32, &data, -1, 1);
  {
    NoGradGuard off;
    model.D->eval(), ref.D->eval();  // the running statistics too
    CHECK(model.D->forward(probe).to_vector<float>() == ref.D->forward(probe).to_vector<float>());
  }

  DcganModel plain(tiny_hyper(0), {}, 5), unrolled(tiny_hyper(2), {}, 5);
  Losses lp = plain.step(reals[0]), lu = unrolled.step(reals[0]);
  CHECK(lp["d_loss"] == lu["d_loss"]);  // D steps first, on the same batch: identical
  CHECK(same(plain.D->parameters(), unrolled.D->parameters()));
  CHECK(!same(plain.G->parameters(), unrolled.G->parameters()));  // G's loss saw the unrolled D
  CHECK(std::isfinite(lu["g_loss"]));

  DcganModel ranked(tiny_hyper(2), {}, 5);  // data-parallel: refused, before any step is taken
  ranked.set_data_parallel(0, 2);
  const std::vector<float> g0 = ranked.G->parameters()[0].to_vector<float>();
  CHECK_THROWS_WITH_AS(ranked.step(reals[0]), doctest::Contains("--unroll is single-process only"), Error);
  CHECK(ranked.G->parameters()[0].to_vector<float>() == g0);
}

TEST_CASE("DcganDiscriminator::forward_with its own parameters is forward, and leaves batch norm statistics alone") {
  for (int64_t s : {28, 32}) {
    Rng g(4);
    DcganDiscriminator d({s, 8, 2});
    dcgan_init(d, &g);
    Tensor x = rand({5, 1, s, s}, DType::f32, &g, -1, 1);
    const nn::Named before = d.named_buffers();
    std::vector<std::vector<float>> stats;
    for (const auto& [name, t] : before) stats.push_back(t.to(DType::f32).to_vector<float>());
    Tensor y = d.forward_with(d.parameters(), x);
    const nn::Named after = d.named_buffers();
    for (size_t i = 0; i < after.size(); ++i) {
      INFO(after[i].first);
      CHECK(after[i].second.to(DType::f32).to_vector<float>() == stats[i]);  // untouched, counter included
    }
    CHECK(y.to_vector<float>() == d.forward(x).to_vector<float>());
    std::vector<Tensor> wrong = d.parameters();
    wrong.pop_back();
    CHECK_THROWS_WITH_AS(d.forward_with(wrong, x), doctest::Contains("parameters given"), Error);
  }
}

TEST_CASE("dcgan unroll: G's gradient through K = 2 Adam steps of D equals float64 central differences") {
  Rng gen(21);
  const DcganConfig c{28, 3, 1};
  DcganGenerator G(c);
  DcganDiscriminator D(c);
  dcgan_init(G, &gen), dcgan_init(D, &gen);
  G.to(DType::f64), D.to(DType::f64);
  const Tensor z = randn({3, 3}, DType::f32, &gen).to(DType::f64);
  const Tensor real = rand({3, 1, 28, 28}, DType::f32, &gen, -1, 1).to(DType::f64);
  // Adam mid-training (t = 3, nonzero moments), so the steps are not just lr * sign(g).
  const UnrollOptimizer opt{UnrollOptimizer::adam, 0.01, 0.5, 0.999, 1e-8};
  OptimState state;
  state.t = 3;
  for (const Tensor& p : D.parameters()) {
    state.m.push_back(mul(randn(p.shape(), DType::f32, &gen).to(DType::f64), 1e-3));
    state.v.push_back(add(mul(rand(p.shape(), DType::f32, &gen).to(DType::f64), 1e-5), 1e-6));
  }
  auto f = [&](int64_t K) {
    Tensor fake = G.forward(z);
    std::vector<Tensor> dk = unroll_dcgan_d(D, D.parameters(), real, fake, 1.0, opt, state, K);
    return g_loss_nonsaturating(D.forward_with(dk, fake));
  };
  const int64_t K = 2;
  const std::vector<Tensor> gp = G.parameters();
  std::vector<Tensor> analytic = grad({f(K)}, gp), plain = grad({f(0)}, gp);
  const double h = 1e-6;
  double differs = 0, scale = 0;
  for (size_t i = 0; i < gp.size(); ++i) {
    const int64_t n = gp[i].numel();
    std::vector<double> a = analytic[i].to_vector<double>(), p0 = plain[i].to_vector<double>(), got, want;
    for (int64_t j : {int64_t{0}, n / 3, n - 1}) {
      auto at = [&](double d) {
        NoGradGuard off;
        double* x = gp[i].data<double>() + j;
        const double keep = *x;
        *x = keep + d;
        const double v = f(K).item();
        *x = keep;
        return v;
      };
      const double fd = (at(h) - at(-h)) / (2 * h);
      got.push_back(a[j]), want.push_back(fd);
      differs = std::max(differs, std::abs(p0[j] - fd)), scale = std::max(scale, std::abs(fd));
    }
    INFO("G parameter " << i);
    testing::check_close(got, want, 1e-8, "unrolled dG");  // seen: at most 8e-11
  }
  CHECK(scale > 1e-4);            // the gradients checked are not all ~0
  CHECK(differs > 1e-3 * scale);  // and the unrolled one is not the K = 0 one: the steps matter
  CHECK(state.t == 3);            // the caller's state is left alone
}

TEST_CASE("dcgan --unroll: refused outside 0..10, carried by the checkpoint, and a resumed run is exact") {
  Hyperparams h = find_variant("dcgan").defaults();
  CHECK(h.i("unroll") == 0);
  CHECK_THROWS_WITH_AS(h.set("unroll", "11", "--unroll"), doctest::Contains("--unroll"), Error);
  std::string data = tiny_data();
  const std::string base = fs::temp_directory_path() / ("gantry_unroll_resume_" + std::to_string(::getpid()));
  TrainOptions full = small(data, base + "_full", "2");
  full.epochs = 2;
  TrainResult uninterrupted = train(full);
  TrainOptions first = small(data, base + "_split", "2");
  first.epochs = 1;
  TrainResult half = train(first);
  CHECK(load_gan_checkpoint(half.checkpoint).model->hyper().i("unroll") == 2);
  TrainOptions clash = small(data, base + "_split", "3");
  clash.epochs = 2, clash.resume = half.checkpoint;
  CHECK_THROWS_WITH_AS(train(clash), doctest::Contains("keeps its hyperparameters"), Error);
  TrainOptions rest = small(data, base + "_split", "");  // no --unroll: the checkpoint's 2
  rest.epochs = 2, rest.resume = half.checkpoint;
  TrainResult resumed = train(rest);
  REQUIRE(uninterrupted.losses.size() == 6);
  REQUIRE(resumed.losses.size() == 3);
  for (size_t i = 0; i < 3; ++i) {
    CHECK(resumed.losses[i]["d_loss"] == uninterrupted.losses[3 + i]["d_loss"]);
    CHECK(resumed.losses[i]["g_loss"] == uninterrupted.losses[3 + i]["g_loss"]);
  }
  TrainOptions off = small(data, base + "_off", "");
  off.epochs = 2;
  TrainResult k0 = train(off);
  CHECK(k0.losses[5]["g_loss"] != uninterrupted.losses[5]["g_loss"]);  // the unroll changed training
}
