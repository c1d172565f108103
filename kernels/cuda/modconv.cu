// kernels/cuda/modconv.cu — the fused modulated convolution (StyleGAN2): forward,
// backward-input and backward-weight. Walkthrough: docs/kernels/modulated_conv2d.md.
//
// Math (conv2d's geometry: stride sh, sw; padding ph, pw; dilation dh, dw; zero padding):
//   w'[n, co, ci, kh, kw] = d[n, co] * w[co, ci, kh, kw] * s[n, ci]       (s, d: 1 when null)
//   forward           y[n, co, oh, ow] = sum_{ci, kh, kw} w'[n, co, ci, kh, kw] x[n, ci, ih, iw]
//                     ih = oh*sh - ph + kh*dh, iw = ow*sw - pw + kw*dw (0 outside x)
//   backward input    dx[n, ci, h, w] = sum_{co, kh, kw} w'[n, co, ci, kh, kw] dy[n, co, oh, ow]
//                     over the taps with oh*sh = h + ph - kh*dh, ow*sw = w + pw - kw*dw exactly
//   backward weight   dw[co, ci, kh, kw] = sum_{n, oh, ow} (d[n, co] dy[n, co, oh, ow]) (s[n, ci] x[n, ci, ih, iw])
// (the styles' gradient is sum_hw x * backward_input(s = 1), composed in core/ops/modconv.cpp;
// the demodulation's is sum_hw dy * forward(d = 1)).
// Layout: dense NCHW, float32. x [N, Cin, H, W], w [Cout, Cin, KH, KW], s [N, Cin], d [N, Cout],
// y [N, Cout, OH, OW].
//
// Each pass is conv.cu's implicit GEMM C[M, N] = A[M, K] B[K, N] with its 64x64x16 tiles
// (tile_gemm.cuh); what changes is that w', which differs per sample, is formed while
// the A tile is staged, so forward and backward-input give each sample its own grid.z:
//   forward          z = n   M = Cout  N = OH*OW   K = Cin*KH*KW   A[co][k] = w[co, k] s[n, ci(k)] d[n, co]
//   backward input   z = n   M = Cin   N = H*W     K = Cout*KH*KW  A[ci][(co,kh,kw)] = w[co, ci, kh, kw] s[n, ci] d[n,
//   co] backward weight  z = K split       M = Cout  N = Cin*KH*KW  K = N*OH*OW
//                                      A[co][(n,p)] = d[n, co] dy[n, co, p]; B = s[n, ci] x at the tap
// Loop nest (every pass):
//   for bz (sample, or K slice), by < ceil(M/64), bx < ceil(N/64)   grid    -> a 64x64 tile of C
//     for k0 = 0; k0 < K; k0 += 16                                   block   -> stage A[64x16], B[16x64]
//                                                                               in __shared__, scaled
//       for ty < 16, tx < 16                                         threads -> 4x4 outputs each
//         for kk < 16; for i < 4, j < 4                              registers: acc += As * Bs
// The per-row scale of A that does not change along K (d[n, co] forward, s[n, ci] backward
// input) is read once per thread before the K loop; the other is read per staged element
// (one float from a [N, C] table that stays in L1). Edges of M, N, K are staged as 0.
// Versions: 1 (this one). The backward weight splits K over grid.z into a workspace and sums
// the slices in order (deterministic), as conv_backward.cu's version 3 does.
#include <algorithm>
#include <mutex>

#include "kernels/cuda/conv_common.cuh"
#include "kernels/cuda/modconv.cuh"

