// nn/dist/sampler.cpp — the shared permutation and the per-rank slices.
#include "nn/dist/sampler.hpp"

#include <utility>

#include "core/error.hpp"
#include "kernels/philox.hpp"

namespace gantry::dist {

DistributedSampler::DistributedSampler(int64_t num_samples, int64_t global_batch, uint64_t seed, int rank, int size)
    : num_samples_(num_samples), global_batch_(global_batch), seed_(seed), rank_(rank), size_(size) {
  GANTRY_CHECK(size >= 1 && rank >= 0 && rank < size, "DistributedSampler: rank ", rank, " of ", size);
  GANTRY_CHECK(global_batch > 0 && global_batch % size == 0, "DistributedSampler: the global batch ", global_batch,
               " does not divide into ", size, " equal slices");
}

std::vector<int64_t> DistributedSampler::permutation(int64_t epoch) const {
  std::vector<int64_t> order(num_samples_);
  for (int64_t i = 0; i < num_samples_; ++i) order[i] = i;
  const uint64_t key = seed_ * 0x9E3779B97F4A7C15ull + 0xDA7A;  // gan::BatchIterator's key
  for (int64_t i = num_samples_ - 1; i > 0; --i) {
    const auto block = kernels::philox_block(key, (uint64_t)epoch << 32, (uint64_t)i);
    const uint64_t r = ((uint64_t)block.v[0] << 32) | block.v[1];
    std::swap(order[i], order[r % (uint64_t)(i + 1)]);
  }
  return order;
}

std::vector<int64_t> DistributedSampler::local_indices(int64_t epoch, int64_t batch) const {
  GANTRY_CHECK(batch >= 0 && batch < batches_per_epoch(), "DistributedSampler: batch ", batch, " of ",
               batches_per_epoch());
  const std::vector<int64_t> order = permutation(epoch);
  const int64_t begin = batch * global_batch_ + rank_ * local_batch();
  return {order.begin() + begin, order.begin() + begin + local_batch()};
}

Tensor local_rows(const Tensor& global, int rank, int size) {
  const int64_t n = global.size(0);
  GANTRY_CHECK(n % size == 0, "local_rows: ", n, " rows do not divide into ", size, " equal slices");
  return global.narrow(0, rank * (n / size), n / size);
}

}  // namespace gantry::dist
