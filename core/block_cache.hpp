// core/block_cache.hpp — a caching allocator over a raw one (the cpu's aligned_alloc, the
// cuda device's cudaMalloc): freed blocks are kept by rounded size and handed out again.
#pragma once
#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>
#include <vector>

namespace gantry::detail {

// True when built with AddressSanitizer, where caches stay off so a use after free is caught.
#if defined(__SANITIZE_ADDRESS__)
inline constexpr bool kAddressSanitizer = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
inline constexpr bool kAddressSanitizer = true;
#else
inline constexpr bool kAddressSanitizer = false;
#endif
#else
inline constexpr bool kAddressSanitizer = false;
#endif

// A training step allocates and frees the same sizes every step. Going back to the system
// each time costs page faults and zero-filled pages on the cpu (5% of a DCGAN step) and a
// cudaMalloc per op on a GPU; the cache keeps freed blocks and hands them out again. It holds
// at most max(the most live bytes ever, min_cached) cached bytes (reset_peak does not lower
// that), so memory stays within twice the high-water mark; past that, the oldest cached
// blocks of the largest size go back to the raw allocator. Thread-safe (one mutex).
class BlockCache {
 public:
  struct Raw {
    void* (*allocate)(size_t bytes);  // nullptr on failure
    void (*release)(void* p);
  };
  struct Stats {
    int64_t current_bytes = 0, peak_bytes = 0, cached_bytes = 0;  // live (rounded), their peak, cached
  };
  // round: blocks are sized and cached by the request rounded up to it. enabled: false makes
  // every call go straight to `raw` (still counted), e.g. under AddressSanitizer, so a use
  // after free is caught.
  BlockCache(Raw raw, size_t round, size_t min_cached, bool enabled);
  ~BlockCache();  // the cached blocks go back to raw (leak checkers then see only real leaks)
  BlockCache(const BlockCache&) = delete;
  BlockCache& operator=(const BlockCache&) = delete;

  // A block of at least `bytes` (> 0): a cached one of the same rounded size (*reused set to
  // true), else raw.allocate, else, with the cache emptied, raw.allocate once more; nullptr
  // if that fails too.
  void* allocate(size_t bytes, bool* reused = nullptr);
  // p (from allocate(bytes); nullptr is ignored) into the cache; past the cap, the oldest
  // blocks of the largest cached size go back to raw.
  void release(void* p, size_t bytes);
  Stats stats();
  void reset_peak();  // peak_bytes = current_bytes
  void empty();       // every cached block back to raw

 private:
  size_t rounded(size_t bytes) const { return (bytes + round_ - 1) / round_ * round_; }
  void empty_locked();
  Raw raw_;
  size_t round_, min_cached_;
  bool enabled_;
  std::mutex m_;
  std::map<size_t, std::vector<void*>> free_;  // rounded size -> cached blocks (never an empty list)
  Stats stats_;
  int64_t high_water_ = 0;  // the most live bytes ever: the cache's cap
};

}  // namespace gantry::detail
