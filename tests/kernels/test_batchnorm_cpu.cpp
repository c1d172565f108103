// kernels/cpu/batchnorm: training and eval forwards against a naive per-channel
// reference, the backward against the closed form and against central differences
// of the training forward (in double); odd shapes (N = 1, C = 3, S = 7*5, S = 1, C not a
// multiple of the kernel's channel block, large C), outputs pre-filled with NaN so an
// unwritten element shows; float and double; every output the same at 1, 2 and 3 threads.
#include <doctest/doctest.h>
#include <omp.h>

#include "test_util.hpp"

#include <cmath>
#include <limits>
#include <random>
#include <string>
#include <type_traits>
#include <vector>

#include "kernels/cpu/batchnorm.hpp"

using namespace gantry::kernels;
using namespace gantry::kernels::cpu;

namespace {

using gantry::testing::check_close;
using gantry::testing::nans;
using gantry::testing::random_values;

template <class T>
double tolerance() {
  return std::is_same_v<T, float> ? 2e-5 : 1e-11;
}

size_t at(const BatchNormShape& s, int64_t n, int64_t c, int64_t i) { return (size_t)(((n * s.c + c) * s.s) + i); }

// Naive per-channel statistics in double: mean and biased variance.
template <class T>
void channel_stats(const std::vector<T>& x, const BatchNormShape& s, int64_t c, double& mean, double& var) {
  const double m = (double)(s.n * s.s);
  mean = 0, var = 0;
  for (int64_t n = 0; n < s.n; ++n)
    for (int64_t i = 0; i < s.s; ++i) mean += (double)x[at(s, n, c, i)];
  mean /= m;
  for (int64_t n = 0; n < s.n; ++n)
    for (int64_t i = 0; i < s.s; ++i) var += std::pow((double)x[at(s, n, c, i)] - mean, 2);
  var /= m;
}

// The kernel walks blocks of channels (batchnorm.cpp: at most 512 values per sample and
// 65536 in all, at most 256 channels) and adds 8 samples at a time, or (runs over 512
// values) one channel's runs 16 lanes at a time: the shapes below leave a partial last
// block, a remainder of samples and a remainder of lanes.
const std::vector<BatchNormShape> kShapes = {
    {1, 3, 35},         // N = 1, 7x5 image
    {4, 3, 35},         // 7x5 image, a few samples
    {6, 5, 1},          // BatchNorm1d on [N, C]
    {2, 1, 1},          // M = 2, the smallest with an unbiased variance
    {9, 16, 7 * 35},    // large enough for the OpenMP path; 8 samples + 1
    {19, 37, 35},       // blocks of 14 channels: 14 + 14 + 9; 16 samples + 3
    {3, 300, 1},        // [N, C] with C above 256 channels a block: 256 + 44
    {1, 1000, 3},       // large C, N = 1: blocks of 170 channels, the last 150
    {2, 3, 4096 + 17},  // one channel a block, a run longer than a block's span (run_sums: 16 lanes + 1)
    {9, 2, 600},        // long runs (S > 512) with N above 8, a tail of 8 lanes
    {1, 5, 3136},       // layer norm's rows ([64, 7, 7] a row) as [1, rows, len]
    {64, 128, 49},      // DCGAN's [64,128,7,7]: blocks of 10 channels, the last 8
};

}  // namespace

TEST_CASE_TEMPLATE("batch_norm_forward_train matches the per-channel definition", T, float, double) {
  const T eps = (T)1e-5, momentum = (T)0.1;
  for (const auto& s : kShapes) {
    for (bool affine : {true, false}) {
      INFO("shape " << s.n << "x" << s.c << "x" << s.s << (affine ? " affine" : " no affine"));
      const size_t numel = (size_t)(s.n * s.c * s.s);
      auto x = random_values<T>(numel, 1, -2, 3);
      auto gamma = random_values<T>(s.c, 2), beta = random_values<T>(s.c, 3);
      auto rm = random_values<T>(s.c, 4), rv = random_values<T>(s.c, 5, 0.5, 2);
      const auto rm0 = rm, rv0 = rv;
      auto y = nans<T>(numel), mean = nans<T>(s.c), invstd = nans<T>(s.c);
      batch_norm_forward_train(y.data(), mean.data(), invstd.data(), rm.data(), rv.data(), x.data(),
                               affine ? gamma.data() : nullptr, affine ? beta.data() : nullptr, s, momentum, eps);
      std::vector<double> y_ref(numel), mean_ref(s.c), invstd_ref(s.c), rm_ref(s.c), rv_ref(s.c);
      const double m = (double)(s.n * s.s);
      for (int64_t c = 0; c < s.c; ++c) {
        double mu, var;
        channel_stats(x, s, c, mu, var);
        mean_ref[c] = mu;
        invstd_ref[c] = 1 / std::sqrt(var + (double)eps);
        rm_ref[c] = 0.9 * (double)rm0[c] + 0.1 * mu;
        rv_ref[c] = 0.9 * (double)rv0[c] + 0.1 * var * m / (m - 1);
        const double g = affine ? (double)gamma[c] : 1.0, b = affine ? (double)beta[c] : 0.0;
        for (int64_t n = 0; n < s.n; ++n)
          for (int64_t i = 0; i < s.s; ++i)
            y_ref[at(s, n, c, i)] = ((double)x[at(s, n, c, i)] - mu) * invstd_ref[c] * g + b;
      }
      const double tol = tolerance<T>() * (std::is_same_v<T, float> ? 10 : 1);  // invstd amplifies by ~1/sigma
      check_close(y, y_ref, tol, "y");
      check_close(mean, mean_ref, tolerance<T>(), "save_mean");
      check_close(invstd, invstd_ref, tolerance<T>(), "save_invstd");
      check_close(rm, rm_ref, tolerance<T>(), "running_mean");
      check_close(rv, rv_ref, tolerance<T>(), "running_var (unbiased)");
    }
  }
}

