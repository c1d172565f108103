// Tensor basics: factories, views sharing storage, copies, dtype conversion, printing.
#include <doctest/doctest.h>

#include "core/ops.hpp"

using namespace gantry;

TEST_CASE("factories") {
  CHECK(zeros({2, 3}).to_vector<float>() == std::vector<float>(6, 0));
  CHECK(ones({2}, DType::f64).to_vector<double>() == std::vector<double>{1, 1});
  CHECK(full({2}, 7.5).to_vector<float>() == std::vector<float>{7.5, 7.5});
  CHECK(arange(0.5, 2.0, 0.5, DType::f64).to_vector<double>() == std::vector<double>{0.5, 1.0, 1.5});
  CHECK(arange(3, DType::i64).to_vector<int64_t>() == std::vector<int64_t>{0, 1, 2});
  CHECK(tensor({1, 2, 3, 4}, {2, 2}).shape() == Shape{2, 2});
  CHECK(scalar_tensor(3).dim() == 0);
  CHECK(scalar_tensor(3).item() == 3);
  Tensor x = randn({3, 4}, DType::f64);
  CHECK(zeros_like(x).dtype() == DType::f64);
  CHECK(full_like(x, 2).to_vector<double>()[11] == 2);
  CHECK(empty({0, 3}).numel() == 0);
  CHECK_THROWS_WITH_AS(from_vector({1, 2, 3}, {2, 2}), doctest::Contains("do not fill shape [2,2]"), Error);
  CHECK_THROWS_WITH_AS(empty({2, -1}), doctest::Contains("negative size"), Error);
}

TEST_CASE("random tensors: seeded, reproducible, advancing") {
  Rng a(42), b(42), c(43);
  Tensor ra = randn({1000}, DType::f32, &a), rb = randn({1000}, DType::f32, &b), rc = randn({1000}, DType::f32, &c);
  CHECK(ra.to_vector<float>() == rb.to_vector<float>());
  CHECK(ra.to_vector<float>() != rc.to_vector<float>());
  CHECK(randn({1000}, DType::f32, &a).to_vector<float>() != ra.to_vector<float>());  // the generator advanced
  manual_seed(5);
  Tensor u1 = rand({10});
  manual_seed(5);
  CHECK(rand({10}).to_vector<float>() == u1.to_vector<float>());
  Tensor u = rand({20000}, DType::f64, &a, 2, 4);
  CHECK(mean(u).item() == doctest::Approx(3).epsilon(0.01));
  CHECK(max(u).item() < 4);
}

TEST_CASE("views share storage; reshape copies only what is not contiguous") {
  Tensor base = arange(12, DType::f32).reshape({3, 4});
  Tensor row = select(base, 0, 1);
  row.data<float>()[2] = 100;
  CHECK(base.to_vector<float>()[6] == 100);
  Tensor t = transpose(base, 0, 1);
  CHECK(t.shape() == Shape{4, 3});
  CHECK(t.strides() == Shape{1, 4});
  CHECK_FALSE(t.is_contiguous());
  Tensor r = reshape(t, {12});  // must copy
  r.data<float>()[0] = -1;
  CHECK(base.to_vector<float>()[0] == 0);
  CHECK(r.to_vector<float>()[1] == 4);
  Tensor v = reshape(base, {2, -1});
  v.data<float>()[0] = 9;
  CHECK(base.to_vector<float>()[0] == 9);  // contiguous reshape is a view
  CHECK_THROWS_WITH_AS(view(t, {12}), doctest::Contains("not contiguous"), Error);
  Tensor e = expand(arange(3, DType::f32).reshape({3, 1}), {3, 5});
  CHECK(e.strides() == Shape{1, 0});
  CHECK(contiguous(e).to_vector<float>()[7] == 1);
  CHECK(squeeze(zeros({1, 3, 1})).shape() == Shape{3});
  CHECK(squeeze(zeros({1, 3, 1}), 2).shape() == Shape{1, 3});
  CHECK(unsqueeze(zeros({3}), -1).shape() == Shape{3, 1});
  CHECK(permute(zeros({2, 3, 4}), {2, 0, 1}).shape() == Shape{4, 2, 3});
  CHECK(flatten(zeros({2, 3, 4}), 1).shape() == Shape{2, 12});
  Tensor n = narrow(base, 1, 1, 2);
  CHECK(n.to_vector<float>() == std::vector<float>{1, 2, 5, 100, 9, 10});  // base[1][2] was set to 100 above
  Tensor c = clone(base);
  c.data<float>()[1] = 55;
  CHECK(base.to_vector<float>()[1] == 1);
}

TEST_CASE("dtype conversion and values out") {
  Tensor x = tensor({1.7, -2.2}, {2}, DType::f64);
  CHECK(x.to(DType::f32).to_vector<float>() == std::vector<float>{1.7f, -2.2f});
  CHECK(x.to(DType::i64).to_vector<int64_t>() == std::vector<int64_t>{1, -2});
  CHECK(from_indices({3, 4}, {2}).to(DType::f64).to_vector<double>() == std::vector<double>{3, 4});
  CHECK_THROWS_WITH_AS(x.data<float>(), doctest::Contains("float64"), Error);
  CHECK_THROWS_WITH_AS(x.item(), doctest::Contains("item: expected a tensor with one element, got shape [2]"), Error);
}

TEST_CASE("printing shows values, shape, dtype, device and truncates big tensors") {
  std::string s = tensor({1, 2, 3, 4}, {2, 2}).str();
  CHECK(s.find("shape=[2,2]") != std::string::npos);
  CHECK(s.find("dtype=float32") != std::string::npos);
  CHECK(s.find("device=cpu") != std::string::npos);
  CHECK(s.find("4") != std::string::npos);
  std::string big = arange(2000, DType::f32).str();
  CHECK(big.find("...") != std::string::npos);
  CHECK(big.find("1999") != std::string::npos);
  CHECK(big.find("1000") == std::string::npos);
  CHECK(from_indices({7}, {1}).str().find("[7]") != std::string::npos);
  Tensor g = tensor({1}, {1}).requires_grad_();
  CHECK(mul(g, 2.0).str().find("grad_fn=mul_scalar") != std::string::npos);
  CHECK(Tensor().str() == "Tensor(undefined)");
}
