// kernels/cuda/conv_backward.cu — conv2d's two backward passes on the device. The math,
// the implicit-GEMM loop nest and the version table are in conv.cu's header; the
// derivations in docs/kernels/conv2d.md.
//
//   backward input:  dx[n, ci, h, w] = sum_{co, kh, kw} dy[n, co, oh, ow] * w[co, ci, kh, kw]
//                    over the taps with oh*sh = h + ph - kh*dh and ow*sw = w + pw - kw*dw
//                    exactly (divisible, in range). A gather: every dx element is owned by
//                    one (thread, register slot), so no atomics. Also conv_transpose2d.
//   backward weight: dw[co, ci, kh, kw] = sum_{n, oh, ow} dy[n, co, oh, ow] * x[n, ci, ih, iw]
//                    with ih, iw as in the forward; the sum over the batch and the pixels is
//                    the GEMM's K, owned by one block (version 2) or split over grid.z into
//                    a workspace and summed by a second kernel (version 3).
#include <algorithm>
#include <mutex>

#include "kernels/cuda/conv_common.cuh"

namespace gantry::kernels::cuda {

using namespace conv_detail;

namespace {

// Version 3 splits K until about this many blocks are running (an H100 has 132 SMs)...
constexpr int kWeightTargetBlocks = 264;
// ... but never below this much K a block (16 stages): the workspace traffic would then
// cost more than the parallelism gains.
constexpr int kWeightMinKPerSplit = 256;

// ---- backward input, version 1 ----------------------------------------------------------
__global__ void conv2d_backward_input_kernel1(float* __restrict__ dx, const float* __restrict__ dy,
                                              const float* __restrict__ w, Geometry g) {
  const int64_t total = (int64_t)g.n * g.c_in * g.h * g.w;
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < total; i += (int64_t)gridDim.x * blockDim.x) {
    const int e = (int)i;
    const int iw = e % g.w, ih = e / g.w % g.h, ci = e / (g.w * g.h) % g.c_in, n = e / (g.w * g.h * g.c_in);
    float acc = 0.f;
    for (int co = 0; co < g.c_out; ++co)
      for (int kh = 0; kh < g.k_h; ++kh) {
        const int th = ih + g.ph - kh * g.dh;  // = oh * sh for the output row this tap came from
        if (th < 0 || th % g.sh != 0 || th / g.sh >= g.oh) continue;
        for (int kw = 0; kw < g.k_w; ++kw) {
          const int tw = iw + g.pw - kw * g.dw;
          if (tw < 0 || tw % g.sw != 0 || tw / g.sw >= g.ow) continue;
          acc += dy[((n * g.c_out + co) * g.oh + th / g.sh) * g.ow + tw / g.sw] *
                 w[((co * g.c_in + ci) * g.k_h + kh) * g.k_w + kw];
        }
      }
    dx[e] = acc;
  }
}

// ---- backward input, version 2: M = Cin, N = N*H*W, K = Cout*KH*KW ---------------------
__global__ void conv2d_backward_input_kernel2(float* __restrict__ dx, const float* __restrict__ dy,
                                              const float* __restrict__ w, Geometry g) {
  __shared__ float as[kBK][kAPitch];  // as[k = (co, kh, kw)][ci] = w[co, ci, kh, kw]
  __shared__ float bs[kBK][kBN];      // bs[k][q = (n, h, w)]     = dy at the tap, or 0
  const int taps = g.k_h * g.k_w, M = g.c_in, K = g.c_out * taps, HW = g.h * g.w, N = g.n * HW, P = g.oh * g.ow;
  const int tx = threadIdx.x, ty = threadIdx.y, tid = ty * kThreadsX + tx;
  const int row0 = blockIdx.y * kBM, col0 = blockIdx.x * kBN;

  // The dx pixel (B column) this thread stages in every stage, decoded once.
  const int b_col = tid % kBN, b_k = tid / kBN, q = col0 + b_col;
  const bool q_in = q < N;
  const int qn = q_in ? q / HW : 0, hp = q % HW / g.w + g.ph, wp = q % g.w + g.pw;
  const float* dyn = dy + (size_t)qn * g.c_out * P;
  const int a_k = tid % kBK, a_m = tid / kBK;

  float acc[kPerThread][kPerThread] = {};
  for (int k0 = 0; k0 < K; k0 += kBK) {
    const int ka = k0 + a_k, a_co = ka / taps, a_tap = ka % taps;  // this thread's A column
    for (int r = 0; r < kALoads; ++r) {
      const int m = a_m + r * (kThreads / kBK), ci = row0 + m;
      as[a_k][m] = (ci < M && ka < K) ? w[(a_co * g.c_in + ci) * taps + a_tap] : 0.f;
    }
    for (int r = 0; r < kBLoads; ++r) {
      const int kk = b_k + r * (kThreads / kBN), k = k0 + kk;
      bs[kk][b_col] = (q_in && k < K) ? col2im_at(dyn, g, k, hp, wp) : 0.f;
    }
    __syncthreads();  // the tiles are staged
    multiply_stage(acc, as, bs, tx, ty);
    __syncthreads();  // everyone has read them before the next stage overwrites
  }

  for (int j = 0; j < kPerThread; ++j) {
    const int c = col0 + tx + kThreadsX * j;
    if (c >= N) continue;
    const int n = c / HW, hw = c % HW;
    for (int i = 0; i < kPerThread; ++i) {
      const int ci = row0 + ty + kThreadsY * i;
      if (ci < M) dx[((size_t)n * M + ci) * HW + hw] = acc[i][j];
    }
  }
}

// ---- backward weight, version 1 ---------------------------------------------------------
__global__ void conv2d_backward_weight_kernel1(float* __restrict__ dw, const float* __restrict__ dy,
                                               const float* __restrict__ x, Geometry g) {
  const int64_t total = (int64_t)g.c_out * g.c_in * g.k_h * g.k_w;
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < total; i += (int64_t)gridDim.x * blockDim.x) {
    const int e = (int)i;
    const int kw = e % g.k_w, kh = e / g.k_w % g.k_h, ci = e / (g.k_w * g.k_h) % g.c_in,
              co = e / (g.k_w * g.k_h * g.c_in);
    float acc = 0.f;
    for (int n = 0; n < g.n; ++n)
      for (int oh = 0; oh < g.oh; ++oh) {
        const int ih = oh * g.sh - g.ph + kh * g.dh;
        if (ih < 0 || ih >= g.h) continue;
        for (int ow = 0; ow < g.ow; ++ow) {
          const int iw = ow * g.sw - g.pw + kw * g.dw;
          if (iw < 0 || iw >= g.w) continue;
          acc += dy[((n * g.c_out + co) * g.oh + oh) * g.ow + ow] * x[((n * g.c_in + ci) * g.h + ih) * g.w + iw];
        }
      }
    dw[e] = acc;
  }
}

