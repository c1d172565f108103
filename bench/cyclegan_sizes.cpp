// bench/cyclegan_sizes.cpp — how small can CycleGAN be at 28 px: trains one candidate
// size on Fashion-MNIST sneakers (7) <-> ankle boots (9) for a number of steps, printing
// the eval metrics (gan/eval/cyclegan_metrics.hpp) on test images every --eval-every
// steps with the process CPU time per step (wall time means little on a shared machine),
// and the parameter counts; at the end it writes a grid (rows: real A, G_AB(A), G_BA(G_AB(A)), real B,
// G_BA(B), G_AB(G_BA(B))). The measurements behind the default sizes in docs/gans.md.
//   ./build/bench_cyclegan_sizes [--ngf F] [--blocks R] [--ndf F] [--n-layers L] [--batch B]
//       [--steps N] [--eval-every K] [--threads T] [--eval-n N] [--grid out.png]
#include "core/threads.hpp"

#include <CLI/CLI.hpp>
#include <chrono>
#include <ctime>
#include <cstdio>

#include "gan/data/dataset.hpp"
#include "gan/eval/cyclegan_metrics.hpp"
#include "gan/eval/image_grid.hpp"
#include "gan/zoo/cyclegan_step.hpp"

using namespace gantry;
using namespace gantry::gan;

namespace {
double cpu_seconds() { return (double)std::clock() / CLOCKS_PER_SEC; }

void write_grid(const std::string& path, CycleganStep& m, const Tensor& a, const Tensor& b) {
  NoGradGuard ng;
  Tensor fb = m.G_AB->forward(a), fa = m.G_BA->forward(b);
  save_image_grid(path, cat({a, fb, m.G_BA->forward(fb), b, fa, m.G_AB->forward(fa)}, 0), a.size(0), 2, 3);
}
}  // namespace

int main(int argc, char** argv) {
  CycleganConfig c = cyclegan_small_config();
  int64_t batch = 4, eval_n = 500, max_steps = 1000, eval_every = 250;
  int threads = 1;
  std::string grid;
  CLI::App app{"CycleGAN size probe: sneaker <-> ankle boot for a time budget"};
  app.add_option("--ngf", c.ngf);
  app.add_option("--blocks", c.n_blocks);
  app.add_option("--ndf", c.ndf);
  app.add_option("--n-layers", c.n_layers);
  app.add_option("--batch", batch);
  app.add_option("--steps", max_steps);
  app.add_option("--eval-every", eval_every);
  app.add_option("--threads", threads);
  app.add_option("--eval-n", eval_n);
  app.add_option("--grid", grid);
  CLI11_PARSE(app, argc, argv);
  gantry::set_num_threads(threads);

  Dataset a = load_dataset({"", true, false, {7}, 0}), b = load_dataset({"", true, false, {9}, 0});
  Tensor test_a = load_dataset({"", false, false, {7}, eval_n}).images;
  Tensor test_b = load_dataset({"", false, false, {9}, eval_n}).images;
  CycleganStep m(c, 1);
  BatchIterator ia(a, batch, 11), ib(b, batch, 12);
  ia.start_epoch(0), ib.start_epoch(0);
  LoadedClassifier cls = load_classifier(default_classifier_path());
  std::printf("ngf %lld blocks %lld ndf %lld n_layers %lld batch %lld threads %d: params G %lld, D %lld each\n",
              (long long)c.ngf, (long long)c.n_blocks, (long long)c.ndf, (long long)c.n_layers, (long long)batch,
              threads, (long long)m.G_AB->parameter_count(), (long long)m.D_A->parameter_count());
  const double cpu0 = cpu_seconds();
  const auto t0 = std::chrono::steady_clock::now();
  double train_cpu = 0;
  int64_t steps = 0;
  for (int64_t epoch = 1; steps < max_steps; ++epoch) {
    Tensor xa, xb, la, lb;
    while (steps < max_steps && ia.next(xa, la) && ib.next(xb, lb)) {
      const double s0 = cpu_seconds();
      NamedLosses l = m.step(xa, xb);
      train_cpu += cpu_seconds() - s0;
      if (++steps % eval_every == 0 || steps == max_steps) {
        std::printf("step %lld, %lld pairs, %.1f ms CPU/step (%.0f s CPU, %.0f s wall in all):", (long long)steps,
                    (long long)(steps * batch), 1000 * train_cpu / steps, cpu_seconds() - cpu0,
                    std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
        for (auto& [n, v] : l) std::printf(" %s %.3f", n.c_str(), v);
        std::printf("\n%s",
                    format_cyclegan_eval(evaluate_cyclegan(*cls.model, *m.G_AB, *m.G_BA, test_a, test_b, 7, 9), "eval")
                        .c_str());
        std::fflush(stdout);
      }
    }
    ia.start_epoch(epoch), ib.start_epoch(epoch);
  }
  if (!grid.empty()) write_grid(grid, m, narrow(test_a, 0, 0, 8), narrow(test_b, 0, 0, 8));
  return 0;
}
