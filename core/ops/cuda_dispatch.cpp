// core/ops/cuda_dispatch.cpp — the elementwise helpers' device side: checks the
// operands are float32 on the cuda device and hands them to kernels/cuda/elementwise.
#include "core/ops/common.hpp"
#if GANTRY_HAS_CUDA
#include "kernels/cuda/elementwise.cuh"
#include "kernels/cuda/gemm.cuh"
#include "kernels/cuda/reduce.cuh"
#endif

namespace gantry::detail {

#if GANTRY_HAS_CUDA
namespace {
void check_float32(const Tensor& t) {
  GANTRY_CHECK(t.dtype() == DType::f32, "cuda: elementwise kernels take float32, got ", dtype_name(t.dtype()));
}
}  // namespace

template <class F>
void cuda_unary(const Tensor& y, const Tensor& x, F f) {
  check_float32(x);
  kernels::cuda::unary(y.data<float>(), x.data<float>(), strided(x, y.shape()), f, nullptr);
}

template <class F>
void cuda_binary(const Tensor& y, const Tensor& a, const Tensor& b, F f) {
  check_float32(a);
  kernels::cuda::binary(y.data<float>(), a.data<float>(), strided(a, y.shape()), b.data<float>(),
                        strided(b, y.shape()), f, nullptr);
}

void cuda_where(const Tensor& y, const Tensor& c, const Tensor& a, const Tensor& b) {
  check_float32(a);
  kernels::cuda::where(y.data<float>(), c.data<float>(), strided(c, y.shape()), a.data<float>(),
                       strided(a, y.shape()), b.data<float>(), strided(b, y.shape()), nullptr);
}

void cuda_rows(RowReduce kind, const Tensor& out, const Tensor& in, int64_t rows, int64_t cols) {
  check_float32(in);
  switch (kind) {
    case RowReduce::sum: kernels::cuda::sum_rows(out.data<float>(), in.data<float>(), rows, cols, nullptr); break;
    case RowReduce::max: kernels::cuda::max_rows(out.data<float>(), in.data<float>(), rows, cols, nullptr); break;
    case RowReduce::argmax:
      kernels::cuda::argmax_rows(out.data<int64_t>(), in.data<float>(), rows, cols, nullptr);
      break;
    case RowReduce::log_softmax:
      kernels::cuda::log_softmax_rows(out.data<float>(), in.data<float>(), rows, cols, nullptr);
      break;
  }
}

void cuda_gemm(const Tensor& c, const Tensor& a, const Tensor& b, int64_t batch, int64_t m, int64_t n, int64_t k) {
  check_float32(a);
  kernels::cuda::gemm_batched(c.data<float>(), a.data<float>(), b.data<float>(), batch, m, n, k, nullptr);
}
#else
// GANTRY_CUDA=off: no tensor can be on cuda, so these are never reached.
template <class F>
void cuda_unary(const Tensor&, const Tensor&, F) { throw Error("cuda: not in this build"); }
template <class F>
void cuda_binary(const Tensor&, const Tensor&, const Tensor&, F) { throw Error("cuda: not in this build"); }
void cuda_where(const Tensor&, const Tensor&, const Tensor&, const Tensor&) { throw Error("cuda: not in this build"); }
void cuda_rows(RowReduce, const Tensor&, const Tensor&, int64_t, int64_t) { throw Error("cuda: not in this build"); }
void cuda_gemm(const Tensor&, const Tensor&, const Tensor&, int64_t, int64_t, int64_t, int64_t) {
  throw Error("cuda: not in this build");
}
#endif

#define GANTRY_INSTANTIATE_UNARY(Op) \
  template void cuda_unary(const Tensor&, const Tensor&, kernels::elementwise::Op<float>);
#define GANTRY_INSTANTIATE_BINARY(Op) \
  template void cuda_binary(const Tensor&, const Tensor&, const Tensor&, kernels::elementwise::Op<float>);
GANTRY_UNARY_FUNCTORS(GANTRY_INSTANTIATE_UNARY)
GANTRY_BINARY_FUNCTORS(GANTRY_INSTANTIATE_BINARY)
#undef GANTRY_INSTANTIATE_UNARY
#undef GANTRY_INSTANTIATE_BINARY

}  // namespace gantry::detail
