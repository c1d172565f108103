// Forward values of the ops against naive references computed here with plain
// loops, including broadcasting, non-contiguous inputs and numerically hard inputs.
#include <doctest/doctest.h>

#include <cmath>
#include <functional>

#include "core/ops.hpp"

using namespace gantry;

namespace {

Tensor rnd(const Shape& s, uint64_t seed, DType t = DType::f64) {
  Rng g(seed);
  return rand(s, t, &g, -2, 2);
}

// Index of element `flat` of `out` into a tensor of shape `s` broadcast to `out`.
int64_t broadcast_index(const Shape& out, const Shape& s, int64_t flat) {
  int64_t idx = 0, stride = 1;
  for (int64_t d = (int64_t)out.size() - 1, k = (int64_t)s.size() - 1; d >= 0; --d, --k) {
    const int64_t i = flat % out[d];
    flat /= out[d];
    if (k >= 0) {
      if (s[k] != 1) idx += i * stride;
      stride *= s[k];
    }
  }
  return idx;
}

void check_binary(const Tensor& a, const Tensor& b, const std::function<Tensor(Tensor, Tensor)>& op,
                  const std::function<double(double, double)>& ref) {
  Tensor y = op(a, b);
  Shape out = broadcast_shapes(a.shape(), b.shape(), "test");
  REQUIRE(y.shape() == out);
  auto av = contiguous(a).to_vector<double>(), bv = contiguous(b).to_vector<double>(), yv = y.to_vector<double>();
  for (int64_t i = 0; i < y.numel(); ++i)
    CHECK(yv[i] ==
          doctest::Approx(ref(av[broadcast_index(out, a.shape(), i)], bv[broadcast_index(out, b.shape(), i)])));
}

}  // namespace

TEST_CASE("elementwise binary ops broadcast like NumPy, on dense and strided inputs") {
  Tensor a = rnd({7, 1, 5, 3}, 1), b = rnd({5, 1}, 2);
  check_binary(
      a, b, [](Tensor x, Tensor y) { return add(x, y); }, [](double x, double y) { return x + y; });
  check_binary(
      a, b, [](Tensor x, Tensor y) { return sub(x, y); }, [](double x, double y) { return x - y; });
  check_binary(
      a, b, [](Tensor x, Tensor y) { return mul(x, y); }, [](double x, double y) { return x * y; });
  check_binary(
      a, b, [](Tensor x, Tensor y) { return div(x, y); }, [](double x, double y) { return x / y; });
  check_binary(
      a, b, [](Tensor x, Tensor y) { return maximum(x, y); }, [](double x, double y) { return std::max(x, y); });
  check_binary(
      a, b, [](Tensor x, Tensor y) { return minimum(x, y); }, [](double x, double y) { return std::min(x, y); });
  check_binary(
      a, b, [](Tensor x, Tensor y) { return lt(x, y); }, [](double x, double y) { return double(x < y); });
  check_binary(
      a, b, [](Tensor x, Tensor y) { return ge(x, y); }, [](double x, double y) { return double(x >= y); });
  // transposed and expanded (stride-0) operands
  Tensor t = transpose(rnd({3, 5}, 3), 0, 1);  // [5,3], non-contiguous
  CHECK_FALSE(t.is_contiguous());
  check_binary(
      t, expand(rnd({1, 3}, 4), {5, 3}), [](Tensor x, Tensor y) { return mul(x, y); },
      [](double x, double y) { return x * y; });
  check_binary(
      rnd({1}, 5), t, [](Tensor x, Tensor y) { return sub(x, y); }, [](double x, double y) { return x - y; });
  // float32 too
  Tensor af = rnd({4, 3}, 6, DType::f32), bf = rnd({3}, 7, DType::f32);
  auto y = add(af, bf).to_vector<float>(), av = af.to_vector<float>(), bv = bf.to_vector<float>();
  for (int i = 0; i < 12; ++i) CHECK(y[i] == av[i] + bv[i % 3]);
}

