// cuDNN (kernels/cuda/cudnn.cu) beside gantry's conv and batchnorm kernels, and the
// choice between them (kernels/cuda/dnn.cu).
//   emulated build: cuDNN is absent, and asking for it (KernelVersions::cudnn) fails
//                   with a message that names the build.
//   real build:     on a GPU, gantry's kernels and cuDNN are run on odd shapes from the
//                   same inputs, with outputs pre-filled with different junk, and both
//                   are compared with the cpu kernels in float64; without a GPU it
//                   prints a SKIPPED line.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <stdexcept>
#include <vector>

#include "cuda_test_util.hpp"
#include "kernels/cuda/dnn.cuh"
#include "test_util.hpp"
#if !defined(GANTRY_CUDA_EMU)  // the comparison runs only where cuDNN can
#include "kernels/cpu/batchnorm.hpp"
#include "kernels/cpu/conv.hpp"
#include "kernels/cuda/batchnorm.cuh"
#include "kernels/cuda/conv.cuh"
#endif

using namespace gantry::kernels;

#if defined(GANTRY_CUDA_EMU)
TEST_CASE("the emulated build has no cuDNN, and asking for it names the build") {
  CHECK_FALSE(cuda::cudnn_available());
  const cuda::KernelVersions before = cuda::kernel_versions();
  cuda::KernelVersions want = before;
  want.cudnn = true;
  CHECK_THROWS_WITH_AS(cuda::set_kernel_versions(want),
                       doctest::Contains("KernelVersions::cudnn: this build has no cuDNN (GANTRY_CUDA=emu)"),
                       std::runtime_error);
  CHECK(cuda::kernel_versions().cudnn == before.cudnn);  // the failed request changed nothing
  // Called directly anyway, the cuDNN entry points refuse rather than touch memory.
  Conv2dShape s{};
  CHECK_THROWS_WITH_AS(cudnn::conv2d_forward(nullptr, nullptr, nullptr, nullptr, s),
                       "cudnn::conv2d_forward: this build has no cuDNN (GANTRY_CUDA=emu)", std::runtime_error);
  BatchNormShape b{};
  CHECK_THROWS_WITH_AS(cudnn::batch_norm_backward(nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr,
                                                  nullptr, b),
                       doctest::Contains("no cuDNN"), std::runtime_error);
}
#else
namespace {

using gantry::testing::random_values;

using gantry::testing::to_device;
using gantry::testing::to_host;
std::vector<double> widen(const std::vector<float>& v) { return {v.begin(), v.end()}; }
// A device buffer of n floats filled with `junk`, so an element left unwritten shows.
float* junk(size_t n, float value) { return to_device(std::vector<float>(n, value)); }

// Two device results side by side against a float64 cpu reference:
// |got - want| <= tol (1 + |want|) for both, and for gantry against cuDNN.
void compare(const char* what, const float* gantry_d, const float* cudnn_d, const std::vector<double>& want,
             double tol) {
  const auto ours = to_host(gantry_d, want.size()), theirs = to_host(cudnn_d, want.size());
  gantry::testing::check_close(ours, want, tol, what);
  gantry::testing::check_close(theirs, want, tol, what);
  for (size_t i = 0; i < want.size(); ++i) {
    INFO(what << " element " << i << ": gantry " << ours[i] << ", cuDNN " << theirs[i]);
    CHECK(std::abs((double)ours[i] - theirs[i]) <= 2 * tol * (1 + std::abs(want[i])));
  }
}

int64_t out_size(int64_t in, int64_t k, int64_t stride, int64_t pad, int64_t dil) {
  return (in + 2 * pad - dil * (k - 1) - 1) / stride + 1;
}

Conv2dShape conv_shape(int64_t n, int64_t c_in, int64_t h, int64_t w, int64_t c_out, int64_t kh, int64_t kw, int64_t sh,
                       int64_t sw, int64_t ph, int64_t pw, int64_t dh, int64_t dw) {
  return {n,  c_in, h,  w,  c_out, out_size(h, kh, sh, ph, dh), out_size(w, kw, sw, pw, dw), kh, kw, sh,
          sw, ph,   pw, dh, dw};
}

}  // namespace

