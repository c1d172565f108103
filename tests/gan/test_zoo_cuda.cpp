// The zoo on the cuda device (emulated in the emu build, so everything is tiny):
// models and optimizer state move there, and one training step of every variant
// gives the cpu run's losses (same seed -> same init, and Philox gives the same
// latents, labels, interpolation weights and noise on both devices): conv2d,
// conv_transpose2d, batch_norm, the gradient penalty and the optimizers all run their
// cuda kernels here.
#include <doctest/doctest.h>

#include <cmath>

#include "gan/train/gan_checkpoint.hpp"
#include "test_util.hpp"
#include "zoo_util.hpp"

using namespace gantry;
using namespace gantry::gan;

#if GANTRY_HAS_CUDA

TEST_CASE("a GanModel moves its nets, EMA copy and optimizer state to the cuda device and back") {
  Hyperparams c = find_variant("wgan-gp").defaults();
  c.set("width", "2", "test"), c.set("z_dim", "8", "test"), c.set("ema", "0.9", "test");
  std::unique_ptr<GanModel> m = make_model("wgan-gp", c, {}, 1);
  REQUIRE(m->has_net("G_ema"));
  std::vector<float> before = m->nets().parameters()[0].to_vector<float>();
  m->to(Device::cuda(0));
  CHECK(m->device() == Device::cuda(0));
  for (auto& t : m->nets().parameters()) CHECK(t.device() == Device::cuda(0));
  for (auto& o : m->optimizers())
    for (auto& [name, t] : o.opt->state()) CHECK(t.device() == Device::cuda(0));
  Rng g(2);
  CHECK(m->latents(3, &g).device() == Device::cuda(0));
  m->to(Device::cpu());
  CHECK(m->nets().parameters()[0].to_vector<float>() == before);
}

TEST_CASE("one training step of every variant on cuda gives the cpu's losses") {
  for (std::string variant : {"vanilla", "dcgan", "cgan", "wgan", "wgan-gp"}) {
    CAPTURE(variant);
    TrainOptions o = testing::zoo_options(variant, "cuda_cpu_" + variant);
    o.limit = 8, o.batch_size = 8;  // one step, with a G step
    testing::set_if_declared(o, "width", "2"), testing::set_if_declared(o, "n_critic", "1");
    TrainResult cpu = train(o);
    o.device = "cuda";
    o.out_dir = testing::zoo_out("cuda_cuda_" + variant);
    TrainResult cuda = train(o);
    REQUIRE(cuda.losses.size() == 1);
    const Losses &a = cpu.losses[0], &b = cuda.losses[0];
    REQUIRE(a.items().size() == b.items().size());
    for (auto& [name, v] : a.items()) {
      CAPTURE(name);
      CHECK(b[name] == doctest::Approx(v).epsilon(1e-4));
    }
    // The checkpoint written from the cuda device loads on the cpu.
    CHECK(load_gan_checkpoint(cuda.checkpoint).model->variant() == variant);
  }
}

#endif
