// kernels/cpu/optim: Adam, RMSProp (with and without momentum) and SGD (momentum, Nesterov,
// first step) against the update formula evaluated per element in double, with weight
// decay, over several steps, at odd sizes (every simd tail) and one above the threshold
// for threads; float to 1e-6, double to 1e-14, relative to the sum of the absolute values
// of each element's terms; the same to the bit at 1 and 2 threads. (AdamStep has no amsgrad: gantry's Adam does not
// offer it.)
#include <doctest/doctest.h>
#include <omp.h>

#include <cmath>
#include <string>
#include <type_traits>
#include <vector>

#include "kernels/cpu/optim.hpp"
#include "test_util.hpp"

using namespace gantry::kernels;
using namespace gantry::kernels::cpu;
using gantry::testing::random_values;

namespace {

const std::vector<int64_t> kSizes = {1, 15, 17, 33, 1000, 40009};  // 40009: above the threshold for threads

template <class T>
double tol() {
  return std::is_same_v<T, float> ? 1e-6 : 1e-14;
}

// The elements of got off want by more than t * scale, scale[i] the sum of the absolute
// values of the terms of element i (so where terms cancel, the bound is the rounding of the
// terms, not of their small difference).
template <class T>
int64_t count_off(const std::vector<T>& got, const std::vector<double>& want, const std::vector<double>& scale,
                  double t) {
  int64_t bad = 0;
  for (size_t i = 0; i < got.size(); ++i)
    if (!(std::abs((double)got[i] - want[i]) <= t * scale[i])) ++bad;
  return bad;
}

// n gradients of magnitude in [0.1, 1), either sign: g + wd p (|wd p| <= 0.01) never cancels.
template <class T>
std::vector<T> gradients(size_t n, unsigned seed) {
  auto g = random_values<T>(n, seed, 0.1, 1);
  const auto sign = random_values<double>(n, seed + 1000, -1, 1);
  for (size_t i = 0; i < n; ++i)
    if (sign[i] < 0) g[i] = -g[i];
  return g;
}

// A hyperparameter as the kernel holds it (in T): the reference must not differ by the
// rounding of 0.999 to float, which 1 - beta2 turns into 5e-5 relative.
template <class T>
double as_t(double x) {
  return (double)(T)x;
}

template <class T>
std::vector<double> widen(const std::vector<T>& v) {
  return std::vector<double>(v.begin(), v.end());
}

}  // namespace

TEST_CASE_TEMPLATE("adam_step matches the formula per element over three steps, with weight decay", T, float, double) {
  for (double wd : {0.0, 0.01}) {
    for (int64_t n : kSizes) {
      INFO("n = " << n << ", weight decay " << wd);
      auto p = random_values<T>((size_t)n, 1, -1, 1);
      std::vector<T> m((size_t)n, T(0)), v((size_t)n, T(0));  // Adam's state starts at zero
      auto pr = widen(p), mr = widen(m), vr = widen(v);
      const double lr = 0.01, b1 = 0.5, b2 = as_t<T>(0.999), eps = 1e-8;
      for (int t = 1; t <= 3; ++t) {
        const auto g = gradients<T>((size_t)n, 10 + (unsigned)t);
        const AdamStep h{lr, b1, b2, eps, as_t<T>(wd), 1 - std::pow(b1, t), 1 - std::pow(b2, t)};
        adam_step(p.data(), m.data(), v.data(), g.data(), n, h);
        // the reference: the formula in double from the kernel's state before the step (so
        // the comparison is one step's error, not three accumulated)
        std::vector<double> ms((size_t)n), vs((size_t)n), ps((size_t)n);
        for (int64_t i = 0; i < n; ++i) {
          const double gi = (double)g[i] + as_t<T>(wd) * pr[i], ga = std::abs((double)g[i]) + wd * std::abs(pr[i]);
          ms[i] = b1 * std::abs(mr[i]) + (1 - b1) * ga;
          vs[i] = b2 * vr[i] + (1 - b2) * ga * ga;
          mr[i] = b1 * mr[i] + (1 - b1) * gi;
          vr[i] = b2 * vr[i] + (1 - b2) * gi * gi;
          const double den = std::sqrt(vr[i]) / std::sqrt(h.bias_correction2) + eps;
          ps[i] = std::abs(pr[i]) + lr / h.bias_correction1 * ms[i] / den;
          pr[i] -= lr / h.bias_correction1 * mr[i] / den;
        }
        INFO("step " << t);
        CHECK(count_off(m, mr, ms, tol<T>()) == 0);
        CHECK(count_off(v, vr, vs, tol<T>()) == 0);
        CHECK(count_off(p, pr, ps, tol<T>()) == 0);
        pr = widen(p), mr = widen(m), vr = widen(v);
      }
    }
  }
}

