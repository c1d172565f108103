// bench/dcgan_step.cpp — the DCGAN training step (D on a real and a fake batch,
// then G; batch 64, 28x28, the `gantry train dcgan` model) on the CPU: median
// ms/step and images/s over many steps after a warm-up, and peak tensor memory.
// bench/run_dcgan_step.sh runs it beside the same step in PyTorch (bench/peers/).
//   ./build/bench_dcgan_step [--threads T] [--steps N] [--profile N] [--warmup W] [--width F] [--batch B]
#include "core/threads.hpp"

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cstdio>

#include "bench/step_report.hpp"

#include "gan/zoo/dcgan_step.hpp"

using namespace gantry;

int main(int argc, char** argv) {
  gantry::bound_openmp_spinning(argv);  // before any OpenMP use (core/threads.hpp)
  int threads = gantry::num_threads(), steps = 30, warmup = 5, profile_steps = 0;
  int64_t width = 32, batch = 64;
  CLI::App app{"DCGAN training-step benchmark"};
  app.add_option("--threads", threads)->check(CLI::Range(1, 1024));
  app.add_option("--steps", steps)->check(CLI::Range(1, 100000));
  app.add_option("--warmup", warmup)->check(CLI::Range(0, 100000));
  app.add_option("--width", width)->check(CLI::Range(1, 1024));
  app.add_option("--batch", batch)->check(CLI::Range(1, 65536));
  app.add_option("--profile", profile_steps,
                 "after the timed steps, N more with every kernel timed by name: a table by self time")
      ->check(CLI::Range(0, 100000));
  CLI11_PARSE(app, argc, argv);
  gantry::set_num_threads(threads);
  const double probe = bench::print_machine(threads);

  gan::Hyperparams config = gan::find_variant("dcgan").defaults();  // 28x28, z 100, Adam 2e-4 (0.5, 0.999)
  config.set("width", std::to_string(width), "--width");
  gan::DcganModel model(config, {}, 1);
  Rng data_gen(2);
  Tensor real = rand({batch, 1, 28, 28}, DType::f32, &data_gen, -1, 1);
  for (int i = 0; i < warmup; ++i) model.step(real);
  reset_peak_memory();
  std::vector<double> ms;
  const double cpu0 = bench::process_cpu_ms();
  for (int i = 0; i < steps; ++i) {
    auto t0 = std::chrono::steady_clock::now();
    model.step(real);
    ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  }
  const double cpu_per_step = (bench::process_cpu_ms() - cpu0) / steps;
  std::sort(ms.begin(), ms.end());
  const double median = ms[ms.size() / 2];
  std::printf(
      "gantry  dcgan step  batch %lld  width %lld  threads %d: median %.2f ms/step (min %.2f, max %.2f), "
      "%.0f images/s, peak tensor memory %.1f MiB, peak process RSS %.0f MiB\n",
      (long long)batch, (long long)width, threads, median, ms.front(), ms.back(), batch * 1000.0 / median,
      memory_stats().peak_bytes / 1048576.0, bench::peak_rss_mib());
  std::printf("gantry  cpu time %.2f ms/step (all threads)\n", cpu_per_step);
  bench::print_result(median, cpu_per_step);
  bench::print_effective_rate(median, probe, 1, [&] { model.step(real); });
  bench::print_profile(profile_steps, [&] { model.step(real); });
  return 0;
}