TEST_CASE("unary math and activations") {
  Tensor x = tensor({-3, -0.5, 0, 0.25, 2}, {5}, DType::f64);
  auto v = x.to_vector<double>();
  auto each = [&](const Tensor& y, const std::function<double(double)>& f) {
    auto yv = y.to_vector<double>();
    for (size_t i = 0; i < v.size(); ++i) CHECK(yv[i] == doctest::Approx(f(v[i])));
  };
  each(neg(x), [](double u) { return -u; });
  each(exp(x), [](double u) { return std::exp(u); });
  each(abs(x), [](double u) { return std::abs(u); });
  each(sign(x), [](double u) { return double((u > 0) - (u < 0)); });
  each(pow(x, 3), [](double u) { return u * u * u; });
  each(clamp(x, -1, 1), [](double u) { return std::clamp(u, -1.0, 1.0); });
  each(relu(x), [](double u) { return std::max(u, 0.0); });
  each(leaky_relu(x, 0.2), [](double u) { return u > 0 ? u : 0.2 * u; });
  each(sigmoid(x), [](double u) { return 1 / (1 + std::exp(-u)); });
  each(tanh(x), [](double u) { return std::tanh(u); });
  each(softplus(x), [](double u) { return std::log1p(std::exp(u)); });
  each(where(gt(x, 0.0), x, neg(x)), [](double u) { return std::abs(u); });
  Tensor pos = tensor({0.5, 1, 4}, {3}, DType::f64);
  CHECK(sqrt(pos).to_vector<double>()[2] == 2);
  CHECK(rsqrt(pos).to_vector<double>()[2] == 0.5);
  CHECK(log(pos).to_vector<double>()[1] == 0);
  // extremes stay finite and exact where the math is
  Tensor big = tensor({-1000, -100, 100, 1000}, {4});
  auto s = sigmoid(big).to_vector<float>();
  CHECK(s[0] == 0.0f);
  CHECK(s[3] == 1.0f);
  auto sp = softplus(big).to_vector<float>();
  CHECK(sp[0] == 0.0f);
  CHECK(sp[2] == 100.0f);
  CHECK(sp[3] == 1000.0f);
}

TEST_CASE("reductions over all and some dims, with keepdim") {
  Tensor x = rnd({4, 3, 5}, 10);
  auto v = x.to_vector<double>();
  auto at = [&](int i, int j, int k) { return v[(i * 3 + j) * 5 + k]; };
  CHECK(sum(x).item() == doctest::Approx([&] {
          double s = 0;
          for (double e : v) s += e;
          return s;
        }()));
  Tensor s02 = sum(x, {0, 2});
  CHECK(s02.shape() == Shape{3});
  Tensor m1 = mean(x, {1}, true);
  CHECK(m1.shape() == Shape{4, 1, 5});
  Tensor v0 = var(x, {0});
  Tensor v0b = var(x, {0}, 0);
  Tensor mx = max(x, {-1});
  Tensor am = argmax(x, 1);
  Tensor n3 = norm(x, 3, {2});
  for (int j = 0; j < 3; ++j) {
    double s = 0;
    for (int i = 0; i < 4; ++i)
      for (int k = 0; k < 5; ++k) s += at(i, j, k);
    CHECK(s02.to_vector<double>()[j] == doctest::Approx(s));
  }
  for (int i = 0; i < 4; ++i)
    for (int k = 0; k < 5; ++k) {
      double s = 0;
      for (int j = 0; j < 3; ++j) s += at(i, j, k);
      CHECK(m1.to_vector<double>()[i * 5 + k] == doctest::Approx(s / 3));
    }
  for (int j = 0; j < 3; ++j)
    for (int k = 0; k < 5; ++k) {
      double mu = 0, ss = 0;
      for (int i = 0; i < 4; ++i) mu += at(i, j, k) / 4;
      for (int i = 0; i < 4; ++i) ss += std::pow(at(i, j, k) - mu, 2);
      CHECK(v0.to_vector<double>()[j * 5 + k] == doctest::Approx(ss / 3));
      CHECK(v0b.to_vector<double>()[j * 5 + k] == doctest::Approx(ss / 4));
    }
  for (int i = 0; i < 4; ++i)
    for (int j = 0; j < 3; ++j) {
      double m = -1e300, n = 0;
      for (int k = 0; k < 5; ++k) m = std::max(m, at(i, j, k)), n += std::pow(std::abs(at(i, j, k)), 3);
      CHECK(mx.to_vector<double>()[i * 3 + j] == m);
      CHECK(n3.to_vector<double>()[i * 3 + j] == doctest::Approx(std::cbrt(n)));
    }
  CHECK(am.dtype() == DType::i64);
  CHECK(am.shape() == Shape{4, 5});
  Tensor ties = tensor({1, 3, 3, 0}, {1, 4});
  CHECK(argmax(ties, 1).item() == 1);  // the first maximum
}

