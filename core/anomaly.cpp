// core/anomaly.cpp — the anomaly switch and the finiteness check (core/anomaly.hpp);
// the checks themselves run in core/autograd.cpp.
#include "core/anomaly.hpp"

#include <atomic>
#include <cmath>
#include <cstdlib>
#include <cstring>

#include "core/autograd.hpp"
#include "core/ops.hpp"

namespace gantry {

namespace {

bool from_env() {
  const char* v = std::getenv("GANTRY_DETECT_ANOMALY");
  return v && (std::strcmp(v, "1") == 0 || std::strcmp(v, "true") == 0 || std::strcmp(v, "on") == 0);
}

std::atomic<bool>& flag() {
  static std::atomic<bool> on{from_env()};
  return on;
}

// "NaN" if any element is NaN, else "Inf" if any is infinite, else nullptr.
template <class T>
const char* kind_of(const T* p, int64_t n) {
  bool nan = false, inf = false;
  for (int64_t i = 0; i < n; ++i) nan |= std::isnan(p[i]), inf |= std::isinf(p[i]);
  return nan ? "NaN" : inf ? "Inf" : nullptr;
}

}  // namespace

void set_detect_anomaly(bool on) { flag().store(on, std::memory_order_relaxed); }
bool is_anomaly_enabled() { return flag().load(std::memory_order_relaxed); }

const char* non_finite_kind(const Tensor& t) {
  if (!t.defined() || t.numel() == 0) return nullptr;
  if (t.dtype() != DType::f32 && t.dtype() != DType::f64) return nullptr;
  NoGradGuard off;
  Tensor c = contiguous(t.detach().to(Device::cpu()));
  return t.dtype() == DType::f32 ? kind_of(c.data<float>(), c.numel()) : kind_of(c.data<double>(), c.numel());
}

bool all_finite(const Tensor& t) { return non_finite_kind(t) == nullptr; }

}  // namespace gantry
