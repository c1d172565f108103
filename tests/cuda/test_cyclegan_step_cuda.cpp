// One whole CycleGAN step (G_AB and G_BA with cycle and identity losses, then D_A and D_B
// on pooled fakes, each pair under one Adam) on the cuda device (emulated, or a GPU)
// against the same step on the cpu, at a tiny size: same seed, same weights, same
// batches. Two steps, so the second D step sees a pool that swaps (capacity 2 < the
// 4 images seen); the losses, the pooled images, every gradient of the last step and
// the updated weights of the four nets must agree within float32 tolerance.
//
// One exception, by the math: a conv bias followed by instance norm has zero gradient
// (the norm subtracts each channel's mean), so its computed gradient is rounding noise
// (float32 cancellation) that differs between devices, and Adam turns noise of either
// sign into a full lr-sized step. Those biases (kept, as in the reference) are checked
// for a gradient that is ~0 beside their conv's weight gradient, on both devices,
// instead of for equal values.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <string>

#include "cuda_test_util.hpp"
#include "gan/zoo/cyclegan_step.hpp"

using namespace gantry;
using namespace gantry::gan;

namespace {

struct Param {
  std::string name;                 // "G_AB.model.1.bias"
  std::vector<float> grad, weight;  // after the last step, on the cpu
};

struct CycleRun {
  std::vector<NamedLosses> losses;
  std::vector<Param> params;  // G_AB, G_BA, D_A, D_B
  std::vector<float> pool_b;  // the fake-B pool's images after the steps
};

// The biases whose conv is followed by instance norm: all of the generator's but the
// last conv's (model.18 with one block), and the discriminator's but the first and the
// output conv's (model.0, model.5 with n_layers 1).
bool feeds_instance_norm(const std::string& name) {
  if (!name.ends_with(".bias")) return false;
  if (name.starts_with("G_")) return !name.ends_with(".model.18.bias");
  return !name.ends_with(".model.0.bias") && !name.ends_with(".model.5.bias");
}

CycleRun cyclegan_steps(Device device, CycleganGanMode mode) {
  CycleganConfig c;
  c.ngf = 3, c.n_blocks = 1, c.ndf = 3, c.n_layers = 1, c.pool_size = 2, c.gan_mode = mode;
  CycleganStep m(c, 21, device);
  Rng data(22);
  CycleRun r;
  for (int s = 0; s < 2; ++s) {
    Tensor a = rand({2, 1, 8, 8}, DType::f32, &data, -1, 1).to(device);
    Tensor b = rand({2, 1, 8, 8}, DType::f32, &data, -1, 1).to(device);
    r.losses.push_back(m.step(a, b));
  }
  const std::pair<const char*, nn::Module*> nets[] = {{"G_AB", m.G_AB.get()},
                                                      {"G_BA", m.G_BA.get()},
                                                      {"D_A", m.D_A.get()},
                                                      {"D_B", m.D_B.get()}};
  for (auto [net_name, net] : nets)
    for (const auto& [name, p] : net->named_parameters()) {
      REQUIRE(p.grad().defined());
      r.params.push_back({std::string(net_name) + "." + name, p.grad().to(Device::cpu()).to_vector<float>(),
                          p.detach().to(Device::cpu()).to_vector<float>()});
    }
  for (const Tensor& t : m.fake_b_pool.images()) {
    auto v = t.to(Device::cpu()).to_vector<float>();
    r.pool_b.insert(r.pool_b.end(), v.begin(), v.end());
  }
  return r;
}

void check_runs(const CycleRun& gpu, const CycleRun& cpu) {
  REQUIRE(gpu.losses.size() == cpu.losses.size());
  for (size_t s = 0; s < cpu.losses.size(); ++s)
    for (size_t k = 0; k < cpu.losses[s].size(); ++k) {
      INFO("step " << s << " loss " << cpu.losses[s][k].first);
      CHECK(gpu.losses[s][k].first == cpu.losses[s][k].first);
      CHECK(std::isfinite(cpu.losses[s][k].second));
      CHECK(gpu.losses[s][k].second == doctest::Approx(cpu.losses[s][k].second).epsilon(1e-4));
    }
  REQUIRE(gpu.params.size() == cpu.params.size());
  int64_t under_norm = 0;
  auto max_abs = [](const std::vector<float>& v) {
    double m = 0;
    for (float x : v) m = std::max(m, (double)std::abs(x));
    return m;
  };
  for (size_t i = 0; i < cpu.params.size(); ++i) {
    const Param &g = gpu.params[i], &c = cpu.params[i];
    REQUIRE(g.name == c.name);
    if (feeds_instance_norm(c.name)) {  // its weight is the parameter just before it
      ++under_norm;
      REQUIRE(cpu.params[i - 1].name == c.name.substr(0, c.name.size() - 4) + "weight");
      const double scale = max_abs(cpu.params[i - 1].grad);
      INFO(c.name << ": |bias gradient| cpu " << max_abs(c.grad) << ", cuda " << max_abs(g.grad)
                  << "; its weight's gradient " << scale);
      CHECK(max_abs(c.grad) < 1e-5 * scale);
      CHECK(max_abs(g.grad) < 1e-5 * scale);
      continue;
    }
    testing::check_max_error(g.grad, c.grad, "gradient of " + c.name, 1e-6, 1e-4);
    // Two Adam steps move each weight by about 2 lr sign(gradient): the weights agree to
    // float32 rounding wherever the gradients do.
    testing::check_max_error(g.weight, c.weight, "weight " + c.name, 1e-6, 1e-5);
  }
  CHECK(under_norm == 2 * 7 + 2 * 1);
  testing::check_max_error(gpu.pool_b, cpu.pool_b, "pooled fake B", 1e-5, 1e-4);
}

}  // namespace

TEST_CASE("a CycleGAN step (both G, both D, pool, identity) on cuda matches the cpu") {
  if (!testing::have_cuda_device()) return;
  CycleRun cpu = cyclegan_steps(Device::cpu(), CycleganGanMode::lsgan);
  CycleRun gpu = cyclegan_steps(Device::cuda(0), CycleganGanMode::lsgan);
  CHECK(loss_of(cpu.losses[0], "idt_A") > 0);
  check_runs(gpu, cpu);
}

TEST_CASE("a CycleGAN wgangp step (the penalty's double backward through instance norm) on cuda matches the cpu") {
  if (!testing::have_cuda_device()) return;
  check_runs(cyclegan_steps(Device::cuda(0), CycleganGanMode::wgangp),
             cyclegan_steps(Device::cpu(), CycleganGanMode::wgangp));
}
