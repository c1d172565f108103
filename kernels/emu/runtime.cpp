// kernels/emu/runtime.cpp — the block scheduler (CUDA threads as fibers), the worker
// pool that runs blocks in parallel, and a fake cudart for GANTRY_CUDA=emu.
#include <boost/context/fiber.hpp>
#include <condition_variable>
#include <cstdlib>
#include <mutex>
#include <random>
#include <sstream>
#include <thread>
#include <unordered_map>
#include <vector>

#include "kernels/emu/emu.hpp"

namespace ctx = boost::context;

namespace gantry::emu {

constinit thread_local ThreadPosition* current = nullptr;

namespace {

// ---- settings ------------------------------------------------------------------------
std::atomic<int> g_order{(int)Order::forward};
std::atomic<uint64_t> g_seed{1};
constexpr size_t kStackBytes = 256 * 1024;  // per CUDA thread; generous for sanitizer builds
constexpr size_t kDefaultSharedLimit = 48 * 1024;

// ---- fiber stacks, reused across blocks on one OS thread ---------------------------------
struct StackPool {
  std::vector<void*> free;
  ~StackPool() {
    for (void* p : free) std::free(p);
  }
};
thread_local StackPool t_stacks;

struct PooledStack {  // a Boost.Context StackAllocator
  ctx::stack_context allocate() {
    void* p;
    if (t_stacks.free.empty()) {
      p = std::malloc(kStackBytes);
      if (!p) throw std::bad_alloc();
    } else {
      p = t_stacks.free.back();
      t_stacks.free.pop_back();
    }
    ctx::stack_context sc;
    sc.size = kStackBytes;
    sc.sp = static_cast<char*>(p) + kStackBytes;
    return sc;
  }
  void deallocate(ctx::stack_context& sc) noexcept { t_stacks.free.push_back(static_cast<char*>(sc.sp) - sc.size); }
};

// ---- one block ---------------------------------------------------------------------------
enum class State { runnable, at_block_barrier, at_warp_barrier, done };

struct Lane {
  ThreadPosition pos;
  State state = State::runnable;
  unsigned warp_mask = 0;
  ctx::fiber fiber;      // the lane, when it is not running
  ctx::fiber scheduler;  // the scheduler, while the lane runs
};

struct Block {
  std::vector<Lane> lanes;
  std::vector<uint64_t> slots;  // warp exchange: one per lane
  std::vector<char> shared;     // dynamic shared memory
  std::string error;            // first failure in this block
};

thread_local Block* t_block = nullptr;
thread_local Lane* t_lane = nullptr;

void park(State s) {
  Lane& l = *t_lane;
  l.state = s;
  l.scheduler = std::move(l.scheduler).resume();
}

std::string where(const Lane& l) {
  std::ostringstream os;
  os << "thread (" << l.pos.thread.x << "," << l.pos.thread.y << "," << l.pos.thread.z << ") of block ("
     << l.pos.block.x << "," << l.pos.block.y << "," << l.pos.block.z << ")";
  return os.str();
}

std::vector<size_t> resume_order(size_t n, uint64_t round, uint64_t block_id) {
  std::vector<size_t> order(n);
  for (size_t i = 0; i < n; ++i) order[i] = i;
  const Order o = (Order)g_order.load();
  if (o == Order::reverse) std::reverse(order.begin(), order.end());
  if (o == Order::random) {
    std::mt19937_64 rng(g_seed.load() * 0x9E3779B97F4A7C15ull + block_id * 1000003u + round);
    std::shuffle(order.begin(), order.end(), rng);
  }
  return order;
}

// Releases the warps whose every needed lane is parked at a warp barrier; returns how
// many lanes it released, or sets b.error when a needed lane has exited.
size_t release_warps(Block& b) {
  size_t released = 0;
  const size_t n = b.lanes.size();
  for (size_t w = 0; w * 32 < n; ++w) {
    unsigned mask = 0;
    for (size_t i = w * 32; i < std::min(n, w * 32 + 32); ++i)
      if (b.lanes[i].state == State::at_warp_barrier) mask |= b.lanes[i].warp_mask;
    if (!mask) continue;
    bool all_here = true;
    for (size_t i = w * 32; i < std::min(n, w * 32 + 32); ++i) {
      if (!(mask >> (i - w * 32) & 1u)) continue;
      if (b.lanes[i].state == State::done) {
        b.error = where(b.lanes[i]) +
                  " exited without reaching the warp barrier (__syncwarp / __shfl_*_sync / "
                  "__ballot_sync) that the rest of its warp waits at";
        return 0;
      }
      all_here = all_here && b.lanes[i].state == State::at_warp_barrier;
    }
    if (!all_here) continue;
    for (size_t i = w * 32; i < std::min(n, w * 32 + 32); ++i)
      if (mask >> (i - w * 32) & 1u) b.lanes[i].state = State::runnable, ++released;
  }
  return released;
}

// Runs one block to completion on this OS thread.
void run_block(const KernelBody& fn, uint3 block_idx, dim3 grid, dim3 block, size_t smem, Block& b) {
  const size_t n = (size_t)block.x * block.y * block.z;
  b.lanes.clear();
  b.lanes.resize(n);
  b.slots.assign(n, 0);
  b.shared.assign(smem, (char)0xFF);  // NaN bytes, like fresh device memory here
  b.error.clear();
  for (size_t i = 0; i < n; ++i) {
    Lane& l = b.lanes[i];
    l.pos = {{(unsigned)(i % block.x), (unsigned)(i / block.x % block.y), (unsigned)(i / (block.x * block.y))},
             block_idx,
             block,
             grid};
    l.fiber = ctx::fiber(std::allocator_arg, PooledStack(), [&b, &l, &fn](ctx::fiber&& sched) {
      l.scheduler = std::move(sched);
      try {
        fn();
      } catch (const std::exception& e) {
        if (b.error.empty()) b.error = where(l) + " threw: " + e.what();
      }
      l.state = State::done;
      return std::move(l.scheduler);
    });
  }
  t_block = &b;
  const uint64_t block_id = block_idx.x + (uint64_t)grid.x * (block_idx.y + (uint64_t)grid.y * block_idx.z);
  for (uint64_t round = 0;; ++round) {
    size_t ran = 0;
    for (size_t i : resume_order(n, round, block_id)) {
      Lane& l = b.lanes[i];
      if (l.state != State::runnable) continue;
      t_lane = &l;
      current = &l.pos;
      l.fiber = std::move(l.fiber).resume();
      ++ran;
    }
    if (!b.error.empty()) break;
    size_t done = 0, at_block = 0;
    for (auto& l : b.lanes) done += l.state == State::done, at_block += l.state == State::at_block_barrier;
    if (done == n) break;
    const size_t released = release_warps(b);
    if (!b.error.empty()) break;
    if (released) continue;
    if (at_block + done == n) {
      if (done) {  // some threads exited, the others wait at __syncthreads forever
        for (auto& l : b.lanes)
          if (l.state == State::done) {
            b.error = where(l) + " exited without reaching the __syncthreads that " + std::to_string(at_block) +
                      " other threads of its block wait at";
            break;
          }
        break;
      }
      for (auto& l : b.lanes) l.state = State::runnable;
      continue;
    }
    if (!ran) {
      for (auto& l : b.lanes)
        if (l.state == State::at_warp_barrier) {
          b.error = where(l) + " waits at a warp barrier while other threads wait at __syncthreads: deadlock";
          break;
        }
      break;
    }
  }
  // Destroy the fibers now (parked ones after an error are unwound), so every stack
  // goes back to this thread's pool while the pool still exists.
  b.lanes.clear();
  t_block = nullptr;
  t_lane = nullptr;
  current = nullptr;
}

// ---- the worker pool ---------------------------------------------------------------------
class Pool {
 public:
  Pool() {
    const unsigned n = std::max(1u, std::thread::hardware_concurrency());
    for (unsigned i = 0; i < n; ++i) workers_.emplace_back([this] { work(); });
  }
  ~Pool() {
    {
      std::lock_guard<std::mutex> g(m_);
      stop_ = true;
    }
    cv_.notify_all();
    for (auto& t : workers_) t.join();
  }
  // Runs task(i) for i < count across the workers and the caller; returns when all are done.
  void run(uint64_t count, const std::function<void(uint64_t)>& task) {
    std::unique_lock<std::mutex> lock(run_m_);  // one grid at a time
    {
      std::lock_guard<std::mutex> g(m_);
      task_ = &task;
      count_ = count;
      next_ = 0;
      finished_ = 0;
      ++generation_;
    }
    cv_.notify_all();
    drain();
    std::unique_lock<std::mutex> g(m_);
    done_cv_.wait(g, [&] { return finished_ == count_; });
    task_ = nullptr;
  }

