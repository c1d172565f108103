// Layers against the functional ops; Module naming, train/eval, init statistics.
#include <doctest/doctest.h>

#include <cmath>

#include "nn/init.hpp"
#include "nn/layers.hpp"

using namespace gantry;

static double max_abs_diff(const Tensor& a, const Tensor& b) {
  REQUIRE(a.shape() == b.shape());
  auto x = a.to_vector<double>(), y = b.to_vector<double>();
  double m = 0;
  for (size_t i = 0; i < x.size(); ++i) m = std::max(m, std::abs(x[i] - y[i]));
  return m;
}

namespace {
struct Net : nn::Module {
  std::shared_ptr<nn::Sequential> main;
  std::shared_ptr<nn::Linear> head;
  Net() {
    main = register_module("main",
                           std::make_shared<nn::Sequential>(
                               std::vector<std::shared_ptr<nn::Module>>{std::make_shared<nn::Conv2d>(1, 4, 3, 1, 1),
                                                                        std::make_shared<nn::BatchNorm2d>(4),
                                                                        std::make_shared<nn::LeakyReLU>(0.2),
                                                                        std::make_shared<nn::Flatten>()}));
    head = register_module("head", std::make_shared<nn::Linear>(4 * 5 * 5, 3));
  }
  Tensor forward(const Tensor& x) override { return head->forward(main->forward(x)); }
};
}  // namespace

TEST_CASE("Module names parameters and buffers with stable dotted names") {
  Net net;
  std::vector<std::string> names;
  for (auto& [n, t] : net.named_parameters()) names.push_back(n);
  CHECK(names == std::vector<std::string>{"main.0.weight", "main.0.bias", "main.1.weight", "main.1.bias", "head.weight",
                                          "head.bias"});
  std::vector<std::string> buffers;
  for (auto& [n, t] : net.named_buffers()) buffers.push_back(n);
  CHECK(buffers == std::vector<std::string>{"main.1.running_mean", "main.1.running_var", "main.1.num_batches_tracked"});
  CHECK(net.parameter_count() == 4 * 9 + 4 + 4 + 4 + 100 * 3 + 3);
  net.eval();
  CHECK_FALSE(net.main->children()[1].second->is_training());
  net.train();
  CHECK(net.main->children()[1].second->is_training());
  Tensor y = net.forward(randn({2, 1, 5, 5}));
  CHECK(y.shape() == Shape{2, 3});
  sum(y).backward();
  for (auto& p : net.parameters()) CHECK(p.grad().defined());
  net.zero_grad();
  for (auto& p : net.parameters()) CHECK_FALSE(p.grad().defined());
  net.to(Device::cpu());
#if GANTRY_HAS_CUDA
  {  // to(cuda) and back keeps the handles and the values
    Tensor w = net.head->weight;
    auto before = w.to_vector<float>();
    net.to(Device::cuda(0));
    CHECK(w.device() == Device::cuda(0));
    CHECK(net.head->weight.device() == Device::cuda(0));
    net.to(Device::cpu());
    CHECK(w.device() == Device::cpu());
    CHECK(w.to_vector<float>() == before);
  }
#else
  CHECK_THROWS_WITH_AS(net.to(Device::cuda(0)), doctest::Contains("GANTRY_CUDA=off"), Error);
#endif
  net.to(DType::f64);
  CHECK(net.head->weight.dtype() == DType::f64);
  CHECK(net.forward(randn({2, 1, 5, 5}, DType::f64)).dtype() == DType::f64);
}

TEST_CASE("layers compute what their functional ops compute") {
  manual_seed(3);
  Tensor x = randn({2, 3, 6, 5});
  nn::Conv2d conv(3, 4, 3, 2, 1);
  CHECK(max_abs_diff(conv.forward(x), conv2d(x, conv.weight, conv.bias, Conv2dOptions::square(2, 1))) == 0);
  nn::ConvTranspose2d convt(3, 2, 4, 2, 1, 1);
  CHECK(max_abs_diff(convt.forward(x),
                     conv_transpose2d(x, convt.weight, convt.bias, Conv2dOptions::square(2, 1), 1, 1)) == 0);
  CHECK(convt.forward(x).shape() == Shape{2, 2, 13, 11});
  nn::Linear lin(5, 7);
  CHECK(max_abs_diff(lin.forward(x), linear(x, lin.weight, lin.bias)) == 0);
  nn::BatchNorm2d bn(3);
  Tensor rm = zeros({3}), rv = ones({3});
  CHECK(max_abs_diff(bn.forward(x), batch_norm(x, rm, rv, bn.weight, bn.bias, true)) == 0);
  CHECK(max_abs_diff(bn.running_mean, rm) == 0);
  CHECK(bn.num_batches_tracked.item() == 1);
  bn.eval();
  CHECK(max_abs_diff(bn.forward(x), batch_norm(x, rm, rv, bn.weight, bn.bias, false)) == 0);
  nn::BatchNorm1d bn1(5);
  CHECK_THROWS_WITH_AS(bn1.forward(x), doctest::Contains("BatchNorm1d: expected a 2-d input"), Error);
  nn::InstanceNorm2d in(3);
  CHECK(max_abs_diff(in.forward(x), instance_norm(x)) == 0);
  nn::LayerNorm ln({6, 5});
  CHECK(max_abs_diff(ln.forward(x), layer_norm(x, {6, 5}, ln.weight, ln.bias)) == 0);
  nn::Embedding emb(10, 4);
  Tensor idx = from_indices({1, 9, 1}, {3});
  CHECK(max_abs_diff(emb.forward(idx), embedding(idx, emb.weight)) == 0);
  CHECK(max_abs_diff(nn::Upsample(2).forward(x), upsample_nearest2d(x, 2, 2)) == 0);
  CHECK(max_abs_diff(nn::ReflectionPad2d(2).forward(x), pad2d(x, 2, 2, 2, 2, PadMode::reflect)) == 0);
  CHECK(max_abs_diff(nn::Tanh().forward(x), tanh(x)) == 0);
  CHECK(max_abs_diff(nn::Sigmoid().forward(x), sigmoid(x)) == 0);
  CHECK(max_abs_diff(nn::ReLU().forward(x), relu(x)) == 0);
  CHECK(nn::Flatten().forward(x).shape() == Shape{2, 90});
}

