// core/ops/cuda_off.cpp — the cuda backend of a GANTRY_CUDA=off build: nothing but the one
// error. Every way onto the cuda device (allocating, an elementwise functor, a table
// entry) ends here, so a cpu-only build says plainly why instead of failing to link.
#include "core/ops/backend.hpp"
#include "core/ops/common.hpp"

namespace gantry::detail {

namespace {
[[noreturn]] void no_cuda() {
  throw Error(
      "cuda: gantry was built with GANTRY_CUDA=off, so there is no cuda device (rebuild with -DGANTRY_CUDA=emu or "
      "real)");
}
}  // namespace

const Backend& cuda_backend() { no_cuda(); }

template <class F>
void cuda_unary(const Tensor&, const Tensor&, F) {
  no_cuda();
}
template <class F>
void cuda_binary(const Tensor&, const Tensor&, const Tensor&, F) {
  no_cuda();
}
void cuda_where(const Tensor&, const Tensor&, const Tensor&, const Tensor&) { no_cuda(); }

#define GANTRY_INSTANTIATE_UNARY(Op) \
  template void cuda_unary(const Tensor&, const Tensor&, kernels::elementwise::Op<float>);
#define GANTRY_INSTANTIATE_BINARY(Op) \
  template void cuda_binary(const Tensor&, const Tensor&, const Tensor&, kernels::elementwise::Op<float>);
GANTRY_UNARY_FUNCTORS(GANTRY_INSTANTIATE_UNARY)
GANTRY_BINARY_FUNCTORS(GANTRY_INSTANTIATE_BINARY)
#undef GANTRY_INSTANTIATE_UNARY
#undef GANTRY_INSTANTIATE_BINARY

}  // namespace gantry::detail
