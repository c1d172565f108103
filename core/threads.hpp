// core/threads.hpp — the one place gantry sets how many CPU threads its kernels use
// (OpenMP's team size, which Eigen's GEMM also follows), like torch.set_num_threads.
#pragma once

namespace gantry {

// Uses n > 0 threads from now on in every CPU kernel; throws naming n when n < 1.
void set_num_threads(int n);
// The number of threads a CPU kernel uses now (omp_get_max_threads()).
int num_threads();

}  // namespace gantry