TEST_CASE_TEMPLATE("batch_norm_forward_train: null running stats are left alone, one at a time", T, float, double) {
  const BatchNormShape s{3, 2, 5};
  const size_t numel = 30;
  auto x = random_values<T>(numel, 11);
  auto y = nans<T>(numel), mean = nans<T>(2), invstd = nans<T>(2);
  std::vector<T> rm = {T(1), T(2)}, rv = {T(3), T(4)};
  // both null: the saved statistics are still written
  batch_norm_forward_train(y.data(), mean.data(), invstd.data(), (T*)nullptr, (T*)nullptr, x.data(), (const T*)nullptr,
                           (const T*)nullptr, s, T(0.5), T(1e-5));
  double mu, var;
  channel_stats(x, s, 1, mu, var);
  CHECK((double)mean[1] == doctest::Approx(mu).epsilon(1e-5));
  CHECK((double)invstd[1] == doctest::Approx(1 / std::sqrt(var + 1e-5)).epsilon(1e-5));
  // only running_mean
  batch_norm_forward_train(y.data(), mean.data(), invstd.data(), rm.data(), (T*)nullptr, x.data(), (const T*)nullptr,
                           (const T*)nullptr, s, T(0.5), T(1e-5));
  CHECK((double)rm[1] == doctest::Approx(0.5 * 2 + 0.5 * mu).epsilon(1e-5));
  CHECK(rv[1] == T(4));
  // only running_var
  batch_norm_forward_train(y.data(), mean.data(), invstd.data(), (T*)nullptr, rv.data(), x.data(), (const T*)nullptr,
                           (const T*)nullptr, s, T(0.5), T(1e-5));
  CHECK((double)rv[1] == doctest::Approx(0.5 * 4 + 0.5 * var * 15 / 14).epsilon(1e-5));
}

TEST_CASE("batch_norm_forward_train (float) keeps the variance of data with a large mean") {
  // mean 1000, spread 1: a float one-pass E[x^2] - E[x]^2 loses every digit of the variance
  const BatchNormShape s{64, 2, 49};
  auto x = random_values<float>(64 * 2 * 49, 21, 999, 1001);
  auto y = nans<float>(x.size()), mean = nans<float>(2), invstd = nans<float>(2);
  batch_norm_forward_train(y.data(), mean.data(), invstd.data(), (float*)nullptr, (float*)nullptr, x.data(),
                           (const float*)nullptr, (const float*)nullptr, s, 0.1f, 1e-5f);
  for (int64_t c = 0; c < 2; ++c) {
    double mu, var;
    channel_stats(x, s, c, mu, var);
    CHECK((double)invstd[c] == doctest::Approx(1 / std::sqrt(var + 1e-5)).epsilon(1e-5));
  }
  double sum = 0, sum_sq = 0;  // normalized output: mean 0, variance ~1
  for (float v : y) sum += v, sum_sq += (double)v * v;
  CHECK(std::abs(sum / (double)y.size()) < 1e-3);
  CHECK(sum_sq / (double)y.size() == doctest::Approx(1.0).epsilon(1e-3));
}

