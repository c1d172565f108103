// kernels/cuda/conv.cu — conv2d's forward on the device; the backward passes (which are
// also conv_transpose2d) are in conv_backward.cu, the shared tile code in
// conv_common.cuh and tile_gemm.cuh (the tile GEMM SGEMM runs too).
// Walkthrough: docs/kernels/conv2d.md and docs/kernels/conv_transpose2d.md.
//
// Math (zero padding; stride sh, sw; padding ph, pw; dilation dh, dw):
//   y[n, co, oh, ow] = bias[co] + sum_{ci, kh, kw} x[n, ci, ih, iw] * w[co, ci, kh, kw]
//                      with ih = oh*sh - ph + kh*dh, iw = ow*sw - pw + kw*dw (0 outside x)
// Layout: dense NCHW. x [N, Cin, H, W], w [Cout, Cin, KH, KW], y [N, Cout, OH, OW], float32.
//
// Every pass is an implicit GEMM C[M, N] = A[M, K] @ B[K, N]: A and B are read from the
// tensors by index maps while a tile is staged, never materialised (no im2col buffer).
//   forward            M = Cout  N = N*OH*OW (n, oh, ow)  K = Cin*KH*KW (ci, kh, kw)
//                      A = w as it lies; B = x gathered at (ih, iw); C = y
//   backward input     M = Cin   N = N*H*W (n, h, w)      K = Cout*KH*KW (co, kh, kw)
//                      A[ci][co,kh,kw] = w[co, ci, kh, kw]; B = dy[n, co, oh, ow] where
//                      oh*sh = h + ph - kh*dh exactly (0 if not divisible or out of range)
//   backward weight    M = Cout  N = Cin*KH*KW            K = N*OH*OW: the sum over the batch
//                      A = dy [Cout][n, oh, ow]; B = x gathered at (ih, iw); C = dw
//
// Thread mapping of the tiled kernels (versions 2 and 3), as a loop nest by level:
//   for by < ceil(M/64), bx < ceil(N/64)        grid     -> one 64x64 tile of C
//     (for bz < splits                          grid     -> a slice of K: weight version 3)
//     for k0 = 0; k0 < K; k0 += 16              block    -> stage A[64x16] and B[16x64] in
//                                                           __shared__ (each of the 256
//                                                           threads gathers 4 + 4 values)
//       for ty < 16, tx < 16                    threads  -> a 4x4 register tile:
//         for kk < 16                           thread      rows ty + 16i, cols tx + 16j
//           for i < 4, j < 4                    registers
//             acc[i][j] += As[kk][ty+16i] * Bs[kk][tx+16j]
// A thread stages the same B column (forward, backward-input) in every stage, so it
// decodes that column's (n, oh, ow) once, before the K loop. Elements past an edge of M,
// N or K are staged as 0 and not stored: no shape is padded to a tile.
//
// Versions (KernelVersions::conv_* in versions.hpp picks the one the ops run):
//   forward
//     1  one thread per y element, loops over (ci, kh, kw): K global loads of x and w each
//     2  implicit GEMM, 64x64 tiles, 16 K a stage, 4x4 outputs a thread: every value
//        staged in shared memory feeds 64 FMAs of the block, each register 4
//   backward input (conv_backward.cu)
//     1  one thread per dx element, a gather over (co, kh, kw) of the taps that hit it
//     2  the same gather as an implicit GEMM with version 2's tiles
//   backward weight (conv_backward.cu)
//     1  one thread per dw element, loops over (n, oh, ow)
//     2  implicit GEMM, one block owns a 64x64 tile of dw and runs all of K = N*OH*OW
//     3  version 2's kernel with K split across grid.z into a workspace, then a
//        reduce kernel: dw has few tiles (DCGAN's first layer: one), so version 2 left
//        all but a handful of SMs idle
#include "kernels/cuda/conv_common.cuh"

