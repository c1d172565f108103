// The emulator's own tests: three classic kernels against plain CPU loops, each
// with a copy missing one __syncthreads that forward and random thread order must
// catch; barriers that can never complete; launch limits; atomics, votes; the
// fake cudart.
#include <doctest/doctest.h>

#include "test_util.hpp"

#include <cmath>
#include <random>
#include <vector>

#include "kernels/cuda/cuda_compat.cuh"

using gantry::emu::Order;

namespace {

// ---- kernel 1: tiled SGEMM, C[M,N] = A[M,K] @ B[K,N], one 16x16 tile per block -----------
constexpr int kTile = 16;

template <bool kSecondSync>
__global__ void sgemm_tiled(float* __restrict__ c, const float* __restrict__ a, const float* __restrict__ b, int m,
                            int n, int k) {
  __shared__ float as[kTile][kTile];
  __shared__ float bs[kTile][kTile];
  const int row = blockIdx.y * kTile + threadIdx.y, col = blockIdx.x * kTile + threadIdx.x;
  float acc = 0;
  for (int t = 0; t < k; t += kTile) {
    as[threadIdx.y][threadIdx.x] = (row < m && t + (int)threadIdx.x < k) ? a[row * k + t + threadIdx.x] : 0.f;
    bs[threadIdx.y][threadIdx.x] = (col < n && t + (int)threadIdx.y < k) ? b[(t + threadIdx.y) * n + col] : 0.f;
    __syncthreads();  // the tile is loaded
    for (int i = 0; i < kTile; ++i) acc += as[threadIdx.y][i] * bs[i][threadIdx.x];
    if (kSecondSync) __syncthreads();  // everyone is done reading before the next load
  }
  if (row < m && col < n) c[row * n + col] = acc;
}

// ---- kernel 2: sum by warp shuffles, then across warps through shared memory ----------------
__device__ float warp_sum(float v) {
  for (int offset = 16; offset > 0; offset /= 2) v += __shfl_down_sync(0xffffffffu, v, offset);
  return v;
}

template <bool kSync>
__global__ void shuffle_sum(float* __restrict__ out, const float* __restrict__ x, int n) {
  __shared__ float warp_sums[32];
  const int i = blockIdx.x * blockDim.x + threadIdx.x, lane = threadIdx.x % 32, warp = threadIdx.x / 32;
  float v = warp_sum(i < n ? x[i] : 0.f);
  if (lane == 0) warp_sums[warp] = v;
  if (kSync) __syncthreads();  // every warp's sum is written before warp 0 reads them
  if (warp == 0) {
    v = warp_sum(lane < (int)(blockDim.x / 32) ? warp_sums[lane] : 0.f);
    if (lane == 0) atomicAdd(out, v);
  }
}

// ---- kernel 3: shared-memory tree reduction, one partial sum per block ----------------------
template <bool kSync>
__global__ void tree_sum(float* __restrict__ partial, const float* __restrict__ x, int n) {
  DYNAMIC_SHARED(float, s);
  const int tid = threadIdx.x, i = blockIdx.x * blockDim.x + tid;
  s[tid] = i < n ? x[i] : 0.f;
  __syncthreads();
  for (int stride = blockDim.x / 2; stride > 0; stride /= 2) {
    if (tid < stride) s[tid] += s[tid + stride];
    if (kSync) __syncthreads();  // this level is summed before the next reads it
  }
  if (tid == 0) partial[blockIdx.x] = s[0];
}

// ---- device buffers -------------------------------------------------------------------------
template <class T>
T* to_device(const std::vector<T>& v) {
  T* d = nullptr;
  CUDA_CHECK(cudaMalloc(&d, v.size() * sizeof(T)));
  CUDA_CHECK(cudaMemcpy(d, v.data(), v.size() * sizeof(T), cudaMemcpyHostToDevice));
  return d;
}
template <class T>
std::vector<T> to_host(const T* d, size_t n) {
  std::vector<T> v(n);
  CUDA_CHECK(cudaMemcpy(v.data(), d, n * sizeof(T), cudaMemcpyDeviceToHost));
  return v;
}

// Runs the SGEMM on a 37x29 @ 29x41 problem (no size a multiple of 16); max abs error.
template <bool kSecondSync>
float sgemm_error() {
  const int m = 37, k = 29, n = 41;
  auto a = gantry::testing::random_values<float>(m * k, 1), b = gantry::testing::random_values<float>(k * n, 2);
  float *da = to_device(a), *db = to_device(b), *dc = to_device(std::vector<float>(m * n, NAN));
  CUDA_CHECK(launch(sgemm_tiled<kSecondSync>, dim3((n + kTile - 1) / kTile, (m + kTile - 1) / kTile),
                    dim3(kTile, kTile), 0, nullptr, dc, da, db, m, n, k));
  auto c = to_host(dc, m * n);
  float err = 0;
  for (int i = 0; i < m; ++i)
    for (int j = 0; j < n; ++j) {
      double ref = 0;
      for (int p = 0; p < k; ++p) ref += (double)a[i * k + p] * b[p * n + j];
      err = std::max(err, std::isnan(c[i * n + j]) ? INFINITY : (float)std::abs(c[i * n + j] - ref));
    }
  cudaFree(da), cudaFree(db), cudaFree(dc);
  return err;
}

template <bool kSync>
float shuffle_sum_error() {
  const int n = 1000;
  auto x = gantry::testing::random_values<float>(n, 3);
  float *dx = to_device(x), *dout = to_device(std::vector<float>{0.f});
  CUDA_CHECK(launch(shuffle_sum<kSync>, dim3((n + 255) / 256), dim3(256), 0, nullptr, dout, dx, n));
  double ref = 0;
  for (float v : x) ref += v;
  const float got = to_host(dout, 1)[0];
  cudaFree(dx), cudaFree(dout);
  return std::abs(got - (float)ref);
}

template <bool kSync>
float tree_sum_error() {
  const int n = 700, block = 128, blocks = (n + block - 1) / block;
  auto x = gantry::testing::random_values<float>(n, 4);
  float *dx = to_device(x), *dp = to_device(std::vector<float>(blocks, NAN));
  CUDA_CHECK(launch(tree_sum<kSync>, dim3(blocks), dim3(block), block * sizeof(float), nullptr, dp, dx, n));
  auto p = to_host(dp, blocks);
  float err = 0;
  for (int b = 0; b < blocks; ++b) {
    double ref = 0;
    for (int i = b * block; i < std::min(n, (b + 1) * block); ++i) ref += x[i];
    err = std::max(err, std::isnan(p[b]) ? INFINITY : (float)std::abs(p[b] - ref));
  }
  cudaFree(dx), cudaFree(dp);
  return err;
}

struct OrderGuard {
  explicit OrderGuard(Order o, uint64_t seed = 7) { gantry::emu::set_order(o, seed); }
  ~OrderGuard() { gantry::emu::set_order(Order::forward); }
};

}  // namespace

