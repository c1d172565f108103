// The fused modulated convolution (kernels/cuda/modconv.cuh) and upfirdn2d
// (kernels/cuda/upfirdn.cuh) on the cuda device (the emulator here): each kernel against
// the cpu kernels run in double, outputs filled with NaN first, on odd shapes, with and
// without styles and demodulation (the ops' parity samples live in core/ops/registry.cpp).
#include <doctest/doctest.h>

#include "test_util.hpp"

#include <sstream>
#include <vector>

#include "core/ops.hpp"
#include "cuda_test_util.hpp"
#include "kernels/cpu/modconv.hpp"
#include "kernels/cpu/upfirdn.hpp"
#include "kernels/cuda/modconv.cuh"
#include "kernels/cuda/upfirdn.cuh"

using namespace gantry;
using kernels::Conv2dShape;
using testing::conv_shape;

namespace {

// Smaller than a 64x64x16 tile, bigger in every dim, strided, dilated, 1x1 (toRGB), and
// backward-weight K = N*OH*OW large enough to be split over grid.z.
std::vector<Conv2dShape> modconv_shapes() {
  return {
      conv_shape(1, 3, 7, 5, 2, 3, 3, 1, 1, 1, 1, 1, 1),    conv_shape(3, 5, 9, 7, 4, 3, 2, 2, 1, 1, 0, 1, 2),
      conv_shape(2, 67, 9, 10, 66, 3, 3, 1, 1, 1, 1, 1, 1), conv_shape(2, 9, 13, 11, 3, 1, 1, 1, 1, 0, 0, 1, 1),
      conv_shape(5, 8, 16, 16, 9, 3, 3, 1, 1, 1, 1, 1, 1),  conv_shape(0, 2, 5, 5, 3, 3, 3, 1, 1, 1, 1, 1, 1),
  };
}

std::vector<double> to_double(const std::vector<float>& v) { return {v.begin(), v.end()}; }

std::string describe(const Conv2dShape& s, bool styles, bool demod) {
  std::ostringstream os;
  os << "x [" << s.n << "," << s.c_in << "," << s.in_h << "," << s.in_w << "] w [" << s.c_out << "," << s.c_in << ","
     << s.k_h << "," << s.k_w << "] stride " << s.stride_h << "x" << s.stride_w << " pad " << s.pad_h << "x" << s.pad_w
     << " dil " << s.dil_h << "x" << s.dil_w << (styles ? " styles" : "") << (demod ? " demod" : "");
  return os.str();
}

// A device copy of v, or nullptr when `use` is false.
float* maybe_device(const std::vector<float>& v, bool use) { return use ? testing::to_device(v) : nullptr; }

enum class Pass { forward, backward_input, backward_weight };

// One pass of the fused kernel against the cpu kernel in double, for every (styles, demod) choice.
void check_pass(Pass pass) {
  for (const Conv2dShape& s : modconv_shapes()) {
    const size_t nx = s.n * s.c_in * s.in_h * s.in_w, ny = s.n * s.c_out * s.out_h * s.out_w,
                 nw = s.c_out * s.c_in * s.k_h * s.k_w;
    const auto x = testing::random_values<float>(nx, 1), w = testing::random_values<float>(nw, 2);
    const auto dy = testing::random_values<float>(ny, 3);
    const auto st = testing::random_values<float>(s.n * s.c_in, 4, 0.2, 1.5);
    const auto dm = testing::random_values<float>(s.n * s.c_out, 5, 0.2, 1.5);
    const auto xd = to_double(x), wd = to_double(w), dyd = to_double(dy), sd = to_double(st), dd = to_double(dm);
    for (bool styles : {true, false})
      for (bool demod : {true, false}) {
        INFO(describe(s, styles, demod));
        const double* ps = styles ? sd.data() : nullptr;
        const double* pd = demod ? dd.data() : nullptr;
        float *gx = testing::to_device(x), *gw = testing::to_device(w), *gdy = testing::to_device(dy);
        float *gs = maybe_device(st, styles), *gd = maybe_device(dm, demod);
        const size_t n_out = pass == Pass::forward ? ny : pass == Pass::backward_input ? nx : nw;
        float* out = testing::to_device(testing::nans<float>(n_out));
        std::vector<double> want(n_out);
        int64_t k = 0;  // terms in each output's sum
        switch (pass) {
          case Pass::forward:
            kernels::cpu::modconv2d_forward<double>(want.data(), xd.data(), wd.data(), ps, pd, s);
            kernels::cuda::modconv2d_forward(out, gx, gw, gs, gd, s);
            k = s.c_in * s.k_h * s.k_w;
            break;
          case Pass::backward_input:
            kernels::cpu::modconv2d_backward_input<double>(want.data(), dyd.data(), wd.data(), ps, pd, s);
            kernels::cuda::modconv2d_backward_input(out, gdy, gw, gs, gd, s);
            k = s.c_out * s.k_h * s.k_w;
            break;
          case Pass::backward_weight:
            kernels::cpu::modconv2d_backward_weight<double>(want.data(), dyd.data(), xd.data(), ps, pd, s);
            kernels::cuda::modconv2d_backward_weight(out, gdy, gx, gs, gd, s);
            k = s.n * s.out_h * s.out_w;
            break;
        }
        // Terms are products of up to four values below 1.5 in magnitude, summed in float32.
        testing::check_close(testing::to_host(out, n_out), want, 2e-5 * (double)(k + 1), "output");
        for (float* p : {gx, gw, gdy, gs, gd, out})
          if (p) cudaFree(p);
      }
  }
}

}  // namespace