TEST_CASE("cuDNN and gantry's conv kernels agree on odd shapes (forward + bias, backward input, backward weight)") {
  if (!cuda::cudnn_available()) {
    std::printf("SKIPPED: this build has no cuDNN (GANTRY_CUDNN=OFF), so gantry's conv was not compared with it\n");
    return;
  }
  if (!gantry::testing::have_cuda_device()) return;
  const Conv2dShape cases[] = {
      conv_shape(3, 5, 11, 7, 4, 3, 2, 2, 1, 1, 0, 1, 2),   // every parameter different in h and w
      conv_shape(2, 1, 28, 28, 8, 4, 4, 2, 2, 1, 1, 1, 1),  // DCGAN's first discriminator layer, narrower
      conv_shape(1, 7, 5, 5, 3, 1, 1, 1, 1, 0, 0, 1, 1),    // 1x1
      conv_shape(2, 3, 9, 10, 6, 5, 3, 3, 2, 2, 1, 1, 1),   // stride 3: rows of the input no window reaches
      // conv_transpose2d's geometry with output_padding 1: in = (out-1)*s - 2p + d(k-1) + 1 + 1
      Conv2dShape{2, 4, 8, 8, 6, 4, 4, 3, 3, 2, 2, 1, 1, 1, 1},
  };
  for (const Conv2dShape& s : cases) {
    INFO("N " << s.n << " Cin " << s.c_in << " " << s.in_h << "x" << s.in_w << " Cout " << s.c_out << " " << s.out_h
              << "x" << s.out_w << " k " << s.k_h << "x" << s.k_w << " stride " << s.stride_h << "," << s.stride_w
              << " pad " << s.pad_h << "," << s.pad_w << " dil " << s.dil_h << "," << s.dil_w);
    const size_t nx = s.n * s.c_in * s.in_h * s.in_w, ny = s.n * s.c_out * s.out_h * s.out_w,
                 nw = s.c_out * s.c_in * s.k_h * s.k_w;
    const auto x = random_values<float>(nx, 1), w = random_values<float>(nw, 2), b = random_values<float>(s.c_out, 3),
               dy = random_values<float>(ny, 4);
    const auto xd = widen(x), wd = widen(w), bd = widen(b), dyd = widen(dy);
    std::vector<double> y_ref(ny), dx_ref(nx), dw_ref(nw);
    cpu::conv2d_forward(y_ref.data(), xd.data(), wd.data(), bd.data(), s);
    cpu::conv2d_backward_input(dx_ref.data(), dyd.data(), wd.data(), s);
    cpu::conv2d_backward_weight(dw_ref.data(), dyd.data(), xd.data(), s);
    float *x_d = to_device(x), *w_d = to_device(w), *b_d = to_device(b), *dy_d = to_device(dy);
    // Sums of up to Cin*KH*KW (or N*OH*OW) products of values in [-1, 1].
    const double tol_fwd = 1e-6 * (double)(s.c_in * s.k_h * s.k_w + 8),
                 tol_bwd_w = 1e-6 * (double)(s.n * s.out_h * s.out_w + 8),
                 tol_bwd_x = 1e-6 * (double)(s.c_out * s.k_h * s.k_w + 8);

    float *y_g = junk(ny, NAN), *y_c = junk(ny, 1e30f);
    cuda::conv2d_forward(y_g, x_d, w_d, b_d, s);
    cudnn::conv2d_forward(y_c, x_d, w_d, b_d, s);
    compare("conv2d_forward", y_g, y_c, y_ref, tol_fwd);

    float *dx_g = junk(nx, NAN), *dx_c = junk(nx, 1e30f);
    cuda::conv2d_backward_input(dx_g, dy_d, w_d, s);
    cudnn::conv2d_backward_input(dx_c, dy_d, w_d, s);
    compare("conv2d_backward_input", dx_g, dx_c, dx_ref, tol_bwd_x);

    float *dw_g = junk(nw, NAN), *dw_c = junk(nw, 1e30f);
    cuda::conv2d_backward_weight(dw_g, dy_d, x_d, s);
    cudnn::conv2d_backward_weight(dw_c, dy_d, x_d, s);
    compare("conv2d_backward_weight", dw_g, dw_c, dw_ref, tol_bwd_w);

    for (float* p : {x_d, w_d, b_d, dy_d, y_g, y_c, dx_g, dx_c, dw_g, dw_c}) cudaFree(p);
  }
}

