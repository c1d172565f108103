// The cuda device: tensors there and back, factories, Philox parity with the cpu,
// strided copies, the caching allocator, and clear errors for ops not on cuda yet.
#include <doctest/doctest.h>

#include "core/ops.hpp"
#include "cuda_test_util.hpp"

using namespace gantry;

namespace {
const Device kCuda = Device::cuda(0);
}

TEST_CASE("tensors move to the cuda device and back unchanged") {
  if (!testing::have_cuda_device()) return;
  Tensor x = arange(12, DType::f32).reshape({3, 4});
  Tensor d = x.to(kCuda);
  CHECK(d.device() == kCuda);
  CHECK(d.shape() == Shape{3, 4});
  CHECK(d.to(Device::cpu()).to_vector<float>() == x.to_vector<float>());
  CHECK(d.to_vector<float>() == x.to_vector<float>());  // to_vector copies back by itself
  // a transposed (non-contiguous) view on the device is copied by the strided-copy kernel
  Tensor t = transpose(d, 0, 1);
  CHECK_FALSE(t.is_contiguous());
  CHECK(contiguous(t).to_vector<float>() == contiguous(transpose(x, 0, 1)).to_vector<float>());
  CHECK(narrow(d, 1, 1, 2).to_vector<float>() == std::vector<float>{1, 2, 5, 6, 9, 10});
  CHECK(from_indices({4, -2}, {2}, kCuda).to_vector<int64_t>() == std::vector<int64_t>{4, -2});
  CHECK(d.to(DType::i64).to_vector<int64_t>()[11] == 11);  // dtype conversion on the device
  CHECK(cat({d, d}, 0).to_vector<float>()[13] == 1);
  CHECK(d.str().find("device=cuda:0") != std::string::npos);
}

TEST_CASE("factories on the device, and Philox numbers equal to the cpu's") {
  if (!testing::have_cuda_device()) return;
  CHECK(full({5}, 2.5, DType::f32, kCuda).to_vector<float>() == std::vector<float>(5, 2.5f));
  CHECK(zeros({3}, DType::i64, kCuda).to_vector<int64_t>() == std::vector<int64_t>(3, 0));
  CHECK(from_vector({1, 2}, {2}, DType::f32, kCuda).to_vector<float>() == std::vector<float>{1, 2});
  Rng a(9), b(9);
  Tensor on_cpu = randn({1001}, DType::f32, &a), on_gpu = randn({1001}, DType::f32, &b, 0, 1, kCuda);
  CHECK(on_gpu.to_vector<float>() == on_cpu.to_vector<float>());  // bit for bit
  Tensor u_cpu = rand({77}, DType::f32, &a, -1, 3), u_gpu = rand({77}, DType::f32, &b, -1, 3, kCuda);
  CHECK(u_gpu.to_vector<float>() == u_cpu.to_vector<float>());
  CHECK(a.offset() == b.offset());
}

TEST_CASE("the caching allocator reuses freed blocks and counts bytes") {
  if (!testing::have_cuda_device()) return;
  const int64_t before = memory_stats(kCuda).current_bytes;
  void* first = nullptr;
  {
    Tensor t = empty({1000}, DType::f32, kCuda);
    first = t.raw_data();
    CHECK(memory_stats(kCuda).current_bytes >= before + 4000);
  }
  CHECK(memory_stats(kCuda).current_bytes == before);
  Tensor again = empty({1000}, DType::f32, kCuda);
  CHECK(again.raw_data() == first);  // the same block, from the cache
  CHECK(memory_stats(kCuda).peak_bytes >= before + 4000);
}

TEST_CASE("gradients flow back across devices") {
  if (!testing::have_cuda_device()) return;
  Tensor x = tensor({1, 2, 3}, {3}).requires_grad_();
  Tensor y = x.to(kCuda).to(Device::cpu());
  sum(mul(y, y)).backward();
  CHECK(x.grad().to_vector<float>() == std::vector<float>{2, 4, 6});
}

TEST_CASE("ops on the cuda device refuse mixed devices and bad input with a clear error, never a silent copy") {
  if (!testing::have_cuda_device()) return;
  Tensor d = ones({2, 3}, DType::f32, kCuda);
  CHECK_THROWS_WITH_AS(embedding(from_indices({3}, {1}, kCuda), d),
                       doctest::Contains("embedding: index [0] = 3 is out of range [0, 2)"), Error);
  CHECK_THROWS_WITH_AS(batch_norm(d, {}, {}, ones({3}), {}, true),
                       doctest::Contains("batch_norm: devices differ (cuda:0 vs cpu)"), Error);
  CHECK_THROWS_WITH_AS(add(d, ones({2, 3})), doctest::Contains("add: devices differ (cuda:0 vs cpu)"), Error);
  CHECK_THROWS_WITH_AS(ones({2}, DType::f64).to(kCuda), doctest::Contains("float64 tensors live on the cpu only"),
                       Error);
  CHECK_THROWS_WITH_AS(empty({2}, DType::f32, Device::cuda(1)), doctest::Contains("cuda:0"), Error);
}
