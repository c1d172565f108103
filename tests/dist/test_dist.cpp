// nn/dist under `mpirun -np 2` (ctest dist_np2) and as one process (ctest dist): the
// collectives, the differentiable all-reduce, the sampler, sync batch norm, and the
// exactness of data-parallel steps against one process on the whole batch.
//
// Every rank also computes the one-process reference itself (no communication), so a
// test compares its distributed result with it on each rank.
#include <algorithm>
#include <cmath>
#include <cstdio>

#include "gan/data/dataset.hpp"
#include "nn/dist/data_parallel.hpp"
#include "nn/dist/nccl.hpp"
#include "nn/dist/sampler.hpp"
#include "nn/init.hpp"
#include "nn/layers.hpp"
#include "nn/optim.hpp"
#include "test_util.hpp"

using namespace gantry;
using gantry::testing::error_of;

namespace {
dist::Communicator& world() { return dist::Communicator::world(); }

double max_abs_diff(const Tensor& a, const Tensor& b) {
  auto va = a.contiguous().to(DType::f64).to_vector<double>(), vb = b.contiguous().to(DType::f64).to_vector<double>();
  REQUIRE(va.size() == vb.size());
  double m = 0;
  for (size_t i = 0; i < va.size(); ++i) m = std::max(m, std::abs(va[i] - vb[i]));
  return m;
}

// A small conv net: 1x12x12 -> conv 3x3/2 (6) -> [BN] -> lrelu -> conv 3x3/2 (8) -> [BN]
// -> lrelu -> flatten -> linear -> 1 logit.
std::shared_ptr<nn::Sequential> small_net(bool batchnorm, int64_t width, uint64_t seed) {
  auto net = std::make_shared<nn::Sequential>();
  // No conv bias before a batch norm (as in DCGAN): its exact gradient is 0, and Adam
  // would turn the rounding noise in its place into full-size steps.
  net->add(std::make_shared<nn::Conv2d>(1, width, 3, 2, 1, !batchnorm));
  if (batchnorm) net->add(std::make_shared<nn::BatchNorm2d>(width));
  net->add(std::make_shared<nn::LeakyReLU>(0.2));
  net->add(std::make_shared<nn::Conv2d>(width, 8, 3, 2, 1, !batchnorm));
  if (batchnorm) net->add(std::make_shared<nn::BatchNorm2d>(8));
  net->add(std::make_shared<nn::LeakyReLU>(0.2));
  net->add(std::make_shared<nn::Flatten>());
  net->add(std::make_shared<nn::Linear>(8 * 3 * 3, 1));
  Rng gen(seed);
  NoGradGuard off;
  for (auto& p : net->parameters()) nn::init::normal_(p, 0, 0.3, &gen);
  return net;
}

struct RunResult {
  std::vector<Tensor> params, buffers;
  std::vector<double> losses;
};

// `steps` Adam steps of a BCE loss on a fixed global batch of `batch` images. With
// distributed=false: one process on the whole batch (the reference). Otherwise this rank's
// slice, replicas broadcast from rank 0 (rank r starts from a different seed, so the
// broadcast must work), gradients averaged by the reducer, sync BN if asked.
RunResult train(bool batchnorm, bool sync_bn, bool distributed, int steps, int64_t batch, size_t bucket_bytes = 256) {
  auto& comm = world();
  auto net = small_net(batchnorm, 6, distributed ? 7 + comm.rank() : 7);
  if (distributed) {
    const int64_t changed = dist::broadcast_module(*net, "net", comm);
    if (comm.rank() > 0) CHECK(changed > 0);
    if (sync_bn) CHECK(dist::set_sync_batchnorm(*net, true, comm) == 2);
  }
  nn::Adam opt(net->parameters(), 1e-2, 0.5, 0.999);
  dist::GradientReducer reducer(net->parameters(), comm, bucket_bytes);
  Rng data(11);
  Tensor x = randn({batch, 1, 12, 12}, DType::f32, &data);
  Tensor y = rand({batch}, DType::f32, &data, 0, 1);
  Tensor xs = distributed ? dist::local_rows(x, comm.rank(), comm.size()) : x;
  Tensor ys = distributed ? dist::local_rows(y, comm.rank(), comm.size()) : y;
  RunResult r;
  for (int s = 0; s < steps; ++s) {
    opt.zero_grad();
    if (distributed) reducer.prepare();
    Tensor loss = bce_with_logits(net->forward(xs).reshape({-1}), ys);
    loss.backward();
    if (distributed) reducer.finish();
    opt.step();
    r.losses.push_back(distributed ? comm.all_reduce_sum(loss.item()) / comm.size() : loss.item());
  }
  if (distributed && comm.distributed()) CHECK(reducer.stats().buckets_started_in_backward > 0);
  for (auto& p : net->parameters()) r.params.push_back(p);
  for (auto& [n, b] : net->named_buffers()) r.buffers.push_back(b);
  return r;
}

void check_same_run(const RunResult& a, const RunResult& b, double tol) {
  REQUIRE(a.losses.size() == b.losses.size());
  for (size_t i = 0; i < a.losses.size(); ++i) CHECK(std::abs(a.losses[i] - b.losses[i]) <= tol);
  REQUIRE(a.params.size() == b.params.size());
  double worst = 0;
  for (size_t i = 0; i < a.params.size(); ++i) worst = std::max(worst, max_abs_diff(a.params[i], b.params[i]));
  for (size_t i = 0; i < a.buffers.size(); ++i)
    if (a.buffers[i].dtype() == DType::f32) worst = std::max(worst, max_abs_diff(a.buffers[i], b.buffers[i]));
  MESSAGE("rank ", world().rank(), ": largest parameter/buffer difference from one process ", worst);
  CHECK(worst <= tol);
}
}  // namespace