TEST_CASE("matmul: 2-d, batched with broadcast batch dims, vectors; linear") {
  Tensor a = rnd({2, 1, 3, 4}, 20), b = rnd({5, 4, 2}, 21);
  Tensor y = matmul(a, b);
  CHECK(y.shape() == Shape{2, 5, 3, 2});
  auto av = a.to_vector<double>(), bv = b.to_vector<double>(), yv = y.to_vector<double>();
  for (int p = 0; p < 2; ++p)
    for (int q = 0; q < 5; ++q)
      for (int i = 0; i < 3; ++i)
        for (int j = 0; j < 2; ++j) {
          double s = 0;
          for (int k = 0; k < 4; ++k) s += av[(p * 3 + i) * 4 + k] * bv[(q * 4 + k) * 2 + j];
          CHECK(yv[((p * 5 + q) * 3 + i) * 2 + j] == doctest::Approx(s));
        }
  Tensor v = rnd({4}, 22), m = rnd({4, 3}, 23);
  CHECK(matmul(v, m).shape() == Shape{3});
  CHECK(matmul(m.transpose(0, 1), v).shape() == Shape{3});
  CHECK(matmul(v, v).dim() == 0);
  Tensor x = rnd({6, 4}, 24), w = rnd({3, 4}, 25), bias = rnd({3}, 26);
  auto lv = linear(x, w, bias).to_vector<double>(), xv = x.to_vector<double>(), wv = w.to_vector<double>(),
       bb = bias.to_vector<double>();
  for (int i = 0; i < 6; ++i)
    for (int o = 0; o < 3; ++o) {
      double s = bb[o];
      for (int k = 0; k < 4; ++k) s += xv[i * 4 + k] * wv[o * 4 + k];
      CHECK(lv[i * 3 + o] == doctest::Approx(s));
    }
}

TEST_CASE("conv_transpose2d is the scatter of every input pixel, with output_padding") {
  Tensor x = rnd({2, 3, 3, 4}, 30), w = rnd({3, 2, 3, 2}, 31), b = rnd({2}, 32);
  Conv2dOptions o{2, 3, 1, 0, 1, 1};
  Tensor y = conv_transpose2d(x, w, b, o, 1, 2);
  const int64_t oh = (3 - 1) * 2 - 2 + 3 + 1, ow = (4 - 1) * 3 + 2 + 2;
  REQUIRE(y.shape() == Shape{2, 2, oh, ow});
  std::vector<double> ref(2 * 2 * oh * ow, 0);
  auto xv = x.to_vector<double>(), wv = w.to_vector<double>(), bv = b.to_vector<double>();
  for (int n = 0; n < 2; ++n)
    for (int ci = 0; ci < 3; ++ci)
      for (int h = 0; h < 3; ++h)
        for (int ww = 0; ww < 4; ++ww)
          for (int co = 0; co < 2; ++co)
            for (int kh = 0; kh < 3; ++kh)
              for (int kw = 0; kw < 2; ++kw) {
                const int64_t r = h * 2 - 1 + kh, c = ww * 3 + kw;
                if (r < 0 || r >= oh || c < 0 || c >= ow) continue;
                ref[((n * 2 + co) * oh + r) * ow + c] +=
                    xv[((n * 3 + ci) * 3 + h) * 4 + ww] * wv[((ci * 2 + co) * 3 + kh) * 2 + kw];
              }
  auto yv = y.to_vector<double>();
  for (size_t i = 0; i < ref.size(); ++i) CHECK(yv[i] == doctest::Approx(ref[i] + bv[(i / (oh * ow)) % 2]));
}

