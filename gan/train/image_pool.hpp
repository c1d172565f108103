// gan/train/image_pool.hpp — CycleGAN's history of generated images (Shrivastava et al.,
// 2017; the reference's util/image_pool.py): D is shown a mix of the newest fakes and
// fakes from earlier steps, which damps oscillation between G and D.
#pragma once
#include <cstdint>
#include <vector>

#include "core/ops.hpp"

namespace gantry::gan {

class ImagePool {
 public:
  // capacity 0 turns the pool off (query returns its input). Draws come from
  // Rng(seed), so a run is reproducible and independent of the global generator.
  explicit ImagePool(int64_t capacity = 50, uint64_t seed = 0);

  // images [N, ...] (detached; any device) -> [N, ...]. Per image, in order: while the
  // pool holds fewer than `capacity`, the image is stored and returned; once full, with
  // probability 0.5 a uniformly chosen stored image is returned and replaced by the new
  // one, else the new image is returned and the pool is unchanged.
  Tensor query(const Tensor& images);

  int64_t size() const { return (int64_t)images_.size(); }
  int64_t capacity() const { return capacity_; }
  // The generator of the pool's draws (for checkpoints: seed and offset).
  Rng& generator() { return gen_; }
  // The stored images, each [1, ...], in slot order.
  const std::vector<Tensor>& images() const { return images_; }
  // Restores a pool saved as images() and generator()'s (seed, offset), e.g. from a
  // checkpoint, so a resumed run makes the same choices. Throws if there are more images
  // than the capacity.
  void restore(std::vector<Tensor> images, uint64_t seed, uint64_t offset);

 private:
  int64_t capacity_;
  Rng gen_;
  std::vector<Tensor> images_;
};

}  // namespace gantry::gan
