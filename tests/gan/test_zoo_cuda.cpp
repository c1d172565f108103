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
  GanConfig c = variant_defaults("wgan-gp");
  c.width = 2, c.z_dim = 8, c.ema = 0.9;
  std::unique_ptr<GanModel> m = make_gan(c, 1);
  std::vector<float> before = m->nets->parameters()[0].to_vector<float>();
  m->to(Device::cuda(0));
  CHECK(m->device() == Device::cuda(0));
  for (auto& t : m->nets->parameters()) CHECK(t.device() == Device::cuda(0));
  for (auto& [prefix, opt] : m->optimizers())
    for (auto& [name, t] : opt->state()) CHECK(t.device() == Device::cuda(0));
  Generator g(2);
  CHECK(m->latents(3, &g).device() == Device::cuda(0));
  m->to(Device::cpu());
  CHECK(m->nets->parameters()[0].to_vector<float>() == before);
}

TEST_CASE("one training step of every variant on cuda gives the cpu's losses") {
  for (std::string variant : {"vanilla", "dcgan", "cgan", "wgan", "wgan-gp"}) {
    CAPTURE(variant);
    TrainOptions o = testing::zoo_options(variant, "cuda_cpu_" + variant);
    o.width = 2, o.limit = 8, o.batch_size = 8, o.n_critic = 1;  // one step, with a G step
    TrainResult cpu = train(o);
    o.device = "cuda";
    o.out_dir = testing::zoo_out("cuda_cuda_" + variant);
    TrainResult cuda = train(o);
    REQUIRE(cuda.losses.size() == 1);
    const StepLosses &a = cpu.losses[0], &b = cuda.losses[0];
    CHECK(b.d_loss == doctest::Approx(a.d_loss).epsilon(1e-4));
    CHECK(b.g_loss == doctest::Approx(a.g_loss).epsilon(1e-4));
    CHECK(b.wasserstein == doctest::Approx(a.wasserstein).epsilon(1e-4));
    CHECK(b.gp == doctest::Approx(a.gp).epsilon(1e-4));
    // The checkpoint written from the cuda device loads on the cpu.
    CHECK(load_gan_checkpoint(cuda.checkpoint).model->config.variant == variant);
  }
}

#endif
