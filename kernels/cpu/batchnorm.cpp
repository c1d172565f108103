// kernels/cpu/batchnorm.cpp — batch normalization over x [N, C, S], CPU.
//
// Math (per channel c, over its M = N*S values):
//   training forward  mean_c = sum x / M,  var_c = sum (x - mean_c)^2 / M  (biased),
//                     invstd_c = 1 / sqrt(var_c + eps),
//                     y = (x - mean_c) * invstd_c * gamma_c + beta_c
//                     running = (1 - momentum) running + momentum stat, with the
//                     unbiased var_c * M / (M - 1) for running_var (as PyTorch; M = 1
//                     keeps the biased value, where PyTorch refuses to train)
//   eval forward      y = (x - running_mean_c) / sqrt(running_var_c + eps) * gamma_c + beta_c
//   backward          xhat = (x - mean_c) invstd_c,  g = dy * gamma_c
//                     dx = invstd_c / M * (M g - sum g - xhat sum(g xhat))
//                     dgamma_c = sum dy xhat,  dbeta_c = sum dy
// gamma == nullptr means 1, beta == nullptr means 0 (affine off).
// A fused activation (slope >= 0; slope < 0: none): the training forward writes
// act(y) = y > 0 ? y : slope y (slope 0: ReLU's y > 0 ? y : 0) in its pass 2, and the
// backward, given that output, reads dy as act'(dy) = out > 0 ? dy : slope dy in both its
// passes: the values leaky_relu / relu and leaky_relu_backward give, bit for bit, without
// their extra pass over the activation (out > 0 exactly where y > 0, for slope >= 0).
//
// Layout [N, C, S] row-major: channel c is N runs of S contiguous values,
// x[(n*C + c)*S + i]. S = H*W for BatchNorm2d, 1 for BatchNorm1d on [N, C].
//
// Loop nest (version 3):
//   for c-range   (OpenMP: thread t of T takes channels [C t/T, C (t+1)/T); no shared
//                 writes; the op's one parallel region)
//     for block   (w channels of the range: w S <= kBlockSpan values per sample, w N S <=
//                 kBlockFloats in all, w <= kMaxBlockChannels; so pass 2 finds the block's
//                 x (and dy) in L2)
//       pass 1: for n, kRows samples at a time      (for each, the block's w S values are
//                 for j < w S                         one contiguous span: address order)
//                                                    `omp simd` over j; a pair of double
//                                                    accumulators per position j
//               per channel: its S positions' accumulators added in a fixed order (lane_sum)
//       per c:  the statistics, the coefficients, spread over the channel's positions
//       pass 2: for n, for j < w S   (the FMA-shaped write, `omp simd`)
//   S = 1 ([N, C], BatchNorm1d): a span is w channels, the simd runs across channels.
//   S > kBlockSpan (layer norm's and instance norm's rows, [1, rows, len]; one channel a
//                 block): no per-position scratch; pass 1 walks the channel's N runs with
//                 16 double lanes in registers (lane = j mod 16), pass 2 with its scalars.
// Every channel's sums are added in an order fixed by n and its own positions, never by
// where its block starts, so the outputs do not depend on the thread count.
// Versions (one line each):
//   1  two-pass statistics (mean, then centred squares) in scalar double; a backward
//      that recomputed xhat in double per element. Scalar: the reductions did not
//      vectorize (strict IEEE order).
//   2  statistics in one pass over x, shifted by the channel's first value
//      x0: mean = x0 + sum(x - x0) / M, var = sum((x - x0)^2) / M - (mean - x0)^2, in
//      double lanes of an `omp simd` reduction (the shift keeps the subtraction from
//      cancelling when |mean| >> std; the accumulators stay double for float and double);
//      the backward's two sums likewise; its dx pass and the forward's write are one
//      FMA-shaped expression per element in T: dx = a dy + b x + k, y = x scale + shift.
//      Two passes over x for the forward (was three), two for the backward.
//   3  the same formulas, in address order: version 2 walked one channel at a
//      time, N runs of S values a C*S stride apart (49 floats, then a jump of 25 KB for
//      [64,128,7,7]), so every run started with a cache miss the prefetcher could not
//      foresee. Now each pass streams through memory and the second pass of a block of
//      channels hits L2 (figures: docs/kernels/cpu_pointwise.md, bench_pointwise_cpu).
//   4  (this file) long runs without the scratch: for [1, 64, 3136] (the WGAN-GP critic's
//      layer norm) version 3 filled, read and wrote five scratch values per element of x
//      (N = 1 amortizes nothing); now 0.24 -> 0.05 ms forward, 0.29 -> 0.09 ms backward.
#include "kernels/cpu/batchnorm.hpp"

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "kernels/elementwise_ops.hpp"

