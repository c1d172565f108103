// examples/demo_mlp.cpp — the engine in one screen: fit a 2-layer MLP to
// y = x sin(3x) on [-1, 1] with SGD + momentum written on gantry's ops, printing
// the loss as it falls. Run: ./build/demo_mlp [--steps N] [--seed S]
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "core/ops.hpp"

using namespace gantry;

namespace {

bool parse_args(int argc, char** argv, long long& steps, long long& seed) {
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if ((a == "--steps" || a == "--seed") && i + 1 < argc) {
      char* end = nullptr;
      long long v = std::strtoll(argv[++i], &end, 10);
      if (*end || v < 0) {
        std::fprintf(stderr, "demo_mlp: %s needs a non-negative integer, got '%s'\n", a.c_str(), argv[i]);
        return false;
      }
      (a == "--steps" ? steps : seed) = v;
    } else {
      std::fprintf(stderr, "demo_mlp: unknown argument '%s' (usage: demo_mlp [--steps N] [--seed S])\n", argv[i]);
      return false;
    }
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  long long steps = 1500, seed = 0;
  if (!parse_args(argc, argv, steps, seed)) return 2;
  manual_seed((uint64_t)seed);

  const int64_t n = 256, hidden = 64;
  std::vector<double> xs(n), ys(n);
  for (int64_t i = 0; i < n; ++i) {
    xs[i] = -1.0 + 2.0 * i / (n - 1);
    ys[i] = xs[i] * std::sin(3 * xs[i]);
  }
  Tensor x = from_vector(xs, {n, 1}), y = from_vector(ys, {n, 1});

  // Parameters, Kaiming-style scaled normals; momentum buffers beside them.
  std::vector<Tensor> params = {mul(randn({hidden, 1}), std::sqrt(2.0)).requires_grad_(),
                                zeros({hidden}).requires_grad_(),
                                mul(randn({1, hidden}), std::sqrt(2.0 / hidden)).requires_grad_(),
                                zeros({1}).requires_grad_()};
  std::vector<Tensor> velocity;
  for (auto& p : params) velocity.push_back(zeros_like(p));
  const double lr = 0.05, momentum = 0.9;

  std::printf("fitting y = x sin(3x) with a 1-%lld-1 tanh MLP, %lld steps of SGD (lr %.2f, momentum %.1f)\n",
              (long long)hidden, steps, lr, momentum);
  double first = 0, last = 0;
  for (long long step = 0; step <= steps; ++step) {
    Tensor h = tanh(linear(x, params[0], params[1]));
    Tensor loss = mse_loss(linear(h, params[2], params[3]), y);
    for (auto& p : params) p.set_grad({});
    loss.backward();
    {
      NoGradGuard off;  // v = m v + g; p -= lr v, written into the parameters in place
      for (size_t i = 0; i < params.size(); ++i) {
        velocity[i] = add(mul(velocity[i], momentum), params[i].grad());
        copy_(params[i], sub(params[i], mul(velocity[i], lr)));
      }
    }
    last = loss.item();
    if (step == 0) first = last;
    if (step % (steps / 10 > 0 ? steps / 10 : 1) == 0) std::printf("step %5lld  loss %.6f\n", step, last);
  }
  std::printf("loss %.6f -> %.6f (%.1fx lower)\n", first, last, first / last);
  return last < first ? 0 : 1;
}