TEST_CASE_TEMPLATE("batch_norm_forward_eval matches the definition", T, float, double) {
  for (const auto& s : kShapes) {
    for (bool affine : {true, false}) {
      INFO("shape " << s.n << "x" << s.c << "x" << s.s << (affine ? " affine" : " no affine"));
      const size_t numel = (size_t)(s.n * s.c * s.s);
      auto x = random_values<T>(numel, 31, -2, 2);
      auto gamma = random_values<T>(s.c, 32), beta = random_values<T>(s.c, 33);
      auto rm = random_values<T>(s.c, 34), rv = random_values<T>(s.c, 35, 0.2, 3);
      auto y = nans<T>(numel);
      batch_norm_forward_eval(y.data(), x.data(), rm.data(), rv.data(), affine ? gamma.data() : nullptr,
                              affine ? beta.data() : nullptr, s, T(1e-3));
      std::vector<double> y_ref(numel);
      for (int64_t n = 0; n < s.n; ++n)
        for (int64_t c = 0; c < s.c; ++c)
          for (int64_t i = 0; i < s.s; ++i)
            y_ref[at(s, n, c, i)] = ((double)x[at(s, n, c, i)] - (double)rm[c]) / std::sqrt((double)rv[c] + 1e-3) *
                                        (affine ? (double)gamma[c] : 1.0) +
                                    (affine ? (double)beta[c] : 0.0);
      check_close(y, y_ref, tolerance<T>() * 5, "y");
    }
  }
}

TEST_CASE_TEMPLATE("batch_norm_backward matches the closed form", T, float, double) {
  for (const auto& s : kShapes) {
    for (bool affine : {true, false}) {
      INFO("shape " << s.n << "x" << s.c << "x" << s.s << (affine ? " affine" : " no affine"));
      const size_t numel = (size_t)(s.n * s.c * s.s);
      auto x = random_values<T>(numel, 41, -2, 2), dy = random_values<T>(numel, 42);
      auto gamma = random_values<T>(s.c, 43);
      auto mean = nans<T>(s.c), invstd = nans<T>(s.c), y = nans<T>(numel);
      batch_norm_forward_train(y.data(), mean.data(), invstd.data(), (T*)nullptr, (T*)nullptr, x.data(),
                               affine ? gamma.data() : nullptr, (const T*)nullptr, s, T(0.1), T(1e-5));
      auto dx = nans<T>(numel), dgamma = nans<T>(s.c), dbeta = nans<T>(s.c);
      batch_norm_backward(dx.data(), dgamma.data(), dbeta.data(), dy.data(), x.data(), mean.data(), invstd.data(),
                          affine ? gamma.data() : nullptr, s);
      // dx = invstd / M (M g - sum g - xhat sum(g xhat)), g = dy gamma, from the saved statistics
      std::vector<double> dx_ref(numel), dgamma_ref(s.c), dbeta_ref(s.c);
      const double m = (double)(s.n * s.s);
      for (int64_t c = 0; c < s.c; ++c) {
        const double gam = affine ? (double)gamma[c] : 1.0, mu = (double)mean[c], is = (double)invstd[c];
        double sum_g = 0, sum_g_xhat = 0, sum_dy = 0, sum_dy_xhat = 0;
        for (int64_t n = 0; n < s.n; ++n)
          for (int64_t i = 0; i < s.s; ++i) {
            const size_t k = at(s, n, c, i);
            const double xhat = ((double)x[k] - mu) * is;
            sum_g += (double)dy[k] * gam, sum_g_xhat += (double)dy[k] * gam * xhat;
            sum_dy += (double)dy[k], sum_dy_xhat += (double)dy[k] * xhat;
          }
        dgamma_ref[c] = sum_dy_xhat, dbeta_ref[c] = sum_dy;
        for (int64_t n = 0; n < s.n; ++n)
          for (int64_t i = 0; i < s.s; ++i) {
            const size_t k = at(s, n, c, i);
            const double xhat = ((double)x[k] - mu) * is;
            dx_ref[k] = is / m * (m * (double)dy[k] * gam - sum_g - xhat * sum_g_xhat);
          }
      }
      const double tol = tolerance<T>() * (std::is_same_v<T, float> ? 20 : 1);
      check_close(dx, dx_ref, tol, "dx");
      check_close(dgamma, dgamma_ref, tol, "dgamma");
      check_close(dbeta, dbeta_ref, tol, "dbeta");
      // dgamma / dbeta not wanted: dx is unchanged
      auto dx2 = nans<T>(numel);
      batch_norm_backward(dx2.data(), (T*)nullptr, (T*)nullptr, dy.data(), x.data(), mean.data(), invstd.data(),
                          affine ? gamma.data() : nullptr, s);
      CHECK(dx2 == dx);
    }
  }
}

