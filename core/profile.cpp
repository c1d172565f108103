// core/profile.cpp — the sums behind profile::report(): one map under a mutex, filled as
// scopes close (only while profiling is on), and a per-thread stack of open scopes.
#include "core/profile.hpp"

#include <algorithm>
#include <cstdio>
#include <map>
#include <mutex>

namespace gantry::profile {
namespace {

struct Sum {
  int64_t calls = 0;
  double self_ms = 0, total_ms = 0, work = 0;
};

std::mutex& sums_mutex() {
  static std::mutex m;
  return m;
}
std::map<std::string, Sum>& sums() {
  static auto* s = new std::map<std::string, Sum>;  // leaked: scopes may close during exit
  return *s;
}
thread_local Scope* innermost = nullptr;

}  // namespace

void enable(bool on) { detail::on.store(on, std::memory_order_relaxed); }

void reset() {
  std::lock_guard lock(sums_mutex());
  sums().clear();
}

void Scope::open(const char* name, const char* prefix) {
  name_ = name;
  prefix_ = prefix;
  parent_ = innermost;
  innermost = this;
  start_ = std::chrono::steady_clock::now();
}

void Scope::close() {
  const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start_).count();
  innermost = parent_;
  if (parent_) parent_->children_ms_ += ms;
  std::lock_guard lock(sums_mutex());
  Sum& s = sums()[std::string(prefix_) + name_];
  s.calls += 1;
  s.total_ms += ms;
  s.self_ms += ms - children_ms_;
  s.work += work_;
}

std::vector<Entry> report() {
  std::vector<Entry> out;
  {
    std::lock_guard lock(sums_mutex());
    for (const auto& [name, s] : sums()) out.push_back({name, s.calls, s.self_ms, s.total_ms, s.work});
  }
  std::sort(out.begin(), out.end(), [](const Entry& a, const Entry& b) { return a.self_ms > b.self_ms; });
  return out;
}

double total_work() {
  std::lock_guard lock(sums_mutex());
  double w = 0;
  for (const auto& kv : sums()) w += kv.second.work;
  return w;
}

void print(int steps, const char* prefix) {
  const std::vector<Entry> entries = report();
  double all = 0;
  for (const Entry& e : entries) all += e.self_ms;
  const double n = steps > 0 ? steps : 1;
  int width = 36;  // the name column: wider for names grouped by shape
  for (const Entry& e : entries) width = std::max(width, (int)e.name.size());
  std::printf("%s%-*s %10s %12s %12s %7s %8s\n", prefix, width, "name (by self time)", "calls/step", "self ms/step",
              "total ms/step", "self %", "GFLOP/s");
  for (const Entry& e : entries) {
    std::printf("%s%-*s %10.1f %12.3f %12.3f %6.1f%%", prefix, width, e.name.c_str(), e.calls / n, e.self_ms / n,
                e.total_ms / n, all > 0 ? 100.0 * e.self_ms / all : 0.0);
    if (e.work > 0 && e.self_ms > 0) std::printf(" %8.1f", e.work / (e.self_ms * 1e6));
    std::printf("\n");
  }
  std::printf("%s%-*s %10s %12.3f\n", prefix, width, "sum of self times", "", all / n);
}

}  // namespace gantry::profile
