#include <chrono>
#include <cstdio>
#include "gan/dcgan_step.hpp"
using namespace gantry;
int main() {
  gan::DcganModel m({28, 100, 32}, {}, 1);
  Tensor real = mul(rand({64, 1, 28, 28}), 2.0) - 1.0;
  for (int i = 0; i < 12; ++i) {
    auto t0 = std::chrono::steady_clock::now();
    auto l = m.step(real);
    auto t1 = std::chrono::steady_clock::now();
    std::printf("step %d  %.1f ms  d %.3f g %.3f\n", i, std::chrono::duration<double, std::milli>(t1 - t0).count(), l.d_loss, l.g_loss);
  }
}