TEST_CASE("dropout zeroes about p of the elements, rescales the rest, and is the identity in eval") {
  nn::Dropout drop(0.25);
  Tensor x = ones({100, 100});
  auto v = drop.forward(x).to_vector<float>();
  int zeros = 0;
  for (float e : v) {
    CHECK((e == 0.0f || std::abs(e - 1.0f / 0.75f) < 1e-6f));
    zeros += e == 0.0f;
  }
  CHECK(zeros == doctest::Approx(2500).epsilon(0.08));
  drop.eval();
  CHECK(max_abs_diff(drop.forward(x), x) == 0);
}

TEST_CASE("initializers have the documented statistics") {
  Rng g(11);
  Tensor w = empty({256, 128, 3, 3});
  auto stats = [&] {
    auto v = w.to_vector<double>();
    double m = 0, s = 0;
    for (double e : v) m += e;
    m /= v.size();
    for (double e : v) s += (e - m) * (e - m);
    return std::pair{m, std::sqrt(s / v.size())};
  };
  nn::init::normal_(w, 0, 0.02, &g);
  CHECK(stats().second == doctest::Approx(0.02).epsilon(0.02));
  nn::init::kaiming_normal_(w, 0.2, false, &g);
  CHECK(stats().second == doctest::Approx(std::sqrt(2.0 / 1.04) / std::sqrt(128 * 9.0)).epsilon(0.02));
  nn::init::xavier_uniform_(w, 1, &g);
  CHECK(stats().second == doctest::Approx(std::sqrt(6.0 / (128 * 9 + 256 * 9)) / std::sqrt(3.0)).epsilon(0.02));
  nn::init::ones_(w);
  CHECK(stats() == std::pair{1.0, 0.0});
  Rng g1(5), g2(5);
  Tensor a = empty({10}), b = empty({10});
  nn::init::normal_(a, 0, 1, &g1);
  nn::init::normal_(b, 0, 1, &g2);
  CHECK(max_abs_diff(a, b) == 0);
}

namespace {
// A module of two inputs: x * w + y (for forward_many).
class AddScaled : public gantry::nn::Module {
 public:
  AddScaled() { w = register_parameter("w", gantry::full({1}, 2.0)); }
  gantry::Tensor forward_many(const std::vector<gantry::Tensor>& in) override {
    GANTRY_CHECK(in.size() == 2, "AddScaled takes two inputs");
    return gantry::add(gantry::mul(in[0], w), in[1]);
  }
  gantry::Tensor w;
};
}  // namespace

TEST_CASE("Module: forward_many takes several inputs; the one-input default and the variadic call") {
  using namespace gantry;
  AddScaled m;
  Tensor x = full({3}, 1.0), y = full({3}, 0.5);
  CHECK(m.forward_many({x, y}).to_vector<float>() == std::vector<float>{2.5f, 2.5f, 2.5f});
  CHECK(m(x, y).to_vector<float>() == std::vector<float>{2.5f, 2.5f, 2.5f});
  CHECK_THROWS_WITH_AS(m.forward(x), doctest::Contains("does not define a one-input forward"), Error);
  nn::Linear lin(3, 2);
  CHECK(lin.forward_many({x}).to_vector<float>() == lin.forward(x).to_vector<float>());
  CHECK_THROWS_WITH_AS(lin.forward_many({x, y}), doctest::Contains("takes one input, got 2"), Error);
}

TEST_CASE("Module::apply visits every module of the tree, children before their parent") {
  using namespace gantry;
  auto inner = std::make_shared<nn::Sequential>(
      std::vector<std::shared_ptr<nn::Module>>{std::make_shared<nn::Linear>(2, 2), std::make_shared<nn::ReLU>()});
  nn::Sequential outer({inner, std::make_shared<nn::Linear>(2, 1)});
  std::vector<std::string> seen;
  outer.apply([&](nn::Module& m) {
    if (dynamic_cast<nn::Linear*>(&m)) seen.push_back("linear");
    else if (dynamic_cast<nn::ReLU*>(&m)) seen.push_back("relu");
    else seen.push_back(&m == &outer ? "outer" : "inner");
  });
  CHECK(seen == std::vector<std::string>{"linear", "relu", "inner", "linear", "outer"});
  // e.g. initialization: every Linear's bias set to 0.25.
  outer.apply([](nn::Module& m) {
    if (auto* l = dynamic_cast<nn::Linear*>(&m)) {
      NoGradGuard off;
      copy_(l->bias, full(l->bias.shape(), 0.25));
    }
  });
  for (auto& [name, p] : outer.named_parameters())
    if (name.find("bias") != std::string::npos)
      for (float v : p.to_vector<float>()) CHECK(v == 0.25f);
}