TEST_CASE("all_reduce, broadcast and agreement checks across ranks") {
  auto& comm = world();
  const int r = comm.rank(), n = comm.size();
  Tensor t = full({5}, r + 1.0);
  comm.all_reduce_sum_(t);
  CHECK(t.to_vector<float>() == std::vector<float>(5, n * (n + 1) / 2.0f));
  Tensor m = full({3}, 2.0 * r);
  comm.all_reduce_mean_(m);
  CHECK(m.to_vector<float>()[2] == doctest::Approx(n - 1.0));
  Tensor b = full({2, 3}, r == 0 ? 42.0 : -1.0, DType::f64);
  comm.broadcast_(b.transpose(0, 1), 0);  // a non-contiguous view is written back in place
  CHECK(b.to_vector<double>() == std::vector<double>(6, 42.0));
  CHECK(comm.all_reduce_sum(1.5) == 1.5 * n);
  comm.barrier();
  CHECK_NOTHROW(comm.check_same("flags", "a=1\nb=2"));
  const std::string msg = error_of([&] { comm.check_same("flags", r == 1 ? "a=1\nb=3" : "a=1\nb=2"); });
  if (n > 1) CHECK(msg == "flags differ across ranks: rank 1 has 'b=3' where rank 0 has 'b=2'");
  else CHECK(msg == "(no error)");
}

TEST_CASE("the differentiable all_reduce_sum passes every rank's gradient to every rank") {
  auto& comm = world();
  const int r = comm.rank(), n = comm.size();
  Tensor x = full({4}, 1.0).requires_grad_();
  Tensor y = dist::all_reduce_sum(mul(x, r + 1.0), comm);  // y = sum_s (s+1) x_s
  CHECK(y.to_vector<float>()[0] == doctest::Approx(n * (n + 1) / 2.0));
  sum(mul(y, 10.0 * (r + 1))).backward();  // rank s's loss 10 (s+1) sum(y)
  // d/dx_r sum_s L_s = (r+1) * 10 * sum_s (s+1)
  CHECK(x.grad().to_vector<float>()[3] == doctest::Approx((r + 1) * 10.0 * n * (n + 1) / 2.0));
}