TEST_CASE("correct kernels match the CPU in every thread order") {
  for (Order o : {Order::forward, Order::reverse, Order::random}) {
    OrderGuard g(o);
    CHECK(sgemm_error<true>() < 1e-4f);
    CHECK(shuffle_sum_error<true>() < 1e-3f);
    CHECK(tree_sum_error<true>() < 1e-4f);
  }
}

TEST_CASE("a missing __syncthreads is caught by forward order and by random order") {
  for (Order o : {Order::forward, Order::random}) {
    OrderGuard g(o);
    INFO("order " << (o == Order::forward ? "forward" : "random"));
    CHECK(sgemm_error<false>() > 1e-3f);
    CHECK(shuffle_sum_error<false>() > 1e-3f);
    CHECK(tree_sum_error<false>() > 1e-3f);
  }
}

namespace {
__global__ void early_exit(float* out) {
  if (threadIdx.x == 3) return;  // never reaches the barrier below
  __syncthreads();
  out[threadIdx.x] = 1;
}
__global__ void early_exit_warp(float* out) {
  if (threadIdx.x == 5) return;
  out[threadIdx.x] = __shfl_sync(0xffffffffu, (float)threadIdx.x, 0);
}
__global__ void throws_inside(float*) {
  if (blockIdx.x == 1 && threadIdx.x == 2) throw std::runtime_error("boom");
}
__global__ void nothing(float*) {}
}  // namespace

