// kernels/cuda/upfirdn.cu — upfirdn2d (StyleGAN2's FIR resampling) as a gather.
// Walkthrough: docs/kernels/upfirdn2d.md.
//
// Math: y[n, c, oy, ox] = sum_{ky, kx} f[KH-1-ky, KW-1-kx] * u(oy*down + ky - pad_y0, ox*down + kx - pad_x0),
//       u(j, i) = x[n, c, j/up, i/up] when up divides j and i and the sample is inside x, else 0.
// Layout: dense NCHW, float32; f [KH, KW] row-major.
// Thread mapping: for e < N*C*OH*OW   grid-stride loop, 256 threads a block, one output each
//                   for ky < KH, kx < KW   the thread's taps (those on inserted zeros skipped)
// Every output is owned by one thread: no atomics, and the backward (an upfirdn2d of the
// gradient) is the same kernel. The filter (16 floats for StyleGAN2's [1,3,3,1]^2) is read
// through the cache; x is read (KH/up)(KW/up) times per output, from L1/L2.
// Versions: 1 (this one).
#include "kernels/cuda/grid_stride.cuh"
#include "kernels/cuda/upfirdn.cuh"

#include <climits>
#include <string>

namespace gantry::kernels::cuda {

namespace {

struct UpFirDnGeometry {
  int h, w, oh, ow, kh, kw, up_y, up_x, down_y, down_x, pad_y0, pad_x0;
};

// j / up when j is a sample of x (up divides j, 0 <= j / up < size), else -1.
__device__ __forceinline__ int source_index(int j, int up, int size) {
  if (j < 0 || j % up != 0) return -1;
  return j / up < size ? j / up : -1;
}

__global__ void upfirdn2d_kernel(float* __restrict__ y, const float* __restrict__ x, const float* __restrict__ f,
                                 UpFirDnGeometry g, int64_t total) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < total; i += (int64_t)gridDim.x * blockDim.x) {
    const int ox = (int)(i % g.ow), oy = (int)(i / g.ow % g.oh);
    const int64_t plane = i / ((int64_t)g.ow * g.oh);
    const float* xp = x + plane * g.h * g.w;
    float acc = 0.f;
    for (int ky = 0; ky < g.kh; ++ky) {
      const int iy = source_index(oy * g.down_y + ky - g.pad_y0, g.up_y, g.h);
      if (iy < 0) continue;
      for (int kx = 0; kx < g.kw; ++kx) {
        const int ix = source_index(ox * g.down_x + kx - g.pad_x0, g.up_x, g.w);
        if (ix < 0) continue;
        acc += f[(g.kh - 1 - ky) * g.kw + (g.kw - 1 - kx)] * xp[iy * g.w + ix];
      }
    }
    y[i] = acc;
  }
}

}  // namespace

void upfirdn2d(float* y, const float* x, const float* f, const UpFirDn2dShape& s) {
  const int64_t total = s.n * s.c * s.out_h * s.out_w;
  if (total == 0) return;
  if (s.in_h * s.up_y + s.k_h >= INT_MAX / 2 || s.in_w * s.up_x + s.k_w >= INT_MAX / 2)
    throw gantry::cuda::CudaError("upfirdn2d: an image of 2^30 samples or more a side is not supported");
  const UpFirDnGeometry g{(int)s.in_h, (int)s.in_w, (int)s.out_h,  (int)s.out_w,  (int)s.k_h,    (int)s.k_w,
                          (int)s.up_y, (int)s.up_x, (int)s.down_y, (int)s.down_x, (int)s.pad_y0, (int)s.pad_x0};
  CUDA_CHECK(launch(upfirdn2d_kernel, dim3(grid_stride_blocks(total)), dim3(kGridStrideThreads), 0, nullptr, y, x, f, g,
                    total));
}

}  // namespace gantry::kernels::cuda