// ---- backward weight, versions 2 and 3: M = Cout, N = Cin*KH*KW, K = N*OH*OW ------------
// Block (bx, by, bz) sums k in [bz * k_per_split, (bz + 1) * k_per_split) into
// out + bz * M * N: dw itself when there is one split, else a workspace slice.
__global__ void conv2d_backward_weight_kernel2(float* __restrict__ out, const float* __restrict__ dy,
                                               const float* __restrict__ x, Geometry g, int k_per_split) {
  __shared__ float as[kBK][kAPitch];  // as[k = (n, oh, ow)][co]        = dy[n, co, oh, ow]
  __shared__ float bs[kBK][kBN];      // bs[k][c = (ci, kh, kw)]        = x at the tap, or 0
  const int taps = g.k_h * g.k_w, M = g.c_out, N = g.c_in * taps, P = g.oh * g.ow, K = g.n * P;
  const int tx = threadIdx.x, ty = threadIdx.y, tid = ty * kThreadsX + tx;
  const int row0 = blockIdx.y * kBM, col0 = blockIdx.x * kBN;
  const int k_begin = blockIdx.z * k_per_split, k_end = K - k_begin < k_per_split ? K : k_begin + k_per_split;

  // The weight tap (B column) this thread stages in every stage, decoded once.
  const int b_col = tid % kBN, b_k = tid / kBN, c = col0 + b_col;
  const bool c_in_range = c < N;
  const int ci = c / taps, kh_off = c % taps / g.k_w * g.dh - g.ph, kw_off = c % g.k_w * g.dw - g.pw;
  const int a_k = tid % kBK, a_m = tid / kBK;

  float acc[kPerThread][kPerThread] = {};
  for (int k0 = k_begin; k0 < k_end; k0 += kBK) {
    const int ka = k0 + a_k, a_n = ka / P, a_pix = ka % P;  // this thread's A column
    for (int r = 0; r < kALoads; ++r) {
      const int m = a_m + r * (kThreads / kBK), co = row0 + m;
      as[a_k][m] = (co < M && ka < k_end) ? dy[((size_t)a_n * M + co) * P + a_pix] : 0.f;
    }
    for (int r = 0; r < kBLoads; ++r) {
      const int kk = b_k + r * (kThreads / kBN), k = k0 + kk;
      bs[kk][b_col] = (c_in_range && k < k_end) ? weight_tap_at(x, g, k, ci, kh_off, kw_off, 1.f) : 0.f;
    }
    __syncthreads();  // the tiles are staged
    multiply_stage(acc, as, bs, tx, ty);
    __syncthreads();  // everyone has read them before the next stage overwrites
  }

  store_tile(out + (size_t)blockIdx.z * M * N, acc, M, N, row0, col0, tx, ty);
}

// Version 3's K per block (a multiple of kBK): split K until tiles * splits reaches
// kWeightTargetBlocks, keeping at least kWeightMinKPerSplit a block. All of K when K < 2 of those.
int weight_k_per_split(int64_t K, int64_t tiles) {
  const int64_t by_parallelism = blocks_for(kWeightTargetBlocks, (int)tiles);
  const int64_t by_work = std::max<int64_t>(1, K / kWeightMinKPerSplit);
  const int64_t splits = std::min(by_parallelism, by_work);
  return (int)std::max<int64_t>(kBK, blocks_for(blocks_for(K, (int)splits), kBK) * kBK);
}

}  // namespace