TEST_CASE("normalization ops normalize what they say") {
  Tensor x = rnd({4, 3, 2, 5}, 40);
  Tensor rm = zeros({3}, DType::f64), rv = ones({3}, DType::f64);
  Tensor y = batch_norm(x, rm, rv, {}, {}, true, 0.1, 0.0);
  Tensor m = mean(y, {0, 2, 3}), v = var(y, {0, 2, 3}, 0);
  for (int c = 0; c < 3; ++c) {
    CHECK(std::abs(m.to_vector<double>()[c]) < 1e-12);
    CHECK(v.to_vector<double>()[c] == doctest::Approx(1.0));
  }
  Tensor xm = mean(x, {0, 2, 3}), xv = var(x, {0, 2, 3}, 1);
  for (int c = 0; c < 3; ++c) {
    CHECK(rm.to_vector<double>()[c] == doctest::Approx(0.1 * xm.to_vector<double>()[c]));
    CHECK(rv.to_vector<double>()[c] == doctest::Approx(0.9 + 0.1 * xv.to_vector<double>()[c]));
  }
  Tensor ye = batch_norm(x, rm, rv, {}, {}, false, 0.1, 0.0);
  CHECK(ye.to_vector<double>()[0] ==
        doctest::Approx((x.to_vector<double>()[0] - rm.to_vector<double>()[0]) / std::sqrt(rv.to_vector<double>()[0])));
  Tensor ln = layer_norm(x, {2, 5});
  CHECK(std::abs(mean(ln, {2, 3}).to_vector<double>()[5]) < 1e-12);
  Tensor in = instance_norm(x, {}, {}, 0.0);
  CHECK(var(in, {2, 3}, 0).to_vector<double>()[7] == doctest::Approx(1.0));
}

TEST_CASE("shape ops: cat, stack, narrow, select, pad2d, upsample, embedding, one_hot") {
  Tensor a = arange(6, DType::f64).reshape({2, 3}), b = arange(2, DType::f64).reshape({2, 1});
  CHECK(cat({a, b}, 1).to_vector<double>() == std::vector<double>{0, 1, 2, 0, 3, 4, 5, 1});
  CHECK(stack({a, a}, 0).shape() == Shape{2, 2, 3});
  CHECK(stack({a, a}, 2).to_vector<double>()[1] == 0);
  CHECK(narrow(a, 1, 1, 2).to_vector<double>() == std::vector<double>{1, 2, 4, 5});
  CHECK(select(a, 0, -1).to_vector<double>() == std::vector<double>{3, 4, 5});
  Tensor img = arange(6, DType::f64).reshape({1, 1, 2, 3});
  CHECK(pad2d(img, 1, 0, 0, 1).to_vector<double>() == std::vector<double>{0, 0, 1, 2, 0, 3, 4, 5, 0, 0, 0, 0});
  CHECK(pad2d(img, 1, 1, 0, 0, PadMode::reflect).to_vector<double>() ==
        std::vector<double>{1, 0, 1, 2, 1, 4, 3, 4, 5, 4});
  CHECK(upsample_nearest2d(img, 1, 2).to_vector<double>() == std::vector<double>{0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5});
  Tensor table = arange(8, DType::f64).reshape({4, 2});
  CHECK(embedding(from_indices({3, 0}, {2}), table).to_vector<double>() == std::vector<double>{6, 7, 0, 1});
  CHECK(one_hot(from_indices({2, 0}, {2}), 3).to_vector<float>() == std::vector<float>{0, 0, 1, 1, 0, 0});
}

