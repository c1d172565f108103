// kernels/cuda/cudnn.cu — the kernels::cudnn functions of kernels/cuda/dnn.cuh through
// NVIDIA cuDNN 9's legacy API: conv2d forward (+ bias), backward-data (also
// conv_transpose2d's forward), backward-filter, and batch normalization. Compiled and
// linked only in the GANTRY_CUDA=real build with GANTRY_CUDNN=ON (which defines
// GANTRY_HAVE_CUDNN, so dnn.cu drops its throwing fallbacks); it holds no kernels.
//
// The contracts are those of kernels/cpu/conv.hpp and batchnorm.hpp, float32, NCHW:
//   conv       cuDNN's CUDNN_CROSS_CORRELATION is gantry's conv2d (no kernel flip).
//              Math is CUDNN_FMA_MATH: plain float32 FMAs, no TF32 tensor cores, so
//              results compare with gantry's kernels and the cpu at float32 tolerance.
//   batchnorm  x [N, C, S] is described as [N, C, S, 1]; CUDNN_BATCHNORM_SPATIAL
//              (statistics over N*S), CUDNN_BATCHNORM_PER_ACTIVATION when S == 1
//              (over N, what PyTorch uses for [N, C]). exponentialAverageFactor =
//              momentum; cuDNN updates running_var with the unbiased variance, as the
//              cpu contract (and PyTorch) does; save_invstd is resultSaveInvVariance
//              = 1 / sqrt(var + eps). gamma/beta nullptr read a cached 1/0 buffer;
//              dgamma/dbeta or one running buffer nullptr write to scratch.
//
// State, per device: one cudnnHandle_t (made on first use), the 1/0/scratch buffers (a
// few floats per channel), and each convolution's
// algorithm, chosen once per shape by cudnnFindConvolution*Algorithm (cuDNN times
// every algorithm it has and we keep the fastest that succeeds). Descriptors are
// built per call (a few hundred ns). A convolution's workspace is the caller's: its size
// comes from *_workspace(s) (the algorithm chosen, cudnnGet*WorkspaceSize), and the op layer
// takes it from the caching allocator. One mutex serializes the calls: the handle is
// shared, and the calls only enqueue work, so holding it is cheap.
#include <cudnn.h>

#include <climits>
#include <map>
#include <mutex>
#include <string>
#include <tuple>
#include <vector>

#include "kernels/cuda/cudnn_check.cuh"  // CUDNN_CHECK
#include "kernels/cuda/dnn.cuh"

namespace gantry::kernels::cuda {
bool cudnn_available() { return true; }
}  // namespace gantry::kernels::cuda

