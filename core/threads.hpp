// core/threads.hpp — the one place gantry sets how many CPU threads its kernels use
// (OpenMP's team size, which Eigen's GEMM also follows), like torch.set_num_threads.
#pragma once
#include <optional>
#include <string>
#include <utility>

namespace gantry {

// Uses n > 0 threads from now on in every CPU kernel; throws naming n when n < 1.
void set_num_threads(int n);
// The number of threads a CPU kernel uses now (omp_get_max_threads()).
int num_threads();

// The GNU OpenMP spin count gantry's programs run with when the user sets neither
// OMP_WAIT_POLICY nor GOMP_SPINCOUNT: 3,000,000 pause loops (35 ms on the Intel Xeon KVM
// machines, 11.5 ns a pause; ~140 ms where a pause takes 140 cycles) before a waiting thread
// sleeps, long enough that the workers never sleep inside a training step. A sleeping vCPU
// cost the 2-thread DCGAN step a fifth of its speed: woken through the hypervisor, and its
// core's caches taken by others meanwhile. bench/run_contention.sh, DCGAN step, 2 threads,
// ms/step alone / beside `yes` (7 December, 2-7 runs each): 10000 (the old bound) 35-43 /
// 79-85, 3000000 30-31 / 71-96, libgomp's default (300000) 30-32 / 87-122, passive 40-44 /
// 60-67. (On 3 December, with more serial work between ops, the default had been 256-279 ms
// beside `yes`, which 10000 was chosen against.)
inline constexpr const char* kOpenmpSpinCount = "3000000";

// The environment variable bound_openmp_spinning sets, given the values of OMP_WAIT_POLICY
// and GOMP_SPINCOUNT (nullptr when unset): {"GOMP_SPINCOUNT", kOpenmpSpinCount} when both
// are unset, else nothing (the user's choice stands).
std::optional<std::pair<std::string, std::string>> openmp_spin_override(const char* wait_policy,
                                                                        const char* spin_count);

// Called first in a program's main: where openmp_spin_override asks for it, sets the variable
// and re-executes the program (/proc/self/exe, same argv: libgomp reads its variables when
// it loads, before main); the new process then returns from here at once. Returns when no
// override is due, or when the re-execution fails (the program then runs with libgomp's
// default).
void bound_openmp_spinning(char** argv);

}  // namespace gantry