namespace gantry::kernels::cuda {

using namespace conv_detail;

namespace {

// ---- version 1 --------------------------------------------------------------------------
__global__ void conv2d_forward_kernel1(float* __restrict__ y, const float* __restrict__ x, const float* __restrict__ w,
                                       const float* __restrict__ bias, Geometry g) {
  const int64_t total = (int64_t)g.n * g.c_out * g.oh * g.ow;
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < total; i += (int64_t)gridDim.x * blockDim.x) {
    const int e = (int)i;
    const int ow = e % g.ow, oh = e / g.ow % g.oh, co = e / (g.ow * g.oh) % g.c_out, n = e / (g.ow * g.oh * g.c_out);
    float acc = bias ? bias[co] : 0.f;
    for (int ci = 0; ci < g.c_in; ++ci)
      for (int kh = 0; kh < g.k_h; ++kh) {
        const int ih = oh * g.sh - g.ph + kh * g.dh;
        if (ih < 0 || ih >= g.h) continue;
        for (int kw = 0; kw < g.k_w; ++kw) {
          const int iw = ow * g.sw - g.pw + kw * g.dw;
          if (iw < 0 || iw >= g.w) continue;
          acc += x[((n * g.c_in + ci) * g.h + ih) * g.w + iw] * w[((co * g.c_in + ci) * g.k_h + kh) * g.k_w + kw];
        }
      }
    y[e] = acc;
  }
}

// ---- version 2 --------------------------------------------------------------------------
__global__ void conv2d_forward_kernel2(float* __restrict__ y, const float* __restrict__ x, const float* __restrict__ w,
                                       const float* __restrict__ bias, Geometry g) {
  __shared__ float as[kBK][kAPitch];  // A = w, transposed: as[k][co]
  __shared__ float bs[kBK][kBN];      // B = im2col(x):     bs[k][p]
  const int M = g.c_out, K = g.c_in * g.k_h * g.k_w, P = g.oh * g.ow, N = g.n * P;
  const int tx = threadIdx.x, ty = threadIdx.y, tid = ty * kThreadsX + tx;
  const int row0 = blockIdx.y * kBM, col0 = blockIdx.x * kBN;

  // The B column this thread stages in every stage, decoded once: p -> (n, oh, ow).
  const int b_col = tid % kBN, b_k = tid / kBN, p = col0 + b_col;
  const bool p_in = p < N;
  const int pn = p_in ? p / P : 0, pix = p % P;
  const int ih0 = pix / g.ow * g.sh - g.ph, iw0 = pix % g.ow * g.sw - g.pw;
  const float* xn = x + (size_t)pn * g.c_in * g.h * g.w;
  // The A column (k within the stage) this thread stages; its rows step by kThreads / kBK.
  const int a_k = tid % kBK, a_m = tid / kBK;

  float acc[kPerThread][kPerThread] = {};
  for (int k0 = 0; k0 < K; k0 += kBK) {
    for (int r = 0; r < kALoads; ++r) {
      const int m = a_m + r * (kThreads / kBK), co = row0 + m, k = k0 + a_k;
      as[a_k][m] = (co < M && k < K) ? w[co * K + k] : 0.f;
    }
    for (int r = 0; r < kBLoads; ++r) {
      const int kk = b_k + r * (kThreads / kBN), k = k0 + kk;
      bs[kk][b_col] = (p_in && k < K) ? im2col_at(xn, g, k, ih0, iw0) : 0.f;
    }
    __syncthreads();  // the tiles are staged
    multiply_stage(acc, as, bs, tx, ty);
    __syncthreads();  // everyone has read them before the next stage overwrites
  }

  for (int j = 0; j < kPerThread; ++j) {
    const int q = col0 + tx + kThreadsX * j;
    if (q >= N) continue;
    const int n = q / P, q_pix = q % P;
    for (int i = 0; i < kPerThread; ++i) {
      const int co = row0 + ty + kThreadsY * i;
      if (co < M) y[((size_t)n * M + co) * P + q_pix] = acc[i][j] + (bias ? bias[co] : 0.f);
    }
  }
}

}  // namespace

void conv2d_forward(float* y, const float* x, const float* w, const float* bias, const Conv2dShape& s, int version) {
  const Geometry g = to_geometry(s, "conv2d_forward");
  const int64_t outputs = (int64_t)g.n * g.c_out * g.oh * g.ow;
  if (outputs == 0) return;
  if (version == 0) version = kernel_versions().conv_forward;
  switch (version) {
    case 1:
      CUDA_CHECK(launch(conv2d_forward_kernel1, dim3(grid_stride_blocks(outputs)), dim3(kGridStrideThreads), 0, nullptr,
                        y, x, w, bias, g));
      break;
    case 2:
      CUDA_CHECK(launch(conv2d_forward_kernel2,
                        dim3(blocks_for((int64_t)g.n * g.oh * g.ow, kBN), blocks_for(g.c_out, kBM)),
                        dim3(kThreadsX, kThreadsY), 0, nullptr, y, x, w, bias, g));
      break;
    default:
      throw gantry::cuda::CudaError("conv2d_forward: no version " + std::to_string(version) + " (1.." +
                                    std::to_string(kConvVersions) + ")");
  }
}

void conv2d_forward(float* y, const float* x, const float* w, const float* bias, const Conv2dShape& s) {
  conv2d_forward(y, x, w, bias, s, 0);
}

}  // namespace gantry::kernels::cuda