TEST_CASE("softmax and losses") {
  Tensor x = tensor({1000, 1001, 999, -5, 0, 5}, {2, 3}, DType::f64);
  Tensor ls = log_softmax(x, 1);
  auto lv = ls.to_vector<double>();
  for (double e : lv) CHECK(std::isfinite(e));
  const double z = std::log(std::exp(0) + std::exp(1) + std::exp(-1));
  CHECK(lv[0] == doctest::Approx(-z));
  CHECK(sum(softmax(x, 1), {1}).to_vector<double>()[1] == doctest::Approx(1.0));
  Tensor logits = tensor({-100, -1, 0, 2, 100}, {5}, DType::f64), y = tensor({1, 0, 1, 0.3, 0}, {5}, DType::f64);
  auto per = bce_with_logits(logits, y, Reduction::none).to_vector<double>();
  auto lg = logits.to_vector<double>(), yv = y.to_vector<double>();
  CHECK(per[0] == doctest::Approx(100));
  CHECK(per[4] == doctest::Approx(100));
  for (int i = 1; i < 4; ++i) {
    const double s = 1 / (1 + std::exp(-lg[i]));
    CHECK(per[i] == doctest::Approx(-(yv[i] * std::log(s) + (1 - yv[i]) * std::log(1 - s))));
  }
  CHECK(bce_with_logits(logits, y, Reduction::sum).item() ==
        doctest::Approx(per[0] + per[1] + per[2] + per[3] + per[4]));
  Tensor p = tensor({1, 2, 3}, {3}, DType::f64), q = tensor({0, 4, 3}, {3}, DType::f64);
  CHECK(mse_loss(p, q).item() == doctest::Approx(5.0 / 3));
  CHECK(l1_loss(p, q, Reduction::sum).item() == doctest::Approx(3.0));
  Tensor ce = cross_entropy(x, from_indices({1, 0}, {2}), Reduction::none);
  CHECK(ce.to_vector<double>()[0] == doctest::Approx(-lv[1]));
  CHECK(ce.to_vector<double>()[1] == doctest::Approx(-lv[3]));
}

TEST_CASE("conv2d with groups equals conv2d with the block-diagonal dense weight") {
  // x [2, 6, 5, 4], groups 3: w [9, 2, 3, 2] (3 output channels a group); the dense weight
  // [9, 6, 3, 2] holds w's block g in rows 3g..3g+2, columns 2g..2g+1, and zeros elsewhere.
  const Tensor x = rnd({2, 6, 5, 4}, 1), w = rnd({9, 2, 3, 2}, 2), b = rnd({9}, 3);
  std::vector<double> dense(9 * 6 * 3 * 2, 0.0);
  const std::vector<double> wv = w.to_vector<double>();
  for (int64_t co = 0; co < 9; ++co)
    for (int64_t ci = 0; ci < 2; ++ci)
      for (int64_t k = 0; k < 6; ++k) dense[(co * 6 + (co / 3) * 2 + ci) * 6 + k] = wv[(co * 2 + ci) * 6 + k];
  const Tensor wd = from_vector(dense, {9, 6, 3, 2}, DType::f64);
  for (Conv2dOptions o : {Conv2dOptions{1, 1, 1, 0, 1, 1, 3}, Conv2dOptions{2, 1, 1, 1, 1, 2, 3}}) {
    Conv2dOptions plain = o;
    plain.groups = 1;
    const Tensor got = conv2d(x, w, b, o), want = conv2d(x, wd, b, plain);
    REQUIRE(got.shape() == want.shape());
    const std::vector<double> g = got.to_vector<double>(), e = want.to_vector<double>();
    double worst = 0;
    for (size_t i = 0; i < g.size(); ++i) worst = std::max(worst, std::abs(g[i] - e[i]));
    CHECK(worst < 1e-12);
  }
  // depthwise (groups = Cin): each channel convolved with its own filter
  const Tensor xd = rnd({1, 3, 4, 4}, 4), f = rnd({3, 1, 2, 2}, 5);
  const Tensor y = conv2d(xd, f, {}, Conv2dOptions{1, 1, 0, 0, 1, 1, 3});
  for (int64_t c = 0; c < 3; ++c) {
    const Tensor one = conv2d(narrow(xd, 1, c, 1), narrow(f, 0, c, 1));
    const std::vector<double> a = contiguous(narrow(y, 1, c, 1)).to_vector<double>(), e = one.to_vector<double>();
    for (size_t i = 0; i < a.size(); ++i) CHECK(a[i] == doctest::Approx(e[i]).epsilon(1e-12));
  }
}
