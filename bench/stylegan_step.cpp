// bench/stylegan_step.cpp — the StyleGAN2 training step of `gantry train stylegan` on the CPU
// (gan/zoo/stylegan.hpp, Stylegan::step: Gmain, Greg when pl_weight > 0, Dmain, the lazy
// R1 Dreg every r1_interval steps, the G EMA), on 28x28 gray data with the variant's
// defaults (z 64, w 64, 2 mapping layers, width 16, R1 gamma 0.01 every 16 steps, path
// length off, style mixing 0.9). Because R1 runs on one step in r1_interval, the figure is
// the MEAN ms/step over --steps (default 16, one whole R1 cycle) after a warm-up; the median
// is printed too. bench/run_stylegan_step.sh runs it beside bench/peers/stylegan_step.py.
//   ./build/bench_stylegan_step [--threads T] [--steps N] [--profile N] [--warmup W] [--batch B] [--width F]
//                               [--r1-interval I] [--pl-weight P]
#include "core/threads.hpp"

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <numeric>

#include "bench/step_report.hpp"
#include "gan/zoo/stylegan.hpp"

using namespace gantry;

int main(int argc, char** argv) {
  gantry::bound_openmp_spinning(argv);  // before any OpenMP use (core/threads.hpp)
  int threads = gantry::num_threads(), steps = 16, warmup = 2, profile_steps = 0;
  int64_t batch = 64, width = 16, r1_interval = 16;
  double pl_weight = 0;
  CLI::App app{"StyleGAN2 training-step benchmark"};
  app.add_option("--threads", threads)->check(CLI::Range(1, 1024));
  app.add_option("--steps", steps)->check(CLI::Range(1, 100000));
  app.add_option("--warmup", warmup)->check(CLI::Range(0, 100000));
  app.add_option("--batch", batch)->check(CLI::Range(2, 65536));
  app.add_option("--width", width)->check(CLI::Range(2, 1024));
  app.add_option("--r1-interval", r1_interval)->check(CLI::Range(1, 1000));
  app.add_option("--pl-weight", pl_weight)->check(CLI::Range(0.0, 1e6));
  app.add_option("--profile", profile_steps,
                 "after the timed steps, N more with every kernel timed by name: a table by self time")
      ->check(CLI::Range(0, 100000));
  CLI11_PARSE(app, argc, argv);
  gantry::set_num_threads(threads);
  const double probe = bench::print_machine(threads);

  gan::Hyperparams config = gan::find_variant("stylegan").defaults();
  config.set("width", std::to_string(width), "--width");
  config.set("r1_interval", std::to_string(r1_interval), "--r1-interval");
  config.set("pl_weight", std::to_string(pl_weight), "--pl-weight");
  gan::Stylegan model(config, {28, 1}, 1);
  Rng data_gen(2);
  const gan::Batch real{rand({batch, 1, 28, 28}, DType::f32, &data_gen, -1, 1), {}, {}};
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
  const double mean = std::accumulate(ms.begin(), ms.end(), 0.0) / steps;
  std::sort(ms.begin(), ms.end());
  std::printf(
      "gantry  stylegan step  batch %lld  width %lld  r1 every %lld  pl %g  threads %d: mean %.2f ms/step "
      "(median %.2f, min %.2f, max %.2f), %.0f images/s, params G %lld, D %lld; peak tensor memory %.1f MiB, "
      "peak process RSS %.0f MiB\n",
      (long long)batch, (long long)width, (long long)r1_interval, pl_weight, threads, mean, ms[ms.size() / 2],
      ms.front(), ms.back(), batch * 1000.0 / mean, (long long)model.net("G").parameter_count(),
      (long long)model.net("D").parameter_count(), memory_stats().peak_bytes / 1048576.0, bench::peak_rss_mib());
  std::printf("gantry  cpu time %.2f ms/step (all threads)\n", cpu_per_step);
  bench::print_result(mean, cpu_per_step);
  bench::print_effective_rate(mean, probe, (int)r1_interval, [&] { model.step(real); });
  bench::print_profile(profile_steps, [&] { model.step(real); });
  return 0;
}
