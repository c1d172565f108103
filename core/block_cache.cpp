// core/block_cache.cpp — the caching allocator of core/block_cache.hpp.
#include "core/block_cache.hpp"

#include <algorithm>
#include <iterator>

namespace gantry::detail {

BlockCache::BlockCache(Raw raw, size_t round, size_t min_cached, bool enabled)
    : raw_(raw), round_(std::max<size_t>(round, 1)), min_cached_(min_cached), enabled_(enabled) {}

BlockCache::~BlockCache() { empty_locked(); }

void* BlockCache::allocate(size_t bytes, bool* reused) {
  const size_t size = rounded(std::max<size_t>(bytes, 1));
  std::lock_guard<std::mutex> g(m_);
  void* p = nullptr;
  auto it = free_.find(size);
  const bool from_cache = it != free_.end();  // a listed size always has a block
  if (from_cache) {
    p = it->second.back();
    it->second.pop_back();
    if (it->second.empty()) free_.erase(it);  // no empty buckets: eviction takes the last one's blocks
    stats_.cached_bytes -= (int64_t)size;
  } else {
    p = raw_.allocate(size);
    if (!p && !free_.empty()) {  // give the cache back and try once more
      empty_locked();
      p = raw_.allocate(size);
    }
    if (!p) return nullptr;
  }
  if (reused) *reused = from_cache;
  stats_.current_bytes += (int64_t)size;
  stats_.peak_bytes = std::max(stats_.peak_bytes, stats_.current_bytes);
  high_water_ = std::max(high_water_, stats_.current_bytes);
  return p;
}

void BlockCache::release(void* p, size_t bytes) {
  if (!p) return;
  const size_t size = rounded(std::max<size_t>(bytes, 1));
  std::lock_guard<std::mutex> g(m_);
  stats_.current_bytes -= (int64_t)size;
  if (!enabled_) {
    raw_.release(p);
    return;
  }
  // Past the cap, other cached blocks go back first, the oldest of the largest size: the block
  // just freed is the likeliest to be asked for again (it fits: it was live, so size <= cap).
  const int64_t cap = std::max<int64_t>(high_water_, (int64_t)min_cached_);
  while (stats_.cached_bytes + (int64_t)size > cap && !free_.empty()) {
    auto largest = std::prev(free_.end());
    raw_.release(largest->second.front());
    largest->second.erase(largest->second.begin());
    stats_.cached_bytes -= (int64_t)largest->first;
    if (largest->second.empty()) free_.erase(largest);
  }
  free_[size].push_back(p);
  stats_.cached_bytes += (int64_t)size;
}

BlockCache::Stats BlockCache::stats() {
  std::lock_guard<std::mutex> g(m_);
  return stats_;
}

void BlockCache::reset_peak() {
  std::lock_guard<std::mutex> g(m_);
  stats_.peak_bytes = stats_.current_bytes;
}

void BlockCache::empty() {
  std::lock_guard<std::mutex> g(m_);
  empty_locked();
}

void BlockCache::empty_locked() {
  for (auto& [size, blocks] : free_)
    for (void* b : blocks) raw_.release(b);
  free_.clear();
  stats_.cached_bytes = 0;
}

}  // namespace gantry::detail