TEST_CASE("modconv2d_forward (fused) matches the cpu's scale-conv-scale on odd shapes") {
  if (!testing::have_cuda_device()) return;
  check_pass(Pass::forward);
}

TEST_CASE("modconv2d_backward_input (fused) matches the cpu on odd shapes") {
  if (!testing::have_cuda_device()) return;
  check_pass(Pass::backward_input);
}

TEST_CASE("modconv2d_backward_weight (fused, K split over grid.z) matches the cpu on odd shapes") {
  if (!testing::have_cuda_device()) return;
  check_pass(Pass::backward_weight);
}

TEST_CASE("upfirdn2d's cuda kernel matches the cpu kernel: blur up, blur down, asymmetric with a crop") {
  if (!testing::have_cuda_device()) return;
  struct Case {
    int64_t kh, kw, up, down, py0, px0, out_h, out_w;
  };
  // x [3, 2, 7, 5]; out = (in*up + pad0 + pad1 - K) / down + 1 with the far pads folded into out.
  for (Case c : {Case{4, 4, 2, 1, 2, 2, 14, 10}, Case{4, 4, 1, 2, 1, 1, 4, 3}, Case{3, 2, 3, 2, 0, 2, 10, 7},
                 Case{1, 1, 1, 1, 0, 0, 7, 5}}) {
    kernels::UpFirDn2dShape s;
    s.n = 3, s.c = 2, s.in_h = 7, s.in_w = 5, s.k_h = c.kh, s.k_w = c.kw, s.up_y = s.up_x = c.up;
    s.down_y = s.down_x = c.down, s.pad_y0 = c.py0, s.pad_x0 = c.px0, s.out_h = c.out_h, s.out_w = c.out_w;
    INFO("filter " << c.kh << "x" << c.kw << " up " << c.up << " down " << c.down);
    const auto x = testing::random_values<float>(s.n * s.c * s.in_h * s.in_w, 6);
    const auto f = testing::random_values<float>(s.k_h * s.k_w, 7);
    const auto xd = to_double(x), fd = to_double(f);
    std::vector<double> want(s.n * s.c * s.out_h * s.out_w);
    kernels::cpu::upfirdn2d<double>(want.data(), xd.data(), fd.data(), s);
    float *gx = testing::to_device(x), *gf = testing::to_device(f),
          *out = testing::to_device(testing::nans<float>(want.size()));
    kernels::cuda::upfirdn2d(out, gx, gf, s);
    testing::check_close(testing::to_host(out, want.size()), want, 1e-5 * (double)(s.k_h * s.k_w), "y");
    cudaFree(gx), cudaFree(gf), cudaFree(out);
  }
}

TEST_CASE("the fused modulated conv stores no per-sample weight: the forward's peak device memory is below w''s size") {
  if (!testing::have_cuda_device()) return;
  const Device cuda = Device::cuda(0);
  Rng g(3);
  // x, y: 8*64*4*4 floats (32 KiB each); w: 64*64*3*3 (144 KiB); w' would be 8 times w (1.1 MiB).
  Tensor x = rand({8, 64, 4, 4}, DType::f32, &g).to(cuda), w = rand({64, 64, 3, 3}, DType::f32, &g).to(cuda);
  Tensor s = rand({8, 64}, DType::f32, &g, 0.5, 1.5).to(cuda);
  NoGradGuard off;
  Tensor d = modulation_demod(w, s);
  const int64_t before = memory_stats(cuda).current_bytes;
  reset_peak_memory(cuda);
  Tensor y = modconv2d(x, w, s, d, Conv2dOptions::square(1, 1));
  const int64_t per_sample_weight_bytes = 8 * w.numel() * 4;
  CHECK(memory_stats(cuda).peak_bytes - before < per_sample_weight_bytes / 4);
  CHECK(memory_stats(cuda).peak_bytes - before >= y.numel() * 4);  // y itself was allocated
  // ... and y is the per-sample conv with w'' (the cpu's unfused path).
  Tensor want = modconv2d(x.to(Device::cpu()), w.to(Device::cpu()), s.to(Device::cpu()), d.to(Device::cpu()),
                          Conv2dOptions::square(1, 1));
  CHECK(max(abs(sub(y.to(Device::cpu()), want))).item() < 1e-4);
}
