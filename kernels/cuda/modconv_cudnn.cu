// kernels/cuda/modconv_cudnn.cu — cuDNN's grouped convolution (groups = batch), the peer
// bench_kernels times beside the fused modulated conv (kernels/cuda/modconv_cudnn.cuh).
// Host code only: descriptors [1, N*C, H, W], a filter [N*Cout, Cin, KH, KW], group count N,
// CUDNN_FMA_MATH (float32, no TF32, as kernels/cuda/cudnn.cu); the algorithm is cuDNN's
// heuristic first choice (cudnnGet*_v7), kept per shape; one handle, kept. The workspace is
// the caller's (its size from *_workspace(s)), as in kernels/cuda/cudnn.cu: no scratch is
// allocated here.
#include "kernels/cuda/modconv_cudnn.cuh"

#include <string>

#if defined(GANTRY_HAVE_CUDNN)
#include <cudnn.h>

#include <map>
#include <mutex>
#include <tuple>

#include "kernels/cuda/cudnn_check.cuh"  // CUDNN_CHECK

namespace gantry::kernels::cudnn {

namespace {

struct Grouped {
  cudnnTensorDescriptor_t x = nullptr, y = nullptr;
  cudnnFilterDescriptor_t w = nullptr;
  cudnnConvolutionDescriptor_t conv = nullptr;
  explicit Grouped(const Conv2dShape& s) {
    CUDNN_CHECK(cudnnCreateTensorDescriptor(&x));
    CUDNN_CHECK(cudnnCreateTensorDescriptor(&y));
    CUDNN_CHECK(cudnnCreateFilterDescriptor(&w));
    CUDNN_CHECK(cudnnCreateConvolutionDescriptor(&conv));
    CUDNN_CHECK(cudnnSetTensor4dDescriptor(x, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, 1, (int)(s.n * s.c_in), (int)s.in_h,
                                           (int)s.in_w));
    CUDNN_CHECK(cudnnSetTensor4dDescriptor(y, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, 1, (int)(s.n * s.c_out),
                                           (int)s.out_h, (int)s.out_w));
    CUDNN_CHECK(cudnnSetFilter4dDescriptor(w, CUDNN_DATA_FLOAT, CUDNN_TENSOR_NCHW, (int)(s.n * s.c_out), (int)s.c_in,
                                           (int)s.k_h, (int)s.k_w));
    CUDNN_CHECK(cudnnSetConvolution2dDescriptor(conv, (int)s.pad_h, (int)s.pad_w, (int)s.stride_h, (int)s.stride_w,
                                                (int)s.dil_h, (int)s.dil_w, CUDNN_CROSS_CORRELATION, CUDNN_DATA_FLOAT));
    CUDNN_CHECK(cudnnSetConvolutionGroupCount(conv, (int)s.n));
    CUDNN_CHECK(cudnnSetConvolutionMathType(conv, CUDNN_FMA_MATH));
  }
  ~Grouped() {
    cudnnDestroyTensorDescriptor(x);
    cudnnDestroyTensorDescriptor(y);
    cudnnDestroyFilterDescriptor(w);
    cudnnDestroyConvolutionDescriptor(conv);
  }
  Grouped(const Grouped&) = delete;
  Grouped& operator=(const Grouped&) = delete;
};

using Key =
    std::tuple<int, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t>;
Key key_of(int pass, const Conv2dShape& s) {
  return {pass, s.n, s.c_in, s.in_h, s.in_w, s.c_out, s.k_h, s.k_w, s.stride_h, s.pad_h, s.dil_h, s.stride_w};
}

struct State {
  cudnnHandle_t handle = nullptr;
  std::map<Key, std::pair<int, size_t>> algorithm;  // (algo, workspace bytes)
};

// Throws unless the caller's workspace holds what the chosen algorithm needs.
void check_workspace(const char* fn, size_t need, void* ws, size_t ws_bytes) {
  if (need > 0 && (ws == nullptr || ws_bytes < need))
    throw gantry::cuda::CudaError(std::string("cudnn::") + fn + ": the workspace passed has " +
                                  std::to_string(ws ? ws_bytes : 0) + " bytes, the algorithm needs " +
                                  std::to_string(need));
}

std::mutex mutex;
State& state() {
  static State st;
  if (!st.handle) CUDNN_CHECK(cudnnCreate(&st.handle));
  CUDNN_CHECK(cudnnSetStream(st.handle, nullptr));
  return st;
}

// The algorithm for pass (0 forward, 1 backward data) of s, chosen once by `get` (cuDNN's
// heuristic, Perf results of up to Count algorithms): its first that succeeds, as (algo,
// workspace bytes). Call with the mutex held.
template <class Perf, int Count, class Get>
const std::pair<int, size_t>& choice(State& st, int pass, const Conv2dShape& s, const char* name, Get get) {
  auto [it, fresh] = st.algorithm.try_emplace(key_of(pass, s), -1, 0);
  if (fresh) {
    Perf perf[Count];
    int returned = 0;
    CUDNN_CHECK(get(Count, &returned, perf));
    for (int i = 0; i < returned && it->second.first < 0; ++i)
      if (perf[i].status == CUDNN_STATUS_SUCCESS) it->second = {(int)perf[i].algo, perf[i].memory};
    if (it->second.first < 0)
      throw gantry::cuda::CudaError(std::string("cudnn: no grouped ") + name + " algorithm for this shape");
  }
  return it->second;
}

const std::pair<int, size_t>& forward_choice(State& st, const Grouped& d, const Conv2dShape& s) {
  using Perf = cudnnConvolutionFwdAlgoPerf_t;
  return choice<Perf, CUDNN_CONVOLUTION_FWD_ALGO_COUNT>(st, 0, s, "forward", [&](int n, int* returned, Perf* perf) {
    return cudnnGetConvolutionForwardAlgorithm_v7(st.handle, d.x, d.w, d.conv, d.y, n, returned, perf);
  });
}

const std::pair<int, size_t>& backward_data_choice(State& st, const Grouped& d, const Conv2dShape& s) {
  using Perf = cudnnConvolutionBwdDataAlgoPerf_t;
  return choice<Perf, CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT>(
      st, 1, s, "backward-data", [&](int n, int* returned, Perf* perf) {
        return cudnnGetConvolutionBackwardDataAlgorithm_v7(st.handle, d.w, d.y, d.conv, d.x, n, returned, perf);
      });
}

}  // namespace

size_t grouped_conv2d_forward_workspace(const Conv2dShape& s) {
  std::lock_guard<std::mutex> lock(mutex);
  State& st = state();
  Grouped d(s);
  return forward_choice(st, d, s).second;
}

void grouped_conv2d_forward(float* y, const float* x, const float* w, const Conv2dShape& s, void* ws, size_t ws_bytes) {
  std::lock_guard<std::mutex> lock(mutex);
  State& st = state();
  Grouped d(s);
  const auto [algo, need] = forward_choice(st, d, s);
  check_workspace("grouped_conv2d_forward", need, ws, ws_bytes);
  const float one = 1.f, zero = 0.f;
  CUDNN_CHECK(cudnnConvolutionForward(st.handle, &one, d.x, x, d.w, w, d.conv, (cudnnConvolutionFwdAlgo_t)algo, ws,
                                      need, &zero, d.y, y));
}

size_t grouped_conv2d_backward_input_workspace(const Conv2dShape& s) {
  std::lock_guard<std::mutex> lock(mutex);
  State& st = state();
  Grouped d(s);
  return backward_data_choice(st, d, s).second;
}

void grouped_conv2d_backward_input(float* dx, const float* dy, const float* w, const Conv2dShape& s, void* ws,
                                   size_t ws_bytes) {
  std::lock_guard<std::mutex> lock(mutex);
  State& st = state();
  Grouped d(s);
  const auto [algo, need] = backward_data_choice(st, d, s);
  check_workspace("grouped_conv2d_backward_input", need, ws, ws_bytes);
  const float one = 1.f, zero = 0.f;
  CUDNN_CHECK(cudnnConvolutionBackwardData(st.handle, &one, d.w, w, d.y, dy, d.conv,
                                           (cudnnConvolutionBwdDataAlgo_t)algo, ws, need, &zero, d.x, dx));
}

}  // namespace gantry::kernels::cudnn

#else  // no cuDNN in this build (the emulator, or GANTRY_CUDNN=OFF)

namespace gantry::kernels::cudnn {
size_t grouped_conv2d_forward_workspace(const Conv2dShape&) {
  throw gantry::cuda::CudaError("cudnn: grouped_conv2d_forward_workspace needs the real build with cuDNN");
}
size_t grouped_conv2d_backward_input_workspace(const Conv2dShape&) {
  throw gantry::cuda::CudaError("cudnn: grouped_conv2d_backward_input_workspace needs the real build with cuDNN");
}
void grouped_conv2d_forward(float*, const float*, const float*, const Conv2dShape&, void*, size_t) {
  throw gantry::cuda::CudaError("cudnn: grouped_conv2d_forward needs the real build with cuDNN");
}
void grouped_conv2d_backward_input(float*, const float*, const float*, const Conv2dShape&, void*, size_t) {
  throw gantry::cuda::CudaError("cudnn: grouped_conv2d_backward_input needs the real build with cuDNN");
}
}  // namespace gantry::kernels::cudnn

#endif
