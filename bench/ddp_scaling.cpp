// bench/ddp_scaling.cpp — data-parallel scaling of a DCGAN training step (the zoo's
// 28x28 G and D, batch 64 global, Adam): 1 process x T threads against R processes x
// T/R threads, on one machine. Reports global img/s, the gradient bytes all-reduced per
// step, the blocking all-reduce time of those bytes with no compute beside it, the
// communication still exposed in the step (waiting in finish()), and the overlap:
//   overlap = 1 - exposed / blocking.
//   ./build/bench_ddp_scaling --threads 2
//   mpirun -np 2 --oversubscribe --bind-to none ./build/bench_ddp_scaling --threads 1 [--sync-bn]
#include "core/threads.hpp"

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cstdio>

#include "gan/train/losses.hpp"
#include "gan/zoo/dcgan.hpp"
#include "nn/dist/data_parallel.hpp"
#include "nn/dist/sampler.hpp"
#include "nn/optim.hpp"

using namespace gantry;

namespace {
double now_ms() {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now().time_since_epoch()).count();
}
}  // namespace

int main(int argc, char** argv) {
  int threads = gantry::num_threads(), steps = 20, warmup = 3;
  int64_t width = 32, batch = 64;
  size_t bucket_kib = 1024;
  bool sync_bn = false;
  CLI::App app{"DCGAN data-parallel scaling benchmark"};
  app.add_option("--threads", threads, "OpenMP threads per process")->check(CLI::Range(1, 1024));
  app.add_option("--steps", steps)->check(CLI::Range(1, 100000));
  app.add_option("--warmup", warmup)->check(CLI::Range(0, 100000));
  app.add_option("--width", width)->check(CLI::Range(1, 1024));
  app.add_option("--batch", batch, "global batch")->check(CLI::Range(1, 65536));
  app.add_option("--bucket-kib", bucket_kib)->check(CLI::Range(1, 1 << 20));
  app.add_flag("--sync-bn", sync_bn);
  CLI11_PARSE(app, argc, argv);
  gantry::set_num_threads(threads);

  return dist::run([&] {
    auto& comm = dist::Communicator::world();
    const int R = comm.size();
    gan::DcganConfig dc{28, 100, width};
    auto G = std::make_shared<gan::DcganGenerator>(dc);
    auto D = std::make_shared<gan::DcganDiscriminator>(dc);
    Rng init_gen(1);
    gan::dcgan_init(*G, &init_gen);
    gan::dcgan_init(*D, &init_gen);
    dist::broadcast_module(*G, "G", comm);
    dist::broadcast_module(*D, "D", comm);
    if (sync_bn) dist::set_sync_batchnorm(*G, true, comm), dist::set_sync_batchnorm(*D, true, comm);
    nn::Adam opt_g(G->parameters(), 2e-4, 0.5, 0.999), opt_d(D->parameters(), 2e-4, 0.5, 0.999);
    dist::GradientReducer red_g(G->parameters(), comm, bucket_kib * 1024),
        red_d(D->parameters(), comm, bucket_kib * 1024);
    Rng data(2), noise(3);
    Tensor real = dist::local_rows(rand({batch, 1, 28, 28}, DType::f32, &data, -1, 1), comm.rank(), R);

    auto step = [&] {
      // Every rank draws the global latents and keeps its rows: the same z as one process.
      Tensor z = dist::local_rows(randn({batch, dc.z_dim}, DType::f32, &noise), comm.rank(), R);
      Tensor fake = G->forward(z);
      opt_d.zero_grad();
      red_d.prepare();
      gan::d_loss_bce(D->forward(real), D->forward(fake.detach())).backward();
      red_d.finish();
      opt_d.step();
      opt_g.zero_grad();
      red_g.prepare();  // D's grads from this backward stay local (red_d is not armed)
      gan::g_loss_nonsaturating(D->forward(fake)).backward();
      red_g.finish();
      opt_g.step();
    };
    for (int i = 0; i < warmup; ++i) step();
    red_g.reset_stats(), red_d.reset_stats();
    std::vector<double> ms;
    for (int i = 0; i < steps; ++i) {
      comm.barrier();
      const double t0 = now_ms();
      step();
      ms.push_back(now_ms() - t0);
    }
    const double exposed_ms = (red_g.stats().exposed_wait_s + red_d.stats().exposed_wait_s) * 1e3 / steps;
    const double copy_ms = (red_g.stats().copy_s + red_d.stats().copy_s) * 1e3 / steps;
    const int64_t in_bw = red_g.stats().buckets_started_in_backward + red_d.stats().buckets_started_in_backward;
    const int64_t total_b = red_g.stats().buckets_total + red_d.stats().buckets_total;
    // The same all-reduces with nothing beside them: what overlap could hide.
    red_g.reset_stats(), red_d.reset_stats();
    const int reps = 10;
    for (int i = 0; i < reps; ++i) comm.barrier(), red_g.reduce(), red_d.reduce();
    const double blocking_ms = (red_g.stats().exposed_wait_s + red_d.stats().exposed_wait_s) * 1e3 / reps;
    // A rank's time per step is the slowest rank's (the all-reduces synchronize them).
    std::vector<double> sorted = ms;
    std::sort(sorted.begin(), sorted.end());
    const double median = comm.all_reduce_sum(sorted[sorted.size() / 2]) / R;
    const double grad_mib = (red_g.gradient_bytes() + red_d.gradient_bytes()) / 1048576.0;
    if (comm.is_main()) {
      std::printf(
          "ddp dcgan step  width %lld  global batch %lld  %d process(es) x %d thread(s)%s: median %.1f ms/step, "
          "%.0f img/s\n",
          (long long)width, (long long)batch, R, threads, sync_bn ? "  sync-bn" : "", median, batch * 1000.0 / median);
      if (R > 1)
        std::printf(
            "  gradients %.2f MiB/step in %zu+%zu buckets (%lld of %lld started during backward); all-reduce "
            "alone %.2f ms/step, exposed in the step %.2f ms/step, overlap %.0f%%; staging copies %.2f ms/step\n",
            grad_mib, red_g.bucket_count(), red_d.bucket_count(), (long long)in_bw, (long long)total_b, blocking_ms,
            exposed_ms, 100.0 * std::clamp(1.0 - exposed_ms / blocking_ms, 0.0, 1.0), copy_ms);
      std::printf("RESULT ddp %d %d %.4f %.1f %.3f %.3f\n", R, threads, median, batch * 1000.0 / median, blocking_ms,
                  exposed_ms);
    }
    return 0;
  });
}
