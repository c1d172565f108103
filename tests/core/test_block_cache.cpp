// The caching allocator (core/block_cache.hpp) over a counting fake: freed blocks come back
// for the same rounded size, the cache holds at most max(the most live bytes ever,
// min_cached) (not lowered by reset_peak; the oldest of the largest size go back first), a
// failing raw allocation empties the cache and retries once, and the cpu's tensors use it.
#include <doctest/doctest.h>

#include <cstdlib>
#include <algorithm>
#include <set>
#include <utility>
#include <vector>

#include "core/block_cache.hpp"
#include "core/ops.hpp"

using namespace gantry;
using gantry::detail::BlockCache;

namespace {
int g_raw_allocs = 0, g_raw_frees = 0, g_fail_next = 0;
std::set<void*> g_live;  // blocks the fake handed out and has not had back
std::set<void*> g_held;  // blocks a test holds (from the cache): the fake must never get one back
void* fake_allocate(size_t bytes) {
  if (g_fail_next > 0) {
    --g_fail_next;
    return nullptr;
  }
  ++g_raw_allocs;
  void* p = std::malloc(bytes);
  g_live.insert(p);
  return p;
}
void fake_release(void* p) {
  ++g_raw_frees;
  REQUIRE(g_held.count(p) == 0);
  REQUIRE(g_live.erase(p) == 1);
  std::free(p);
}
void reset_fake() { g_raw_allocs = g_raw_frees = g_fail_next = 0; }
}  // namespace

TEST_CASE("block cache: a freed block is handed out again for the same rounded size, not others") {
  reset_fake();
  {
    BlockCache c({fake_allocate, fake_release}, 64, 1 << 20, true);
    bool reused = true;
    void* a = c.allocate(100, &reused);
    CHECK_FALSE(reused);
    CHECK(c.stats().current_bytes == 128);
    c.release(a, 100);
    CHECK(c.stats().current_bytes == 0);
    CHECK(c.stats().cached_bytes == 128);
    void* b = c.allocate(120, &reused);  // rounds to 128 too
    CHECK(reused);
    CHECK(b == a);
    void* d = c.allocate(200, &reused);  // 256: a new block
    CHECK_FALSE(reused);
    CHECK(g_raw_allocs == 2);
    CHECK(c.stats().peak_bytes == 384);
    c.release(b, 120);
    c.release(d, 200);
    CHECK(g_raw_frees == 0);
    c.empty();
    CHECK(g_raw_frees == 2);
    CHECK(c.stats().cached_bytes == 0);
  }
  CHECK(g_live.empty());
}

TEST_CASE("block cache: it holds at most max(the most live bytes ever, min_cached); the largest, oldest go back") {
  reset_fake();
  {
    BlockCache c({fake_allocate, fake_release}, 64, 256, true);
    void* a = c.allocate(256);
    void* b = c.allocate(256);
    c.release(a, 256);
    c.release(b, 256);  // cached 512 <= the high-water mark 512: both kept
    CHECK(c.stats().cached_bytes == 512);
    CHECK(g_raw_frees == 0);
    void* x = c.allocate(64);
    c.reset_peak();  // peak 64, but the cap stays the high-water mark, 512
    CHECK(c.stats().peak_bytes == 64);
    c.release(x, 64);  // 512 + 64 > 512: a, the oldest of the largest size, goes back; x stays
    CHECK(g_raw_frees == 1);
    CHECK(g_live.count(a) == 0);
    CHECK(c.stats().cached_bytes == 320);
    bool reused = false;
    CHECK(c.allocate(64, &reused) == x);  // the block just freed is the one kept
    CHECK(reused);
    c.release(x, 64);
  }  // the destructor gives the cached blocks back
  CHECK(g_raw_frees == 3);
  CHECK(g_live.empty());
}

TEST_CASE("block cache: a failed raw allocation empties the cache and retries once; off means no caching") {
  reset_fake();
  BlockCache c({fake_allocate, fake_release}, 64, 1 << 20, true);
  c.release(c.allocate(64), 64);
  CHECK(c.stats().cached_bytes == 64);
  g_fail_next = 1;
  void* p = c.allocate(1000);  // fails once, the cache is emptied, the retry succeeds
  REQUIRE(p);
  CHECK(c.stats().cached_bytes == 0);
  CHECK(g_raw_frees == 1);
  g_fail_next = 1;
  CHECK(c.allocate(5000) == nullptr);  // the cache is empty, so no retry: nullptr, nothing counted
  CHECK(g_fail_next == 0);
  CHECK(c.stats().current_bytes == 1024);
  c.release(p, 1000);

  BlockCache off({fake_allocate, fake_release}, 64, 1 << 20, false);
  const int frees = g_raw_frees;
  void* q = off.allocate(64);
  off.release(q, 64);
  CHECK(g_raw_frees == frees + 1);
  CHECK(off.stats().cached_bytes == 0);
  c.empty();
  CHECK(g_live.empty());
}

TEST_CASE(
    "block cache: random allocations and frees of a few sizes never give a held block back, nor hand it out twice") {
  reset_fake();
  {
    BlockCache c({fake_allocate, fake_release}, 64, 0, true);
    std::vector<std::pair<void*, size_t>> held;
    uint64_t r = 12345;
    auto next = [&] { return r = r * 6364136223846793005ull + 1442695040888963407ull, (size_t)(r >> 33); };
    const size_t sizes[] = {64, 128, 512, 1024, 4096};
    for (int step = 0; step < 20000; ++step) {
      if (held.empty() || next() % 5 < 2) {
        const size_t bytes = sizes[next() % 5];
        void* p = c.allocate(bytes);
        REQUIRE(g_held.insert(p).second);  // not handed out twice
        held.push_back({p, bytes});
      } else {
        const size_t i = next() % held.size();
        g_held.erase(held[i].first);
        c.release(held[i].first, held[i].second);
        held[i] = held.back();
        held.pop_back();
      }
      REQUIRE(c.stats().cached_bytes <= c.stats().peak_bytes);  // the cap: the high-water mark (never reset here)
    }
    for (auto& [p, bytes] : held) g_held.erase(p), c.release(p, bytes);
  }
  CHECK(g_live.empty());
}

TEST_CASE("block cache: cpu tensors count their bytes through it (live, peak), freed or not") {
  const int64_t before = memory_stats().current_bytes;
  reset_peak_memory();
  {
    Tensor t = zeros({1000});  // 4000 bytes, rounded to 4032
    CHECK(memory_stats().current_bytes == before + 4032);
    CHECK(memory_stats().peak_bytes >= before + 4032);
  }
  CHECK(memory_stats().current_bytes == before);
  Tensor u = ones({1000});  // a reused block holds its new values
  CHECK(u.sum().item() == doctest::Approx(1000.0));
}
