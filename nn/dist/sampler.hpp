// nn/dist/sampler.hpp — DistributedSampler semantics: one shuffled order per epoch,
// shared by every rank, and each global batch cut into equal slices by rank.
//
// Global batch b of epoch e is order[b*B, (b+1)*B); rank r takes its rows
// [r*B/R, (r+1)*B/R). Together the ranks see exactly what one process would.
#pragma once
#include <cstdint>
#include <vector>

#include "core/tensor.hpp"

namespace gantry::dist {

class DistributedSampler {
 public:
  // global_batch must divide by size (equal slices keep the mean of means exact).
  DistributedSampler(int64_t num_samples, int64_t global_batch, uint64_t seed, int rank, int size);
  // The shared order of epoch e: Fisher-Yates on Philox words keyed by (seed, epoch),
  // the same order gan::BatchIterator uses for that seed.
  std::vector<int64_t> permutation(int64_t epoch) const;
  // Full global batches in an epoch (the last partial one is dropped).
  int64_t batches_per_epoch() const { return num_samples_ / global_batch_; }
  int64_t local_batch() const { return global_batch_ / size_; }
  // This rank's sample indices in batch b of epoch e (a slice of permutation(e)).
  std::vector<int64_t> local_indices(int64_t epoch, int64_t batch) const;

 private:
  int64_t num_samples_, global_batch_;
  uint64_t seed_;
  int rank_, size_;
};

// This rank's rows of a tensor every rank made whole (a global batch, its latents or
// labels, drawn from the same generator state): rows [rank*N/size, (rank+1)*N/size).
// N must divide by size. The result is a view (no copy).
Tensor local_rows(const Tensor& global, int rank, int size);

}  // namespace gantry::dist
