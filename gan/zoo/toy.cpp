// gan/zoo/toy.cpp — the 2-D toy GAN: functional MLPs, the BCE / unrolled / WGAN-GP steps,
// snapshots with mode counts, and the scatter strip.
#include "gan/zoo/toy.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>

#include "core/error.hpp"
#include "gan/eval/image_grid.hpp"
#include "nn/optim.hpp"

namespace gantry::gan {

std::vector<Tensor> mlp_init(const std::vector<int64_t>& sizes, Rng* gen, DType t) {
  GANTRY_CHECK(sizes.size() >= 2, "mlp_init: needs an input and an output size");
  std::vector<Tensor> params;
  for (size_t l = 0; l + 1 < sizes.size(); ++l) {
    const double bound = 1.0 / std::sqrt((double)sizes[l]);
    params.push_back(rand({sizes[l + 1], sizes[l]}, DType::f32, gen, -bound, bound).to(t).requires_grad_(true));
    params.push_back(rand({sizes[l + 1]}, DType::f32, gen, -bound, bound).to(t).requires_grad_(true));
  }
  return params;
}

std::vector<Tensor> mlp_init_orthogonal(const std::vector<int64_t>& sizes, double gain, Rng* gen, DType t) {
  GANTRY_CHECK(sizes.size() >= 2, "mlp_init_orthogonal: needs an input and an output size");
  std::vector<Tensor> params;
  for (size_t l = 0; l + 1 < sizes.size(); ++l) {
    const int64_t out = sizes[l + 1], in = sizes[l], n = std::max(out, in), k = std::min(out, in);
    // k orthonormal columns of length n, by modified Gram-Schmidt in double on N(0, 1) entries
    // (column j is a[j*n .. j*n+n)); a zero column has probability 0, and is refused.
    std::vector<double> a = randn({k, n}, DType::f64, gen).to_vector<double>();
    for (int64_t j = 0; j < k; ++j) {
      double* q = &a[j * n];
      for (int64_t i = 0; i < j; ++i) {
        const double* p = &a[i * n];
        double dot = 0;
        for (int64_t r = 0; r < n; ++r) dot += p[r] * q[r];
        for (int64_t r = 0; r < n; ++r) q[r] -= dot * p[r];
      }
      double norm = 0;
      for (int64_t r = 0; r < n; ++r) norm += q[r] * q[r];
      norm = std::sqrt(norm);
      GANTRY_CHECK(norm > 1e-12, "mlp_init_orthogonal: a degenerate Gaussian draw");
      for (int64_t r = 0; r < n; ++r) q[r] /= norm;
    }
    // W [out, in]: the k vectors are its rows when out <= in (k = out, n = in), else its columns.
    std::vector<double> w(out * in);
    for (int64_t j = 0; j < k; ++j)
      for (int64_t r = 0; r < n; ++r) (out <= in ? w[j * in + r] : w[r * in + j]) = gain * a[j * n + r];
    params.push_back(from_vector(w, {out, in}, t).requires_grad_(true));
    params.push_back(zeros({out}, t).requires_grad_(true));
  }
  return params;
}

Tensor mlp_forward(const std::vector<Tensor>& params, const Tensor& x, MlpActivation act) {
  GANTRY_CHECK(!params.empty() && params.size() % 2 == 0, "mlp_forward: params must be {W, b} pairs, got ",
               params.size());
  Tensor h = x;
  for (size_t l = 0; l < params.size(); l += 2) {
    h = linear(h, params[l], params[l + 1]);
    if (l + 2 < params.size()) h = act == MlpActivation::relu ? relu(h) : tanh(h);
  }
  return h;
}

namespace {

// D's score of x: its MLP on d_input_scale * x.
Tensor d_score(const ToyOptions& o, const std::vector<Tensor>& dp, const Tensor& x) {
  return mlp_forward(dp, o.d_input_scale == 1.0 ? x : mul(x, o.d_input_scale));
}

// The discriminator's loss on a real and a fake batch, as a function of D's parameters.
Tensor d_loss(const ToyOptions& o, const std::vector<Tensor>& dp, const Tensor& real, const Tensor& fake, Rng* gen) {
  Tensor s_real = d_score(o, dp, real), s_fake = d_score(o, dp, fake);
  if (o.loss == "bce")
    return add(bce_with_logits(s_real, ones_like(s_real)), bce_with_logits(s_fake, zeros_like(s_fake)));
  // WGAN-GP: E[D(fake)] - E[D(real)] + lambda E[(||grad D(x_hat)|| - 1)^2] on interpolates.
  Tensor a = rand({real.size(0), 1}, real.dtype(), gen);
  Tensor x_hat = add(mul(a, real.detach()), mul(1.0 - a, fake.detach()));
  x_hat.requires_grad_(true);
  Tensor g = grad({sum(d_score(o, dp, x_hat))}, {x_hat}, {}, true, /*create_graph=*/true)[0];
  return add(sub(mean(s_fake), mean(s_real)), gradient_penalty(g, o.gp_lambda));
}

// G's loss against a discriminator with parameters dp: non-saturating BCE, -log D(fake); the
// minimax one, minus D's BCE loss on (real, fake) (the paper's L_G = log D(x) + log(1 - D(G(z))));
// or -E[D(fake)] for WGAN-GP.
Tensor g_loss(const ToyOptions& o, const std::vector<Tensor>& dp, const Tensor& real, const Tensor& fake) {
  if (o.loss == "bce" && o.g_loss == "minimax") return neg(d_loss(o, dp, real, fake, nullptr));
  Tensor s = d_score(o, dp, fake);
  return o.loss == "bce" ? bce_with_logits(s, ones_like(s)) : neg(mean(s));
}

}  // namespace

ToyResult train_toy(const ToyOptions& o) {
  GANTRY_CHECK(o.loss == "bce" || o.loss == "wgan-gp", "train_toy: --loss must be bce or wgan-gp, got '", o.loss, "'");
  GANTRY_CHECK(o.g_loss == "ns" || o.g_loss == "minimax", "train_toy: --g-loss must be ns or minimax, got '", o.g_loss,
               "'");
  GANTRY_CHECK(o.init == "torch" || o.init == "orthogonal", "train_toy: --init must be torch or orthogonal, got '",
               o.init, "'");
  GANTRY_CHECK(o.unroll >= 0 && o.steps >= 0 && o.batch > 0 && o.z_dim > 0 && o.hidden > 0 && o.d_layers >= 1 &&
                   o.snapshots >= 2 && o.eval_samples > 0 && o.d_steps >= 0 && o.d_input_scale > 0,
               "train_toy: bad sizes (unroll ", o.unroll, ", steps ", o.steps, ", batch ", o.batch, ", d_layers ",
               o.d_layers, ", snapshots ", o.snapshots, ", d_input_scale ", o.d_input_scale, ")");
  const Mixture2d target = toy_target(o.target);
  const int64_t d_steps = o.d_steps > 0 ? o.d_steps : (o.loss == "bce" ? 1 : 5);
  Rng gen(o.seed), eval_gen(o.seed + 1000003);
  std::vector<int64_t> d_sizes(o.d_layers + 2, o.hidden);
  d_sizes.front() = 2, d_sizes.back() = 1;
  auto init = [&](const std::vector<int64_t>& sizes) {
    return o.init == "torch" ? mlp_init(sizes, &gen) : mlp_init_orthogonal(sizes, o.init_gain, &gen);
  };
  std::vector<Tensor> gp = init({o.z_dim, o.hidden, o.hidden, 2});
  std::vector<Tensor> dp = init(d_sizes);
  nn::Adam opt_g(gp, o.lr_g, o.beta1, o.beta2);
  const UnrollOptimizer opt_d{UnrollOptimizer::adam, o.lr_d, o.beta1, o.beta2, 1e-8};
  OptimState d_state;
  const Tensor eval_z = randn({o.eval_samples, o.z_dim}, DType::f32, &eval_gen);

  ToyResult result;
  auto snapshot = [&](int64_t step) {
    NoGradGuard off;
    ToySnapshot s;
    s.step = step;
    s.samples = mlp_forward(gp, eval_z).detach();
    s.count = count_modes(target, s.samples, 3.0, o.min_per_mode);
    if (o.verbose)
      std::printf("step %6lld  modes %2lld/%lld  high-quality %.3f\n", (long long)step,
                  (long long)s.count.modes_covered, (long long)target.modes(), s.count.high_quality),
          std::fflush(stdout);
    result.snapshots.push_back(std::move(s));
  };
  const auto t0 = std::chrono::steady_clock::now();
  std::vector<int64_t> at;  // the snapshot steps, 0 .. o.steps
  for (int64_t i = 0; i < o.snapshots; ++i) at.push_back(i * o.steps / (o.snapshots - 1));
  size_t next = 0;
  for (int64_t step = 0;; ++step) {
    for (; next < at.size() && at[next] == step; ++next) snapshot(step);
    if (step == o.steps) break;
    // ---- D: d_steps Adam steps on its loss, with G fixed ----
    for (int64_t k = 0; k < d_steps; ++k) {
      Tensor real = sample_mixture(target, o.batch, &gen);
      Tensor fake;
      {
        NoGradGuard off;
        fake = mlp_forward(gp, randn({o.batch, o.z_dim}, DType::f32, &gen));
      }
      std::vector<Tensor> g = grad({d_loss(o, dp, real, fake, &gen)}, dp);
      NoGradGuard off;
      std::vector<Tensor> next_dp = optimizer_step(opt_d, dp, g, d_state);
      for (size_t i = 0; i < dp.size(); ++i) copy_(dp[i], next_dp[i]);
    }
    // ---- G: its loss against D unrolled K steps on this batch (K = 0: D as it is) ----
    Tensor real = sample_mixture(target, o.batch, &gen);
    Tensor fake = mlp_forward(gp, randn({o.batch, o.z_dim}, DType::f32, &gen));
    std::vector<Tensor> dk = dp;
    if (o.unroll > 0) {
      ParamLoss loss = [&](const std::vector<Tensor>& p, int64_t) { return d_loss(o, p, real, fake, &gen); };
      dk = unroll(loss, dp, opt_d, d_state, o.unroll);
    }
    std::vector<Tensor> g = grad({g_loss(o, dk, real, fake)}, gp);
    for (size_t i = 0; i < gp.size(); ++i) gp[i].set_grad(g[i]);
    opt_g.step();
  }
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (!o.out.empty()) save_toy_strip(o.out, target, result.snapshots, o.target == "ring8" ? 3.0 : 6.0);
  return result;
}

void save_toy_strip(const std::string& path, const Mixture2d& m, const std::vector<ToySnapshot>& snaps, double extent,
                    int64_t tile_px) {
  GANTRY_CHECK(!snaps.empty() && tile_px > 8 && extent > 0, "save_toy_strip: needs snapshots, tile_px > 8");
  const int64_t S = (int64_t)snaps.size(), T = tile_px, plane = T * T;
  std::vector<double> px(S * 3 * plane, 1.0);  // white, in make_grid's [-1, 1]
  auto to_px = [&](double v) { return (v + extent) / (2 * extent) * (T - 1); };
  auto put = [&](int64_t s, int64_t x, int64_t y, double r, double g, double b) {
    if (x < 0 || y < 0 || x >= T || y >= T) return;
    const int64_t base = s * 3 * plane + (T - 1 - y) * T + x;  // y up
    px[base] = r, px[base + plane] = g, px[base + 2 * plane] = b;
  };
  for (int64_t s = 0; s < S; ++s) {
    // The modes: discs of radius max(3 sigma, 2 px) in light red.
    const double rad = std::max(3 * m.sigma / (2 * extent) * (T - 1), 2.0);
    for (int64_t k = 0; k < m.modes(); ++k) {
      const double cx = to_px(m.means[2 * k]), cy = to_px(m.means[2 * k + 1]);
      for (int64_t y = (int64_t)(cy - rad) - 1; y <= (int64_t)(cy + rad) + 1; ++y)
        for (int64_t x = (int64_t)(cx - rad) - 1; x <= (int64_t)(cx + rad) + 1; ++x)
          if (std::hypot(x - cx, y - cy) <= rad) put(s, x, y, 1.0, 0.4, 0.4);
    }
    // The samples: 2x2 dark blue dots.
    std::vector<double> xy = snaps[s].samples.to_vector<double>();
    for (size_t i = 0; i + 1 < xy.size(); i += 2) {
      if (!std::isfinite(xy[i]) || !std::isfinite(xy[i + 1])) continue;
      const int64_t x = (int64_t)std::lround(to_px(xy[i])), y = (int64_t)std::lround(to_px(xy[i + 1]));
      for (int64_t dy = 0; dy < 2; ++dy)
        for (int64_t dx = 0; dx < 2; ++dx) put(s, x + dx, y + dy, -0.8, -0.8, 0.2);
    }
  }
  save_image_grid(path, from_vector(px, {S, 3, T, T}), S, 4, 1);
}

}  // namespace gantry::gan