void conv2d_backward_input(float* dx, const float* dy, const float* w, const Conv2dShape& s, int version) {
  const Geometry g = to_geometry(s, "conv2d_backward_input");
  const int64_t outputs = (int64_t)g.n * g.c_in * g.h * g.w;
  if (outputs == 0) return;
  if (version == 0) version = kernel_versions().conv_backward_input;
  switch (version) {
    case 1:
      CUDA_CHECK(launch(conv2d_backward_input_kernel1, dim3(grid_stride_blocks(outputs)), dim3(kGridStrideThreads), 0,
                        nullptr, dx, dy, w, g));
      break;
    case 2:
      CUDA_CHECK(launch(conv2d_backward_input_kernel2,
                        dim3(blocks_for((int64_t)g.n * g.h * g.w, kBN), blocks_for(g.c_in, kBM)),
                        dim3(kThreadsX, kThreadsY), 0, nullptr, dx, dy, w, g));
      break;
    default:
      throw gantry::cuda::CudaError("conv2d_backward_input: no version " + std::to_string(version) + " (1.." +
                                    std::to_string(kConvVersions) + ")");
  }
}

size_t conv2d_backward_weight_workspace(const Conv2dShape& s, int version) {
  const Geometry g = to_geometry(s, "conv2d_backward_weight");
  const int64_t M = g.c_out, N = (int64_t)g.c_in * g.k_h * g.k_w, K = (int64_t)g.n * g.oh * g.ow;
  if (version == 0) version = kernel_versions().conv_backward_weight;
  if (M * N == 0 || version != 3) return 0;
  const int splits = (int)blocks_for(K, weight_k_per_split(K, (int64_t)blocks_for(N, kBN) * blocks_for(M, kBM)));
  return splits <= 1 ? 0 : (size_t)splits * M * N;
}

void conv2d_backward_weight(float* dw, const float* dy, const float* x, const Conv2dShape& s, float* workspace,
                            int version) {
  const Geometry g = to_geometry(s, "conv2d_backward_weight");
  const int64_t M = g.c_out, N = (int64_t)g.c_in * g.k_h * g.k_w, K = (int64_t)g.n * g.oh * g.ow;
  if (M * N == 0) return;
  if (version == 0) version = kernel_versions().conv_backward_weight;
  const dim3 tiles(blocks_for(N, kBN), blocks_for(M, kBM)), threads(kThreadsX, kThreadsY);
  const int whole_k = (int)(blocks_for(K, kBK) * kBK);  // one split: all of K (0 when the batch is empty)
  switch (version) {
    case 1:
      CUDA_CHECK(launch(conv2d_backward_weight_kernel1, dim3(grid_stride_blocks(M * N)), dim3(kGridStrideThreads), 0,
                        nullptr, dw, dy, x, g));
      break;
    case 2:
      CUDA_CHECK(launch(conv2d_backward_weight_kernel2, tiles, threads, 0, nullptr, dw, dy, x, g, whole_k));
      break;
    case 3: {
      const int k_per_split = weight_k_per_split(K, (int64_t)tiles.x * tiles.y);
      const int splits = (int)blocks_for(K, k_per_split);
      if (splits <= 1) {
        CUDA_CHECK(launch(conv2d_backward_weight_kernel2, tiles, threads, 0, nullptr, dw, dy, x, g, whole_k));
        break;
      }
      KERNEL_CHECK(workspace, "conv2d_backward_weight: version 3 splits K and needs a workspace");
      float* partial = workspace;
      CUDA_CHECK(launch(conv2d_backward_weight_kernel2, dim3(tiles.x, tiles.y, splits), threads, 0, nullptr, partial,
                        dy, x, g, k_per_split));
      CUDA_CHECK(launch(sum_splits_kernel<float>, dim3(grid_stride_blocks(M * N)), dim3(kGridStrideThreads), 0, nullptr,
                        dw, partial, splits, M * N));
      break;
    }
    default:
      throw gantry::cuda::CudaError("conv2d_backward_weight: no version " + std::to_string(version) + " (1.." +
                                    std::to_string(kConvWeightVersions) + ")");
  }
}

void conv2d_backward_input(float* dx, const float* dy, const float* w, const Conv2dShape& s) {
  conv2d_backward_input(dx, dy, w, s, 0);
}

void conv2d_backward_weight(float* dw, const float* dy, const float* x, const Conv2dShape& s, int version) {
  const size_t floats = conv2d_backward_weight_workspace(s, version);
  float* workspace = nullptr;
  if (floats) CUDA_CHECK(cudaMalloc(&workspace, floats * sizeof(float)));
  try {
    conv2d_backward_weight(dw, dy, x, s, workspace, version);
  } catch (...) {
    cudaFree(workspace);
    throw;
  }
  if (workspace) CUDA_CHECK(cudaFree(workspace));
}

void conv2d_backward_weight(float* dw, const float* dy, const float* x, const Conv2dShape& s) {
  conv2d_backward_weight(dw, dy, x, s, 0);
}

}  // namespace gantry::kernels::cuda
