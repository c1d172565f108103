// layer_norm (with weight and bias: the cpu's fused kernel) and layer_norm_act against the
// composition they replace, batch_norm over the [1, rows, len] view, mul, add, then relu /
// leaky_relu: close values in forward, plain backward (dx, dweight, dbias) and double
// backward, float and double; the same bits at 1 and 3 threads; nn::Sequential fuses a
// LayerNorm followed by a LeakyReLU with the same results; bad slopes are refused by name.
#include <doctest/doctest.h>

#include <cmath>
#include <memory>

#include "core/autograd.hpp"
#include "core/ops.hpp"
#include "core/threads.hpp"
#include "nn/layers.hpp"
#include "test_util.hpp"

using namespace gantry;
using gantry::testing::error_of;

namespace {

// The composition: layer_norm's arithmetic in ops the fused kernel does not use.
Tensor composed(const Tensor& x, const Shape& norm, const Tensor& w, const Tensor& b, double slope) {
  int64_t len = 1;
  for (int64_t d : norm) len *= d;
  Tensor xhat = reshape(batch_norm(reshape(x, {1, x.numel() / len, len}), {}, {}, {}, {}, true, 0.0, 1e-5), x.shape());
  Tensor y = add(mul(xhat, w), b);
  if (slope < 0) return y;
  return slope == 0 ? relu(y) : leaky_relu(y, slope);
}

double max_diff(const Tensor& a, const Tensor& b) {
  const auto u = a.detach().to(DType::f64).to_vector<double>(), v = b.detach().to(DType::f64).to_vector<double>();
  REQUIRE(u.size() == v.size());
  double m = 0;
  for (size_t i = 0; i < u.size(); ++i) m = std::max(m, std::fabs(u[i] - v[i]) / (1 + std::fabs(v[i])));
  return m;
}

struct Case {
  Shape shape, norm;
  DType dtype;
  double slope;
};

}  // namespace

TEST_CASE("layer_norm / layer_norm_act: the composition's values in forward, backward and double backward") {
  for (const Case& c : {Case{{64, 64, 7, 7}, {64, 7, 7}, DType::f32, 0.2}, Case{{5, 3, 4}, {4}, DType::f64, 0.2},
                        Case{{3, 2, 300}, {2, 300}, DType::f64, 0.0}, Case{{4, 3, 35}, {3, 35}, DType::f32, -1}}) {
    CAPTURE(c.slope);
    const double tol = c.dtype == DType::f32 ? 2e-5 : 1e-11;
    Rng rng(23);
    Tensor x = randn(c.shape, c.dtype, &rng).requires_grad_(true);
    Tensor w = rand(c.norm, c.dtype, &rng, 0.5, 1.5).requires_grad_(true);
    Tensor b = randn(c.norm, c.dtype, &rng).requires_grad_(true);
    Tensor g = randn(c.shape, c.dtype, &rng);
    Tensor fused = c.slope < 0 ? layer_norm(x, c.norm, w, b) : layer_norm_act(x, c.norm, w, b, 1e-5, c.slope);
    Tensor plain = composed(x, c.norm, w, b, c.slope);
    CHECK(max_diff(fused, plain) < tol);
    auto gf = grad({fused}, {x, w, b}, {g}), gp = grad({plain}, {x, w, b}, {g});
    for (int i = 0; i < 3; ++i) CHECK(max_diff(gf[(size_t)i], gp[(size_t)i]) < tol * 10);
    // double backward: the gradient of <dL/dx, u> (create_graph through the fused rule)
    Tensor u = randn(c.shape, c.dtype, &rng);
    Tensor fused2 = c.slope < 0 ? layer_norm(x, c.norm, w, b) : layer_norm_act(x, c.norm, w, b, 1e-5, c.slope);
    Tensor plain2 = composed(x, c.norm, w, b, c.slope);
    auto df = grad({fused2}, {x}, {g}, true, true), dp = grad({plain2}, {x}, {g}, true, true);
    auto hf = grad({sum(mul(df[0], u))}, {x, w}), hp = grad({sum(mul(dp[0], u))}, {x, w});
    for (int i = 0; i < 2; ++i) CHECK(max_diff(hf[(size_t)i], hp[(size_t)i]) < tol * 100);
  }
}

TEST_CASE("layer_norm's kernel: the same bits at 1 and 3 threads") {
  Rng rng(5);
  Tensor x = randn({64, 64, 7, 7}, DType::f32, &rng).requires_grad_(true);
  Tensor w = rand({64, 7, 7}, DType::f32, &rng, 0.5, 1.5).requires_grad_(true);
  Tensor b = randn({64, 7, 7}, DType::f32, &rng).requires_grad_(true);
  Tensor g = randn({64, 64, 7, 7}, DType::f32, &rng);
  std::vector<std::vector<float>> first;
  for (int threads : {1, 3}) {
    set_num_threads(threads);
    Tensor y = layer_norm_act(x, {64, 7, 7}, w, b, 1e-5, 0.2);
    auto gs = grad({y}, {x, w, b}, {g});
    std::vector<std::vector<float>> now = {y.detach().to_vector<float>()};
    for (auto& t : gs) now.push_back(t.to_vector<float>());
    if (first.empty()) first = now;
    else CHECK(now == first);
  }
  set_num_threads(1);
}

TEST_CASE("nn::Sequential fuses LayerNorm + LeakyReLU; layer_norm_act refuses a bad slope by name") {
  Rng rng(3);
  auto ln = std::make_shared<nn::LayerNorm>(Shape{3, 5});
  auto seq = std::make_shared<nn::Sequential>();
  seq->add(ln).add(std::make_shared<nn::LeakyReLU>(0.2));
  Tensor x = randn({4, 3, 5}, DType::f32, &rng);
  Tensor want = leaky_relu(layer_norm(x, {3, 5}, ln->weight, ln->bias), 0.2);
  CHECK(max_diff(seq->forward(x), want) < 2e-6);
  CHECK(error_of([&] {
          (void)layer_norm_act(x, {3, 5}, ln->weight, ln->bias, 1e-5, -0.5);
        }).find("layer_norm_act: slope") != std::string::npos);
  CHECK(error_of([&] {
          (void)layer_norm_act(x, {5, 3}, ln->weight, ln->bias, 1e-5, 0.2);
        }).find("layer_norm_act: normalized_shape") != std::string::npos);
}