TEST_CASE("DistributedSampler: one shared order, equal slices by rank, the order BatchIterator uses") {
  auto& comm = world();
  dist::DistributedSampler s(103, 8, 5, comm.rank(), comm.size());
  CHECK(s.batches_per_epoch() == 12);
  const auto order = s.permutation(3);
  std::vector<int64_t> sorted = order;
  std::sort(sorted.begin(), sorted.end());
  for (int64_t i = 0; i < 103; ++i) CHECK(sorted[i] == i);
  const auto mine = s.local_indices(3, 2);
  CHECK((int64_t)mine.size() == 8 / comm.size());
  for (size_t k = 0; k < mine.size(); ++k) CHECK(mine[k] == order[16 + comm.rank() * (8 / comm.size()) + k]);
  // The same order as gan::BatchIterator with that seed: batch images carry their index.
  gan::Dataset d{empty({103, 1, 1, 1}), empty({103}, DType::i64)};
  for (int64_t i = 0; i < 103; ++i) d.images.data<float>()[i] = (float)i, d.labels.data<int64_t>()[i] = i;
  gan::BatchIterator it(d, 8, 5);
  it.start_epoch(3);
  Tensor im, lb;
  for (int b = 0; b <= 2; ++b) REQUIRE(it.next(im, lb));
  const auto labels = lb.to_vector<int64_t>();
  for (int64_t k = 0; k < 8; ++k) CHECK(labels[k] == order[16 + k]);
  CHECK(dist::local_rows(lb, comm.rank(), comm.size()).to_vector<int64_t>()[0] == mine[0]);
  CHECK(error_of([&] { dist::DistributedSampler(10, 3, 0, 0, 2); }).find("equal slices") != std::string::npos);
}

TEST_CASE("sync batch norm on one process equals the fused batch_norm, values and gradients") {
  // With the identity as the reducer, the sync path computes the same function as the
  // fused kernel: this checks its formula (forward, input/weight grads, running stats).
  Rng gen(3);
  Tensor x = randn({5, 3, 4, 2}, DType::f32, &gen).requires_grad_();
  Tensor w = randn({5, 3, 4, 2}, DType::f32, &gen);
  nn::BatchNorm2d fused(3), synced(3);
  synced.set_sync([](const Tensor& t) { return t; });
  CHECK(synced.synced());
  Tensor y1 = fused.forward(x), y2 = synced.forward(x);
  CHECK(max_abs_diff(y1, y2) < 1e-5);
  Tensor g1 = grad({sum(mul(y1, w))}, {x})[0], g2 = grad({sum(mul(y2, w))}, {x})[0];
  CHECK(max_abs_diff(g1, g2) < 1e-4);
  CHECK(max_abs_diff(fused.running_mean, synced.running_mean) < 1e-6);
  CHECK(max_abs_diff(fused.running_var, synced.running_var) < 1e-5);
  synced.set_sync(nullptr);
  CHECK_FALSE(synced.synced());
}

TEST_CASE("exactness: a conv net without batch norm, R ranks x B/R == 1 process x B after 5 Adam steps") {
  RunResult ref = train(false, false, false, 5, 8);
  RunResult ddp = train(false, false, true, 5, 8);
  check_same_run(ref, ddp, 2e-5);
}

TEST_CASE("exactness: a conv net with sync batch norm, R ranks x B/R == 1 process x B after 5 Adam steps") {
  RunResult ref = train(true, false, false, 5, 8);
  RunResult ddp = train(true, true, true, 5, 8);
  check_same_run(ref, ddp, 5e-5);
}

TEST_CASE("local batch norm across ranks diverges from one process (reported, not hidden)") {
  RunResult ref = train(true, false, false, 5, 8);
  RunResult ddp = train(true, false, true, 5, 8);
  double worst = 0;
  for (size_t i = 0; i < ref.params.size(); ++i) worst = std::max(worst, max_abs_diff(ref.params[i], ddp.params[i]));
  MESSAGE("rank ", world().rank(), ": local batch norm, largest parameter difference from one process ", worst);
  if (world().distributed()) CHECK(worst > 1e-3);
  else CHECK(worst == 0);
}

