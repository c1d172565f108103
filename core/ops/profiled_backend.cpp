// core/ops/profiled_backend.cpp — the tables backend() hands out while profiling is on:
// the device's own table with every entry wrapped in a profile::Scope of its name, the
// GEMM-class entries declaring their flops (work_of below).
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>

#include "core/ops/backend.hpp"
#include "core/profile.hpp"

namespace gantry::detail {
namespace {

// Every entry of Backend; the static_assert below fails when one is added to Backend and not here.
// clang-format off
#define GANTRY_BACKEND_ENTRIES(X)                                                                                  \
  X(allocate) X(release) X(memory_stats) X(reset_peak_memory) X(fill) X(fill_uniform) X(fill_normal) X(assign)     \
  X(rows) X(gemm) X(conv2d_forward) X(conv2d_forward_act) X(conv2d_backward_input) X(conv2d_backward_weight) X(modconv2d_forward)         \
  X(modconv2d_backward_input) X(modconv2d_backward_weight) X(upfirdn2d) X(pad2d_forward) X(pad2d_backward)          \
  X(upsample_nearest2d_forward) X(upsample_nearest2d_backward) X(embedding_forward) X(embedding_backward)           \
  X(one_hot) X(batch_norm_forward_train) X(batch_norm_forward_eval) X(batch_norm_backward) X(layer_norm_forward)    \
  X(layer_norm_backward)                                                                                           \
  X(gradient_penalty_forward) X(gradient_penalty_backward) X(sgd_step) X(adam_step) X(rmsprop_step)
// clang-format on

#define GANTRY_COUNT(e) +1
static_assert(sizeof(Backend) == sizeof(void*) * (1 GANTRY_BACKEND_ENTRIES(GANTRY_COUNT)),
              "profiled_backend.cpp: GANTRY_BACKEND_ENTRIES must list every entry of Backend");
#undef GANTRY_COUNT

// The names, with static storage (template arguments).
#define GANTRY_NAME(e) constexpr char name_##e[] = #e;
GANTRY_BACKEND_ENTRIES(GANTRY_NAME)
#undef GANTRY_NAME

const Backend& table(bool cpu) { return cpu ? cpu_backend() : cuda_backend(); }

// The multiply-adds of a conv2d pass (forward, backward input or backward weight, and the
// modulated conv's), counted as 2 flops each: 2 N Cout OH OW Cin KH KW, as PyTorch's
// flop counter does. Any other argument counts nothing.
double conv_flops(const kernels::Conv2dShape& s) {
  return 2.0 * s.n * s.c_out * s.out_h * s.out_w * s.c_in * s.k_h * s.k_w;
}
template <class A>
double conv_flops(const A&) {
  return 0;
}

// " NxCinxHxW ->CoutxOHxOW kKHxKW sSHxSW pPHxPW" (and " dDHxDW" where dilated) for a
// Conv2dShape argument, else "": the geometry group_by_shape appends to a conv entry's name.
std::string conv_geometry(const kernels::Conv2dShape& s) {
  std::string g = " " + std::to_string(s.n) + "x" + std::to_string(s.c_in) + "x" + std::to_string(s.in_h) + "x" +
                  std::to_string(s.in_w) + " ->" + std::to_string(s.c_out) + "x" + std::to_string(s.out_h) + "x" +
                  std::to_string(s.out_w) + " k" + std::to_string(s.k_h) + "x" + std::to_string(s.k_w) + " s" +
                  std::to_string(s.stride_h) + "x" + std::to_string(s.stride_w) + " p" + std::to_string(s.pad_h) + "x" +
                  std::to_string(s.pad_w);
  if (s.dil_h != 1 || s.dil_w != 1) g += " d" + std::to_string(s.dil_h) + "x" + std::to_string(s.dil_w);
  return g;
}
template <class A>
std::string conv_geometry(const A&) {
  return "";
}

// The flops entry Member declares: 2 batch m n k for gemm, conv_flops for the entries
// that take a Conv2dShape, else 0.
template <auto Member, class... A>
double work_of(const A&... a) {
  if constexpr (std::is_same_v<decltype(Member), decltype(&Backend::gemm)>) {
    if (Member == &Backend::gemm) {  // (c, a, b, batch, m, n, k)
      const auto args = std::forward_as_tuple(a...);
      return 2.0 * std::get<3>(args) * std::get<4>(args) * std::get<5>(args) * std::get<6>(args);
    }
    return 0;
  } else {
    return (0.0 + ... + conv_flops(a));
  }
}

// Wrap<R (*)(A...)>::call<cpu, &Backend::e, name_e> times the device's own entry e.
template <class Fn>
struct Wrap;
template <class R, class... A>
struct Wrap<R (*)(A...)> {
  template <bool Cpu, auto Member, const char* Name>
  static R call(A... a) {
    std::string shaped;  // the name with the geometry, when grouped by shape (lives as long as the scope)
    if constexpr ((std::is_same_v<std::decay_t<A>, kernels::Conv2dShape> || ...))
      if (profile::grouped_by_shape()) shaped = Name + (std::string() + ... + conv_geometry(a));
    profile::Scope scope(shaped.empty() ? Name : shaped.c_str());
    scope.add_work(work_of<Member>(a...));
    return (table(Cpu).*Member)(std::forward<A>(a)...);
  }
};

template <bool Cpu>
Backend make_profiled() {
  Backend b = table(Cpu);
#define GANTRY_WRAP(e) \
  if (b.e) b.e = &Wrap<decltype(Backend::e)>::template call<Cpu, &Backend::e, name_##e>;
  GANTRY_BACKEND_ENTRIES(GANTRY_WRAP)
#undef GANTRY_WRAP
  return b;
}

}  // namespace

const Backend& profiled_backend(Device d) {
  if (d.is_cpu()) {
    static const Backend cpu = make_profiled<true>();
    return cpu;
  }
  static const Backend cuda = make_profiled<false>();
  return cuda;
}

}  // namespace gantry::detail