TEST_CASE("a thread that never reaches a barrier is reported with its block and thread") {
  float* d = to_device(std::vector<float>(64, 0));
  cudaError_t e = launch(early_exit, dim3(2), dim3(8), 0, nullptr, d);
  CHECK(e == cudaErrorLaunchFailure);
  CHECK(gantry::emu::last_error_message().find("thread (3,0,0) of block (") != std::string::npos);
  CHECK(gantry::emu::last_error_message().find("__syncthreads") != std::string::npos);
  CHECK(cudaGetLastError() == cudaErrorLaunchFailure);
  CHECK(cudaGetLastError() == cudaSuccess);  // reading it resets it
  e = launch(early_exit_warp, dim3(1), dim3(32), 0, nullptr, d);
  CHECK(e == cudaErrorLaunchFailure);
  CHECK(gantry::emu::last_error_message().find(
            "thread (5,0,0) of block (0,0,0) exited without reaching the warp barrier") != std::string::npos);
  e = launch(throws_inside, dim3(3), dim3(4), 0, nullptr, d);
  CHECK(gantry::emu::last_error_message().find("thread (2,0,0) of block (1,0,0) threw: boom") != std::string::npos);
  CHECK_THROWS_WITH_AS(CUDA_CHECK(launch(early_exit, dim3(1), dim3(8), 0, nullptr, d)),
                       doctest::Contains("unspecified launch failure (thread (3,0,0)"), gantry::cuda::CudaError);
  cudaFree(d);
}

TEST_CASE("launch checks the configuration as a GPU does") {
  CHECK(launch(nothing, dim3(1), dim3(1025), 0, nullptr, nullptr) == cudaErrorInvalidConfiguration);
  CHECK(launch(nothing, dim3(1), dim3(32, 32, 2), 0, nullptr, nullptr) == cudaErrorInvalidConfiguration);
  CHECK(launch(nothing, dim3(1), dim3(1, 1, 65), 0, nullptr, nullptr) == cudaErrorInvalidConfiguration);
  CHECK(launch(nothing, dim3(1, 65536), dim3(1), 0, nullptr, nullptr) == cudaErrorInvalidConfiguration);
  CHECK(launch(nothing, dim3(0), dim3(1), 0, nullptr, nullptr) == cudaErrorInvalidConfiguration);
  CHECK(launch(nothing, dim3(1), dim3(1), 64 * 1024, nullptr, nullptr) == cudaErrorInvalidValue);
  CHECK(cudaFuncSetAttribute(reinterpret_cast<const void*>(nothing), cudaFuncAttributeMaxDynamicSharedMemorySize,
                             100 * 1024) == cudaSuccess);
  CHECK(launch(nothing, dim3(1), dim3(1), 64 * 1024, nullptr, nullptr) == cudaSuccess);
  CHECK(launch(nothing, dim3(1), dim3(1024), 0, nullptr, nullptr) == cudaSuccess);
  cudaGetLastError();
}

namespace {
__global__ void atomics(int* counter, float* fsum, float* fmax, int* imin, int* cas_winner) {
  const int id = blockIdx.x * blockDim.x + threadIdx.x;
  atomicAdd(counter, 1);
  atomicSub(counter, 2);
  atomicAdd(fsum, 0.5f);
  atomicMax(fmax, (float)id);
  atomicMin(imin, -id);
  atomicCAS(cas_winner, -1, id);  // exactly one thread wins
}
__global__ void votes(unsigned* ballot, int* any, int* all, float* xor_out) {
  const int lane = threadIdx.x;
  ballot[0] = __ballot_sync(0xffffffffu, lane % 3 == 0);
  any[0] = __any_sync(0xffffffffu, lane == 17);
  all[0] = __all_sync(0xffffffffu, lane < 32);
  all[1] = __all_sync(0xffffffffu, lane < 31);
  xor_out[lane] = __shfl_xor_sync(0xffffffffu, (float)lane, 1);
  __syncwarp();
  xor_out[32 + lane] = __shfl_up_sync(0xffffffffu, (float)lane, 2);
}
}  // namespace