namespace gantry::kernels::cpu {

namespace {

constexpr int64_t kParallelMinElements = 1 << 15;  // below this, threads cost more than they save
constexpr int64_t kBlockFloats = 1 << 16;          // values of x per channel block (256 KB of float)
constexpr int64_t kBlockSpan = 512;                // values per n of a block: its scratch (~18 KB) stays in L1
constexpr int64_t kMaxBlockChannels = 256;         // the per-channel scratch of a block, on the stack
constexpr int64_t kRows = 8;                       // runs (values of n) pass 1 adds in registers per store

inline int64_t run_offset(const BatchNormShape& s, int64_t n, int64_t c) { return (n * s.c + c) * s.s; }

// Channels per block: its values fit kBlockFloats and its span per n kBlockSpan (at least one).
inline int64_t block_width(const BatchNormShape& s) {
  const int64_t per_channel = std::max<int64_t>(s.n * s.s, 1), run = std::max<int64_t>(s.s, 1);
  return std::clamp<int64_t>(std::min(kBlockFloats / per_channel, kBlockSpan / run), 1, kMaxBlockChannels);
}

// A thread's scratch for blocks of `width` channels: per position of a block's span
// (w S values, one run of each channel), two double accumulators, a double and three T
// coefficients: each pass is then one flat simd loop over the span per n, whatever S is
// (a loop per run of S = 49 cost more in its start and remainder than in its body).
template <class T>
struct BlockScratch {
  std::vector<double> a, b, shift;
  std::vector<T> p, q, r;
};

// This thread's BlockScratch, at least `span` positions long: kept between calls (its six
// vectors were allocated and freed on every call, which showed in perf on the CycleGAN step,
// whose batch norms are small).
// Every pass fills what it reads (block_sums zeroes a, b; spread writes the rest).
template <class T>
BlockScratch<T>& block_scratch(int64_t span) {
  thread_local BlockScratch<T> sc;
  if ((int64_t)sc.a.size() < span)
    for (auto* v : {&sc.a, &sc.b, &sc.shift}) v->resize((size_t)span);
  if ((int64_t)sc.p.size() < span)
    for (auto* v : {&sc.p, &sc.q, &sc.r}) v->resize((size_t)span);
  return sc;
}

// Writes value[k] to the S positions of channel k of the span, k < w.
template <class V>
void spread(V* __restrict__ out, const V* __restrict__ value, int64_t w, int64_t run) {
  for (int64_t k = 0; k < w; ++k) std::fill(out + k * run, out + (k + 1) * run, value[k]);
}

// Calls block(c0, c1) for consecutive blocks of `width` channels covering this thread's
// share of the C channels (all of them outside a parallel region).
template <class Block>
void for_channel_blocks(const BatchNormShape& s, int64_t width, Block block) {
  const int64_t nt = omp_get_num_threads(), t = omp_get_thread_num();
  const int64_t begin = s.c * t / nt, end = s.c * (t + 1) / nt;
  for (int64_t c0 = begin; c0 < end; c0 += width) block(c0, std::min(c0 + width, end));
}

// sum of v[0..len) in a fixed order: 8 partial sums by position mod 8, then a tree. The
// order does not depend on where v lies (a block's first channel or its last, the alignment
// of a thread's scratch), so neither does the result on the thread count; the 8 lanes
// vectorize as they are written.
inline double lane_sum(const double* __restrict__ v, int64_t len) {
  double l[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  int64_t i = 0;
  for (; i + 8 <= len; i += 8)
    for (int j = 0; j < 8; ++j) l[j] += v[i + j];
  for (int j = 0; i + j < len; ++j) l[j] += v[i + j];
  return ((l[0] + l[1]) + (l[2] + l[3])) + ((l[4] + l[5]) + (l[6] + l[7]));
}

// Pass 1: two sums per channel of the block [c0, c1), in double,
//   sum1[k] = sum a-terms, sum2[k] = sum b-terms over channel c0 + k's N*S values,
// where term(u, v, shift, a, b) adds one element's terms (u, v: the element in the two
// inputs; shift: sc.shift at its position). Memory is read in address order; each
// position of the span keeps its own pair of double accumulators across the N runs, so
// the adds are vertical, in simd lanes, and the sums over S happen once per channel.
// The upstream gradient the batch norm sees: dy, or (Act) dy through the fused activation
// whose output is `out`: out > 0 ? dy : slope dy (LeakyReluBackward, leaky_relu_backward's functor).
template <bool Act, class T>
inline T act_grad(T dy, const T* __restrict__ out, int64_t i, T slope) {
  if constexpr (Act) return elementwise::LeakyReluBackward<T>{slope}(dy, out[i]);
  return dy;
}

template <bool Act = false, class T, class Term>
void block_sums(const T* __restrict__ u, const T* __restrict__ v, const BatchNormShape& s, int64_t c0, int64_t c1,
                BlockScratch<T>& sc, double* __restrict__ sum1, double* __restrict__ sum2, Term term,
                const T* __restrict__ out = nullptr, T slope = T(0)) {
  const int64_t w = c1 - c0, span = w * s.s;
  double* __restrict__ a = sc.a.data();
  double* __restrict__ b = sc.b.data();
  const double* __restrict__ shift = sc.shift.data();
  std::fill(a, a + span, 0.0), std::fill(b, b + span, 0.0);
  int64_t n = 0;
  for (; n + kRows <= s.n; n += kRows) {  // kRows runs at a time: a[j], b[j] loaded and stored once for them
    const T* __restrict__ un[kRows];
    const T* __restrict__ vn[kRows];
    const T* __restrict__ on[kRows];
    for (int64_t g = 0; g < kRows; ++g)
      un[g] = u + run_offset(s, n + g, c0), vn[g] = v + run_offset(s, n + g, c0),
      on[g] = Act ? out + run_offset(s, n + g, c0) : nullptr;
#pragma omp simd simdlen(8)  // 8 double lanes: a zmm where there is AVX-512 (GCC defaults to 256-bit)
    for (int64_t j = 0; j < span; ++j) {
      double ra = 0, rb = 0;
      for (int64_t g = 0; g < kRows; ++g)
        term((double)act_grad<Act>(un[g][j], on[g], j, slope), (double)vn[g][j], shift[j], ra, rb);
      a[j] += ra, b[j] += rb;
    }
  }
  for (; n < s.n; ++n) {
    const T* __restrict__ un = u + run_offset(s, n, c0);
    const T* __restrict__ vn = v + run_offset(s, n, c0);
    const T* __restrict__ on = Act ? out + run_offset(s, n, c0) : nullptr;
#pragma omp simd simdlen(8)
    for (int64_t j = 0; j < span; ++j)
      term((double)act_grad<Act>(un[j], on, j, slope), (double)vn[j], shift[j], a[j], b[j]);
  }
  for (int64_t k = 0; k < w; ++k) sum1[k] = lane_sum(a + k * s.s, s.s), sum2[k] = lane_sum(b + k * s.s, s.s);
}

// Pass 2: out = p u + q v + r over the block [c0, c1), p, q, r spread per position (sc);
// Act: u through the fused activation whose output is `act` (act_grad).
template <bool Act = false, class T>
void block_write(T* __restrict__ out, const T* __restrict__ u, const T* __restrict__ v, const BatchNormShape& s,
                 int64_t c0, int64_t c1, const BlockScratch<T>& sc, const T* __restrict__ act = nullptr,
                 T slope = T(0)) {
  const int64_t span = (c1 - c0) * s.s;
  const T* __restrict__ p = sc.p.data();
  const T* __restrict__ q = sc.q.data();
  const T* __restrict__ r = sc.r.data();
  for (int64_t n = 0; n < s.n; ++n) {
    const T* __restrict__ un = u + run_offset(s, n, c0);
    const T* __restrict__ vn = v + run_offset(s, n, c0);
    const T* __restrict__ an = Act ? act + run_offset(s, n, c0) : nullptr;
    T* __restrict__ on = out + run_offset(s, n, c0);
#pragma omp simd
    for (int64_t j = 0; j < span; ++j) on[j] = p[j] * act_grad<Act>(un[j], an, j, slope) + q[j] * vn[j] + r[j];
  }
}

// The fused activations of the training forward: none, ReLU and leaky ReLU, through relu's
// and leaky_relu's own functors (the same bits as the ops).
enum class Act { kNone, kRelu, kLeaky };
template <Act A, class T>
inline T activate(T y, T slope) {
  if constexpr (A == Act::kRelu) return elementwise::Relu<T>{}(y);
  if constexpr (A == Act::kLeaky) return elementwise::LeakyRelu<T>{slope}(y);
  return y;
}

// out = act(x scale + shift) over the block [c0, c1), scale = sc.p, shift = sc.r spread per position.
template <Act A = Act::kNone, class T>
void block_affine(T* __restrict__ out, const T* __restrict__ x, const BatchNormShape& s, int64_t c0, int64_t c1,
                  const BlockScratch<T>& sc, T slope = T(0)) {
  const int64_t span = (c1 - c0) * s.s;
  const T* __restrict__ scale = sc.p.data();
  const T* __restrict__ shift = sc.r.data();
  for (int64_t n = 0; n < s.n; ++n) {
    const T* __restrict__ xn = x + run_offset(s, n, c0);
    T* __restrict__ on = out + run_offset(s, n, c0);
#pragma omp simd
    for (int64_t j = 0; j < span; ++j) {
      const T y = xn[j] * scale[j] + shift[j];
      on[j] = activate<A>(y, slope);
    }
  }
}

// Runs longer than a block's span (S > kBlockSpan: one channel a block; layer norm's and
// instance norm's rows, [1, rows, len]): the per-position scratch above would cost more
// traffic than x itself when N is small, so these walk each run with the channel's scalars.
inline bool long_runs(const BatchNormShape& s) { return s.s > kBlockSpan; }

// Pass 1 for long runs: block_sums' two sums for the channels [c0, c1), each over its N runs
// of S values with 16 double lanes (lane j mod 16 of every run, in registers), then
// lane_sum; shift[k] is channel c0 + k's scalar. The order is fixed by n and j alone.
template <bool Act = false, class T, class Term>
void run_sums(const T* __restrict__ u, const T* __restrict__ v, const BatchNormShape& s, int64_t c0, int64_t c1,
              const double* shift, double* __restrict__ sum1, double* __restrict__ sum2, Term term,
              const T* __restrict__ out = nullptr, T slope = T(0)) {
  constexpr int kLanes = 16;
  for (int64_t c = c0; c < c1; ++c) {
    double a[kLanes] = {}, b[kLanes] = {};
    const double mu = shift[c - c0];
    for (int64_t n = 0; n < s.n; ++n) {
      const T* __restrict__ un = u + run_offset(s, n, c);
      const T* __restrict__ vn = v + run_offset(s, n, c);
      const T* __restrict__ on = Act ? out + run_offset(s, n, c) : nullptr;
      int64_t j = 0;
      for (; j + kLanes <= s.s; j += kLanes)
#pragma omp simd simdlen(8)
        for (int q = 0; q < kLanes; ++q)
          term((double)act_grad<Act>(un[j + q], on, j + q, slope), (double)vn[j + q], mu, a[q], b[q]);
      for (int q = 0; j + q < s.s; ++q)
        term((double)act_grad<Act>(un[j + q], on, j + q, slope), (double)vn[j + q], mu, a[q], b[q]);
    }
    sum1[c - c0] = lane_sum(a, kLanes), sum2[c - c0] = lane_sum(b, kLanes);
  }
}

// Pass 2 for long runs: block_write's out = p u + q v + r with channel c0 + k's scalars p[k], q[k], r[k].
template <bool Act = false, class T>
void run_write(T* __restrict__ out, const T* __restrict__ u, const T* __restrict__ v, const BatchNormShape& s,
               int64_t c0, int64_t c1, const T* p, const T* q, const T* r, const T* __restrict__ act = nullptr,
               T slope = T(0)) {
  for (int64_t n = 0; n < s.n; ++n)
    for (int64_t c = c0; c < c1; ++c) {
      const T pc = p[c - c0], qc = q[c - c0], rc = r[c - c0];
      const T* __restrict__ un = u + run_offset(s, n, c);
      const T* __restrict__ vn = v + run_offset(s, n, c);
      const T* __restrict__ an = Act ? act + run_offset(s, n, c) : nullptr;
      T* __restrict__ on = out + run_offset(s, n, c);
#pragma omp simd
      for (int64_t j = 0; j < s.s; ++j) on[j] = pc * act_grad<Act>(un[j], an, j, slope) + qc * vn[j] + rc;
    }
}

// Pass 2 of the forwards for long runs: block_affine's act(x scale + shift) with channel c0 + k's scalars.
template <Act A = Act::kNone, class T>
void run_affine(T* __restrict__ out, const T* __restrict__ x, const BatchNormShape& s, int64_t c0, int64_t c1,
                const T* scale, const T* shift, T slope = T(0)) {
  for (int64_t n = 0; n < s.n; ++n)
    for (int64_t c = c0; c < c1; ++c) {
      const T sc = scale[c - c0], sh = shift[c - c0];
      const T* __restrict__ xn = x + run_offset(s, n, c);
      T* __restrict__ on = out + run_offset(s, n, c);
#pragma omp simd
      for (int64_t j = 0; j < s.s; ++j) on[j] = activate<A>(xn[j] * sc + sh, slope);
    }
}

// Pass 2 of the forwards, either way: act(x scale + shift), scale / shift per channel of [c0, c1).
template <Act A = Act::kNone, class T>
void affine(T* __restrict__ out, const T* __restrict__ x, const BatchNormShape& s, int64_t c0, int64_t c1,
            BlockScratch<T>& sc, const T* scale, const T* shift, T slope = T(0)) {
  if (long_runs(s)) return run_affine<A>(out, x, s, c0, c1, scale, shift, slope);
  spread(sc.p.data(), scale, c1 - c0, s.s), spread(sc.r.data(), shift, c1 - c0, s.s);
  block_affine<A>(out, x, s, c0, c1, sc, slope);
}

// The scratch a thread's blocks need: none for long runs.
inline int64_t scratch_span(const BatchNormShape& s) { return long_runs(s) ? 0 : block_width(s) * s.s; }

}  // namespace

template <class T>
void batch_norm_forward_train(T* __restrict__ y, T* __restrict__ save_mean, T* __restrict__ save_invstd,
                              T* running_mean, T* running_var, const T* __restrict__ x, const T* __restrict__ gamma,
                              const T* __restrict__ beta, const BatchNormShape& s, T momentum, T eps, T slope) {
  const double m = (double)(s.n * s.s);
  const double mom = (double)momentum;
  const int64_t width = block_width(s);
#pragma omp parallel if (s.n * s.c * s.s > kParallelMinElements)
  {
    BlockScratch<T>& sc = block_scratch<T>(scratch_span(s));
    for_channel_blocks(s, width, [&](int64_t c0, int64_t c1) {
      double x0[kMaxBlockChannels], sum[kMaxBlockChannels], sum_sq[kMaxBlockChannels];
      T scale[kMaxBlockChannels], shift[kMaxBlockChannels];
      const int64_t w = c1 - c0;
      for (int64_t k = 0; k < w; ++k) x0[k] = m > 0 ? (double)x[run_offset(s, 0, c0 + k)] : 0.0;
      auto term = [](double xi, double, double x0i, double& a, double& b) {
        const double d = xi - x0i;
        a += d;
        b += d * d;
      };
      if (long_runs(s)) {
        run_sums(x, x, s, c0, c1, x0, sum, sum_sq, term);
      } else {
        spread(sc.shift.data(), x0, w, s.s);
        block_sums(x, x, s, c0, c1, sc, sum, sum_sq, term);
      }
      for (int64_t k = 0; k < w; ++k) {
        const int64_t c = c0 + k;
        double mean = 0, var = 0;
        if (m > 0) {
          const double d = sum[k] / m;
          mean = x0[k] + d;
          var = std::max(sum_sq[k] / m - d * d, 0.0);
        }
        const double invstd = 1.0 / std::sqrt(var + (double)eps);
        save_mean[c] = (T)mean;
        save_invstd[c] = (T)invstd;
        if (running_mean) running_mean[c] = (T)((1 - mom) * (double)running_mean[c] + mom * mean);
        if (running_var) {
          const double unbiased = m > 1 ? var * m / (m - 1) : var;
          running_var[c] = (T)((1 - mom) * (double)running_var[c] + mom * unbiased);
        }
        const double g = gamma ? (double)gamma[c] : 1.0, b = beta ? (double)beta[c] : 0.0;
        scale[k] = (T)(invstd * g), shift[k] = (T)(b - mean * invstd * g);
      }
      if (slope < T(0)) affine(y, x, s, c0, c1, sc, scale, shift);
      else if (slope == T(0)) affine<Act::kRelu>(y, x, s, c0, c1, sc, scale, shift);
      else affine<Act::kLeaky>(y, x, s, c0, c1, sc, scale, shift, slope);
    });
  }
}

template <class T>
void batch_norm_forward_eval(T* __restrict__ y, const T* __restrict__ x, const T* __restrict__ running_mean,
                             const T* __restrict__ running_var, const T* __restrict__ gamma, const T* __restrict__ beta,
                             const BatchNormShape& s, T eps) {
  const int64_t width = block_width(s);
#pragma omp parallel if (s.n * s.c * s.s > kParallelMinElements)
  {
    BlockScratch<T>& sc = block_scratch<T>(scratch_span(s));
    for_channel_blocks(s, width, [&](int64_t c0, int64_t c1) {
      T scale[kMaxBlockChannels], shift[kMaxBlockChannels];
      for (int64_t c = c0; c < c1; ++c) {
        const double invstd = 1.0 / std::sqrt((double)running_var[c] + (double)eps);
        const double g = gamma ? (double)gamma[c] : 1.0, b = beta ? (double)beta[c] : 0.0;
        scale[c - c0] = (T)(invstd * g), shift[c - c0] = (T)(b - (double)running_mean[c] * invstd * g);
      }
      affine(y, x, s, c0, c1, sc, scale, shift);
    });
  }
}

template <class T>
void batch_norm_backward(T* __restrict__ dx, T* __restrict__ dgamma, T* __restrict__ dbeta, const T* __restrict__ dy,
                         const T* __restrict__ x, const T* __restrict__ save_mean, const T* __restrict__ save_invstd,
                         const T* __restrict__ gamma, const BatchNormShape& s, const T* __restrict__ act, T slope) {
  const double m = (double)(s.n * s.s);
  const int64_t width = block_width(s);
#pragma omp parallel if (s.n * s.c * s.s > kParallelMinElements)
  {
    BlockScratch<T>& sc = block_scratch<T>(scratch_span(s));
    for_channel_blocks(s, width, [&](int64_t c0, int64_t c1) {
      const int64_t w = c1 - c0;
      double mean[kMaxBlockChannels], sum_dy[kMaxBlockChannels], sum_dy_xc[kMaxBlockChannels];
      T ta[kMaxBlockChannels], tb[kMaxBlockChannels], tk[kMaxBlockChannels];
      for (int64_t k = 0; k < w; ++k) mean[k] = (double)save_mean[c0 + k];
      // pass 1: sum dy and sum dy (x - mean); sum dy xhat = invstd * the latter
      auto term = [](double d, double xi, double mu, double& a, double& b) {
        a += d;
        b += d * (xi - mu);
      };
      if (long_runs(s)) {
        if (act) run_sums<true>(dy, x, s, c0, c1, mean, sum_dy, sum_dy_xc, term, act, slope);
        else run_sums(dy, x, s, c0, c1, mean, sum_dy, sum_dy_xc, term);
      } else {
        spread(sc.shift.data(), mean, w, s.s);
        if (act) block_sums<true>(dy, x, s, c0, c1, sc, sum_dy, sum_dy_xc, term, act, slope);
        else block_sums(dy, x, s, c0, c1, sc, sum_dy, sum_dy_xc, term);
      }
      // dx = gam invstd (dy - sum dy / M - xhat sum(dy xhat) / M) = a dy + b x + k
      for (int64_t k = 0; k < w; ++k) {
        const int64_t c = c0 + k;
        const double invstd = (double)save_invstd[c], gam = gamma ? (double)gamma[c] : 1.0;
        const double sum_dy_xhat = sum_dy_xc[k] * invstd;
        if (dgamma) dgamma[c] = (T)sum_dy_xhat;
        if (dbeta) dbeta[c] = (T)sum_dy[k];
        const double mean_dy = m > 0 ? sum_dy[k] / m : 0.0, mean_dy_xhat = m > 0 ? sum_dy_xhat / m : 0.0;
        const double a = gam * invstd, b = -a * invstd * mean_dy_xhat;
        ta[k] = (T)a, tb[k] = (T)b, tk[k] = (T)(-a * mean_dy - b * mean[k]);
      }
      if (long_runs(s)) {  // pass 2
        if (act) run_write<true>(dx, dy, x, s, c0, c1, ta, tb, tk, act, slope);
        else run_write(dx, dy, x, s, c0, c1, ta, tb, tk);
      } else {
        spread(sc.p.data(), ta, w, s.s), spread(sc.q.data(), tb, w, s.s), spread(sc.r.data(), tk, w, s.s);
        if (act) block_write<true>(dx, dy, x, s, c0, c1, sc, act, slope);
        else block_write(dx, dy, x, s, c0, c1, sc);
      }
    });
  }
}

// Layer norm: one row a "channel" of a [1, rows, len] batch norm, with the elementwise affine
// folded into pass 2 and, backward, w folded into pass 1 and dw, db summed down the columns.
// Rows in parallel (run_sums' 16 lanes per row); dw, db by blocks of columns, the rows in
// order (the sum does not depend on the thread count); one parallel region for both.

// y = act((x scale + shift) w + b) over one row.
template <Act A, class T>
void layer_norm_row(T* __restrict__ y, const T* __restrict__ x, const T* __restrict__ w, const T* __restrict__ b,
                    int64_t len, T scale, T shift, T slope) {
#pragma omp simd
  for (int64_t j = 0; j < len; ++j) y[j] = activate<A>((x[j] * scale + shift) * w[j] + b[j], slope);
}

template <class T>
void layer_norm_forward(T* __restrict__ y, T* __restrict__ save_mean, T* __restrict__ save_invstd,
                        const T* __restrict__ x, const T* __restrict__ w, const T* __restrict__ b, int64_t rows,
                        int64_t len, T eps, T slope) {
  const BatchNormShape s{1, rows, len};
  const double m = (double)len;
#pragma omp parallel for if (rows * len > kParallelMinElements)
  for (int64_t r = 0; r < rows; ++r) {
    double x0 = len > 0 ? (double)x[r * len] : 0.0, sum = 0, sum_sq = 0;
    run_sums(x, x, s, r, r + 1, &x0, &sum, &sum_sq, [](double xi, double, double x0i, double& a, double& q) {
      const double d = xi - x0i;
      a += d;
      q += d * d;
    });
    const double d = m > 0 ? sum / m : 0.0, mean = x0 + d, var = m > 0 ? std::max(sum_sq / m - d * d, 0.0) : 0.0;
    const double invstd = 1.0 / std::sqrt(var + (double)eps);
    save_mean[r] = (T)mean, save_invstd[r] = (T)invstd;
    const T scale = (T)invstd, shift = (T)(-mean * invstd);
    if (slope < T(0)) layer_norm_row<Act::kNone>(y + r * len, x + r * len, w, b, len, scale, shift, slope);
    else if (slope == T(0)) layer_norm_row<Act::kRelu>(y + r * len, x + r * len, w, b, len, scale, shift, slope);
    else layer_norm_row<Act::kLeaky>(y + r * len, x + r * len, w, b, len, scale, shift, slope);
  }
}

// One row of the backward's dx: pass 1 sums g' = act'(g) w and g' (x - mean) in 16 double
// lanes, pass 2 writes dx = p g' + c x + k (p = invstd, c = -invstd^2 mean(g' xhat),
// k = -p mean(g') - c mean).
template <bool Act, class T>
void layer_norm_dx_row(T* __restrict__ dx, const T* __restrict__ g, const T* __restrict__ x, const T* __restrict__ w,
                       const T* __restrict__ act, int64_t len, double mean, double invstd, T slope) {
  double a[16] = {}, q[16] = {};
  int64_t j = 0;
  for (; j + 16 <= len; j += 16)
#pragma omp simd simdlen(8)
    for (int l = 0; l < 16; ++l) {
      const double gw = (double)(act_grad<Act>(g[j + l], act, j + l, slope) * w[j + l]);
      a[l] += gw, q[l] += gw * ((double)x[j + l] - mean);
    }
  for (int l = 0; j + l < len; ++l) {
    const double gw = (double)(act_grad<Act>(g[j + l], act, j + l, slope) * w[j + l]);
    a[l] += gw, q[l] += gw * ((double)x[j + l] - mean);
  }
  const double m = (double)len, mean_g = lane_sum(a, 16) / m, mean_g_xhat = lane_sum(q, 16) * invstd / m;
  const double cd = -invstd * invstd * mean_g_xhat;
  const T p = (T)invstd, c = (T)cd, k = (T)(-invstd * mean_g - cd * mean);
#pragma omp simd
  for (int64_t i = 0; i < len; ++i) dx[i] = p * (act_grad<Act>(g[i], act, i, slope) * w[i]) + c * x[i] + k;
}

// dw[j] += sum over rows [0, rows) of act'(g) xhat, db[j] += sum of act'(g), for the columns
// [0, width) of a block (row r of each operand at + r*len), in double, rows in order, four
// rows a sweep.
template <bool Act, class T>
void layer_norm_dwdb_block(double* __restrict__ sw, double* __restrict__ sb, const T* __restrict__ g,
                           const T* __restrict__ x, const T* __restrict__ act, const T* __restrict__ mean,
                           const T* __restrict__ invstd, int64_t rows, int64_t len, int64_t width, T slope) {
  constexpr int64_t kAt = 4;  // rows a sweep: sw[i], sb[i] loaded and stored once for them (the adds stay in order)
  for (int64_t r0 = 0; r0 < rows; r0 += kAt) {
    const int64_t n = std::min(kAt, rows - r0);
    const T* __restrict__ gr[kAt];
    const T* __restrict__ xr[kAt];
    const T* __restrict__ ar[kAt];
    double mu[kAt], is[kAt];
    for (int64_t k = 0; k < kAt; ++k) {
      const int64_t r = r0 + std::min(k, n - 1);
      gr[k] = g + r * len, xr[k] = x + r * len, ar[k] = Act ? act + r * len : nullptr;
      mu[k] = (double)mean[r], is[k] = (double)invstd[r];
    }
    if (n == kAt) {
#pragma omp simd
      for (int64_t i = 0; i < width; ++i) {
        double a = sw[i], c = sb[i];
        for (int64_t k = 0; k < kAt; ++k) {
          const double gi = (double)act_grad<Act>(gr[k][i], ar[k], i, slope);
          a += gi * (((double)xr[k][i] - mu[k]) * is[k]), c += gi;
        }
        sw[i] = a, sb[i] = c;
      }
    } else {
      for (int64_t k = 0; k < n; ++k)
#pragma omp simd
        for (int64_t i = 0; i < width; ++i) {
          const double gi = (double)act_grad<Act>(gr[k][i], ar[k], i, slope);
          sw[i] += gi * (((double)xr[k][i] - mu[k]) * is[k]), sb[i] += gi;
        }
    }
  }
}

template <class T>
void layer_norm_backward(T* __restrict__ dx, T* __restrict__ dw, T* __restrict__ db, const T* __restrict__ dy,
                         const T* __restrict__ x, const T* __restrict__ save_mean, const T* __restrict__ save_invstd,
                         const T* __restrict__ w, int64_t rows, int64_t len, const T* __restrict__ act, T slope) {
  constexpr int64_t kColumnBlock = 256;
  const int64_t blocks = (len + kColumnBlock - 1) / kColumnBlock;
#pragma omp parallel if (rows * len > kParallelMinElements)
  {
    if (dx && len > 0) {
#pragma omp for
      for (int64_t r = 0; r < rows; ++r) {
        const int64_t o = r * len;
        const double mean = (double)save_mean[r], invstd = (double)save_invstd[r];
        if (act) layer_norm_dx_row<true>(dx + o, dy + o, x + o, w, act + o, len, mean, invstd, slope);
        else layer_norm_dx_row<false>(dx + o, dy + o, x + o, w, (const T*)nullptr, len, mean, invstd, slope);
      }
    }
    if (dw || db) {
#pragma omp for
      for (int64_t blk = 0; blk < blocks; ++blk) {
        const int64_t j0 = blk * kColumnBlock, width = std::min(kColumnBlock, len - j0);
        double sw[kColumnBlock] = {}, sb[kColumnBlock] = {};
        if (act)
          layer_norm_dwdb_block<true>(sw, sb, dy + j0, x + j0, act + j0, save_mean, save_invstd, rows, len, width,
                                      slope);
        else
          layer_norm_dwdb_block<false>(sw, sb, dy + j0, x + j0, (const T*)nullptr, save_mean, save_invstd, rows, len,
                                       width, slope);
        for (int64_t i = 0; i < width; ++i) {
          if (dw) dw[j0 + i] = (T)sw[i];
          if (db) db[j0 + i] = (T)sb[i];
        }
      }
    }
  }
}

#define GANTRY_INSTANTIATE(T)                                                                                          \
  template void batch_norm_forward_train<T>(T*, T*, T*, T*, T*, const T*, const T*, const T*, const BatchNormShape&,   \
                                            T, T, T);                                                                  \
  template void batch_norm_forward_eval<T>(T*, const T*, const T*, const T*, const T*, const T*,                       \
                                           const BatchNormShape&, T);                                                  \
  template void batch_norm_backward<T>(T*, T*, T*, const T*, const T*, const T*, const T*, const T*,                   \
                                       const BatchNormShape&, const T*, T);                                            \
  template void layer_norm_forward<T>(T*, T*, T*, const T*, const T*, const T*, int64_t, int64_t, T, T);               \
  template void layer_norm_backward<T>(T*, T*, T*, const T*, const T*, const T*, const T*, const T*, int64_t, int64_t, \
                                       const T*, T);
GANTRY_INSTANTIATE(float)
GANTRY_INSTANTIATE(double)
#undef GANTRY_INSTANTIATE

}  // namespace gantry::kernels::cpu