TEST_CASE_TEMPLATE("rmsprop_step matches the formula per element, with and without momentum", T, float, double) {
  for (double mom : {0.0, 0.9}) {
    for (double wd : {0.0, 0.01}) {
      for (int64_t n : kSizes) {
        INFO("n = " << n << ", momentum " << mom << ", weight decay " << wd);
        auto p = random_values<T>((size_t)n, 2, -1, 1);
        auto v = random_values<T>((size_t)n, 3, 0, 0.01), buf = random_values<T>((size_t)n, 4, -0.1, 0.1);
        const auto g = gradients<T>((size_t)n, 5);
        const double lr = 0.01, alpha = as_t<T>(0.99), eps = 1e-8, m = as_t<T>(mom), w = as_t<T>(wd);
        std::vector<double> pr((size_t)n), vr((size_t)n), br((size_t)n), ps((size_t)n), vs((size_t)n), bs((size_t)n);
        for (int64_t i = 0; i < n; ++i) {
          const double gi = (double)g[i] + w * (double)p[i], ga = std::abs((double)g[i]) + w * std::abs((double)p[i]);
          vr[i] = alpha * (double)v[i] + (1 - alpha) * gi * gi;
          vs[i] = alpha * (double)v[i] + (1 - alpha) * ga * ga;
          const double d = gi / (std::sqrt(vr[i]) + eps), da = std::abs(d);
          br[i] = m * (double)buf[i] + d;
          bs[i] = m * std::abs((double)buf[i]) + da;
          pr[i] = (double)p[i] - lr * (mom != 0 ? br[i] : d);
          ps[i] = std::abs((double)p[i]) + lr * (mom != 0 ? bs[i] : da);
        }
        const RMSPropStep h{lr, alpha, eps, wd, mom};
        const auto buf_before = buf;
        rmsprop_step(p.data(), v.data(), mom != 0 ? buf.data() : nullptr, g.data(), n, h);
        CHECK(count_off(v, vr, vs, tol<T>()) == 0);
        CHECK(count_off(p, pr, ps, tol<T>()) == 0);
        if (mom != 0) CHECK(count_off(buf, br, bs, tol<T>()) == 0);
        else CHECK(buf == buf_before);
      }
    }
  }
}

TEST_CASE_TEMPLATE("sgd_step matches the formula: plain, momentum (first step and after), Nesterov", T, float, double) {
  struct Mode {
    double mom;
    bool nesterov, first;
  };
  for (const Mode& mode : {Mode{0, false, false}, Mode{0.9, false, true}, Mode{0.9, false, false},
                           Mode{0.9, true, false}, Mode{0.9, true, true}}) {
    for (int64_t n : kSizes) {
      const double mom = as_t<T>(mode.mom), wd = as_t<T>(0.01), lr = 0.1;
      const bool nesterov = mode.nesterov, first = mode.first;
      INFO("n = " << n << ", momentum " << mom << (nesterov ? ", nesterov" : "") << (first ? ", first step" : ""));
      auto p = random_values<T>((size_t)n, 6, -1, 1), buf = random_values<T>((size_t)n, 7, -1, 1);
      const auto g = gradients<T>((size_t)n, 8);
      std::vector<double> pr((size_t)n), br((size_t)n), ps((size_t)n), bs((size_t)n);
      for (int64_t i = 0; i < n; ++i) {
        const double d = (double)g[i] + wd * (double)p[i], da = std::abs((double)g[i]) + wd * std::abs((double)p[i]);
        br[i] = first ? d : mom * (double)buf[i] + d;
        bs[i] = first ? da : mom * std::abs((double)buf[i]) + da;
        pr[i] = (double)p[i] - lr * (mom == 0 ? d : nesterov ? d + mom * br[i] : br[i]);
        ps[i] = std::abs((double)p[i]) + lr * (mom == 0 ? da : nesterov ? da + mom * bs[i] : bs[i]);
      }
      sgd_step(p.data(), mom != 0 ? buf.data() : nullptr, g.data(), n, SGDStep{lr, mom, wd, nesterov, first});
      CHECK(count_off(p, pr, ps, tol<T>()) == 0);
      if (mom != 0) CHECK(count_off(buf, br, bs, tol<T>()) == 0);
    }
  }
}

TEST_CASE("optimizer steps: the same to the bit at 1 and 2 threads") {
  const int saved = omp_get_max_threads();
  const int64_t n = 100003;
  const auto p0 = random_values<float>((size_t)n, 21, -1, 1), g = random_values<float>((size_t)n, 22, -1, 1);
  const auto s0 = random_values<float>((size_t)n, 23, 0, 0.01), b0 = random_values<float>((size_t)n, 24, -1, 1);
  std::vector<std::vector<float>> first;
  for (int threads : {1, 2}) {
    omp_set_num_threads(threads);
    auto pa = p0, m = b0, v = s0;
    adam_step(pa.data(), m.data(), v.data(), g.data(), n, AdamStep{1e-3, 0.9, 0.999, 1e-8, 0.01, 0.1, 0.001});
    auto pr = p0, sq = s0, mb = b0;
    rmsprop_step(pr.data(), sq.data(), mb.data(), g.data(), n, RMSPropStep{1e-3, 0.99, 1e-8, 0.01, 0.9});
    auto ps = p0, sb = b0;
    sgd_step(ps.data(), sb.data(), g.data(), n, SGDStep{0.1, 0.9, 0.01, true, false});
    const std::vector<std::vector<float>> out = {pa, m, v, pr, sq, mb, ps, sb};
    if (threads == 1) {
      first = out;
      continue;
    }
    for (size_t k = 0; k < out.size(); ++k) {
      INFO("output " << k);
      CHECK(out[k] == first[k]);
    }
  }
  omp_set_num_threads(saved);
}
