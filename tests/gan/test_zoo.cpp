// The GAN zoo through the trainer: every variant trains on the cpu with finite,
// changing losses and per-variant log columns; cgan samples are conditioned; EMA
// and resume work for non-dcgan variants; bad inputs give errors naming the flag.
#include <doctest/doctest.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "gan/zoo/cgan.hpp"
#include "gan/train/registry.hpp"
#include "nn/checkpoint.hpp"
#include "test_util.hpp"
#include "zoo_util.hpp"

using namespace gantry;
using namespace gantry::gan;
using gantry::testing::error_of;
using gantry::testing::zoo_options;
namespace fs = std::filesystem;

namespace {
std::string first_line(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  return line;
}
std::vector<float> g_weights(const GanModel& m) {
  return m.nets().named_parameters()[0].second.to_vector<float>();  // "G.main.0.weight" or "G.embed.weight"
}
}  // namespace

TEST_CASE("every zoo variant trains on the cpu: finite losses that change, G moves, its own log columns") {
  const std::map<std::string, std::string> header = {{"vanilla", "epoch,step,d_loss,g_loss,d_real,d_fake"},
                                                     {"cgan", "epoch,step,d_loss,g_loss,d_real,d_fake"},
                                                     {"wgan", "epoch,step,d_loss,g_loss,wasserstein,d_real,d_fake"},
                                                     {"wgan-gp",
                                                      "epoch,step,d_loss,g_loss,wasserstein,d_real,d_fake,gp"}};
  for (auto& [variant, columns] : header) {
    CAPTURE(variant);
    TrainOptions o = zoo_options(variant, "train_" + variant);
    std::unique_ptr<GanModel> fresh = model_from_options(o);
    TrainResult r = train(o);
    REQUIRE(r.steps == 6);  // 96 images, batch 16
    for (auto& l : r.losses) {
      CHECK(std::isfinite(l["d_loss"]));
      CHECK(std::isfinite(l["g_loss"]));
      if (variant == "wgan-gp") CHECK(std::isfinite(l["gp"]));
    }
    CHECK(r.losses.front()["d_loss"] != r.losses.back()["d_loss"]);
    CHECK(r.losses.front()["g_loss"] != r.losses.back()["g_loss"]);
    if (variant == "wgan-gp") CHECK(r.losses.front()["gp"] > 0);
    CHECK(first_line(r.log) == columns);
    LoadedGan after = load_gan_checkpoint(r.checkpoint);
    CHECK(after.model->variant() == variant);
    CHECK(after.step == 6);
    CHECK(g_weights(*after.model) != g_weights(*fresh));  // G took at least one step (n_critic 5 for the WGANs)
    CHECK(fs::exists(r.samples));
  }
}

TEST_CASE("the WGANs take one G step per n_critic critic steps") {
  for (std::string variant : {"wgan", "wgan-gp"}) {
    CAPTURE(variant);
    TrainOptions o = zoo_options(variant, "ncritic_" + variant);
    TrainResult r = train(o);
    LoadedGan after = load_gan_checkpoint(r.checkpoint);
    CHECK(after.model->hyper().i("n_critic") == 5);
    CHECK(after.model->optimizer("d").steps() == 6);
    CHECK(after.model->optimizer("g").steps() == 1);
    o.hyper["n_critic"] = "2";
    o.out_dir += "_2";
    after = load_gan_checkpoint(train(o).checkpoint);
    CHECK(after.model->optimizer("g").steps() == 3);
  }
}

TEST_CASE("cgan: samples of class K are conditioned on K") {
  Hyperparams c = find_variant("cgan").defaults();
  c.set("width", "4", "test"), c.set("z_dim", "8", "test");
  Cgan m(c, {}, 1);
  Rng gen(4);
  Tensor z = m.latents(3, &gen);
  auto image = [&](int64_t k) { return m.sample(z, from_indices({k, k, k}, {3})).to_vector<float>(); };
  CHECK(image(2) == image(2));  // deterministic
  std::vector<float> a = image(2), b = image(7);
  double diff = 0;
  for (size_t i = 0; i < a.size(); ++i) diff = std::max(diff, (double)std::abs(a[i] - b[i]));
  CHECK(diff > 1e-3);  // same z, another class: another image

  // draw_samples: --class K gives class K; without it, one class per row with the same latents.
  Samples s = draw_samples(m, 3, 4, 7, "x.safetensors");
  CHECK(s.images.to_vector<float>() == b);
  Samples grid = draw_samples(m, 20, 4, -1, "x.safetensors");
  CHECK(grid.images.shape() == Shape{20, 1, 28, 28});
  CHECK(grid.nrow == 2);
  Rng same(4);
  CHECK(narrow(grid.images, 0, 14, 2).to_vector<float>() ==
        m.sample(m.latents(2, &same), from_indices({7, 7}, {2})).to_vector<float>());
}

