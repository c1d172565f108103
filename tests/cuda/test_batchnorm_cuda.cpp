// batch_norm on the cuda device: every kept kernel version against the cpu kernel run in
// float64 (outputs pre-filled with NaN, odd shapes, channels with M = N*S both under and far
// over a block of 256) and the op's paths (training forward, fused backward, eval kernel);
// its parity samples live in core/ops/registry.cpp.
#include <doctest/doctest.h>

#include "test_util.hpp"

#include <algorithm>
#include <cmath>
#include <vector>

#include "core/ops.hpp"
#include "cuda_test_util.hpp"
#include "kernels/cpu/batchnorm.hpp"
#include "kernels/cuda/batchnorm.cuh"

using namespace gantry;
using kernels::BatchNormShape;

namespace {

using V = std::vector<Tensor>;

// ---- direct kernel tests -------------------------------------------------------------------------
using gantry::testing::to_device;
using gantry::testing::to_host;
std::vector<double> widen(const std::vector<float>& v) { return {v.begin(), v.end()}; }
const double* or_null(const std::vector<double>& v, bool on) { return on ? v.data() : nullptr; }
double* or_null(std::vector<double>& v, bool on) { return on ? v.data() : nullptr; }

struct Options {
  bool affine, running;
};

// N, C, S: M = N S from 1*35 to 3200 (12.5 blocks), S = 1 ([N, C]), S > 256 and S not dividing
// 256 (the v2 cursor wraps rows mid-step), a channel offset of 50 (cancellation).
const BatchNormShape kShapes[] = {{1, 3, 35},  {7, 5, 1},  {2, 3, 35},   {300, 2, 1},
                                  {2, 3, 300}, {5, 4, 97}, {16, 3, 200}, {64, 2, 49}};

}  // namespace

TEST_CASE("batch_norm kernels, every version: training forward and running stats vs the cpu in float64") {
  if (!testing::have_cuda_device()) return;
  for (const BatchNormShape& s : kShapes)
    for (Options o : {Options{true, true}, Options{false, false}, Options{true, false}})
      for (int version = 1; version <= kernels::cuda::kBatchNormVersions; ++version) {
        const size_t total = s.n * s.c * s.s, c = s.c;
        const double offset = s.s == 97 ? 50.0 : 0.0;
        auto x = testing::random_values<float>(total, 1, offset - 1, offset + 2);
        auto gamma = testing::random_values<float>(c, 2, 0.5, 1.5), beta = testing::random_values<float>(c, 3);
        auto rm = testing::random_values<float>(c, 4), rv = testing::random_values<float>(c, 5, 0.5, 2);
        std::vector<double> y(total), mean(c), invstd(c), rm64 = widen(rm), rv64 = widen(rv);
        kernels::cpu::batch_norm_forward_train<double>(y.data(), mean.data(), invstd.data(), or_null(rm64, o.running),
                                                       or_null(rv64, o.running), widen(x).data(),
                                                       or_null(widen(gamma), o.affine), or_null(widen(beta), o.affine),
                                                       s, 0.1, 1e-5);
        float *dy = to_device(testing::nans<float>(total)), *dmean = to_device(testing::nans<float>(c)),
              *dinv = to_device(testing::nans<float>(c)), *dx = to_device(x), *dg = to_device(gamma),
              *db = to_device(beta), *drm = to_device(rm), *drv = to_device(rv);
        INFO("N " << s.n << " C " << s.c << " S " << s.s << " affine " << o.affine << " running " << o.running
                  << " version " << version);
        kernels::cuda::batch_norm_forward_train(dy, dmean, dinv, o.running ? drm : nullptr, o.running ? drv : nullptr,
                                                dx, o.affine ? dg : nullptr, o.affine ? db : nullptr, s, 0.1f, 1e-5f,
                                                version);
        testing::check_close(to_host(dy, total), y, 2e-5, "y");
        testing::check_close(to_host(dmean, c), mean, 1e-6, "save_mean");
        testing::check_close(to_host(dinv, c), invstd, 2e-5, "save_invstd");
        testing::check_close(to_host(drm, c), o.running ? rm64 : widen(rm), 1e-6, "running_mean");
        testing::check_close(to_host(drv, c), o.running ? rv64 : widen(rv), 2e-5, "running_var");
        for (float* p : {dy, dmean, dinv, dx, dg, db, drm, drv}) cudaFree(p);
      }
}

