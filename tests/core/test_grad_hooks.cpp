// Post-accumulate-grad hooks: when they run, what .grad holds then, and when they do not run.
#include <vector>

#include "gradcheck.hpp"
#include "test_util.hpp"

using namespace gantry;
using gantry::testing::error_of;

TEST_CASE("a post-accumulate hook sees the leaf's final gradient of the pass, once per pass") {
  Tensor a = tensor({1, 2, 3}, {3}, DType::f64).requires_grad_();
  Tensor b = tensor({4, 5, 6}, {3}, DType::f64).requires_grad_();
  std::vector<std::pair<char, std::vector<double>>> seen;
  register_post_accumulate_grad_hook(a, [&](const Tensor& t) { seen.push_back({'a', t.grad().to_vector<double>()}); });
  register_post_accumulate_grad_hook(b, [&](const Tensor& t) { seen.push_back({'b', t.grad().to_vector<double>()}); });
  // a reaches the loss by two paths (a*b and a*a): its hook must wait for both.
  Tensor loss = sum(add(mul(a, b), mul(a, a)));
  loss.backward({}, true);
  REQUIRE(seen.size() == 2);
  for (auto& [who, g] : seen) {
    if (who == 'a') CHECK(g == std::vector<double>{4 + 2, 5 + 4, 6 + 6});
    else CHECK(g == std::vector<double>{1, 2, 3});
  }
  // A second pass accumulates, and the hook sees the sum.
  loss.backward();
  REQUIRE(seen.size() == 4);
  for (size_t i = 2; i < 4; ++i)
    if (seen[i].first == 'b') CHECK(seen[i].second == std::vector<double>{2, 4, 6});
}

TEST_CASE("grad() runs no post-accumulate hook, and cleared hooks stay silent") {
  Tensor a = tensor({1, 2}, {2}, DType::f64).requires_grad_();
  int calls = 0;
  register_post_accumulate_grad_hook(a, [&](const Tensor&) { ++calls; });
  Tensor g = grad({sum(mul(a, a))}, {a})[0];
  CHECK(g.to_vector<double>() == std::vector<double>{2, 4});
  CHECK(calls == 0);
  sum(mul(a, a)).backward();
  CHECK(calls == 1);
  clear_post_accumulate_grad_hooks(a);
  sum(mul(a, a)).backward();
  CHECK(calls == 1);
}

TEST_CASE("a post-accumulate hook needs a leaf that requires grad") {
  Tensor a = tensor({1, 2}, {2}).requires_grad_();
  Tensor y = mul(a, 2.0);
  CHECK(error_of([&] { register_post_accumulate_grad_hook(y, [](const Tensor&) {}); }).find("leaf") !=
        std::string::npos);
  Tensor c = tensor({1, 2}, {2});
  CHECK(error_of([&] { register_post_accumulate_grad_hook(c, [](const Tensor&) {}); }).find("requires grad") !=
        std::string::npos);
}