 private:
  void drain() {
    for (;;) {
      uint64_t i;
      const std::function<void(uint64_t)>* task;
      {
        std::lock_guard<std::mutex> g(m_);
        if (!task_ || next_ >= count_) return;
        i = next_++;
        task = task_;
      }
      (*task)(i);
      std::lock_guard<std::mutex> g(m_);
      if (++finished_ == count_) done_cv_.notify_all();
    }
  }
  void work() {
    uint64_t seen = 0;
    for (;;) {
      {
        std::unique_lock<std::mutex> g(m_);
        cv_.wait(g, [&] { return stop_ || (generation_ != seen && task_ && next_ < count_); });
        if (stop_) return;
        seen = generation_;
      }
      drain();
    }
  }
  std::vector<std::thread> workers_;
  std::mutex m_, run_m_;
  std::condition_variable cv_, done_cv_;
  const std::function<void(uint64_t)>* task_ = nullptr;
  uint64_t count_ = 0, next_ = 0, finished_ = 0, generation_ = 0;
  bool stop_ = false;
};

Pool& pool() {
  static Pool p;
  return p;
}

// GANTRY_EMU_ORDER is read once, when the program starts.
const bool g_env_read = [] {
  set_order_from_env();
  return true;
}();

std::mutex g_error_m;
std::string g_error_message;
thread_local cudaError_t t_last_error = cudaSuccess;
std::unordered_map<const void*, size_t> g_shared_optin;  // kernel -> opted-in dynamic smem bytes
std::mutex g_optin_m;

}  // namespace

void set_order(Order o, uint64_t seed) {
  g_order = (int)o;
  g_seed = seed;
}
Order order() { return (Order)g_order.load(); }

void set_order_from_env() {
  const char* env = std::getenv("GANTRY_EMU_ORDER");
  if (!env) return;
  std::string s = env;
  if (s == "forward") set_order(Order::forward);
  else if (s == "reverse") set_order(Order::reverse);
  else if (s.rfind("random", 0) == 0) set_order(Order::random, s.size() > 7 ? std::stoull(s.substr(7)) : 1);
}

void sync_block() { park(State::at_block_barrier); }

void sync_warp(unsigned mask) {
  t_lane->warp_mask = mask;
  park(State::at_warp_barrier);
}

uint64_t warp_exchange(unsigned mask, uint64_t value, int src_lane) {
  Block& b = *t_block;
  const size_t me = (size_t)(t_lane - b.lanes.data()), warp_base = me / 32 * 32;
  b.slots[me] = value;
  sync_warp(mask);
  const size_t src = warp_base + (size_t)src_lane;
  // A source outside the mask or past the block reads the caller's own value (undefined on a GPU).
  const uint64_t out = (src < b.lanes.size() && (mask >> src_lane & 1u)) ? b.slots[src] : value;
  sync_warp(mask);  // nobody overwrites a slot before every lane has read
  return out;
}

unsigned warp_ballot(unsigned mask, bool bit) {
  Block& b = *t_block;
  const size_t me = (size_t)(t_lane - b.lanes.data()), warp_base = me / 32 * 32;
  b.slots[me] = bit;
  sync_warp(mask);
  unsigned out = 0;
  for (size_t i = warp_base; i < std::min(b.lanes.size(), warp_base + 32); ++i)
    if ((mask >> (i - warp_base) & 1u) && b.slots[i]) out |= 1u << (i - warp_base);
  sync_warp(mask);
  return out;
}

void* dynamic_shared() { return t_block->shared.data(); }

std::string last_error_message() {
  std::lock_guard<std::mutex> g(g_error_m);
  return g_error_message;
}

void set_last_error(cudaError_t err) {
  if (err != cudaSuccess) t_last_error = err;
}

cudaError_t take_last_error(bool reset) {
  const cudaError_t e = t_last_error;
  if (reset) t_last_error = cudaSuccess;
  return e;
}

cudaError_t run_grid(const void* kernel, const KernelBody& fn, dim3 grid, dim3 block, size_t smem) {
  auto fail = [](cudaError_t e, const std::string& why) {
    {
      std::lock_guard<std::mutex> g(g_error_m);
      g_error_message = why;
    }
    set_last_error(e);
    return e;
  };
  const uint64_t threads = (uint64_t)block.x * block.y * block.z;
  if (threads == 0 || threads > 1024 || block.x > 1024 || block.y > 1024 || block.z > 64)
    return fail(cudaErrorInvalidConfiguration, "launch: block (" + std::to_string(block.x) + "," +
                                                   std::to_string(block.y) + "," + std::to_string(block.z) +
                                                   ") is empty or exceeds 1024 threads / (1024, 1024, 64)");
  if (grid.x == 0 || grid.y == 0 || grid.z == 0 || grid.x > 2147483647u || grid.y > 65535 || grid.z > 65535)
    return fail(cudaErrorInvalidConfiguration, "launch: grid (" + std::to_string(grid.x) + "," +
                                                   std::to_string(grid.y) + "," + std::to_string(grid.z) +
                                                   ") is empty or exceeds (2^31-1, 65535, 65535)");
  size_t limit = kDefaultSharedLimit;
  {
    std::lock_guard<std::mutex> g(g_optin_m);
    auto it = g_shared_optin.find(kernel);
    if (it != g_shared_optin.end()) limit = std::max(limit, it->second);
  }
  if (smem > limit)
    return fail(cudaErrorInvalidValue, "launch: " + std::to_string(smem) + " bytes of dynamic shared memory exceed " +
                                           std::to_string(limit) + " (opt in with cudaFuncSetAttribute)");
  std::string first_error;
  std::mutex error_m;
  const uint64_t blocks = (uint64_t)grid.x * grid.y * grid.z;
  pool().run(blocks, [&](uint64_t id) {
    thread_local Block b;
    const uint3 idx{(unsigned)(id % grid.x), (unsigned)(id / grid.x % grid.y),
                    (unsigned)(id / ((uint64_t)grid.x * grid.y))};
    run_block(fn, idx, grid, block, smem, b);
    if (!b.error.empty()) {
      std::lock_guard<std::mutex> g(error_m);
      if (first_error.empty()) first_error = b.error;
    }
  });
  if (!first_error.empty()) return fail(cudaErrorLaunchFailure, first_error);
  return cudaSuccess;
}

// Called by cudaFuncSetAttribute below.
void opt_in_shared(const void* kernel, size_t bytes) {
  std::lock_guard<std::mutex> g(g_optin_m);
  g_shared_optin[kernel] = bytes;
}

}  // namespace gantry::emu