TEST_CASE("batch_norm kernels, every version: fused backward vs the cpu in float64") {
  if (!testing::have_cuda_device()) return;
  for (const BatchNormShape& s : kShapes)
    for (bool affine : {true, false})
      for (int version = 1; version <= kernels::cuda::kBatchNormVersions; ++version) {
        const size_t total = s.n * s.c * s.s, c = s.c;
        auto x = testing::random_values<float>(total, 11, -1, 2), dyv = testing::random_values<float>(total, 12);
        auto gamma = testing::random_values<float>(c, 13, 0.5, 1.5);
        // the statistics the forward saved, rounded to float as the op keeps them
        std::vector<double> y(total), mean64(c), inv64(c);
        kernels::cpu::batch_norm_forward_train<double>(y.data(), mean64.data(), inv64.data(), nullptr, nullptr,
                                                       widen(x).data(), nullptr, nullptr, s, 0.1, 1e-5);
        std::vector<float> mean(mean64.begin(), mean64.end()), inv(inv64.begin(), inv64.end());
        std::vector<double> want_dx(total), want_dg(c), want_db(c);
        kernels::cpu::batch_norm_backward<double>(want_dx.data(), want_dg.data(), want_db.data(), widen(dyv).data(),
                                                  widen(x).data(), widen(mean).data(), widen(inv).data(),
                                                  or_null(widen(gamma), affine), s);
        float *ddx = to_device(testing::nans<float>(total)), *ddg = to_device(testing::nans<float>(c)),
              *ddb = to_device(testing::nans<float>(c)), *ddy = to_device(dyv), *dx = to_device(x),
              *dmean = to_device(mean), *dinv = to_device(inv), *dgam = to_device(gamma);
        INFO("N " << s.n << " C " << s.c << " S " << s.s << " affine " << affine << " version " << version);
        kernels::cuda::batch_norm_backward(ddx, ddg, ddb, ddy, dx, dmean, dinv, affine ? dgam : nullptr, s, version);
        const double m = (double)(s.n * s.s);
        testing::check_close(to_host(ddx, total), want_dx, 2e-5, "dx");
        // dgamma, dbeta: float sums of M terms of size ~1
        testing::check_close(to_host(ddg, c), want_dg, 1e-6 * std::sqrt(m) + 1e-6, "dgamma");
        testing::check_close(to_host(ddb, c), want_db, 1e-6 * std::sqrt(m) + 1e-6, "dbeta");
        // dgamma / dbeta not wanted: nullptr, and dx the same
        kernels::cuda::batch_norm_backward(ddx, nullptr, nullptr, ddy, dx, dmean, dinv, affine ? dgam : nullptr, s,
                                           version);
        testing::check_close(to_host(ddx, total), want_dx, 2e-5, "dx without dgamma/dbeta");
        for (float* p : {ddx, ddg, ddb, ddy, dx, dmean, dinv, dgam}) cudaFree(p);
      }
  CHECK_THROWS_AS(kernels::cuda::batch_norm_backward(nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr,
                                                     nullptr, {1, 1, 2}, kernels::cuda::kBatchNormVersions + 1),
                  gantry::cuda::CudaError);
}

TEST_CASE("batch_norm eval kernel vs the cpu in float64") {
  if (!testing::have_cuda_device()) return;
  for (const BatchNormShape& s : kShapes)
    for (bool affine : {true, false}) {
      const size_t total = s.n * s.c * s.s, c = s.c;
      auto x = testing::random_values<float>(total, 21, -2, 2), gamma = testing::random_values<float>(c, 22);
      auto beta = testing::random_values<float>(c, 23), rm = testing::random_values<float>(c, 24);
      auto rv = testing::random_values<float>(c, 25, 0.5, 2);
      std::vector<double> want(total);
      kernels::cpu::batch_norm_forward_eval<double>(want.data(), widen(x).data(), widen(rm).data(), widen(rv).data(),
                                                    or_null(widen(gamma), affine), or_null(widen(beta), affine), s,
                                                    1e-5);
      float *dy = to_device(testing::nans<float>(total)), *dx = to_device(x), *drm = to_device(rm),
            *drv = to_device(rv), *dg = to_device(gamma), *db = to_device(beta);
      INFO("N " << s.n << " C " << s.c << " S " << s.s << " affine " << affine);
      kernels::cuda::batch_norm_forward_eval(dy, dx, drm, drv, affine ? dg : nullptr, affine ? db : nullptr, s, 1e-5f);
      testing::check_close(to_host(dy, total), want, 1e-5, "y");
      for (float* p : {dy, dx, drm, drv, dg, db}) cudaFree(p);
    }
}

TEST_CASE("batch_norm op on cuda: a plain backward (the fused kernel) and the eval kernel match the cpu") {
  if (!testing::have_cuda_device()) return;
  for (Shape shape : {Shape{7, 5}, Shape{3, 4, 5, 7}}) {
    INFO("shape " << shape_str(shape));
    Rng gen(31);
    const int64_t c = shape[1];
    Tensor x = rand(shape, DType::f32, &gen, -1, 2), w = rand({c}, DType::f32, &gen, 0.5, 1.5);
    Tensor b = rand({c}, DType::f32, &gen), dy = randn(shape, DType::f32, &gen);
    auto run = [&](Device d) {
      Tensor xd = x.to(d).detach().requires_grad_(), wd = w.to(d).detach().requires_grad_();
      Tensor bd = b.to(d).detach().requires_grad_();
      Tensor rm = zeros({c}, DType::f32, d), rv = ones({c}, DType::f32, d);
      Tensor y = batch_norm(xd, rm, rv, wd, bd, true);
      y.backward(dy.to(d));
      Tensor eval = batch_norm(x.to(d), rm, rv, w.to(d), b.to(d), false);  // nothing requires grad: inference
      return V{y.detach(), xd.grad(), wd.grad(), bd.grad(), rm, rv, eval};
    };
    V cpu = run(Device::cpu()), gpu = run(Device::cuda(0));
    const char* names[] = {"y", "dx", "dweight", "dbias", "running_mean", "running_var", "eval y"};
    for (size_t i = 0; i < cpu.size(); ++i) {
      std::vector<double> want = cpu[i].to(DType::f64).to_vector<double>();
      testing::check_close(gpu[i].to(Device::cpu()).to_vector<float>(), want, 1e-4, names[i]);
    }
  }
}