TEST_CASE("--ema keeps an exponential moving average of G, saved and used for samples") {
  TrainOptions o = zoo_options("vanilla", "ema");
  o.hyper["ema"] = "0.9";
  o.limit = 16;  // one step
  std::unique_ptr<GanModel> fresh = model_from_options(o);
  LoadedGan after = load_gan_checkpoint(train(o).checkpoint);
  nn::Named p = after.model->nets().named_parameters();
  std::map<std::string, std::vector<float>> by_name;
  for (auto& [name, t] : p) by_name[name] = t.to_vector<float>();
  REQUIRE(by_name.count("G_ema.main.0.weight"));
  std::vector<float> g0 = fresh->nets().named_parameters()[0].second.to_vector<float>();
  std::vector<float> g1 = by_name["G.main.0.weight"], e1 = by_name["G_ema.main.0.weight"];
  for (size_t i = 0; i < g0.size(); i += 97) CHECK(e1[i] == doctest::Approx(0.9 * g0[i] + 0.1 * g1[i]).epsilon(1e-5));
  Rng gen(1);
  Tensor z = after.model->latents(4, &gen);
  std::vector<float> with_ema = after.model->sample(z).to_vector<float>();
  CHECK(after.model->sample(z, {}, /*use_ema=*/false).to_vector<float>() != with_ema);
}

TEST_CASE("--instance-noise perturbs D's inputs") {
  TrainOptions o = zoo_options("vanilla", "noise");
  o.limit = 16;
  const double clean = train(o).losses[0]["d_loss"];
  o.hyper["instance_noise"] = "0.5";
  const double noisy = train(o).losses[0]["d_loss"];
  CHECK(std::isfinite(noisy));
  CHECK(noisy != clean);
}

// (Instance noise is left out: its schedule spans the --epochs of each run, so a run
// split into --epochs 1 and a resume anneals differently from one --epochs 3 run.)
TEST_CASE("resuming a wgan and a vanilla GAN with EMA equals an uninterrupted run") {
  for (std::string variant : {"wgan", "vanilla"}) {
    CAPTURE(variant);
    TrainOptions full = zoo_options(variant, "resume_full_" + variant);
    full.epochs = 3;
    if (variant == "vanilla") full.hyper["ema"] = "0.9";
    TrainResult uninterrupted = train(full);
    TrainOptions first = full;
    first.out_dir = testing::zoo_out("resume_split_" + variant);
    first.epochs = 1;
    train(first);
    TrainOptions rest = full;
    rest.out_dir = first.out_dir;
    rest.resume = first.out_dir + "/checkpoint.safetensors";
    TrainResult resumed = train(rest);
    REQUIRE(uninterrupted.losses.size() == 18);
    REQUIRE(resumed.losses.size() == 12);
    for (size_t i = 0; i < 12; ++i) {
      CHECK(resumed.losses[i]["d_loss"] == uninterrupted.losses[6 + i]["d_loss"]);
      CHECK(resumed.losses[i]["g_loss"] == uninterrupted.losses[6 + i]["g_loss"]);
    }
  }
}

TEST_CASE("bad variants, flags and checkpoints give errors naming them") {
  TrainOptions o = zoo_options("dcgan", "bad");
  o.variant = "stylegan9";
  CHECK(error_of([&] { train(o); }).find("unknown GAN variant 'stylegan9'") != std::string::npos);
  CHECK(error_of([&] { train(o); }).find("wgan-gp") != std::string::npos);  // lists the known ones

  TrainOptions w = zoo_options("wgan", "bad_wgan");
  w.limit = 16;
  std::string ckpt = train(w).checkpoint;
  LoadedGan wgan = load_gan_checkpoint(ckpt);
  std::string e = error_of([&] { draw_samples(*wgan.model, 4, 0, 3, ckpt); });
  CHECK(e.find("--class 3") != std::string::npos);
  CHECK(e.find(ckpt) != std::string::npos);
  CHECK(e.find("not class-conditional") != std::string::npos);

  Hyperparams c = find_variant("cgan").defaults();
  c.set("width", "4", "test"), c.set("z_dim", "8", "test");
  Cgan cgan(c, {}, 0);
  e = error_of([&] { draw_samples(cgan, 4, 0, 10, "c.safetensors"); });
  CHECK(e.find("--class 10") != std::string::npos);
  CHECK(e.find("c.safetensors has classes 0..9") != std::string::npos);

  TrainOptions other = zoo_options("wgan-gp", "bad_resume");
  other.resume = ckpt;
  e = error_of([&] { train(other); });
  CHECK(e.find("--resume " + ckpt + " is a wgan checkpoint, not wgan-gp") != std::string::npos);

  nn::save_safetensors(testing::zoo_out("not_gan.safetensors"), {{"x", zeros({2})}}, {{"format", "gantry-gan-1"}});
  e = error_of([&] { load_gan_checkpoint(testing::zoo_out("not_gan.safetensors")); });
  CHECK(e.find("has no 'variant'") != std::string::npos);
  nn::save_safetensors(testing::zoo_out("odd_variant.safetensors"), {{"x", zeros({2})}},
                       {{"format", "gantry-gan-1"}, {"variant", "biggan"}});
  e = error_of([&] { load_gan_checkpoint(testing::zoo_out("odd_variant.safetensors")); });
  CHECK(e.find("odd_variant.safetensors: unknown GAN variant 'biggan'") != std::string::npos);
  nn::save_safetensors(testing::zoo_out("odd_format.safetensors"), {{"x", zeros({2})}}, {{"format", "gantry-gan-9"}});
  e = error_of([&] { load_gan_checkpoint(testing::zoo_out("odd_format.safetensors")); });
  CHECK(e.find("should be 'gantry-gan-2', or the earlier 'gantry-gan-1'") != std::string::npos);
}
