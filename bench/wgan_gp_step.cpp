// bench/wgan_gp_step.cpp — the WGAN-GP training step of `gantry train wgan-gp` on the CPU
// (gan/zoo/wgan_gp.hpp, CriticGan::step): --n-critic K critic steps, each on the real
// batch and a no-grad fake batch plus the gradient penalty at interpolates (the input
// gradient taken with create_graph, so the critic's backward is a double backward), then
// one G step through the critic. 28x28, z 100, width F, layer-norm critic, Adam 1e-4
// (0, 0.9), lambda 10. Median ms per (K critic + 1 G) step after a warm-up, peak tensor
// memory and peak process RSS. bench/run_wgan_gp_step.sh runs it beside the same step in
// PyTorch (bench/peers/wgan_gp_step.py).
//   ./build/bench_wgan_gp_step [--threads T] [--steps N] [--profile N] [--warmup W] [--width F] [--batch B] [--n-critic
//   K]
#include "core/threads.hpp"

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cstdio>

#include "bench/step_report.hpp"
#include "gan/zoo/wgan_gp.hpp"

using namespace gantry;

int main(int argc, char** argv) {
  gantry::bound_openmp_spinning(argv);  // before any OpenMP use (core/threads.hpp)
  int threads = gantry::num_threads(), steps = 20, warmup = 3, profile_steps = 0, n_critic = 1;
  int64_t width = 32, batch = 64;
  CLI::App app{"WGAN-GP training-step benchmark"};
  app.add_option("--threads", threads)->check(CLI::Range(1, 1024));
  app.add_option("--steps", steps)->check(CLI::Range(1, 100000));
  app.add_option("--warmup", warmup)->check(CLI::Range(0, 100000));
  app.add_option("--width", width)->check(CLI::Range(1, 1024));
  app.add_option("--batch", batch)->check(CLI::Range(1, 65536));
  app.add_option("--n-critic", n_critic, "critic steps per timed step (each timed step ends with one G step)")
      ->check(CLI::Range(1, 1000));
  app.add_option("--profile", profile_steps,
                 "after the timed steps, N more with every kernel timed by name: a table by self time")
      ->check(CLI::Range(0, 100000));
  CLI11_PARSE(app, argc, argv);
  gantry::set_num_threads(threads);
  const double probe = bench::print_machine(threads);

  gan::Hyperparams config = gan::find_variant("wgan-gp").defaults();  // Adam 1e-4 (0, 0.9), lambda 10, LN critic
  config.set("width", std::to_string(width), "--width");
  config.set("n_critic", std::to_string(n_critic), "--n-critic");
  gan::WganGp model(config, {28, 1}, 1);
  Rng data_gen(2);
  const gan::Batch real{rand({batch, 1, 28, 28}, DType::f32, &data_gen, -1, 1), {}, {}};
  auto step = [&] {  // K critic steps; the K-th one is followed by the G step (CriticGan::step)
    for (int k = 0; k < n_critic; ++k) model.step(real);
  };
  for (int i = 0; i < warmup; ++i) step();
  reset_peak_memory();
  std::vector<double> ms;
  const double cpu0 = bench::process_cpu_ms();
  for (int i = 0; i < steps; ++i) {
    auto t0 = std::chrono::steady_clock::now();
    step();
    ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  }
  const double cpu_per_step = (bench::process_cpu_ms() - cpu0) / steps;
  std::sort(ms.begin(), ms.end());
  const double median = ms[ms.size() / 2];
  std::printf(
      "gantry  wgan-gp step (%d critic + 1 G)  batch %lld  width %lld  threads %d: median %.2f ms/step "
      "(min %.2f, max %.2f), %.0f images/s, peak tensor memory %.1f MiB, peak process RSS %.0f MiB\n",
      n_critic, (long long)batch, (long long)width, threads, median, ms.front(), ms.back(),
      batch * n_critic * 1000.0 / median, memory_stats().peak_bytes / 1048576.0, bench::peak_rss_mib());
  std::printf("gantry  cpu time %.2f ms/step (all threads)\n", cpu_per_step);
  bench::print_result(median, cpu_per_step);
  bench::print_effective_rate(median, probe, 1, [&] { step(); });
  bench::print_profile(profile_steps, [&] { step(); });
  return 0;
}