TEST_CASE("only the armed reducer's net is reduced; reduce() after grad() averages too") {
  auto& comm = world();
  auto a = small_net(false, 4, 1), b = small_net(false, 4, 2);
  dist::broadcast_module(*a, "a", comm);
  dist::broadcast_module(*b, "b", comm);
  dist::GradientReducer ra(a->parameters(), comm, 512), rb(b->parameters(), comm, 512);
  CHECK(ra.bucket_count() > 1);
  Rng data(100 + comm.rank());  // a different batch per rank
  Tensor x = randn({2, 1, 12, 12}, DType::f32, &data);
  ra.prepare();
  sum(add(a->forward(x), b->forward(x))).backward();
  ra.finish();
  // b's gradient stays local: rank-dependent; a's is the mean: the same on every rank.
  Tensor ga = a->parameters()[0].grad().clone(), gb = b->parameters()[0].grad().clone();
  Tensor ga_sum = ga.clone(), gb_sum = gb.clone();
  comm.all_reduce_mean_(ga_sum);
  comm.all_reduce_mean_(gb_sum);
  CHECK(max_abs_diff(ga, ga_sum) < 1e-6);
  if (comm.distributed()) CHECK(max_abs_diff(gb, gb_sum) > 1e-4);
  // grad() runs no hooks: set the .grads, then reduce().
  auto params = b->parameters();
  auto grads = grad({sum(b->forward(x))}, params);
  for (size_t i = 0; i < params.size(); ++i) params[i].set_grad(grads[i]);
  rb.sync();  // not armed: reduce()
  Tensor g = params[0].grad().clone(), gm = g.clone();
  comm.all_reduce_mean_(gm);
  CHECK(max_abs_diff(g, gm) < 1e-6);
}

TEST_CASE("a reducer armed for one backward but given two reduces the final gradients; optimizer hooks drive it") {
  auto& comm = world();
  auto a = small_net(false, 4, 3);
  dist::broadcast_module(*a, "a", comm);
  dist::GradientReducer r(a->parameters(), comm, 512);
  nn::SGD opt(a->parameters(), 0.1);
  opt.on_zero_grad = [&] { r.prepare(); };  // what gan/train/trainer.cpp installs
  opt.before_step = [&] { r.sync(); };
  Rng data(200 + comm.rank());
  Tensor x = randn({2, 1, 12, 12}, DType::f32, &data), y = randn({2, 1, 12, 12}, DType::f32, &data);
  opt.zero_grad();
  sum(a->forward(x)).backward();
  sum(mul(a->forward(y), 2.0)).backward();  // a second pass after the buckets took the first
  // The expected mean of the accumulated gradients, before step() replaces them.
  Tensor g = a->parameters()[0].grad().clone(), want = g.clone();
  comm.all_reduce_mean_(want);
  Tensor before = a->parameters()[0].clone();
  opt.step();
  CHECK(r.stats().stale_steps == (comm.distributed() ? 1 : 0));
  CHECK(max_abs_diff(a->parameters()[0].grad(), want) < 1e-6);
  CHECK(max_abs_diff(sub(before, a->parameters()[0]), mul(want, 0.1)) < 1e-6);
}

TEST_CASE("broadcast_module names the first parameter whose shape differs across ranks") {
  auto& comm = world();
  auto net = small_net(true, comm.rank() == 1 ? 5 : 6, 1);
  const std::string msg = error_of([&] { dist::broadcast_module(*net, "D", comm); });
  if (comm.distributed())
    CHECK(msg ==
          "D's parameters and buffers differ across ranks: rank 1 has 'parameter 0.weight float32 [5,1,3,3] "
          "grad' where rank 0 has 'parameter 0.weight float32 [6,1,3,3] grad'");
  else CHECK(msg == "(no error)");
}

TEST_CASE("NCCL is linked in the real build only") {
#if GANTRY_HAS_NCCL
  CHECK(dist::NcclCommunicator::available());
#else
  CHECK_FALSE(dist::NcclCommunicator::available());
  CHECK(error_of([&] { dist::NcclCommunicator c(world(), 0); }).find("no NCCL") != std::string::npos);
#endif
}