TEST_CASE("batch_norm_backward matches central differences of the training forward (double)") {
  for (const auto& s : {BatchNormShape{1, 3, 35}, BatchNormShape{6, 5, 1}, BatchNormShape{3, 2, 4}}) {
    INFO("shape " << s.n << "x" << s.c << "x" << s.s);
    const size_t numel = (size_t)(s.n * s.c * s.s);
    auto x = random_values<double>(numel, 51, -2, 2), dy = random_values<double>(numel, 52);
    auto gamma = random_values<double>(s.c, 53), beta = random_values<double>(s.c, 54);
    // L(x, gamma, beta) = <dy, y>, y from a fresh training forward (statistics depend on x)
    auto loss = [&](const std::vector<double>& xv, const std::vector<double>& gv, const std::vector<double>& bv) {
      std::vector<double> y(numel), mu(s.c), is(s.c);
      batch_norm_forward_train(y.data(), mu.data(), is.data(), (double*)nullptr, (double*)nullptr, xv.data(), gv.data(),
                               bv.data(), s, 0.1, 1e-5);
      double l = 0;
      for (size_t k = 0; k < numel; ++k) l += y[k] * dy[k];
      return l;
    };
    auto mean = nans<double>(s.c), invstd = nans<double>(s.c), y = nans<double>(numel);
    batch_norm_forward_train(y.data(), mean.data(), invstd.data(), (double*)nullptr, (double*)nullptr, x.data(),
                             gamma.data(), beta.data(), s, 0.1, 1e-5);
    auto dx = nans<double>(numel), dgamma = nans<double>(s.c), dbeta = nans<double>(s.c);
    batch_norm_backward(dx.data(), dgamma.data(), dbeta.data(), dy.data(), x.data(), mean.data(), invstd.data(),
                        gamma.data(), s);
    const double h = 1e-6;
    auto fd_check = [&](std::vector<double>& v, size_t k, double analytic, const char* what) {
      const double keep = v[k];
      v[k] = keep + h;
      const double up = loss(x, gamma, beta);
      v[k] = keep - h;
      const double down = loss(x, gamma, beta);
      v[k] = keep;
      const double fd = (up - down) / (2 * h);
      INFO(what << "[" << k << "]: analytic " << analytic << ", finite difference " << fd);
      CHECK(std::abs(analytic - fd) <= 1e-6 * (1 + std::abs(fd)));
    };
    for (size_t k = 0; k < numel; ++k) fd_check(x, k, dx[k], "dx");
    for (size_t c = 0; c < (size_t)s.c; ++c) {
      fd_check(gamma, c, dgamma[c], "dgamma");
      fd_check(beta, c, dbeta[c], "dbeta");
    }
  }
}

TEST_CASE_TEMPLATE("batch_norm: every output the same at 1, 2 and 3 threads, to the bit", T, float, double) {
  // threads split the channels in ranges, so the blocks fall differently at each count
  const int saved = omp_get_max_threads();
  for (const auto& s : {BatchNormShape{64, 128, 49}, BatchNormShape{19, 37, 49}, BatchNormShape{40, 300, 3},
                        BatchNormShape{3, 7, 4096 + 17}}) {
    INFO("shape " << s.n << "x" << s.c << "x" << s.s);
    REQUIRE(s.n * s.c * s.s > (1 << 15));  // above the kernel's threshold for threads
    const size_t numel = (size_t)(s.n * s.c * s.s);
    const auto x = random_values<T>(numel, 61, -2, 3), dy = random_values<T>(numel, 62);
    const auto gamma = random_values<T>(s.c, 63), beta = random_values<T>(s.c, 64);
    const auto rm0 = random_values<T>(s.c, 65), rv0 = random_values<T>(s.c, 66, 0.5, 2);
    std::vector<std::vector<T>> first;
    for (int threads : {1, 2, 3}) {
      omp_set_num_threads(threads);
      auto y = nans<T>(numel), mean = nans<T>(s.c), invstd = nans<T>(s.c), rm = rm0, rv = rv0;
      batch_norm_forward_train(y.data(), mean.data(), invstd.data(), rm.data(), rv.data(), x.data(), gamma.data(),
                               beta.data(), s, T(0.1), T(1e-5));
      auto ye = nans<T>(numel);
      batch_norm_forward_eval(ye.data(), x.data(), rm.data(), rv.data(), gamma.data(), beta.data(), s, T(1e-5));
      auto dx = nans<T>(numel), dgamma = nans<T>(s.c), dbeta = nans<T>(s.c);
      batch_norm_backward(dx.data(), dgamma.data(), dbeta.data(), dy.data(), x.data(), mean.data(), invstd.data(),
                          gamma.data(), s);
      const std::vector<std::vector<T>> out = {y, mean, invstd, rm, rv, ye, dx, dgamma, dbeta};
      if (first.empty()) {
        first = out;
        continue;
      }
      const char* names[] = {"y",      "save_mean", "save_invstd", "running_mean", "running_var",
                             "eval y", "dx",        "dgamma",      "dbeta"};
      for (size_t k = 0; k < out.size(); ++k) {
        INFO(threads << " threads: " << std::string(names[k]));
        CHECK(out[k] == first[k]);
      }
    }
  }
  omp_set_num_threads(saved);
}
