// core/profile.hpp — a per-kernel time breakdown (like torch.profiler's table, by self
// time): while on, every backend entry (core/ops/backend.hpp), every elementwise functor
// and every backward rule is timed by name, and the GEMM-class entries (conv, modconv,
// gemm) count their flops; report() sums them, sorted.
#pragma once
#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace gantry::profile {

namespace detail {
inline std::atomic<bool> on{false};
inline std::atomic<bool> by_shape{false};
}  // namespace detail

// Starts (true) or stops (false) timing; what was summed stays until reset().
void enable(bool on);
inline bool enabled() { return detail::on.load(std::memory_order_relaxed); }
// Forgets every sum.
void reset();
// Whether the conv-class entries (conv2d and modconv2d forward, backward input and weight)
// are timed under their name plus their geometry, e.g. "conv2d_forward 64x32x14x14 ->64x7x7
// k4x4 s2x2 p1x1" (like torch.profiler's group_by_input_shape); off by default.
inline void group_by_shape(bool on) { detail::by_shape.store(on, std::memory_order_relaxed); }
inline bool grouped_by_shape() { return detail::by_shape.load(std::memory_order_relaxed); }

// One name's sums over the calls since reset(): self time excludes the scopes opened
// inside it (a backward rule's kernels are theirs, not the rule's).
// work: the flops the scopes of this name declared (Scope::add_work), 0 for most.
struct Entry {
  std::string name;
  int64_t calls = 0;
  double self_ms = 0, total_ms = 0;
  double work = 0;
};
// Every name timed since reset(), by self time, largest first.
std::vector<Entry> report();
// The summed work (flops) of every name since reset().
double total_work();
// The report as a table: per name, calls and self ms divided by `steps`, the share of
// the summed self time, and GFLOP/s (work over self time) where work was counted; to
// stdout, each line prefixed by `prefix`.
void print(int steps, const char* prefix = "");

// Times its lifetime under prefix + name when profiling is on (the name need only live
// as long as the scope); nothing when off. Scopes nest per thread.
class Scope {
 public:
  explicit Scope(const char* name, const char* prefix = "") {
    if (enabled()) open(name, prefix);
  }
  ~Scope() {
    if (name_) close();
  }
  Scope(const Scope&) = delete;
  Scope& operator=(const Scope&) = delete;
  // Adds `flops` to this scope's work (summed under its name when it closes).
  void add_work(double flops) { work_ += flops; }

 private:
  void open(const char* name, const char* prefix);
  void close();
  const char* name_ = nullptr;
  const char* prefix_ = "";
  Scope* parent_ = nullptr;
  std::chrono::steady_clock::time_point start_;
  double children_ms_ = 0;
  double work_ = 0;
};

}  // namespace gantry::profile