namespace gantry::kernels::cudnn {

namespace {

// ---- descriptors (RAII) -----------------------------------------------------------------

int to_int(int64_t v, const char* what) {
  if (v < 0 || v > INT_MAX)
    throw gantry::cuda::CudaError(std::string("cudnn: ") + what + " " + std::to_string(v) +
                                  " does not fit cuDNN's int");
  return (int)v;
}

struct TensorDesc {
  cudnnTensorDescriptor_t d = nullptr;
  TensorDesc(int64_t n, int64_t c, int64_t h, int64_t w) {
    CUDNN_CHECK(cudnnCreateTensorDescriptor(&d));
    CUDNN_CHECK(cudnnSetTensor4dDescriptor(d, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, to_int(n, "N"), to_int(c, "C"),
                                           to_int(h, "H"), to_int(w, "W")));
  }
  TensorDesc() { CUDNN_CHECK(cudnnCreateTensorDescriptor(&d)); }
  ~TensorDesc() { cudnnDestroyTensorDescriptor(d); }
  TensorDesc(const TensorDesc&) = delete;
  TensorDesc& operator=(const TensorDesc&) = delete;
};

struct FilterDesc {
  cudnnFilterDescriptor_t d = nullptr;
  explicit FilterDesc(const Conv2dShape& s) {
    CUDNN_CHECK(cudnnCreateFilterDescriptor(&d));
    CUDNN_CHECK(cudnnSetFilter4dDescriptor(d, CUDNN_DATA_FLOAT, CUDNN_TENSOR_NCHW, to_int(s.c_out, "C_out"),
                                           to_int(s.c_in, "C_in"), to_int(s.k_h, "KH"), to_int(s.k_w, "KW")));
  }
  ~FilterDesc() { cudnnDestroyFilterDescriptor(d); }
  FilterDesc(const FilterDesc&) = delete;
  FilterDesc& operator=(const FilterDesc&) = delete;
};

struct ConvDesc {
  cudnnConvolutionDescriptor_t d = nullptr;
  explicit ConvDesc(const Conv2dShape& s) {
    CUDNN_CHECK(cudnnCreateConvolutionDescriptor(&d));
    CUDNN_CHECK(cudnnSetConvolution2dDescriptor(d, to_int(s.pad_h, "pad"), to_int(s.pad_w, "pad"),
                                                to_int(s.stride_h, "stride"), to_int(s.stride_w, "stride"),
                                                to_int(s.dil_h, "dilation"), to_int(s.dil_w, "dilation"),
                                                CUDNN_CROSS_CORRELATION, CUDNN_DATA_FLOAT));
    CUDNN_CHECK(cudnnSetConvolutionMathType(d, CUDNN_FMA_MATH));  // float32 FMAs, no TF32
  }
  ~ConvDesc() { cudnnDestroyConvolutionDescriptor(d); }
  ConvDesc(const ConvDesc&) = delete;
  ConvDesc& operator=(const ConvDesc&) = delete;
};

// The four descriptors of one convolution, checked against the shape's output size.
struct ConvDescs {
  TensorDesc x, y;
  FilterDesc w;
  ConvDesc conv;
  explicit ConvDescs(const Conv2dShape& s)
      : x(s.n, s.c_in, s.in_h, s.in_w), y(s.n, s.c_out, s.out_h, s.out_w), w(s), conv(s) {
    int n, c, h, wd;
    CUDNN_CHECK(cudnnGetConvolution2dForwardOutputDim(conv.d, x.d, w.d, &n, &c, &h, &wd));
    if (h != s.out_h || wd != s.out_w)
      throw gantry::cuda::CudaError("cudnn: Conv2dShape says the output is " + std::to_string(s.out_h) + "x" +
                                    std::to_string(s.out_w) + ", cuDNN computes " + std::to_string(h) + "x" +
                                    std::to_string(wd) + " from the input, kernel, stride, padding and dilation");
  }
};

// ---- per-device state -------------------------------------------------------------------

enum class ConvPass { forward, backward_data, backward_filter };
using ConvKey = std::tuple<ConvPass, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t,
                           int64_t, int64_t, int64_t, int64_t, int64_t, int64_t>;
ConvKey key_of(ConvPass pass, const Conv2dShape& s) {
  return {pass,  s.n,   s.c_in,     s.in_h,     s.in_w,  s.c_out, s.out_h, s.out_w,
          s.k_h, s.k_w, s.stride_h, s.stride_w, s.pad_h, s.pad_w, s.dil_h, s.dil_w};
}

// A device buffer that grows and is kept. Growing frees the old one (cudaFree waits for
// the device, so work still reading it has finished).
struct Buffer {
  void* ptr = nullptr;
  size_t bytes = 0;
  void* reserve(size_t want) {
    if (want <= bytes) return ptr;
    if (ptr) CUDA_CHECK(cudaFree(ptr));
    ptr = nullptr, bytes = 0;
    CUDA_CHECK(cudaMalloc(&ptr, want));
    bytes = want;
    return ptr;
  }
};

struct DeviceState {
  cudnnHandle_t handle = nullptr;
  Buffer ones, zeros, scratch;
  size_t ones_count = 0, zeros_count = 0;
  std::map<ConvKey, int> algorithm;  // the cudnnConvolution*Algo_t Find chose
};

std::mutex state_mutex;

// This device's state, its handle bound to the default stream. Call with state_mutex held.
DeviceState& state() {
  static std::map<int, DeviceState> states;
  int device = 0;
  CUDA_CHECK(cudaGetDevice(&device));
  DeviceState& st = states[device];
  if (!st.handle) CUDNN_CHECK(cudnnCreate(&st.handle));
  CUDNN_CHECK(cudnnSetStream(st.handle, nullptr));
  return st;
}

// A device array of `count` copies of `value` (1 or 0), cached.
const float* constant(Buffer& buf, size_t& have, int64_t count, float value) {
  if ((size_t)count > have) {
    buf.reserve(sizeof(float) * count);
    const std::vector<float> host(count, value);
    CUDA_CHECK(cudaMemcpy(buf.ptr, host.data(), sizeof(float) * count, cudaMemcpyHostToDevice));
    have = count;
  }
  return static_cast<const float*>(buf.ptr);
}

// ---- algorithm choice -------------------------------------------------------------------

// The fastest algorithm cuDNN's Find measured that succeeded, from its perf results.
template <class Perf>
int fastest(const Perf* perf, int returned, const char* pass) {
  for (int i = 0; i < returned; ++i)  // Find sorts by time
    if (perf[i].status == CUDNN_STATUS_SUCCESS) return (int)perf[i].algo;
  throw gantry::cuda::CudaError(std::string("cudnn: no ") + pass + " algorithm succeeded for this shape");
}

// The algorithm for pass of s, measured once by `find` (cuDNN's Find over up to Count
// algorithms, Perf results): the fastest that succeeded.
template <class Perf, int Count, class Find>
int find_once(DeviceState& st, ConvPass pass, const Conv2dShape& s, const char* name, Find find) {
  auto [it, fresh] = st.algorithm.try_emplace(key_of(pass, s), -1);
  if (fresh) {
    Perf perf[Count];
    int returned = 0;
    CUDNN_CHECK(find(Count, &returned, perf));
    it->second = fastest(perf, returned, name);
  }
  return it->second;
}

int forward_algorithm(DeviceState& st, const ConvDescs& d, const Conv2dShape& s) {
  using Perf = cudnnConvolutionFwdAlgoPerf_t;
  return find_once<Perf, CUDNN_CONVOLUTION_FWD_ALGO_COUNT>(
      st, ConvPass::forward, s, "forward", [&](int n, int* returned, Perf* perf) {
        return cudnnFindConvolutionForwardAlgorithm(st.handle, d.x.d, d.w.d, d.conv.d, d.y.d, n, returned, perf);
      });
}

int backward_data_algorithm(DeviceState& st, const ConvDescs& d, const Conv2dShape& s) {
  using Perf = cudnnConvolutionBwdDataAlgoPerf_t;
  return find_once<Perf, CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT>(
      st, ConvPass::backward_data, s, "backward-data", [&](int n, int* returned, Perf* perf) {
        return cudnnFindConvolutionBackwardDataAlgorithm(st.handle, d.w.d, d.y.d, d.conv.d, d.x.d, n, returned, perf);
      });
}

int backward_filter_algorithm(DeviceState& st, const ConvDescs& d, const Conv2dShape& s) {
  using Perf = cudnnConvolutionBwdFilterAlgoPerf_t;
  return find_once<Perf, CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT>(
      st, ConvPass::backward_filter, s, "backward-filter", [&](int n, int* returned, Perf* perf) {
        return cudnnFindConvolutionBackwardFilterAlgorithm(st.handle, d.x.d, d.y.d, d.conv.d, d.w.d, n, returned, perf);
      });
}

// Writes zeros and says true when a convolution's sum is empty (no batch, no channels
// on the other side): cuDNN rejects zero-sized dimensions.
bool empty_sum(float* out, int64_t out_count, int64_t n, int64_t c_other) {
  if (out_count == 0) return true;
  if (n > 0 && c_other > 0) return false;
  CUDA_CHECK(cudaMemsetAsync(out, 0, sizeof(float) * out_count, nullptr));
  return true;
}

// ---- batch normalization ----------------------------------------------------------------

// x [N, C, S] as NCHW [N, C, S, 1], and the 1xCx1x1 descriptor of the per-channel arrays.
struct BatchNormDescs {
  cudnnBatchNormMode_t mode;
  TensorDesc x, param;
  explicit BatchNormDescs(const BatchNormShape& s)
      : mode(s.s == 1 ? CUDNN_BATCHNORM_PER_ACTIVATION : CUDNN_BATCHNORM_SPATIAL), x(s.n, s.c, s.s, 1) {
    CUDNN_CHECK(cudnnDeriveBNTensorDescriptor(param.d, x.d, mode));
  }
};

// cuDNN's backward wants an epsilon "equal to the forward's", but it normalizes with the
// saved 1/sqrt(var + eps) we always pass, so the value here only has to be legal.
constexpr double kBackwardEpsilon = 1e-5;

}  // namespace

// ---- convolution ------------------------------------------------------------------------

namespace {

// Throws unless the caller's workspace holds what the chosen algorithm needs.
void check_workspace(const char* fn, size_t need, void* ws, size_t ws_bytes) {
  if (ws_bytes < need || (need && !ws))
    throw gantry::cuda::CudaError(std::string("cudnn::") + fn + ": the workspace passed has " +
                                  std::to_string(ws ? ws_bytes : 0) + " bytes, the algorithm needs " +
                                  std::to_string(need));
}

// A workspace of `bytes` for one call, for the overloads without one (bench, tests).
struct CallWorkspace {
  void* ptr = nullptr;
  explicit CallWorkspace(size_t bytes) {
    if (bytes) CUDA_CHECK(cudaMalloc(&ptr, bytes));
  }
  ~CallWorkspace() {
    if (ptr) cudaFree(ptr);
  }
};

size_t forward_bytes(DeviceState& st, const ConvDescs& d, const Conv2dShape& s, cudnnConvolutionFwdAlgo_t* algo) {
  *algo = (cudnnConvolutionFwdAlgo_t)forward_algorithm(st, d, s);
  size_t bytes = 0;
  CUDNN_CHECK(cudnnGetConvolutionForwardWorkspaceSize(st.handle, d.x.d, d.w.d, d.conv.d, d.y.d, *algo, &bytes));
  return bytes;
}
size_t backward_data_bytes(DeviceState& st, const ConvDescs& d, const Conv2dShape& s,
                           cudnnConvolutionBwdDataAlgo_t* algo) {
  *algo = (cudnnConvolutionBwdDataAlgo_t)backward_data_algorithm(st, d, s);
  size_t bytes = 0;
  CUDNN_CHECK(cudnnGetConvolutionBackwardDataWorkspaceSize(st.handle, d.w.d, d.y.d, d.conv.d, d.x.d, *algo, &bytes));
  return bytes;
}
size_t backward_filter_bytes(DeviceState& st, const ConvDescs& d, const Conv2dShape& s,
                             cudnnConvolutionBwdFilterAlgo_t* algo) {
  *algo = (cudnnConvolutionBwdFilterAlgo_t)backward_filter_algorithm(st, d, s);
  size_t bytes = 0;
  CUDNN_CHECK(cudnnGetConvolutionBackwardFilterWorkspaceSize(st.handle, d.x.d, d.y.d, d.conv.d, d.w.d, *algo, &bytes));
  return bytes;
}

// The empty sums (no cuDNN call): forward when there is no output or no input channel,
// the backward passes as empty_sum says.
bool forward_empty(const Conv2dShape& s) { return s.n * s.c_out * s.out_h * s.out_w == 0 || s.c_in == 0; }
bool backward_input_empty(const Conv2dShape& s) {
  return s.n * s.c_in * s.in_h * s.in_w == 0 || s.n == 0 || s.c_out == 0;
}
bool backward_weight_empty(const Conv2dShape& s) {
  return s.c_out * s.c_in * s.k_h * s.k_w == 0 || s.n == 0 || s.out_h * s.out_w == 0;
}

}  // namespace

size_t conv2d_forward_workspace(const Conv2dShape& s) {
  if (forward_empty(s)) return 0;
  std::lock_guard lock(state_mutex);
  DeviceState& st = state();
  ConvDescs d(s);
  cudnnConvolutionFwdAlgo_t algo;
  return forward_bytes(st, d, s, &algo);
}

size_t conv2d_backward_input_workspace(const Conv2dShape& s) {
  if (backward_input_empty(s)) return 0;
  std::lock_guard lock(state_mutex);
  DeviceState& st = state();
  ConvDescs d(s);
  cudnnConvolutionBwdDataAlgo_t algo;
  return backward_data_bytes(st, d, s, &algo);
}

size_t conv2d_backward_weight_workspace(const Conv2dShape& s) {
  if (backward_weight_empty(s)) return 0;
  std::lock_guard lock(state_mutex);
  DeviceState& st = state();
  ConvDescs d(s);
  cudnnConvolutionBwdFilterAlgo_t algo;
  return backward_filter_bytes(st, d, s, &algo);
}

void conv2d_forward(float* y, const float* x, const float* w, const float* bias, const Conv2dShape& s, void* ws,
                    size_t ws_bytes) {
  const int64_t y_count = s.n * s.c_out * s.out_h * s.out_w;
  if (y_count == 0) return;
  std::lock_guard lock(state_mutex);
  DeviceState& st = state();
  const float one = 1.f, zero = 0.f;
  if (s.c_in == 0) {  // empty sum: y = bias (or 0)
    CUDA_CHECK(cudaMemsetAsync(y, 0, sizeof(float) * y_count, nullptr));
  } else {
    ConvDescs d(s);
    cudnnConvolutionFwdAlgo_t algo;
    const size_t bytes = forward_bytes(st, d, s, &algo);
    check_workspace("conv2d_forward", bytes, ws, ws_bytes);
    CUDNN_CHECK(
        cudnnConvolutionForward(st.handle, &one, d.x.d, x, d.w.d, w, d.conv.d, algo, ws, bytes, &zero, d.y.d, y));
  }
  if (bias) {  // y += bias[co], broadcast over n, oh, ow
    TensorDesc bias_desc(1, s.c_out, 1, 1), y_desc(s.n, s.c_out, s.out_h, s.out_w);
    CUDNN_CHECK(cudnnAddTensor(st.handle, &one, bias_desc.d, bias, &one, y_desc.d, y));
  }
}

void conv2d_backward_input(float* dx, const float* dy, const float* w, const Conv2dShape& s, void* ws,
                           size_t ws_bytes) {
  if (empty_sum(dx, s.n * s.c_in * s.in_h * s.in_w, s.n, s.c_out)) return;
  std::lock_guard lock(state_mutex);
  DeviceState& st = state();
  ConvDescs d(s);
  cudnnConvolutionBwdDataAlgo_t algo;
  const size_t bytes = backward_data_bytes(st, d, s, &algo);
  check_workspace("conv2d_backward_input", bytes, ws, ws_bytes);
  const float one = 1.f, zero = 0.f;
  CUDNN_CHECK(
      cudnnConvolutionBackwardData(st.handle, &one, d.w.d, w, d.y.d, dy, d.conv.d, algo, ws, bytes, &zero, d.x.d, dx));
}

void conv2d_backward_weight(float* dw, const float* dy, const float* x, const Conv2dShape& s, void* ws,
                            size_t ws_bytes) {
  if (empty_sum(dw, s.c_out * s.c_in * s.k_h * s.k_w, s.n, s.out_h * s.out_w)) return;
  std::lock_guard lock(state_mutex);
  DeviceState& st = state();
  ConvDescs d(s);
  cudnnConvolutionBwdFilterAlgo_t algo;
  const size_t bytes = backward_filter_bytes(st, d, s, &algo);
  check_workspace("conv2d_backward_weight", bytes, ws, ws_bytes);
  const float one = 1.f, zero = 0.f;
  CUDNN_CHECK(cudnnConvolutionBackwardFilter(st.handle, &one, d.x.d, x, d.y.d, dy, d.conv.d, algo, ws, bytes, &zero,
                                             d.w.d, dw));
}

void conv2d_forward(float* y, const float* x, const float* w, const float* bias, const Conv2dShape& s) {
  const size_t bytes = conv2d_forward_workspace(s);
  CallWorkspace ws(bytes);
  conv2d_forward(y, x, w, bias, s, ws.ptr, bytes);
}
void conv2d_backward_input(float* dx, const float* dy, const float* w, const Conv2dShape& s) {
  const size_t bytes = conv2d_backward_input_workspace(s);
  CallWorkspace ws(bytes);
  conv2d_backward_input(dx, dy, w, s, ws.ptr, bytes);
}
void conv2d_backward_weight(float* dw, const float* dy, const float* x, const Conv2dShape& s) {
  const size_t bytes = conv2d_backward_weight_workspace(s);
  CallWorkspace ws(bytes);
  conv2d_backward_weight(dw, dy, x, s, ws.ptr, bytes);
}

// ---- batch normalization ----------------------------------------------------------------

void batch_norm_forward_train(float* y, float* save_mean, float* save_invstd, float* running_mean, float* running_var,
                              const float* x, const float* gamma, const float* beta, const BatchNormShape& s,
                              float momentum, float eps) {
  if (s.c == 0) return;
  if (s.n * s.s == 0) throw gantry::cuda::CudaError("cudnn::batch_norm_forward_train: no values per channel (N*S = 0)");
  std::lock_guard lock(state_mutex);
  DeviceState& st = state();
  BatchNormDescs d(s);
  if (!gamma) gamma = constant(st.ones, st.ones_count, s.c, 1.f);
  if (!beta) beta = constant(st.zeros, st.zeros_count, s.c, 0.f);
  // cuDNN updates both running buffers or neither: a missing one is written to scratch.
  if ((running_mean == nullptr) != (running_var == nullptr)) {
    float* scratch = static_cast<float*>(st.scratch.reserve(sizeof(float) * s.c));
    if (!running_mean) running_mean = scratch;
    if (!running_var) running_var = scratch;
  }
  const float one = 1.f, zero = 0.f;
  CUDNN_CHECK(cudnnBatchNormalizationForwardTraining(st.handle, d.mode, &one, &zero, d.x.d, x, d.x.d, y, d.param.d,
                                                     gamma, beta, (double)momentum, running_mean, running_var,
                                                     (double)eps, save_mean, save_invstd));
}

void batch_norm_forward_eval(float* y, const float* x, const float* running_mean, const float* running_var,
                             const float* gamma, const float* beta, const BatchNormShape& s, float eps) {
  if (s.c == 0 || s.n * s.s == 0) return;
  std::lock_guard lock(state_mutex);
  DeviceState& st = state();
  BatchNormDescs d(s);
  if (!gamma) gamma = constant(st.ones, st.ones_count, s.c, 1.f);
  if (!beta) beta = constant(st.zeros, st.zeros_count, s.c, 0.f);
  const float one = 1.f, zero = 0.f;
  CUDNN_CHECK(cudnnBatchNormalizationForwardInference(st.handle, d.mode, &one, &zero, d.x.d, x, d.x.d, y, d.param.d,
                                                      gamma, beta, running_mean, running_var, (double)eps));
}

void batch_norm_backward(float* dx, float* dgamma, float* dbeta, const float* dy, const float* x,
                         const float* save_mean, const float* save_invstd, const float* gamma,
                         const BatchNormShape& s) {
  if (s.c == 0) return;
  if (s.n * s.s == 0) {
    if (dgamma) CUDA_CHECK(cudaMemsetAsync(dgamma, 0, sizeof(float) * s.c, nullptr));
    if (dbeta) CUDA_CHECK(cudaMemsetAsync(dbeta, 0, sizeof(float) * s.c, nullptr));
    return;
  }
  std::lock_guard lock(state_mutex);
  DeviceState& st = state();
  BatchNormDescs d(s);
  if (!gamma) gamma = constant(st.ones, st.ones_count, s.c, 1.f);
  if (!dgamma || !dbeta) {  // cuDNN always writes both
    float* scratch = static_cast<float*>(st.scratch.reserve(sizeof(float) * 2 * s.c));
    if (!dgamma) dgamma = scratch;
    if (!dbeta) dbeta = scratch + s.c;
  }
  const float one = 1.f, zero = 0.f;
  CUDNN_CHECK(cudnnBatchNormalizationBackward(st.handle, d.mode, &one, &zero, &one, &zero, d.x.d, x, d.x.d, dy, d.x.d,
                                              dx, d.param.d, gamma, dgamma, dbeta, kBackwardEpsilon, save_mean,
                                              save_invstd));
}

}  // namespace gantry::kernels::cudnn
