// gan/train/image_pool.cpp — the image pool's query.
#include "gan/train/image_pool.hpp"

#include <algorithm>

namespace gantry::gan {

ImagePool::ImagePool(int64_t capacity, uint64_t seed) : capacity_(capacity), gen_(seed) {
  GANTRY_CHECK(capacity >= 0, "ImagePool: capacity must be >= 0, got ", capacity);
}

void ImagePool::restore(std::vector<Tensor> images, uint64_t seed, uint64_t offset) {
  GANTRY_CHECK((int64_t)images.size() <= capacity_, "ImagePool::restore: ", images.size(),
               " images for a pool of capacity ", capacity_);
  for (const Tensor& t : images)
    GANTRY_CHECK(t.dim() >= 1 && t.size(0) == 1, "ImagePool::restore: each image must be [1, ...], got ",
                 shape_str(t.shape()));
  images_ = std::move(images);
  gen_.set_state(seed, offset);
}

Tensor ImagePool::query(const Tensor& images) {
  GANTRY_CHECK(images.dim() >= 1 && images.size(0) >= 1, "ImagePool::query: images must be [N, ...] with N >= 1, got ",
               shape_str(images.shape()));
  Tensor x = images.detach();
  if (capacity_ == 0) return x;
  const int64_t n = x.size(0);
  // Two uniform draws per image (swap?, which slot), on the cpu whatever x's device, so a
  // pool on the cuda device makes the same choices as one on the cpu.
  const std::vector<double> u = rand({n, 2}, DType::f64, &gen_).to_vector<double>();
  std::vector<Tensor> out;
  out.reserve(n);
  for (int64_t i = 0; i < n; ++i) {
    Tensor image = clone(narrow(x, 0, i, 1));
    if (size() < capacity_) {
      images_.push_back(image);
      out.push_back(image);
    } else if (u[2 * i] > 0.5) {
      const int64_t slot = std::min<int64_t>((int64_t)(u[2 * i + 1] * capacity_), capacity_ - 1);
      out.push_back(images_[slot]);
      images_[slot] = image;
    } else {
      out.push_back(image);
    }
  }
  return cat(out, 0);
}

}  // namespace gantry::gan