TEST_CASE("atomics are atomic across blocks running in parallel; votes and shuffles") {
  int* counter = to_device(std::vector<int>{0});
  float* fsum = to_device(std::vector<float>{0});
  float* fmax = to_device(std::vector<float>{-1});
  int* imin = to_device(std::vector<int>{0});
  int* cas = to_device(std::vector<int>{-1});
  CUDA_CHECK(launch(atomics, dim3(64), dim3(64), 0, nullptr, counter, fsum, fmax, imin, cas));
  CHECK(to_host(counter, 1)[0] == -4096);
  CHECK(to_host(fsum, 1)[0] == 2048.0f);
  CHECK(to_host(fmax, 1)[0] == 4095.0f);
  CHECK(to_host(imin, 1)[0] == -4095);
  CHECK(to_host(cas, 1)[0] >= 0);
  unsigned* ballot = to_device(std::vector<unsigned>{0});
  int* any = to_device(std::vector<int>{0});
  int* all = to_device(std::vector<int>{0, 0});
  float* x = to_device(std::vector<float>(64, NAN));
  CUDA_CHECK(launch(votes, dim3(1), dim3(32), 0, nullptr, ballot, any, all, x));
  CHECK(to_host(ballot, 1)[0] == 0x49249249u);
  CHECK(to_host(any, 1)[0] == 1);
  CHECK(to_host(all, 2) == std::vector<int>{1, 0});
  auto xv = to_host(x, 64);
  CHECK(xv[4] == 5);
  CHECK(xv[5] == 4);
  CHECK(xv[32 + 1] == 1);  // below delta: keeps its own value
  CHECK(xv[32 + 7] == 5);
  for (void* p : {(void*)counter, (void*)fsum, (void*)fmax, (void*)imin, (void*)cas, (void*)ballot, (void*)any,
                  (void*)all, (void*)x})
    cudaFree(p);
}

TEST_CASE("the fake cudart: NaN-filled allocations, checked copies, streams and events") {
  float* d = nullptr;
  REQUIRE(cudaMalloc(&d, 4 * sizeof(float)) == cudaSuccess);
  auto fresh = to_host(d, 4);
  CHECK(std::isnan(fresh[0]));
  std::vector<float> h = {1, 2, 3, 4}, back(4);
  CHECK(cudaMemcpy(d, h.data(), 16, cudaMemcpyHostToDevice) == cudaSuccess);
  CHECK(cudaMemcpy(h.data(), d, 16, cudaMemcpyHostToDevice) == cudaErrorInvalidValue);  // wrong direction
  CHECK(cudaMemcpy(back.data(), h.data(), 16, cudaMemcpyDeviceToHost) == cudaErrorInvalidValue);
  CHECK(cudaMemcpy(d, h.data(), 32, cudaMemcpyHostToDevice) == cudaErrorInvalidValue);  // past the allocation
  cudaGetLastError();
  cudaStream_t s;
  cudaEvent_t a, b;
  CHECK(cudaStreamCreate(&s) == cudaSuccess);
  CHECK(cudaEventCreate(&a) == cudaSuccess);
  CHECK(cudaEventCreate(&b) == cudaSuccess);
  cudaEventRecord(a, s);
  CHECK(cudaMemsetAsync(d, 0, 8, s) == cudaSuccess);
  cudaEventRecord(b, s);
  CHECK(cudaStreamSynchronize(s) == cudaSuccess);
  float ms = -1;
  CHECK(cudaEventElapsedTime(&ms, a, b) == cudaSuccess);
  CHECK(ms >= 0);
  CHECK(to_host(d, 4) == std::vector<float>{0, 0, 3, 4});
  int count = 0;
  CHECK(cudaGetDeviceCount(&count) == cudaSuccess);
  CHECK(count == 1);
  CHECK(std::string(cudaGetErrorString(cudaErrorInvalidConfiguration)) == "invalid configuration argument");
  cudaEventDestroy(a), cudaEventDestroy(b), cudaStreamDestroy(s);
  CHECK(cudaFree(d) == cudaSuccess);
  CHECK(cudaFree(d) == cudaErrorInvalidValue);  // double free is caught
  cudaGetLastError();
}
