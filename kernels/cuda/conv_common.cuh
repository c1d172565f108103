// kernels/cuda/conv_common.cuh — what conv.cu (forward), conv_backward.cu and modconv.cu
// share: the geometry in 32-bit ints, the implicit GEMMs' B elements (im2col_at,
// col2im_at, weight_tap_at: the index maps each kernel stages its B tile by), the split-K
// sum, and (from tile_gemm.cuh, shared with SGEMM) the tile sizes of the implicit-GEMM
// kernels (version 2 and up) and the register-tile multiply they all run between two
// __syncthreads.
// Internal to kernels/cuda; the public contract is kernels/cuda/conv.cuh.
#pragma once
#include <climits>
#include <string>

#include "kernels/cuda/conv.cuh"
#include "kernels/cuda/grid_stride.cuh"  // versions 1: one thread per output, grid-stride
#include "kernels/cuda/tile_gemm.cuh"    // versions 2 and up: block tile, layout, inner product

namespace gantry::kernels::cuda::conv_detail {

// Conv2dShape in ints: index arithmetic in 64 bits costs twice the instructions on a
// GPU, and every tensor is checked to have fewer than 2^31 elements (to_geometry).
struct Geometry {
  int n, c_in, h, w;  // x [N, Cin, H, W]
  int c_out, oh, ow;  // y [N, Cout, OH, OW]
  int k_h, k_w;       // w [Cout, Cin, KH, KW]
  int sh, sw, ph, pw, dh, dw;
};

inline Geometry to_geometry(const Conv2dShape& s, const char* fn) {
  const int64_t biggest[] = {s.n * s.c_in * s.in_h * s.in_w, s.n * s.c_out * s.out_h * s.out_w,
                             s.c_out * s.c_in * s.k_h * s.k_w, s.n * s.out_h * s.out_w, s.n * s.in_h * s.in_w};
  for (int64_t v : biggest)
    if (v >= INT_MAX)
      throw gantry::cuda::CudaError(std::string(fn) + ": a tensor of 2^31 elements or more is not supported");
  Geometry g;
  g.n = (int)s.n, g.c_in = (int)s.c_in, g.h = (int)s.in_h, g.w = (int)s.in_w;
  g.c_out = (int)s.c_out, g.oh = (int)s.out_h, g.ow = (int)s.out_w, g.k_h = (int)s.k_h, g.k_w = (int)s.k_w;
  g.sh = (int)s.stride_h, g.sw = (int)s.stride_w, g.ph = (int)s.pad_h, g.pw = (int)s.pad_w;
  g.dh = (int)s.dil_h, g.dw = (int)s.dil_w;
  return g;
}

inline unsigned blocks_for(int64_t size, int per_block) { return (unsigned)((size + per_block - 1) / per_block); }

// ---- versions 2 and up: the tiled implicit GEMM (the loop nest in conv.cu's header) --
// Block tile, shared-memory layout and multiply_stage: the one tile GEMM of tile_gemm.cuh,
// which SGEMM runs too; each kernel stages its own A and B by its index maps.
using namespace tile_gemm;

// The implicit GEMMs' B elements, staged by conv.cu's and modconv.cu's kernels alike.
// Forward: row k = (ci, kh, kw) of im2col's column for the output pixel whose first tap
// reads input (ih0, iw0) = (oh*sh - ph, ow*sw - pw), from one sample's x [Cin, H, W];
// 0 in the zero padding.
__device__ __forceinline__ float im2col_at(const float* __restrict__ xn, const Geometry& g, int k, int ih0, int iw0) {
  const int taps = g.k_h * g.k_w, ci = k / taps, kh = k % taps / g.k_w, kw = k % g.k_w;
  const int ih = ih0 + kh * g.dh, iw = iw0 + kw * g.dw;
  return (ih >= 0 && ih < g.h && iw >= 0 && iw < g.w) ? xn[(ci * g.h + ih) * g.w + iw] : 0.f;
}
// Backward input: row k = (co, kh, kw) for the input pixel (h, w), given as (hp, wp) =
// (h + ph, w + pw): dy[co, oh, ow] of one sample's dy [Cout, OH, OW] when oh*sh = hp - kh*dh
// and ow*sw = wp - kw*dw hit an output exactly, else 0.
__device__ __forceinline__ float col2im_at(const float* __restrict__ dyn, const Geometry& g, int k, int hp, int wp) {
  const int taps = g.k_h * g.k_w, co = k / taps, kh = k % taps / g.k_w, kw = k % g.k_w;
  const int th = hp - kh * g.dh, tw = wp - kw * g.dw;  // oh*sh and ow*sw if this tap hits
  if (th < 0 || tw < 0 || th % g.sh != 0 || tw % g.sw != 0) return 0.f;
  const int oh = th / g.sh, ow = tw / g.sw;
  return (oh < g.oh && ow < g.ow) ? dyn[(co * g.oh + oh) * g.ow + ow] : 0.f;
}

// Backward weight: row k = (n, oh, ow) for the weight tap c = (ci, kh, kw), given as ci and
// (kh_off, kw_off) = (kh*dh - ph, kw*dw - pw): x[n, ci, oh*sh + kh_off, ow*sw + kw_off] times
// scale, or 0 in the zero padding.
__device__ __forceinline__ float weight_tap_at(const float* __restrict__ x, const Geometry& g, int k, int ci,
                                               int kh_off, int kw_off, float scale) {
  const int P = g.oh * g.ow, n = k / P, oh = k % P / g.ow, ow = k % g.ow;
  const int ih = oh * g.sh + kh_off, iw = ow * g.sw + kw_off;
  if (ih < 0 || ih >= g.h || iw < 0 || iw >= g.w) return 0.f;
  return x[(((size_t)n * g.c_in + ci) * g.h + ih) * g.w + iw] * scale;
}

// The split-K reduction of both weight gradients (conv_backward.cu's version 3, modconv.cu):
// dw[i] = sum_z partial[z][i], z in order: deterministic, unlike atomicAdd. Grid-stride,
// one thread an element. A template (T = float) so that only the files that launch it
// instantiate it.
template <typename T>
__global__ void sum_splits_kernel(T* __restrict__ dw, const T* __restrict__ partial, int splits, int64_t size) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < size; i += (int64_t)gridDim.x * blockDim.x) {
    T acc = 0;
    for (int z = 0; z < splits; ++z) acc += partial[z * size + i];
    dw[i] = acc;
  }
}

}  // namespace gantry::kernels::cuda::conv_detail