namespace gantry::kernels::cuda {

using namespace conv_detail;

namespace {

constexpr int kRowStep = kThreads / kBK;   // rows of the A tile between one thread's loads (16)
constexpr int kModconvTargetBlocks = 264;  // backward weight: split K until about this many blocks
constexpr int kModconvMinKPerSplit = 256;  // ... but keep at least this much K a block

// ---- forward: grid (OH*OW / 64, Cout / 64, N) --------------------------------------------
__global__ void modconv2d_forward_kernel(float* __restrict__ y, const float* __restrict__ x,
                                         const float* __restrict__ w, const float* __restrict__ s,
                                         const float* __restrict__ d, Geometry g) {
  __shared__ float as[kBK][kAPitch];  // as[k][co] = w[co, k] s[n, ci(k)] d[n, co]
  __shared__ float bs[kBK][kBN];      // bs[k][p]  = x[n] at the tap
  const int n = blockIdx.z, taps = g.k_h * g.k_w;
  const int M = g.c_out, K = g.c_in * taps, P = g.oh * g.ow;
  const int tx = threadIdx.x, ty = threadIdx.y, tid = ty * kThreadsX + tx;
  const int row0 = blockIdx.y * kBM, col0 = blockIdx.x * kBN;
  const float* xn = x + (size_t)n * g.c_in * g.h * g.w;

  // The B column (output pixel of sample n) this thread stages in every stage.
  const int b_col = tid % kBN, b_k = tid / kBN, p = col0 + b_col;
  const bool p_in = p < P;
  const int ih0 = p / g.ow * g.sh - g.ph, iw0 = p % g.ow * g.sw - g.pw;
  // The A column (k within a stage) and rows this thread stages; d[n, co] of those rows.
  const int a_k = tid % kBK, a_m = tid / kBK;
  float row_scale[kALoads];
  for (int r = 0; r < kALoads; ++r) {
    const int co = row0 + a_m + r * kRowStep;
    row_scale[r] = (d && co < M) ? d[n * M + co] : 1.f;
  }

  float acc[kPerThread][kPerThread] = {};
  for (int k0 = 0; k0 < K; k0 += kBK) {
    const int k = k0 + a_k;
    const float style = (s && k < K) ? s[n * g.c_in + k / taps] : 1.f;
    for (int r = 0; r < kALoads; ++r) {
      const int m = a_m + r * kRowStep, co = row0 + m;
      as[a_k][m] = (co < M && k < K) ? w[(size_t)co * K + k] * style * row_scale[r] : 0.f;
    }
    for (int r = 0; r < kBLoads; ++r) {
      const int kk = b_k + r * (kThreads / kBN), kb = k0 + kk;
      bs[kk][b_col] = (p_in && kb < K) ? im2col_at(xn, g, kb, ih0, iw0) : 0.f;
    }
    __syncthreads();  // the tiles are staged
    multiply_stage(acc, as, bs, tx, ty);
    __syncthreads();  // everyone has read them before the next stage overwrites
  }

  store_tile(y + (size_t)n * M * P, acc, M, P, row0, col0, tx, ty);  // y[n] as [Cout][OH*OW]
}

// ---- backward input: grid (H*W / 64, Cin / 64, N) ----------------------------------------
__global__ void modconv2d_backward_input_kernel(float* __restrict__ dx, const float* __restrict__ dy,
                                                const float* __restrict__ w, const float* __restrict__ s,
                                                const float* __restrict__ d, Geometry g) {
  __shared__ float as[kBK][kAPitch];  // as[k = (co, kh, kw)][ci] = w[co, ci, kh, kw] s[n, ci] d[n, co]
  __shared__ float bs[kBK][kBN];      // bs[k][q = (h, w)]        = dy[n] at the tap, or 0
  const int n = blockIdx.z, taps = g.k_h * g.k_w, M = g.c_in, K = g.c_out * taps, HW = g.h * g.w;
  const int tx = threadIdx.x, ty = threadIdx.y, tid = ty * kThreadsX + tx;
  const int row0 = blockIdx.y * kBM, col0 = blockIdx.x * kBN;
  const float* dyn = dy + (size_t)n * g.c_out * g.oh * g.ow;

  const int b_col = tid % kBN, b_k = tid / kBN, q = col0 + b_col;
  const bool q_in = q < HW;
  const int hp = q / g.w + g.ph, wp = q % g.w + g.pw;
  const int a_k = tid % kBK, a_m = tid / kBK;
  float row_scale[kALoads];  // s[n, ci] of this thread's A rows
  for (int r = 0; r < kALoads; ++r) {
    const int ci = row0 + a_m + r * kRowStep;
    row_scale[r] = (s && ci < M) ? s[n * M + ci] : 1.f;
  }

  float acc[kPerThread][kPerThread] = {};
  for (int k0 = 0; k0 < K; k0 += kBK) {
    const int ka = k0 + a_k, a_co = ka / taps, a_tap = ka % taps;
    const float demod = (d && ka < K) ? d[n * g.c_out + a_co] : 1.f;
    for (int r = 0; r < kALoads; ++r) {
      const int m = a_m + r * kRowStep, ci = row0 + m;
      as[a_k][m] = (ci < M && ka < K) ? w[((size_t)a_co * g.c_in + ci) * taps + a_tap] * row_scale[r] * demod : 0.f;
    }
    for (int r = 0; r < kBLoads; ++r) {
      const int kk = b_k + r * (kThreads / kBN), k = k0 + kk;
      bs[kk][b_col] = (q_in && k < K) ? col2im_at(dyn, g, k, hp, wp) : 0.f;
    }
    __syncthreads();  // the tiles are staged
    multiply_stage(acc, as, bs, tx, ty);
    __syncthreads();  // everyone has read them before the next stage overwrites
  }

  store_tile(dx + (size_t)n * M * HW, acc, M, HW, row0, col0, tx, ty);  // dx[n] as [Cin][H*W]
}

// ---- backward weight: grid (Cin*KH*KW / 64, Cout / 64, splits) ---------------------------
// Block (bx, by, bz) sums k in [bz * k_per_split, ...) into out + bz * M * N.
__global__ void modconv2d_backward_weight_kernel(float* __restrict__ out, const float* __restrict__ dy,
                                                 const float* __restrict__ x, const float* __restrict__ s,
                                                 const float* __restrict__ d, Geometry g, int k_per_split) {
  __shared__ float as[kBK][kAPitch];  // as[k = (n, oh, ow)][co] = d[n, co] dy[n, co, oh, ow]
  __shared__ float bs[kBK][kBN];      // bs[k][c = (ci, kh, kw)] = s[n, ci] x at the tap, or 0
  const int taps = g.k_h * g.k_w, M = g.c_out, N = g.c_in * taps, P = g.oh * g.ow, K = g.n * P;
  const int tx = threadIdx.x, ty = threadIdx.y, tid = ty * kThreadsX + tx;
  const int row0 = blockIdx.y * kBM, col0 = blockIdx.x * kBN;
  const int k_begin = blockIdx.z * k_per_split, k_end = K - k_begin < k_per_split ? K : k_begin + k_per_split;

  const int b_col = tid % kBN, b_k = tid / kBN, c = col0 + b_col;
  const bool c_in_range = c < N;
  const int ci = c / taps, kh_off = c % taps / g.k_w * g.dh - g.ph, kw_off = c % g.k_w * g.dw - g.pw;
  const int a_k = tid % kBK, a_m = tid / kBK;

  float acc[kPerThread][kPerThread] = {};
  for (int k0 = k_begin; k0 < k_end; k0 += kBK) {
    const int ka = k0 + a_k, a_n = ka / P, a_pix = ka % P;
    for (int r = 0; r < kALoads; ++r) {
      const int m = a_m + r * kRowStep, co = row0 + m;
      float v = 0.f;
      if (co < M && ka < k_end) v = dy[((size_t)a_n * M + co) * P + a_pix] * (d ? d[a_n * M + co] : 1.f);
      as[a_k][m] = v;
    }
    for (int r = 0; r < kBLoads; ++r) {
      const int kk = b_k + r * (kThreads / kBN), k = k0 + kk;
      const float style = (s && c_in_range && k < k_end) ? s[k / P * g.c_in + ci] : 1.f;  // s[n, ci]
      bs[kk][b_col] = (c_in_range && k < k_end) ? weight_tap_at(x, g, k, ci, kh_off, kw_off, style) : 0.f;
    }
    __syncthreads();  // the tiles are staged
    multiply_stage(acc, as, bs, tx, ty);
    __syncthreads();  // everyone has read them before the next stage overwrites
  }

  store_tile(out + (size_t)blockIdx.z * M * N, acc, M, N, row0, col0, tx, ty);
}

// K per split (a multiple of kBK) and the number of splits: enough splits to fill the GPU,
// each at least kModconvMinKPerSplit of K.
int modconv_splits(int64_t M, int64_t N, int64_t K, int* k_per_split) {
  const int64_t tiles = (int64_t)blocks_for(N, kBN) * blocks_for(M, kBM);
  const int64_t splits_wanted =
      std::min<int64_t>(blocks_for(kModconvTargetBlocks, (int)tiles), std::max<int64_t>(1, K / kModconvMinKPerSplit));
  *k_per_split = (int)std::max<int64_t>(kBK, (int64_t)blocks_for(blocks_for(K, (int)splits_wanted), kBK) * kBK);
  return (int)std::max<int64_t>(1, blocks_for(K, *k_per_split));
}

}  // namespace

void modconv2d_forward(float* y, const float* x, const float* w, const float* s, const float* d,
                       const Conv2dShape& shape) {
  const Geometry g = to_geometry(shape, "modconv2d_forward");
  if ((int64_t)g.n * g.c_out * g.oh * g.ow == 0) return;
  CUDA_CHECK(launch(modconv2d_forward_kernel,
                    dim3(blocks_for((int64_t)g.oh * g.ow, kBN), blocks_for(g.c_out, kBM), g.n),
                    dim3(kThreadsX, kThreadsY), 0, nullptr, y, x, w, s, d, g));
}

void modconv2d_backward_input(float* dx, const float* dy, const float* w, const float* s, const float* d,
                              const Conv2dShape& shape) {
  const Geometry g = to_geometry(shape, "modconv2d_backward_input");
  if ((int64_t)g.n * g.c_in * g.h * g.w == 0) return;
  CUDA_CHECK(launch(modconv2d_backward_input_kernel,
                    dim3(blocks_for((int64_t)g.h * g.w, kBN), blocks_for(g.c_in, kBM), g.n), dim3(kThreadsX, kThreadsY),
                    0, nullptr, dx, dy, w, s, d, g));
}

size_t modconv2d_backward_weight_workspace(const Conv2dShape& shape) {
  const Geometry g = to_geometry(shape, "modconv2d_backward_weight");
  const int64_t M = g.c_out, N = (int64_t)g.c_in * g.k_h * g.k_w, K = (int64_t)g.n * g.oh * g.ow;
  if (M * N == 0) return 0;
  int k_per_split = 0;
  const int splits = modconv_splits(M, N, K, &k_per_split);
  return splits == 1 ? 0 : (size_t)splits * M * N;
}

void modconv2d_backward_weight(float* dw, const float* dy, const float* x, const float* s, const float* d,
                               const Conv2dShape& shape, float* workspace) {
  const Geometry g = to_geometry(shape, "modconv2d_backward_weight");
  const int64_t M = g.c_out, N = (int64_t)g.c_in * g.k_h * g.k_w, K = (int64_t)g.n * g.oh * g.ow;
  if (M * N == 0) return;
  const dim3 tiles(blocks_for(N, kBN), blocks_for(M, kBM)), threads(kThreadsX, kThreadsY);
  int k_per_split = 0;
  const int splits = modconv_splits(M, N, K, &k_per_split);
  if (splits == 1) {
    CUDA_CHECK(launch(modconv2d_backward_weight_kernel, tiles, threads, 0, nullptr, dw, dy, x, s, d, g,
                      (int)std::max<int64_t>(kBK, (int64_t)blocks_for(K, kBK) * kBK)));
    return;
  }
  KERNEL_CHECK(workspace, "modconv2d_backward_weight: K is split and needs a workspace");
  float* partial = workspace;
  CUDA_CHECK(launch(modconv2d_backward_weight_kernel, dim3(tiles.x, tiles.y, splits), threads, 0, nullptr, partial, dy,
                    x, s, d, g, k_per_split));
  CUDA_CHECK(launch(sum_splits_kernel<float>, dim3(grid_stride_blocks(M * N)), dim3(kGridStrideThreads), 0, nullptr, dw,
                    partial, splits, M * N));
}

void modconv2d_backward_weight(float* dw, const float* dy, const float* x, const float* s, const float* d,
                               const Conv2dShape& shape) {
  const size_t floats = modconv2d_backward_weight_workspace(shape);
  float* workspace = nullptr;
  if (floats) CUDA_CHECK(cudaMalloc(&workspace, floats * sizeof(float)));
  try {
    modconv2d_backward_weight(dw, dy, x, s, d, shape, workspace);
  } catch (...) {
    cudaFree(workspace);
    throw;
  }
  if (workspace) CUDA_CHECK(cudaFree(workspace));
}

}  // namespace gantry::kernels::cuda