TEST_CASE("cuDNN and gantry's batchnorm kernels agree (train with running update, eval, backward)") {
  if (!cuda::cudnn_available()) {
    std::printf(
        "SKIPPED: this build has no cuDNN (GANTRY_CUDNN=OFF), so gantry's batchnorm was not compared with it\n");
    return;
  }
  if (!gantry::testing::have_cuda_device()) return;
  struct Case {
    BatchNormShape s;
    bool affine;
  };
  // S = 1 is cuDNN's per-activation mode; eps 1e-3 so a backward that re-derived invstd
  // from a different eps would show.
  for (const Case& k :
       {Case{{5, 3, 21}, true}, Case{{6, 4, 1}, true}, Case{{2, 7, 13}, false}, Case{{64, 2, 49}, true}}) {
    const BatchNormShape& s = k.s;
    INFO("N " << s.n << " C " << s.c << " S " << s.s << (k.affine ? " affine" : " no affine"));
    const float momentum = 0.1f, eps = 1e-3f;
    const size_t nx = s.n * s.c * s.s;
    auto x = random_values<float>(nx, 5, -2, 3), dy = random_values<float>(nx, 6);
    auto gamma = random_values<float>(s.c, 7, 0.5, 1.5), beta = random_values<float>(s.c, 8);
    auto rmean = random_values<float>(s.c, 9), rvar = random_values<float>(s.c, 10, 0.5, 2);
    const auto xd = widen(x), dyd = widen(dy), gd = widen(gamma), bd = widen(beta);
    auto rmean_ref = widen(rmean), rvar_ref = widen(rvar);
    std::vector<double> y_ref(nx), mean_ref(s.c), invstd_ref(s.c), ye_ref(nx), dx_ref(nx), dg_ref(s.c), db_ref(s.c);
    const double* g_ref = k.affine ? gd.data() : nullptr;
    const double* b_ref = k.affine ? bd.data() : nullptr;
    cpu::batch_norm_forward_eval(ye_ref.data(), xd.data(), rmean_ref.data(), rvar_ref.data(), g_ref, b_ref, s,
                                 (double)eps);
    cpu::batch_norm_forward_train(y_ref.data(), mean_ref.data(), invstd_ref.data(), rmean_ref.data(), rvar_ref.data(),
                                  xd.data(), g_ref, b_ref, s, (double)momentum, (double)eps);
    cpu::batch_norm_backward(dx_ref.data(), dg_ref.data(), db_ref.data(), dyd.data(), xd.data(), mean_ref.data(),
                             invstd_ref.data(), g_ref, s);

    float *x_d = to_device(x), *dy_d = to_device(dy), *g_d = to_device(gamma), *b_d = to_device(beta);
    const float* g_use = k.affine ? g_d : nullptr;
    const float* b_use = k.affine ? b_d : nullptr;
    float *rm_g = to_device(rmean), *rv_g = to_device(rvar), *rm_c = to_device(rmean), *rv_c = to_device(rvar);
    float *ye_g = junk(nx, NAN), *ye_c = junk(nx, 1e30f);
    cuda::batch_norm_forward_eval(ye_g, x_d, rm_g, rv_g, g_use, b_use, s, eps);
    cudnn::batch_norm_forward_eval(ye_c, x_d, rm_c, rv_c, g_use, b_use, s, eps);
    compare("batch_norm_forward_eval", ye_g, ye_c, ye_ref, 1e-5);

    float *y_g = junk(nx, NAN), *y_c = junk(nx, 1e30f), *m_g = junk(s.c, NAN), *m_c = junk(s.c, 1e30f),
          *is_g = junk(s.c, NAN), *is_c = junk(s.c, 1e30f);
    cuda::batch_norm_forward_train(y_g, m_g, is_g, rm_g, rv_g, x_d, g_use, b_use, s, momentum, eps);
    cudnn::batch_norm_forward_train(y_c, m_c, is_c, rm_c, rv_c, x_d, g_use, b_use, s, momentum, eps);
    compare("batch_norm_forward_train y", y_g, y_c, y_ref, 1e-4);
    compare("save_mean", m_g, m_c, mean_ref, 1e-5);
    compare("save_invstd", is_g, is_c, invstd_ref, 1e-4);
    compare("running_mean", rm_g, rm_c, rmean_ref, 1e-5);
    compare("running_var (unbiased)", rv_g, rv_c, rvar_ref, 1e-4);

    // Backward from each implementation's own saved statistics.
    float *dx_g = junk(nx, NAN), *dx_c = junk(nx, 1e30f), *dg_g = junk(s.c, NAN), *dg_c = junk(s.c, 1e30f),
          *db_g = junk(s.c, NAN), *db_c = junk(s.c, 1e30f);
    cuda::batch_norm_backward(dx_g, dg_g, db_g, dy_d, x_d, m_g, is_g, g_use, s);
    cudnn::batch_norm_backward(dx_c, dg_c, db_c, dy_d, x_d, m_c, is_c, g_use, s);
    const double tol_sum = 1e-6 * (double)(s.n * s.s + 8);
    compare("batch_norm_backward dx", dx_g, dx_c, dx_ref, 1e-4);
    compare("dgamma", dg_g, dg_c, dg_ref, tol_sum);
    compare("dbeta", db_g, db_c, db_ref, tol_sum);
    // Not wanted: dgamma / dbeta nullptr leaves dx the same.
    float* dx_c2 = junk(nx, 1e30f);
    cudnn::batch_norm_backward(dx_c2, nullptr, nullptr, dy_d, x_d, m_c, is_c, g_use, s);
    compare("batch_norm_backward dx without dgamma/dbeta", dx_g, dx_c2, dx_ref, 1e-4);

    for (float* p : {x_d, dy_d, g_d,  b_d,  rm_g, rv_g, rm_c, rv_c, ye_g, ye_c, y_g,  y_c,
                     m_g, m_c,  is_g, is_c, dx_g, dx_c, dg_g, dg_c, db_g, db_c, dx_c2})
      cudaFree(p);
  }
}
#endif
