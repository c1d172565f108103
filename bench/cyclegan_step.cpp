// bench/cyclegan_step.cpp — one CycleGAN training step (G_AB and G_BA with cycle and
// identity losses, then D_A and D_B on pooled fakes; gan/zoo/cyclegan_step.hpp) on the
// CPU: median ms/step and images/s over many steps after a warm-up, the parameter
// counts and peak tensor memory. bench/run_cyclegan_step.sh runs it beside the same
// step in PyTorch (bench/peers/cyclegan_step.py).
//   ./build/bench_cyclegan_step [--threads T] [--steps N] [--profile N] [--warmup W] [--batch B] [--size S]
//                               [--ngf F] [--blocks R] [--ndf F] [--n-layers L]
#include "core/threads.hpp"

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cstdio>

#include "bench/step_report.hpp"

#include "gan/zoo/cyclegan_step.hpp"

using namespace gantry;

int main(int argc, char** argv) {
  gantry::bound_openmp_spinning(argv);  // before any OpenMP use (core/threads.hpp)
  int threads = gantry::num_threads(), steps = 20, warmup = 3, profile_steps = 0;
  int64_t batch = 1, size = 28;  // the paper's batch 1 also measured best at 28 px (gan/zoo/cyclegan_step.hpp)
  gan::CycleganConfig c = gan::cyclegan_small_config();  // the 28 px default
  CLI::App app{"CycleGAN training-step benchmark"};
  app.add_option("--threads", threads)->check(CLI::Range(1, 1024));
  app.add_option("--steps", steps)->check(CLI::Range(1, 100000));
  app.add_option("--warmup", warmup)->check(CLI::Range(0, 100000));
  app.add_option("--batch", batch)->check(CLI::Range(1, 65536));
  app.add_option("--size", size)->check(CLI::Range(8, 1024));
  app.add_option("--ngf", c.ngf)->check(CLI::Range(1, 1024));
  app.add_option("--blocks", c.n_blocks)->check(CLI::Range(0, 64));
  app.add_option("--ndf", c.ndf)->check(CLI::Range(1, 1024));
  app.add_option("--n-layers", c.n_layers)->check(CLI::Range(1, 8));
  app.add_option("--profile", profile_steps,
                 "after the timed steps, N more with every kernel timed by name: a table by self time")
      ->check(CLI::Range(0, 100000));
  CLI11_PARSE(app, argc, argv);
  gantry::set_num_threads(threads);
  const double probe = bench::print_machine(threads);

  gan::CycleganStep model(c, 1);
  Rng data_gen(2);
  Tensor a = rand({batch, 1, size, size}, DType::f32, &data_gen, -1, 1);
  Tensor b = rand({batch, 1, size, size}, DType::f32, &data_gen, -1, 1);
  for (int i = 0; i < warmup; ++i) model.step(a, b);
  reset_peak_memory();
  std::vector<double> ms;
  const double cpu0 = bench::process_cpu_ms();
  for (int i = 0; i < steps; ++i) {
    auto t0 = std::chrono::steady_clock::now();
    model.step(a, b);
    ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  }
  const double cpu_per_step = (bench::process_cpu_ms() - cpu0) / steps;
  std::sort(ms.begin(), ms.end());
  const double median = ms[ms.size() / 2];
  std::printf(
      "gantry  cyclegan step  batch %lld  size %lld  ngf %lld blocks %lld ndf %lld n_layers %lld  threads %d: "
      "median %.2f ms/step (min %.2f, max %.2f), %.0f image pairs/s; params G %lld, D %lld each; "
      "peak tensor memory %.1f MiB, peak process RSS %.0f MiB\n",
      (long long)batch, (long long)size, (long long)c.ngf, (long long)c.n_blocks, (long long)c.ndf,
      (long long)c.n_layers, threads, median, ms.front(), ms.back(), batch * 1000.0 / median,
      (long long)model.G_AB->parameter_count(), (long long)model.D_A->parameter_count(),
      memory_stats().peak_bytes / 1048576.0, bench::peak_rss_mib());
  std::printf("gantry  cpu time %.2f ms/step (all threads)\n", cpu_per_step);
  bench::print_result(median, cpu_per_step);
  bench::print_effective_rate(median, probe, 1, [&] { model.step(a, b); });
  bench::print_profile(profile_steps, [&] { model.step(a, b); });
  return 0;
}
